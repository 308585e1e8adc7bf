#!/usr/bin/env node
// Entry point of `npx microseg`: runs the TypeScript CLI through tsx, so no build step is needed.
require("tsx/cjs");
require("../cli/main.ts");

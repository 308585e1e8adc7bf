#!/usr/bin/env node
// Entry point of `microseg`, however it is reached (`npx microseg` runs npm's .bin symlink to this file): always
// runs the CLI, through tsx (no build step), and exits with its code (0 ok, 1 problems, 2 usage) once the
// command, async ones (promote) included, has finished. exitCode, not exit(): stdout drains first.
"use strict";
require("tsx/cjs");
const { main } = require("../cli/main.ts");
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`error: internal: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);

// "Did you mean": the known word a typo most likely meant. Hand-written (a small edit distance): no dependency of
// the project provides one, and it is one function shared by every message that suggests a setting, a chart
// value or a policy field.

/** Levenshtein distance, case-sensitive. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

export interface ClosestOptions {
  /** The largest distance always accepted, however short the word. @default 1 */
  readonly floor?: number;
  /**
   * Count a word of 3+ letters that starts the candidate (a cut-off word) as a near miss (1), and one the candidate
   * starts ("production" for "prod") as a fair one (2); ties go to the smaller plain distance. @default true
   */
  readonly prefixes?: boolean;
}

/** The candidate `word` most likely meant (case-insensitive), if any is close: distance <= max(floor, length / 3). */
export function closest(word: string, candidates: readonly string[], opts: ClosestOptions = {}): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const distance = editDistance(lower, cl);
    let score = distance;
    if ((opts.prefixes ?? true) && lower.length >= 3 && cl.length >= 3) {
      if (cl.startsWith(lower)) score = Math.min(score, 1);
      else if (lower.startsWith(cl)) score = Math.min(score, 2);
    }
    if (score < bestScore || (score === bestScore && distance < bestDistance)) [best, bestScore, bestDistance] = [c, score, distance];
  }
  return bestScore <= Math.max(opts.floor ?? 1, Math.floor(word.length / 3)) ? best : undefined;
}

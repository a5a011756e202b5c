/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const rows: number[][] = [];
  for (let i = 0; i <= s.length; i++) {
    rows.push(new Array<number>(t.length + 1).fill(0));
    rows[i][0] = i;
  }
  for (let j = 0; j <= t.length; j++) rows[0][j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[s.length][t.length];
}

/**
 * Names close to `unknown`, best first: small edit distance (at most a third of the length, min 2),
 * or names that contain it / are contained in it. Ties break by name, so the output is deterministic.
 */
export function closeNames(unknown: string, names: Iterable<string>, max = 5): string[] {
  const want = unknown.toLowerCase();
  const limit = Math.max(2, Math.floor(want.length / 3));
  const scored: Array<[number, string]> = [];
  for (const name of new Set(names)) {
    if (name === unknown) continue;
    const lower = name.toLowerCase();
    let score = editDistance(want, lower);
    if (score > limit) {
      if (want.length >= 3 && (lower.includes(want) || want.includes(lower))) score = limit + Math.abs(lower.length - want.length) / 100;
      else continue;
    }
    scored.push([score, name]);
  }
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  return scored.slice(0, max).map(([, n]) => n);
}

/**
 * The benchmark's output: Markdown tables, and the benchmark's own section of docs/benchmarks.md.
 * Other benchmarks (viphealth, fleet) own other sections of that file; only ours is replaced.
 */
import { DEFAULT_BIRD_VERSION, markdownTable, replaceDocSection } from '@vipcontrol/testlab';

/** One line of the results table. */
export interface Row {
  figure: string;
  target: string;
  vipcontrol: string;
  bare: string;
  ratio: string;
  verdict: 'PASS' | 'FAIL' | '';
}

/** The results table: figure, target, vipcontrol, bare BIRD, ratio, verdict. */
export function resultsTable(rows: readonly Row[]): string {
  return markdownTable(
    ['figure', 'target', 'vipcontrol', 'bare BIRD', 'ratio', 'pass'],
    rows.map((r) => [r.figure, r.target, r.vipcontrol, r.bare, r.ratio, r.verdict]),
  );
}

/** Top of docs/benchmarks.md, above every section. */
function fileHeader(date: string): string {
  return [
    '# Benchmarks',
    '',
    `Figures come from \`bash scripts/bench.sh\` (all benchmarks; \`bash scripts/bench.sh core|health|fleet\` for one) on a`,
    `2-core machine, in the lab's network namespaces with real BIRD (Debian 12's ${DEFAULT_BIRD_VERSION} unless a section says`,
    `otherwise). Last updated ${date}; each section gives the date and the exact command of its own run.`,
    '',
  ].join('\n');
}

/**
 * Replaces the body of the `## vipcontrol (issue 2)` section of `path` (the default BIRD) or of
 * `## vipcontrol on BIRD VERSION` (another line; created at the end when missing), keeps every other
 * section as it is, and refreshes the file header's date. Returns the section's title.
 */
export async function writeSection(path: string, body: string, date: string, birdVersion: string): Promise<string> {
  const isDefault = birdVersion === DEFAULT_BIRD_VERSION;
  const title = isDefault ? 'vipcontrol (issue 2)' : `vipcontrol on BIRD ${birdVersion}`;
  await replaceDocSection(path, {
    marker: isDefault ? 'vipcontrol-bench' : `vipcontrol-bench-bird-${birdVersion}`,
    title,
    markdown: body.trim(),
    position: isDefault ? 'first' : 'last', // issue 2 comes before the others
    header: fileHeader(date),
  });
  return title;
}

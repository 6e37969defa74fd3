/**
 * The benchmark's output: Markdown tables, and the benchmark's own section of docs/benchmarks.md.
 * Other benchmarks (viphealth, fleet) own other sections of that file; only ours is replaced.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';

/** One line of the results table. */
export interface Row {
  figure: string;
  target: string;
  vipcontrol: string;
  bare: string;
  ratio: string;
  verdict: 'PASS' | 'FAIL' | '';
}

/** Renders a Markdown table with a header row. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The results table: figure, target, vipcontrol, bare BIRD, ratio, verdict. */
export function resultsTable(rows: readonly Row[]): string {
  return markdownTable(
    ['figure', 'target', 'vipcontrol', 'bare BIRD', 'ratio', 'pass'],
    rows.map((r) => [r.figure, r.target, r.vipcontrol, r.bare, r.ratio, r.verdict]),
  );
}

export const SECTION_TITLE = '## vipcontrol (issue 2)';

/** Top of docs/benchmarks.md, above every section. */
export function fileHeader(date: string): string {
  return [
    '# Benchmarks',
    '',
    `Figures come from \`bash scripts/bench.sh\` (all benchmarks; \`bash scripts/bench.sh core|health|fleet\` for one) on a`,
    `2-core machine, in the lab's network namespaces with real BIRD 2.0.12. Last updated ${date}; each section gives`,
    'the date and the exact command of its own run.',
    '',
  ].join('\n');
}

/**
 * Replaces (or appends) the `## vipcontrol (issue 2)` section of `path`, keeps every other section as
 * it is, and refreshes the file header. Written via temp file + rename so a concurrent reader never
 * sees half a file.
 */
export async function writeSection(path: string, body: string, date: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    text = '';
  }
  const sections = splitSections(text);
  const ours = `${SECTION_TITLE}\n\n${body.trim()}\n`;
  const at = sections.findIndex((s) => s.startsWith(`${SECTION_TITLE}\n`));
  if (at >= 0) sections[at] = ours;
  else sections.unshift(ours); // ours first: issue 2 comes before the others
  const out = `${fileHeader(date)}\n${sections.map((s) => s.trimEnd()).join('\n\n')}\n`;
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, out);
  await rename(temp, path);
}

/** The `## ` sections of a Markdown file; whatever precedes the first one (the header) is dropped. */
function splitSections(text: string): string[] {
  const sections: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) {
      if (current) sections.push(current.join('\n'));
      current = [line];
    } else current?.push(line);
  }
  if (current) sections.push(current.join('\n'));
  return sections;
}

/**
 * docs/benchmarks.md is shared by the benchmarks (core, fleet, viphealth): each owns one `## ` section
 * whose body stands between `<!-- NAME:start -->` and `<!-- NAME:end -->`, and a run rewrites only
 * that body, so one benchmark's run never touches another's figures.
 */
import { readFile } from 'node:fs/promises';
import { atomicWrite } from './atomic-write.js';

/** One benchmark's section of a shared Markdown file. */
export interface DocSection {
  /** NAME in the markers `<!-- NAME:start -->` / `<!-- NAME:end -->` around the body. */
  readonly marker: string;
  /** Heading text (without `## `) of the section created when the file has no such markers yet. */
  readonly title: string;
  /** Markdown put between the markers. */
  readonly markdown: string;
  /** Where a created section goes: after the last section (default) or before the first one. */
  readonly position?: 'first' | 'last';
  /** Replaces the file's header (everything above the first `## ` heading), e.g. to refresh its date. */
  readonly header?: string;
}

/** What a missing file starts as. */
const EMPTY_DOC = '# Benchmarks\n';

/**
 * Replaces the body between the section's markers in `file` (creating the section, or the file, when
 * missing) and keeps everything else as it is. Written via temp file + rename so that a concurrent
 * reader never sees half a file.
 */
export async function replaceDocSection(file: string, section: DocSection): Promise<void> {
  const start = `<!-- ${section.marker}:start -->`;
  const end = `<!-- ${section.marker}:end -->`;
  const body = `${start}\n${section.markdown}\n${end}`;
  let text = (await readIfExists(file)) ?? EMPTY_DOC;
  const from = text.indexOf(start);
  const to = text.indexOf(end, from);
  if (from >= 0 && to >= 0) {
    text = text.slice(0, from) + body + text.slice(to + end.length);
  } else {
    text = insertSection(text, `## ${section.title}\n\n${body}\n`, section.position ?? 'last');
  }
  if (section.header !== undefined) text = `${section.header}\n${text.slice(firstHeading(text) ?? text.length)}`;
  await atomicWrite(file, text);
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}

/** Offset of the first `## ` heading line, if any. */
function firstHeading(text: string): number | undefined {
  const at = text.search(/^## /m);
  return at >= 0 ? at : undefined;
}

function insertSection(text: string, section: string, position: 'first' | 'last'): string {
  const at = position === 'first' ? firstHeading(text) : undefined;
  return at === undefined ? `${text.trimEnd()}\n\n${section}` : `${text.slice(0, at)}${section}\n${text.slice(at)}`;
}

/** Renders a Markdown table with a header row. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

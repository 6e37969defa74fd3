/**
 * One sample's value from Prometheus text exposition (`name{labels} value`), for tests that scrape a
 * daemon's /metrics; `labels` as rendered, e.g. `prefix="198.51.100.10/32"`. Undefined when absent.
 */
export function promSample(text: string, name: string, labels = ''): number | undefined {
  const head = `${name}${labels ? `{${labels}}` : ''} `;
  const line = text.split('\n').find((l) => l.startsWith(head));
  return line === undefined ? undefined : Number(line.slice(head.length));
}

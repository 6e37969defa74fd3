#!/usr/bin/env node
// The packaged build: bundles the three programs (production code only, from each package's dist/src)
// into OUTDIR as ES modules sharing chunks, so a program loads only what its command needs
// (`vipctl status` does not load config validation or ioredis). Run after `tsc --build tsconfig.prod.json`.
//
//   node scripts/bundle.mjs OUTDIR
//
// Writes OUTDIR/{vipctl,vipcontrol,viphealth}.mjs + chunk-*.mjs, and OUTDIR/bundled-packages.json: the
// npm packages inside the bundle with their version and license (for debian/copyright).
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const [outdir] = process.argv.slice(2);
if (!outdir) {
  console.error('usage: node scripts/bundle.mjs OUTDIR');
  process.exit(2);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const result = await build({
  entryPoints: {
    vipctl: join(root, 'packages/vipctl/dist/src/main.js'),
    vipcontrol: join(root, 'packages/vipcontrol/dist/src/main.js'),
    viphealth: join(root, 'packages/viphealth/dist/src/main.js'),
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  // Smaller files parse faster; names are kept so stack traces in the journal stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // CommonJS dependencies (ioredis, commander, pino) call require() for node built-ins.
  banner: { js: "import { createRequire as __vipcontrolRequire } from 'node:module'; const require = __vipcontrolRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});

// Which npm packages ended up in the bundle: every input under a node_modules directory.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!match || packages.has(match[1])) continue;
  const dir = input.slice(0, match.index + match[0].length);
  const pkg = JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8'));
  if (pkg.private) continue; // our own workspaces, linked into node_modules
  packages.set(match[1], { name: pkg.name, version: pkg.version, license: pkg.license ?? 'UNKNOWN', dir: join(root, dir) });
}
await writeFile(join(outdir, 'bundled-packages.json'), `${JSON.stringify([...packages.values()].sort((a, b) => a.name.localeCompare(b.name)), null, 2)}\n`);

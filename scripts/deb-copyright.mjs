#!/usr/bin/env node
// debian/copyright (DEP-5) for the package: vipcontrol itself, the bundled npm packages (from the
// list scripts/bundle.mjs writes) with each one's copyright line and license text, and the Node.js
// runtime with its LICENSE.
//
//   node scripts/deb-copyright.mjs BUNDLED_PACKAGES_JSON NODE_BINARY > copyright
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const [listFile, nodeBin] = process.argv.slice(2);
if (!listFile || !nodeBin) {
  console.error('usage: node scripts/deb-copyright.mjs BUNDLED_PACKAGES_JSON NODE_BINARY');
  process.exit(2);
}

/** A text as a DEP-5 continuation: each line indented, empty lines as " .". */
const indent = (text) => text.trimEnd().split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l.trimEnd()}`)).join('\n');

function licenseText(dir) {
  const name = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  if (!name) throw new Error(`${dir}: no LICENSE file to copy into debian/copyright`);
  return readFileSync(join(dir, name), 'utf8');
}

const APACHE_REFERENCE = [
  ' On Debian systems, the full text of the Apache License, Version 2.0 can be found in',
  ' /usr/share/common-licenses/Apache-2.0.',
].join('\n');

const out = [
  'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
  'Upstream-Name: vipcontrol',
  '',
  'Files: *',
  'Copyright: vipcontrol developers',
  'License: Apache-2.0',
  APACHE_REFERENCE,
];

// Bundled npm packages (in /usr/lib/vipcontrol/app): one paragraph each, with its own license text.
for (const pkg of JSON.parse(readFileSync(listFile, 'utf8'))) {
  const text = licenseText(pkg.dir);
  // Apache-2.0 is in /usr/share/common-licenses (Debian policy 12.5: refer to it, do not copy it).
  const body = pkg.license === 'Apache-2.0' ? APACHE_REFERENCE : indent(text);
  const holders = text.split('\n').filter((l) => /^\s*copyright\b.*\d{4}/i.test(l)).map((l) => l.trim());
  out.push(
    '',
    'Files: usr/lib/vipcontrol/app/*',
    `Comment: bundled npm package ${pkg.name} ${pkg.version}`,
    `Copyright: ${holders.length ? holders.join('\n ') : `the ${pkg.name} authors`}`,
    `License: ${pkg.license}`,
    body,
  );
}

// The runtime: node's LICENSE covers Node.js and every library built into the binary.
const nodeLicense = [
  resolve(dirname(nodeBin), '../share/doc/node/LICENSE'),
  '/usr/share/doc/nodejs/LICENSE',
].find((p) => existsSync(p));
if (!nodeLicense) throw new Error(`no LICENSE found for the Node.js runtime ${nodeBin}`);
out.push(
  '',
  'Files: usr/lib/vipcontrol/node',
  `Comment: the Node.js ${process.versions.node} runtime, copied from the build machine`,
  'Copyright: Node.js contributors and the authors of the libraries it includes',
  'License: Node.js',
  indent(readFileSync(nodeLicense, 'utf8')),
);
process.stdout.write(`${out.join('\n')}\n`);

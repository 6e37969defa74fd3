#!/usr/bin/env node
// Man pages and vipctl's bash completion, generated from the programs' own commander definitions
// (the objects the binaries parse with), so they cannot drift from `--help`.
//
//   node scripts/cli-docs.mjs OUTDIR      (after `npm run build`)
//
// Writes OUTDIR/vipctl.1, OUTDIR/vipcontrol.8, OUTDIR/viphealth.8 and OUTDIR/vipctl.bash-completion.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const load = (path) => import(pathToFileURL(join(root, path)).href);

/** Roff-safe text: backslashes, and a leading dot or quote that roff would take for a request. */
function roff(text) {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
}

/** What commander prints after the generated help (addHelpText 'after'), e.g. vipctl's exit codes. */
function afterHelp(command) {
  let out = '';
  command.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  command.outputHelp();
  return out.slice(command.helpInformation().length).trim();
}

function optionsSection(command, withHelp = true) {
  const help = command.createHelp();
  return help.visibleOptions(command).filter((o) => withHelp || o.long !== '--help').map((o) => `.TP\n.B ${roff(o.flags)}\n${roff(help.optionDescription(o))}\n`).join('');
}

/** Every visible subcommand, depth first, with its full name ("config validate"). */
function commands(command, prefix = []) {
  const help = command.createHelp();
  return help.visibleCommands(command)
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [{ path: [...prefix, c.name()], command: c }, ...commands(c, [...prefix, c.name()])]);
}

function manPage({ command, section, title, files, seeAlso }) {
  const name = command.name();
  const version = command.version();
  const parts = [
    `.TH ${name.toUpperCase()} ${section} "" "vipcontrol ${version}" "${title}"`,
    '.SH NAME',
    `${name} \\- ${roff(command.description())}`,
    '.SH SYNOPSIS',
    `.B ${name}\n${roff(command.usage())}`,
    '.SH DESCRIPTION',
    roff(command.description().replace(/\.?$/, '.')),
    '.SH OPTIONS',
    optionsSection(command),
  ];
  const subs = commands(command);
  if (subs.length) {
    parts.push('.SH COMMANDS');
    for (const { path, command: c } of subs) {
      parts.push(`.SS ${roff([name, ...path].join(' '))} ${roff(c.usage())}`, roff(c.description()));
      const opts = optionsSection(c, false);
      if (opts) parts.push('.RS', opts.trimEnd(), '.RE');
    }
  }
  const after = afterHelp(command);
  if (after) parts.push('.SH NOTES', '.nf', roff(after), '.fi');
  if (files.length) parts.push('.SH FILES', ...files.map(([path, what]) => `.TP\n.I ${roff(path)}\n${roff(what)}`));
  parts.push('.SH SEE ALSO', seeAlso.map((s) => `.BR ${s.replace(/\((\d)\)/, ' ($1)')}`).join(',\n'));
  return `${parts.join('\n')}\n`;
}

/** Completion for vipctl: command words, then each command's subcommands and options. */
function completion(command) {
  const all = commands(command);
  const words = (c) => [
    ...c.createHelp().visibleCommands(c).map((s) => s.name()).filter((n) => n !== 'help'),
    ...c.createHelp().visibleOptions(c).flatMap((o) => [o.short, o.long].filter(Boolean)),
  ].join(' ');
  const arms = [['', command], ...all.map(({ path, command: c }) => [path.join('/'), c])]
    .map(([path, c]) => `    "${path}") words="${words(c)}" ;;`).join('\n');
  return `# bash completion for vipctl (generated from its commander definition by scripts/cli-docs.mjs)
_vipctl() {
  local cur=\${COMP_WORDS[COMP_CWORD]} known=" ${all.map(({ path }) => path.join('/')).join(' ')} " path="" next i words
  # The command path typed so far (e.g. "config/validate"): words that extend a known command path.
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ \${COMP_WORDS[i]} == --socket ]] && { ((i++)); continue; }
    next=\${path:+$path/}\${COMP_WORDS[i]}
    [[ "$known" == *" $next "* ]] && path=$next
  done
  case "$path" in
${arms}
    *) words="" ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -o default -F _vipctl vipctl
`;
}

const [outdir] = process.argv.slice(2);
if (!outdir) {
  console.error('usage: node scripts/cli-docs.mjs OUTDIR');
  process.exit(2);
}
await mkdir(outdir, { recursive: true });

const { createProgram, NOUNS } = await load('packages/vipctl/dist/src/program.js');
const io = { stdout: () => undefined, stderr: () => undefined, env: {} };
const vipctl = createProgram(io, await Promise.all(NOUNS.map((n) => n.load()))).program;
const { vipcontrolProgram } = await load('packages/vipcontrol/dist/src/cli.js');
const { viphealthProgram } = await load('packages/viphealth/dist/src/cli.js');

const config = ['/etc/vipcontrol/vipcontrol.yaml', "the daemon's configuration (vipctl config validate checks it)"];
await writeFile(join(outdir, 'vipctl.1'), manPage({
  command: vipctl, section: 1, title: 'vipcontrol',
  files: [['/run/vipcontrol/vipcontrol.sock', "vipcontrol's API socket (mode 0660, group of api.socketGroup)"], config],
  seeAlso: ['vipcontrol(8)', 'viphealth(8)', 'birdc(8)'],
}));
await writeFile(join(outdir, 'vipcontrol.8'), manPage({
  command: vipcontrolProgram(), section: 8, title: 'vipcontrol',
  files: [
    config,
    ['/etc/bird/vipcontrol.conf', 'the BIRD include file vipcontrol writes (never bird.conf itself)'],
    ['/var/lib/vipcontrol/state.json', 'operator overrides, drains and withdraws; survives restarts'],
    ['/run/vipcontrol/vipcontrol.sock', 'the local API socket (vipctl, viphealth)'],
    ['/usr/share/doc/vipcontrol/', 'documentation, example configs and the Puppet module'],
  ],
  seeAlso: ['vipctl(1)', 'viphealth(8)', 'bird(8)', 'systemctl(1)'],
}));
await writeFile(join(outdir, 'viphealth.8'), manPage({
  command: viphealthProgram(), section: 8, title: 'vipcontrol',
  files: [['/etc/vipcontrol/viphealth.yaml', 'the checks (vipctl config validate --kind viphealth checks it)']],
  seeAlso: ['vipcontrol(8)', 'vipctl(1)'],
}));
await writeFile(join(outdir, 'vipctl.bash-completion'), completion(vipctl));

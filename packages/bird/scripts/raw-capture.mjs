// Records BIRD's raw control-socket replies as fixture files (used by capture-fixtures.sh).
// Usage: node raw-capture.mjs SOCKET OUTDIR STEP...
//   STEP = "name=command"   send command, save the reply bytes to OUTDIR/name.txt
//          "banner"         save the greeting (always read first) to OUTDIR/banner.txt
//          "listen:name:ms" save whatever arrives unsolicited within ms to OUTDIR/name.txt
//          "sleep:ms"       wait, e.g. for BIRD 3 to finish a reconfiguration it answered 0004 to
// Deliberately independent of the library: fixtures must record BIRD, not our own decoder.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { setTimeout as sleep } from 'node:timers/promises';

const [sockPath, outDir, ...steps] = process.argv.slice(2);
const sock = net.createConnection(sockPath);
let buf = Buffer.alloc(0);
let waiter;
sock.on('data', (d) => { buf = Buffer.concat([buf, d]); waiter?.(); });
sock.on('error', (e) => { console.error(e); process.exit(1); });

/** Resolves with the bytes up to and including the first line matching /^\d{4} /. */
function readReply() {
  return new Promise((resolve) => {
    const check = () => {
      const text = buf.toString('latin1');
      const m = /(^|\n)\d{4} [^\n]*\n/.exec(text);
      if (!m) return;
      const end = m.index + m[0].length;
      const out = buf.subarray(0, end);
      buf = buf.subarray(end);
      waiter = undefined;
      resolve(out);
    };
    waiter = check;
    check();
  });
}

// Every connection starts with the 0001 greeting (nest/cli.c cli_hello); keep it only when asked.
const banner = await readReply();
for (const step of steps) {
  if (step === 'banner') {
    writeFileSync(`${outDir}/banner.txt`, banner);
  } else if (step.startsWith('sleep:')) {
    await sleep(Number(step.slice('sleep:'.length)));
  } else if (step.startsWith('listen:')) {
    const [, name, ms] = step.split(':');
    await sleep(Number(ms));
    writeFileSync(`${outDir}/${name}.txt`, buf);
    buf = Buffer.alloc(0);
  } else {
    const i = step.indexOf('=');
    sock.write(`${step.slice(i + 1)}\n`);
    writeFileSync(`${outDir}/${step.slice(0, i)}.txt`, await readReply());
  }
}
sock.end();

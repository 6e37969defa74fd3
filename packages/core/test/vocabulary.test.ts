// One validation vocabulary (issue 7): free text, actors and MEDs are judged by one rule at every
// boundary — API body, actor header, state file, fleet data — so nothing one accepts is refused by
// another (a UTF-8 actor accepted by the API used to make state.json "corrupt" at the next start).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FLEET_SCHEMA_VERSION,
  MAX_U32,
  ValidationError,
  auditEntrySchema,
  desiredEntrySchema,
  encodeActorHeader,
  freeTextProblem,
  parseActorHeader,
  parseFleetJson,
  parseMed,
  parseMedText,
  parseRuntimeState,
  parseSetMedBody,
  toFreeText,
} from '../src/index.js';

const ACCEPTED = [
  'alice@host',
  'Jürgen Groß@h',
  '渡辺 健@h',
  'أحمد@h',
  'नमस्ते', // Devanagari with virama
  'می‌خواهم', // Persian with a zero-width non-joiner, which the script needs
  '👩‍💻 on call', // ZWJ emoji sequence
  'Zoë "quoted" \\ back',
  '\u200e', // a bidi MARK is not an override
];
const REFUSED: [string, string][] = [
  ['NUL', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['tab', 'a\tb'],
  ['DEL', 'a\u007fb'],
  ['C1 NEL', 'a\u0085b'],
  ['C1 CSI', 'a\u009b31mb'],
  ['line separator', 'a\u2028b'],
  ['paragraph separator', 'a\u2029b'],
  ['right-to-left override', 'a\u202eb'],
  ['left-to-right embedding', 'a\u202ab'],
  ['first-strong isolate', 'a\u2068b'],
  ['pop directional isolate', 'a\u2069b'],
  ['lone surrogate', 'a\ud800b'],
];

/** Every boundary's verdict on `text` as a reason / actor: true = accepted. */
function verdicts(text: string): Record<string, boolean> {
  const state = { version: 1, overrides: { '198.51.100.10/32': { med: 1, setAt: 1, reason: text, setBy: text } }, withdrawn: {} };
  const desired = { v: FLEET_SCHEMA_VERSION, id: 'abcdefgh-1', seq: 1, node: 'n1', op: 'drain', body: {}, by: text, at: 1 };
  const audit = { v: FLEET_SCHEMA_VERSION, at: 1, node: 'n1', actor: { source: 'api', user: text }, action: 'set-med', reason: text, ok: true };
  const ok = (fn: () => unknown): boolean => {
    try {
      fn();
      return true;
    } catch {
      return false;
    }
  };
  return {
    vocabulary: freeTextProblem(text, 200) === undefined,
    apiBody: ok(() => parseSetMedBody({ med: 1, reason: text })),
    // A header carries UTF-8 bytes: text UTF-8 cannot encode (a lone surrogate) cannot be sent at all.
    actorHeader: Buffer.from(text, 'utf8').toString('utf8') === text && ok(() => parseActorHeader(encodeActorHeader(text))),
    stateFile: ok(() => parseRuntimeState(JSON.parse(JSON.stringify(state)))),
    fleetDesired: parseFleetJson(desiredEntrySchema, JSON.stringify(desired), 'k').ok,
    fleetAudit: parseFleetJson(auditEntrySchema, JSON.stringify(audit), 'k').ok,
  };
}

test('real names in any script are accepted at every boundary', () => {
  for (const text of ACCEPTED) {
    const v = verdicts(text);
    assert.ok(Object.values(v).every(Boolean), `${JSON.stringify(text)}: ${JSON.stringify(v)}`);
  }
});

test('control, bidi-override, separator characters are refused at every boundary', () => {
  for (const [name, text] of REFUSED) {
    const v = verdicts(text);
    assert.ok(Object.values(v).every((x) => !x), `${name}: ${JSON.stringify(v)}`);
  }
});

test('property: every boundary gives the same verdict on any string', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (text) => {
      const v = Object.values(verdicts(text));
      return v.every((x) => x === v[0]);
    }),
    { numRuns: 2000 },
  );
});

test('the actor header is UTF-8: encoded by vipctl, decoded by the daemon; other bytes are one clear error', () => {
  assert.deepEqual(parseActorHeader(encodeActorHeader('Jürgen@h')), { source: 'api', user: 'Jürgen@h' });
  assert.deepEqual(parseActorHeader(encodeActorHeader('渡辺@h')), { source: 'api', user: '渡辺@h' });
  assert.deepEqual(parseActorHeader(undefined), { source: 'api' });
  assert.deepEqual(parseActorHeader(''), { source: 'api' });
  // "ü" sent as the single latin1 byte 0xFC is not UTF-8: refused rather than guessed.
  assert.throws(() => parseActorHeader('J\u00fcrgen'), (e: unknown) => e instanceof ValidationError && /not valid UTF-8/.test(e.message));
  // A UTF-8 "Ć" (C4 86) read byte-per-char used to carry U+0086, a C1 control: decoded, it is a letter.
  assert.deepEqual(parseActorHeader('\u00c4\u0086'), { source: 'api', user: 'Ć' });
  assert.throws(() => parseActorHeader(encodeActorHeader('x'.repeat(201))), /at most 200/);
});

test('MEDs: one maximum, one parser for numbers and for command-line text', () => {
  assert.equal(MAX_U32, 2 ** 32 - 1);
  assert.equal(parseMed(MAX_U32), MAX_U32);
  assert.equal(parseMedText('4294967295'), MAX_U32);
  for (const bad of [-1, 1.5, MAX_U32 + 1, '1', Number.NaN]) assert.throws(() => parseMed(bad), ValidationError, String(bad));
  for (const bad of ['4294967296', '-1', '1e3', '0x10', ' 1', '']) assert.throws(() => parseMedText(bad), ValidationError, bad);
});

test('toFreeText makes reported text acceptable free text', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 1, max: 30 }), (text, max) => {
      return freeTextProblem(toFreeText(text, max), max) === undefined;
    }),
  );
  assert.equal(toFreeText('a\nb\u2028c', 10), 'a b c');
});

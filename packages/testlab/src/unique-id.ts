import { randomBytes } from 'node:crypto';

/**
 * A short random id, lower-case base36, 6 characters. Every namespace, interface, socket and temp dir
 * of a run carries it. Six characters keep `vc<id>r1`-style interface names within Linux's 15-byte
 * IFNAMSIZ limit while giving ~2 billion values, so parallel test files never collide.
 */
export function uniqueId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(6);
  // First character is a letter so ids are also valid BIRD symbols and never look like numbers.
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 6; i++) id += alphabet[bytes[i]! % alphabet.length]!;
  return id;
}

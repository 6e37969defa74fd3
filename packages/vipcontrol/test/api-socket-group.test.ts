// api.socketGroup is resolved through NSS (getent), as getgrnam(3) would: a group that only LDAP or
// sssd knows works like one in /etc/group; an unknown group fails the start with one clear error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { apiRoutes } from '../src/api-routes.js';
import { ApiServer, ApiSocketError } from '../src/api-server.js';
import type { Controller } from '../src/controller.js';
import { createLogger } from '../src/logger.js';

const run = promisify(execFile);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-api-group-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const logger = createLogger({ level: 'silent' });
const controller = {} as Controller; // never called: no request is sent

test('the socket gets the group NSS names', async () => {
  const { stdout } = await run('getent', ['group', 'nogroup']);
  const gid = Number(stdout.split(':')[2]);
  const socketPath = join(dir, 'ok.sock');
  const api = new ApiServer({ socketPath, mode: 0o660, group: 'nogroup', controller, routes: apiRoutes(), logger });
  await api.listen();
  try {
    assert.equal((await stat(socketPath)).gid, gid);
  } finally {
    await api.close();
  }
});

test('an unknown group fails listen() with the group named', async () => {
  const api = new ApiServer({ socketPath: join(dir, 'bad.sock'), mode: 0o660, group: 'no-such-group-vc9', controller, routes: apiRoutes(), logger });
  await assert.rejects(api.listen(), (err: unknown) => err instanceof ApiSocketError && /api\.socketGroup no-such-group-vc9: no such group/.test(err.message));
});

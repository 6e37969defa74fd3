/** Test certificates made with openssl: a private CA and a server certificate it issued for 127.0.0.1 / localhost. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TlsCerts {
  /** The CA certificate (PEM file): what a client trusts. */
  readonly ca: string;
  /** The server certificate (PEM file), issued by `ca`, for IP 127.0.0.1 and DNS localhost. */
  readonly cert: string;
  /** The server's private key (PEM file). */
  readonly key: string;
}

/** Writes `<name>-ca.pem`, `<name>-server.pem`, `<name>-server.key` (EC P-256, valid one day) into `dir`. */
export async function makeTlsCerts(dir: string, name = 'test'): Promise<TlsCerts> {
  const f = (file: string) => join(dir, `${name}-${file}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await execa('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', `/CN=vipcontrol ${name} CA`]);
  await execa('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  await writeFile(f('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await execa('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.pem'), '-days', '1', '-extfile', f('san.cnf')]);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

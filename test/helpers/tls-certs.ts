import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DAY = 86_400_000;

/** A key and certificate as files (for configs) and PEM text (for servers). */
export interface TestCert {
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

/** Certificates made with the `openssl` CLI in a temp dir; all EC P-256 so they take milliseconds. */
export interface TestCerts {
  dir: string;
  /** The test CA's certificate (PEM file), to trust as a check's `caFile`. */
  caFile: string;
  /** CA-signed, for `localhost` and 127.0.0.1, valid a year. */
  valid: TestCert;
  /** Self-signed, for `localhost` and 127.0.0.1. */
  selfSigned: TestCert;
  /** CA-signed for `localhost`, expiring in 3 days. */
  expiring: TestCert;
  /** CA-signed for `localhost`, expired 30 days ago. */
  expired: TestCert;
  /** CA-signed, valid, but only for `wrong.example`. */
  wrongHost: TestCert;
  cleanup(): Promise<void>;
}

const CA_CONFIG = `
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any_policy
copy_extensions = copy
unique_subject = no
[any_policy]
commonName = supplied
`;

const LOCAL_SAN = 'subjectAltName=DNS:localhost,IP:127.0.0.1';

/** Generates the test CA and every certificate above; call cleanup() when done. */
export async function generateTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'podpulse-certs-'));
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await writeFile(join(dir, 'ca.cnf'), CA_CONFIG);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '01\n');
  await openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=podpulse test CA');
  await openssl('req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.crt', '-days', '365', '-subj', '/CN=localhost', '-addext', LOCAL_SAN);

  const now = Date.now();
  const signed = async (name: string, cn: string, san: string, from: number, to: number) => {
    await openssl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`, '-addext', san);
    await openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-notext',
      '-startdate', asn1Time(from), '-enddate', asn1Time(to), '-in', `${name}.csr`, '-out', `${name}.crt`);
    return load(dir, name);
  };
  // Sequential: `openssl ca` appends to one index file.
  const valid = await signed('valid', 'localhost', LOCAL_SAN, now - DAY, now + 365 * DAY);
  const expiring = await signed('expiring', 'localhost', LOCAL_SAN, now - DAY, now + 3 * DAY);
  const expired = await signed('expired', 'localhost', LOCAL_SAN, now - 90 * DAY, now - 30 * DAY);
  const wrongHost = await signed('wrong', 'wrong.example', 'subjectAltName=DNS:wrong.example', now - DAY, now + 365 * DAY);
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    valid,
    selfSigned: await load(dir, 'self'),
    expiring,
    expired,
    wrongHost,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

async function load(dir: string, name: string): Promise<TestCert> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  return { keyFile, certFile, key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
}

/** YYYYMMDDHHMMSSZ, as `openssl ca -startdate/-enddate` take it. */
function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

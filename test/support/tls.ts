/**
 * A throw-away certificate authority and a server certificate for
 * 127.0.0.1/localhost, made with the openssl CLI in a temporary directory.
 * Generated once per test process (key generation is the slow part).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import { listenLoopback } from './server';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestPki {
  dir: string;
  /** PEM file of the CA: what a client passes as its CA bundle. */
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
  cert: string;
  key: string;
}

let cached: TestPki | undefined;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function testPki(): TestPki {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, [
    'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=cfntools throw-away test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(
    path.join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  openssl(dir, [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext',
  ]);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  cached = {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    certFile: path.join(dir, 'server.pem'),
    keyFile: path.join(dir, 'server.key'),
    ca: read('ca.pem'),
    cert: read('server.pem'),
    key: read('server.key'),
  };
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return cached;
}

export interface TestHttpsServer {
  url: string;
  port: number;
  requests: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined> }>;
  server: https.Server;
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1 with the throw-away CA's certificate; answers 200 "secure ok". */
export async function startHttpsServer(
  handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void = (_req, res) => res.end('secure ok'),
): Promise<TestHttpsServer> {
  const pki = testPki();
  const requests: TestHttpsServer['requests'] = [];
  const server = https.createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  return { ...(await listenLoopback(server, 'https')), requests, server };
}

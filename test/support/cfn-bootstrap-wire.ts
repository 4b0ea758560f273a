/**
 * The scenarios of the cfn-bootstrap-wire transcripts (aws-cfn-bootstrap's
 * own traffic; test/fixtures/cfn-bootstrap-wire/README.md): the command
 * line, the CloudFormation requests it sent with the answers it got, and
 * its exit code and output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { shellWords } from './shell-words';
import { CFN_BOOTSTRAP_WIRE, readRecords, type WireRecord } from './sigv-transcript';

export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface BootstrapExchange {
  request: WireRecord;
  answer: WireAnswer;
}

export interface BootstrapScenario {
  file: string;
  tool: string;
  /** Arguments after the tool's name. */
  argv: string[];
  /** The banner's `# (...)` line, when there is one. */
  condition?: string;
  /** The requests to CloudFormation (not the metadata service, not S3), in order, with their answers. */
  cloudFormation: BootstrapExchange[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The identity document, its signature and the fake signer's certificate the recording's metadata service served. */
export const WIRE_IDENTITY = {
  document: fs.readFileSync(path.join(CFN_BOOTSTRAP_WIRE, 'fixtures', 'imds-instance-identity-document'), 'utf8'),
  signature: fs.readFileSync(path.join(CFN_BOOTSTRAP_WIRE, 'fixtures', 'imds-instance-identity-signature'), 'utf8'),
  certificate: fs.readFileSync(path.join(CFN_BOOTSTRAP_WIRE, 'fixtures', 'fake-identity-rsa1024.crt'), 'utf8'),
  instanceId: 'i-0123456789abcdef0',
};

const BANNER = /^#{70,}\n# SCENARIO [^\n]*\n# \$ ([^\n]*)\n(?:# \(([^\n]*)\)\n)?#{70,}\n/gm;
const CFN_HOST = /^(cloudformation\.[a-z0-9-]+\.amazonaws\.com|127\.0\.0\.1:8000)$/;

/** The answer to record `id` of the file's `text`; one printed as identical to an earlier one is that one. */
function answerOf(text: string, id: string): WireAnswer {
  const rest = text.slice(text.indexOf(`=\n${id} `));
  const same = /--- response \(as sent\): byte-identical to the response of (#\d+) above/.exec(rest.slice(0, rest.indexOf('\n====', 1)));
  if (same) return answerOf(text, same[1]!);
  const m = /--- response \(as sent\)\nHTTP\/1\.1 (\d+)[^\n]*\n([\s\S]*?)\n\n([^\n]*)/.exec(rest);
  if (!m) throw new Error(`record ${id}: no answer`);
  const headers = Object.fromEntries(m[2]!.split('\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(m[1]), headers, body: m[3]!.startsWith('--- ') || m[3]!.startsWith('====') ? '' : m[3]! };
}

function section(chunk: string, name: string): string {
  const m = new RegExp(`--- \\[command ${name}\\]\\n([\\s\\S]*?)\\n--- \\[`).exec(chunk);
  return m ? m[1]! : '';
}

export function readBootstrapScenarios(file: string): BootstrapScenario[] {
  const text = fs.readFileSync(path.join(CFN_BOOTSTRAP_WIRE, file)).toString('latin1');
  const records = readRecords(file, CFN_BOOTSTRAP_WIRE);
  const heads = [...text.matchAll(BANNER)];
  return heads.map((m, i) => {
    const start = m.index! + m[0].length;
    const chunk = text.slice(start, i + 1 < heads.length ? heads[i + 1]!.index : text.length);
    const words = shellWords(m[1]!.replace(/ +# .*$/, ''));
    const exit = /--- \[command exit code\] (\d+)/.exec(chunk);
    if (!exit) throw new Error(`${file}: scenario without an exit code: ${m[1]}`);
    const ids = new Set([...chunk.matchAll(/^={70,}\n(#\d+) /gm)].map((x) => x[1]!));
    const cloudFormation = records
      .filter((r) => ids.has(r.id) && CFN_HOST.test(r.headers.find(([n]) => n.toLowerCase() === 'host')?.[1] ?? ''))
      .map((request) => ({ request, answer: answerOf(text, request.id) }));
    return {
      file,
      tool: words[0]!,
      argv: words.slice(1),
      ...(m[2] ? { condition: m[2] } : {}),
      cloudFormation,
      exitCode: Number(exit[1]),
      stdout: section(chunk, 'stdout'),
      stderr: section(chunk, 'stderr'),
    };
  });
}

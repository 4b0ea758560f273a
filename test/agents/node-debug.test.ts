/**
 * NODE_DEBUG is not honoured: Node's http and net debug output prints the
 * request's options, a pre-signed URL's Signature= among them. The tools
 * start again without it (a Node.js with process.execve) or refuse to run;
 * either way the signature never reaches stderr.
 */
import * as assert from 'node:assert/strict';
import { answerAccepted, atOrigin, sandbox, withServer, WIRE_SIGNATURE, WIRE_URL, type Sandbox } from '../cfn-signal/support';

const canRestart = typeof (process as { execve?: unknown }).execve === 'function';

describe('NODE_DEBUG and NODE_DEBUG_NATIVE', function () {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.remove());

  for (const env of [{ NODE_DEBUG: 'http,net,https,tls' }, { NODE_DEBUG_NATIVE: 'tlswrap' }]) {
    const name = Object.keys(env)[0];
    it(`cfn-signal with ${name} set: the signature never reaches stderr; ${canRestart ? 'the signal is sent by the tool started again without it' : 'the tool refuses to run (this Node.js has no process.execve)'}`, async () => {
      await withServer(answerAccepted, async (server) => {
        const r = await box.run(['-e', '0', '-i', 'x', atOrigin(WIRE_URL, server.url)], env);
        assert.ok(!r.stderr.includes(WIRE_SIGNATURE), r.stderr);
        assert.ok(!r.stderr.includes('createConnection'), `Node's debug output: ${r.stderr}`);
        if (canRestart) {
          assert.equal(r.status, 0, r.stderr);
          assert.equal(r.stderr, `cfn-signal: ignoring ${name}: Node's debug output shows signed URLs and tokens\n`);
          assert.equal(server.requests.length, 1);
        } else {
          assert.equal(r.status, 2);
          assert.match(r.stderr, new RegExp(`^cfn-signal: ${name} would print signed URLs and tokens, and Node\\.js v[\\d.]+ cannot start the tool again without it; unset it\\n$`));
          assert.equal(server.requests.length, 0);
        }
      });
    });
  }
});

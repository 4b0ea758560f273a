/**
 * The status page at `/`: the same facts as /_emulator/state, for a person.
 * Everything shown comes from stack files and requests, so all of it is
 * escaped.
 */
import type { EmulatorState } from './state-view';

export function esc(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2) ?? '';
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function table(headers: string[], rows: string[][]): string {
  if (!rows.length) return '<p class="none">none</p>';
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const pre = (v: unknown) => `<pre>${esc(v)}</pre>`;

export function renderStatusPage(state: EmulatorState): string {
  const stacks = state.stacks
    .map((s) => {
      const resources = table(
        ['resource', 'type', 'status', 'metadata'],
        s.resources.map((r) => [esc(r.name), esc(r.type), `${esc(r.status)}<br><small>${esc(r.statusReason)}</small>`, pre(r.metadata)]),
      );
      const waits = s.resources
        .filter((r) => r.waitCondition)
        .map((r) => {
          const w = r.waitCondition!;
          const signals = table(
            ['UniqueId', 'Status', 'Reason', 'Data', 'received', 'via'],
            r.signals.map((g) => [esc(g.uniqueId), esc(g.status), esc(g.reason), pre(g.data), esc(g.receivedAt), esc(g.via)]),
          );
          return `<h4>${esc(r.name)}: ${esc(r.status)} (${w.received} of ${w.count}${w.timeoutSeconds ? `, timeout ${w.timeoutSeconds} s` : ''})</h4>
<p><small>${esc(r.statusReason)}</small></p>${signals}<p>Data attribute: <code>${esc(w.dataAttribute)}</code></p>`;
        })
        .join('\n');
      const handles = s.resources
        .filter((r) => r.handle)
        .map((r) => {
          const h = r.handle!;
          return `<h4>${esc(r.name)} (access key <code>${esc(h.accessKey)}</code>)</h4>
<p>SigV2 (Heat): <code class="url">${esc(h.sigv2)}</code></p>
<p>SigV4 presigned: <code class="url">${esc(h.sigv4)}</code></p>
<p><small>signed at ${esc(h.generatedAt)}; keystone refuses them 15 minutes later, reload for fresh ones</small></p>`;
        })
        .join('\n');
      const deployments = table(
        ['deployment', 'server', 'transport', 'status', 'deployment row', 'outputs', 'signals', 'metadata item'],
        s.deployments.map((d) => {
          const row = d.softwareDeployment;
          const item = d.metadata;
          return [
            `${esc(d.name)}${d.deleted ? ' <small>(deleted)</small>' : ''}`,
            esc(d.server),
            esc(d.signalTransport),
            `${esc(d.status)}<br><small>${esc(d.statusReason)}</small>`,
            row ? `${esc(`${row.action} ${row.status}`)}<br><small>${esc(row.status_reason)}</small>` : '<span class="none">none</span>',
            row?.output_values ? pre(row.output_values) : '<span class="none">none yet</span>',
            esc(String(d.signalCount)),
            item ? `<code>${esc(item.id)}</code><br><small>${esc(item.name)}, created ${esc(item.creation_time)}</small>` : '<span class="none">none</span>',
          ];
        }),
      );
      return `<section><h2>stack ${esc(s.name)}</h2><p><code>${esc(s.arn)}</code></p>
<h3>resources</h3>${resources}
<h3>wait conditions</h3>${waits || '<p class="none">none</p>'}
<h3>wait-condition handle URLs</h3>${handles || '<p class="none">none</p>'}
<h3>software deployments</h3>${deployments}</section>`;
    })
    .join('\n');
  const metrics = table(
    ['received', 'stack', 'namespace', 'metric', 'value', 'unit', 'dimensions'],
    state.metrics
      .slice(-50)
      .reverse()
      .map((m) => [esc(m.receivedAt), esc(m.stack ?? ''), esc(m.namespace), esc(m.metricName ?? ''), esc(String(m.value ?? '')), esc(m.unit ?? ''), esc(m.dimensions.map((d) => `${d.name}=${d.value}`).join(', '))]),
  );
  const { rate, validation } = state.metricPolicy;
  const policy = `rate ${rate ? `${esc(String(rate.perSecond))}/s, burst ${esc(String(rate.burst))}` : 'unlimited'} per access key; validation ${esc(validation)}`;
  const throttled = table(
    ['access key', 'throttled requests'],
    Object.entries(state.metricThrottled).map(([key, count]) => [`<code>${esc(key)}</code>`, esc(String(count))]),
  );
  const ec2 = state.ec2;
  const ec2Section = ec2
    ? `<h2>EC2 mode</h2><p>account <code>${esc(ec2.accountId)}</code> in <code>${esc(ec2.region)}</code> (${esc(ec2.availabilityZone)});
metadata service <code>${esc(ec2.imdsUrl)}</code> (IMDSv2 tokens ${esc(ec2.imdsTokens)}) plays <code>${esc(ec2.instanceId)}</code>,
${ec2.instanceStack ? `a member of stack ${esc(ec2.instanceStack)}` : 'a member of no stack'};
role ${ec2.role ? `<code>${esc(ec2.role.name)}</code> (key <code>${esc(ec2.role.accessKey)}</code>, permissions: ${esc(ec2.role.scope)})` : 'none'}</p>
${table(['stack', 'member instances'], Object.entries(ec2.members).map(([stack, ids]) => [esc(stack), esc(ids.join(', '))]))}`
    : '';
  const requests = table(
    ['#', 'time', 'request', 'action', 'signature', 'status', 'fault'],
    state.requests
      .slice(-50)
      .reverse()
      .map((r) => [
        String(r.id),
        esc(r.time),
        `<code>${esc(`${r.service === 'imds' ? 'IMDS ' : ''}${r.method} ${r.path}`)}</code>`,
        esc(r.action ?? ''),
        esc(`${r.signature}${r.instanceId ? ` ${r.instanceId}` : ''}${r.verified ? ` ${r.verified}` : ''}`),
        esc(String(r.status)),
        esc(r.fault ?? ''),
      ]),
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cfntools endpoint emulator</title>
<style>
body{font-family:sans-serif;margin:1em 2em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}pre{margin:0;font-size:90%}
.none{color:#888}code.url{word-break:break-all}
</style></head><body>
<h1>cfntools endpoint emulator</h1>
<p>API <code>${esc(state.url)}/v1/</code>; emulator clock ${esc(state.now)}${state.clockSkewSeconds ? ` (skewed ${esc(String(state.clockSkewSeconds))} s)` : ''};
state as JSON: <a href="/_emulator/state">/_emulator/state</a></p>
<p>faults: <code>${esc(state.faults)}</code></p>
${ec2Section}
${stacks}
<h2>recent metrics</h2><p>PutMetricData policy: ${policy}</p>${metrics}
<h3>PutMetricData throttled</h3>${throttled}
<h2>recent requests</h2>${requests}
</body></html>
`;
}

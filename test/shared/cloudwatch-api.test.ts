import * as assert from 'node:assert/strict';
import { decimalString, metricParams } from '../../shared/cloudwatch-api';

describe('cloudwatch-api', () => {
  it('values in plain decimal notation, exactly as JavaScript would print them otherwise', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [25, '25'],
      [-1.5, '-1.5'],
      [1e-7, '0.0000001'],
      [-1.25e-9, '-0.00000000125'],
      [1e21, '1000000000000000000000'],
      [1.5e22, '15000000000000000000000'],
      [2 ** -360, decimalString(2 ** -360)],
    ];
    for (const [v, want] of cases) assert.equal(decimalString(v), want, String(v));
    for (const v of [1e-7, 3.14159e-12, 2 ** -360, 2 ** 360, 9.87e25, -4.2e-30]) {
      const s = decimalString(v);
      assert.ok(!/e/i.test(s), s);
      assert.equal(Number(s), v, `${v} round-trips through ${s.slice(0, 40)}`);
    }
  });

  it('metricParams numbers members from 1, dimensions within each', () => {
    const p = metricParams('NS', [
      { name: 'A', value: 1e-7, unit: 'Count', dimensions: [{ name: 'D', value: 'v' }] },
      { name: 'B', value: 2, timestamp: new Date('2026-12-02T00:00:00Z') },
    ]);
    assert.deepEqual(p, {
      Namespace: 'NS',
      'MetricData.member.1.MetricName': 'A',
      'MetricData.member.1.Value': '0.0000001',
      'MetricData.member.1.Unit': 'Count',
      'MetricData.member.1.Dimensions.member.1.Name': 'D',
      'MetricData.member.1.Dimensions.member.1.Value': 'v',
      'MetricData.member.2.MetricName': 'B',
      'MetricData.member.2.Value': '2',
      'MetricData.member.2.Timestamp': '2026-12-02T00:00:00.000Z',
    });
  });
});

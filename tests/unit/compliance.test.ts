import { xml } from '@xmpp/client';
import { describe, expect, it } from 'vitest';
import { parseStunClientOutput, parseUclientOutput } from '../../worker/src/adapters/turnutils.stun-turn-client.js';
import { complianceChecks } from '../../worker/src/compliance/check-list.js';
import { CheckFailure, type CheckResult } from '../../worker/src/compliance/compliance-check.js';
import { summarizeComplianceResults } from '../../worker/src/compliance/compliance-results.js';
import { classifyCheckError } from '../../worker/src/compliance/run-compliance-checks.js';
import { COMPLIANCE_RUNS_AT_ONCE, waitsFor } from '../../worker/src/compliance/compliance-job.js';
import { externalServices, externalServicesProblem, serverInfoAddresses } from '../../worker/src/compliance/service-info.js';
import { COMPLIANCE_ACCOUNT_PREFIX, COMPLIANCE_CHECK_IDS, isComplianceAccount } from '../../worker/src/contracts/compliance.js';
import { XmppProbeError } from '../../worker/src/ports/xmpp-probe.js';
import { StunTurnError } from '../../worker/src/ports/stun-turn-client.js';

const field = (name: string, ...values: string[]) => xml('field', { var: name }, ...values.map((v) => xml('value', {}, v)));
const form = (formType: string, ...fields: ReturnType<typeof xml>[]) => xml('x', { xmlns: 'jabber:x:data', type: 'result' }, field('FORM_TYPE', formType), ...fields);
const query = (...children: ReturnType<typeof xml>[]) => xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, xml('identity', { category: 'server', type: 'im' }), ...children);

describe('XEP-0157: the serverinfo form', () => {
  it('reads each field’s addresses from the serverinfo form, ignoring other forms', () => {
    const info = query(form('urn:xmpp:dataforms:softwareinfo', field('os', 'Linux')), form('http://jabber.org/network/serverinfo', field('abuse-addresses', 'mailto:abuse@example.com', 'xmpp:admin@example.com'), field('admin-addresses', 'xmpp:admin@example.com'), field('support-addresses')));
    expect(serverInfoAddresses(info)).toEqual({ 'abuse-addresses': ['mailto:abuse@example.com', 'xmpp:admin@example.com'], 'admin-addresses': ['xmpp:admin@example.com'], 'support-addresses': [] });
  });

  it('is undefined without the form', () => {
    expect(serverInfoAddresses(query(form('urn:xmpp:dataforms:softwareinfo', field('abuse-addresses', 'mailto:a@b.c'))))).toBeUndefined();
    expect(serverInfoAddresses(query())).toBeUndefined();
  });
});

describe('XEP-0215: external services', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  const service = (attrs: Record<string, string>) => xml('service', attrs);
  const answer = (...services: ReturnType<typeof xml>[]) => externalServices(xml('services', { xmlns: 'urn:xmpp:extdisco:2' }, ...services));
  const stun = service({ type: 'stun', transport: 'udp', host: '203.0.113.5', port: '3478' });
  const turn = (extra: Record<string, string> = {}) => service({ type: 'turn', transport: 'udp', host: '203.0.113.5', port: '3478', username: '1796040000:server', password: 'c2VjcmV0', expires: '2026-12-01T12:00:00Z', ...extra });

  it('reads every entry, with its credentials and expiry', () => {
    expect(answer(stun, turn())).toEqual([
      { type: 'stun', transport: 'udp', host: '203.0.113.5', port: 3478, expires: Number.NaN },
      { type: 'turn', transport: 'udp', host: '203.0.113.5', port: 3478, username: '1796040000:server', password: 'c2VjcmV0', expires: Date.parse('2026-12-01T12:00:00Z') },
    ]);
  });

  it('accepts STUN plus TURN with unexpired credentials', () => {
    expect(externalServicesProblem(answer(stun, turn()), now)).toBeUndefined();
  });

  it.each([
    ['no_external_services', []],
    ['no_stun', [turn()]],
    ['no_turn', [stun]],
    ['turn_without_credentials', [stun, service({ type: 'turn', transport: 'udp', host: '203.0.113.5', port: '3478' })]],
    ['turn_without_credentials', [stun, turn({ expires: 'not a date' })]],
    ['turn_credentials_expired', [stun, turn({ expires: '2026-11-30T11:59:59Z' })]],
    ['bad_service_address', [stun, turn({ port: '70000' })]],
  ] as const)('refuses with %s', (reason, services) => {
    expect(externalServicesProblem(answer(...services), now)?.reason).toBe(reason);
  });
});

describe('coturn’s turnutils output', () => {
  it('finds the reflexive address turnutils_stunclient prints', () => {
    expect(parseStunClientOutput('0: : IPv4. UDP reflexive addr: 10.213.0.1:50705\n0: : IPv4. UDP reflexive addr: 10.213.0.1:50705\n')).toEqual({ reflexiveAddress: '10.213.0.1:50705' });
    expect(parseStunClientOutput('')).toBeUndefined();
  });

  it('finds the relay and the message totals turnutils_uclient prints, and nothing when the allocation failed', () => {
    const output = '0: : Received relay addr: 10.213.0.2:48012\n0: : start_mclient: tot_send_msgs=0, tot_recv_msgs=0\n1: : start_mclient: tot_send_msgs=6, tot_recv_msgs=6\n1: : Total lost packets 0 (0.000000%)';
    expect(parseUclientOutput(output)).toEqual({ relayedAddress: '10.213.0.2:48012', sent: 6, received: 6 });
    expect(parseUclientOutput('0: : ERROR: Cannot complete Allocation\n')).toBeUndefined();
  });
});

describe('the compliance runner', () => {
  it('has exactly one check per id in the contracts, in their order', () => {
    expect(complianceChecks().map((check) => check.id)).toEqual(COMPLIANCE_CHECK_IDS);
  });

  it('gives each kind of error a stable reason', () => {
    expect(classifyCheckError(new CheckFailure('not_archived', 'x'))).toEqual({ reason: 'not_archived', detail: 'x' });
    expect(classifyCheckError(new XmppProbeError('auth', 'refused')).reason).toBe('xmpp_auth');
    expect(classifyCheckError(new StunTurnError('no_answer', 'silent')).reason).toBe('stun_turn_no_answer');
    expect(classifyCheckError(Object.assign(new Error('bad chain'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })).reason).toBe('certificate_untrusted');
    expect(classifyCheckError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })).reason).toBe('connection_failed');
    expect(classifyCheckError(new Error('anything else'))).toEqual({ reason: 'error', detail: 'anything else' });
  });

  it('summarizes a run with the failures named', () => {
    const result = (id: CheckResult['id'], ok: boolean, reason = ok ? 'ok' : 'missing_feature'): CheckResult => ({ id, passed: ok, reason, detail: '', checkedAt: new Date(0), durationMs: 1 });
    expect(summarizeComplianceResults([result('xep0030-disco', true), result('xep0357-push', false), result('stun-binding', false, 'no_external_services')])).toBe(
      '1/3 compliance checks passed; failed: xep0357-push (missing_feature), stun-binding (no_external_services)',
    );
    expect(summarizeComplianceResults([result('xep0030-disco', true)])).toBe('1/1 compliance checks passed');
  });

  it('knows its throwaway accounts by name, and nothing else', () => {
    expect(isComplianceAccount(`${COMPLIANCE_ACCOUNT_PREFIX}0123456789ab`)).toBe(true);
    for (const name of ['parley-check', 'parley-check-0123456789a', 'parley-check-0123456789abc', 'parley-check-0123456789AB', 'alice', 'parley-check-0123456789ab.x']) expect(isComplianceAccount(name)).toBe(false);
  });
});

describe('compliance runs take turns', () => {
  const run = (jobId: string, serverId: string, queuedAt: number) => ({ jobId, serverId, queuedAt });
  const own = run('compliance.s.again', 's', 2_000);

  it('waits for a run of its server queued earlier, not for itself or a later one', () => {
    expect(waitsFor(own, [own])).toBe(false);
    expect(waitsFor(own, [own, run('compliance.s', 's', 1_000)])).toBe(true);
    expect(waitsFor(own, [own, run('compliance.s', 's', 3_000)])).toBe(false);
  });

  it(`runs beside fewer than ${COMPLIANCE_RUNS_AT_ONCE} earlier runs of other servers, whatever the number of later ones`, () => {
    const earlier = Array.from({ length: COMPLIANCE_RUNS_AT_ONCE }, (_, i) => run(`compliance.e${i}`, `e${i}`, 1_000 + i));
    const later = Array.from({ length: 5 }, (_, i) => run(`compliance.l${i}`, `l${i}`, 3_000 + i));
    expect(waitsFor(own, [own, ...earlier.slice(1), ...later])).toBe(false);
    expect(waitsFor(own, [own, ...earlier, ...later])).toBe(true);
  });

  it('of runs started in the same millisecond, the first ones go and the rest wait', () => {
    const together = Array.from({ length: COMPLIANCE_RUNS_AT_ONCE + 2 }, (_, i) => run(`compliance.t${i}`, `t${i}`, 5_000));
    expect(together.map((r) => waitsFor(r, together))).toEqual(together.map((_, i) => i >= COMPLIANCE_RUNS_AT_ONCE));
    const [first, second] = [run('compliance.s', 's', 2_000), own];
    expect([waitsFor(first, [first, second]), waitsFor(second, [first, second])]).toEqual([false, true]);
  });
});

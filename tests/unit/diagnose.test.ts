import { describe, expect, it } from 'vitest';
import { diagnose, zoneKey, type Observation } from '../../worker/src/healing/diagnose.js';
import type { WatchedServer } from '../../worker/src/healing/watched-server.js';
import { parseContainerEvent } from '../../worker/src/adapters/docker.container-runtime.js';
import { healthMessage } from '../../worker/src/contracts/health.js';
import { PROSODY_CONFIG_VERSION } from '../../worker/src/provisioning/prosody-config.js';

const zone = 'parley.test';
const srv = { name: '_xmpp-client._tcp.a.parley.test', type: 'SRV' as const, ttl: 300, value: '0 5 20000 a.parley.test.' };
const server: WatchedServer = {
  id: '0190a0a0-0000-7000-8000-000000000001',
  domain: 'a.parley.test',
  desiredState: 'running',
  health: 'ok',
  containerId: 'c1',
  nodeName: 'n1',
  nodeAddress: '127.0.0.1',
  c2sPort: 20000,
  ports: [
    { containerPort: 5222, hostPort: 20000, hostIp: '127.0.0.1' },
    { containerPort: 5269, hostPort: 20002, hostIp: '127.0.0.1' },
  ],
  certificateSerial: 'AB01',
  configVersion: PROSODY_CONFIG_VERSION,
  records: [{ zone, record: srv }],
};
const healthy: Observation = {
  container: { id: 'c1', state: 'running', ports: [...server.ports].reverse() },
  xmpp: { answers: true, certificateSerial: 'AB01' },
  nodeDown: false,
  missingFiles: [],
  zoneKeys: new Set([zoneKey(zone, srv)]),
};
const kinds = (seen: Observation, s: WatchedServer = server) => diagnose(s, seen).map((f) => f.kind);

describe('diagnose', () => {
  it('finds nothing wrong with a server that is as it should be (port order does not matter)', () => {
    expect(kinds(healthy)).toEqual([]);
  });

  it('names a node that is down, and nothing of the container it cannot see, and still checks DNS', () => {
    expect(diagnose(server, { ...healthy, nodeDown: true, container: null, xmpp: null, zoneKeys: new Set() })).toEqual([
      { kind: 'node_down', detail: { node: 'n1' } },
      { kind: 'dns_record_missing', detail: { records: [{ zone, record: srv }] } },
    ]);
    expect(healthMessage('down', 'node_down')).toMatch(/machine your server runs on stopped answering/);
  });

  it('names a missing container, and still checks DNS', () => {
    expect(kinds({ ...healthy, container: null, xmpp: null, zoneKeys: new Set() })).toEqual(['container_missing', 'dns_record_missing']);
  });

  it('a stopped container is an outage only when the customer wants it running', () => {
    const stopped = { ...healthy, container: { id: 'c1', state: 'exited' as const, ports: [] }, xmpp: null };
    expect(kinds(stopped)).toEqual(['container_stopped']);
    expect(kinds(stopped, { ...server, desiredState: 'stopped' })).toEqual([]);
  });

  it('a container Parley did not make under the server\'s name is drift', () => {
    expect(kinds({ ...healthy, container: { ...healthy.container!, id: 'c2' } })).toEqual(['container_spec_drift']);
  });

  it('ports published elsewhere, XMPP silent, a stale certificate', () => {
    expect(kinds({ ...healthy, container: { ...healthy.container!, ports: [server.ports[0]!] } })).toEqual(['ports_mismatch']);
    expect(kinds({ ...healthy, xmpp: { answers: false, reason: 'connection refused' } })).toEqual(['xmpp_unresponsive']);
    expect(kinds({ ...healthy, xmpp: { answers: true, certificateSerial: 'FF' } })).toEqual(['certificate_mismatch']);
  });

  it('files gone from the config volume, whether the container runs or not', () => {
    expect(kinds({ ...healthy, missingFiles: ['certs/a.parley.test.key'] })).toEqual(['config_files_missing']);
    const stopped = { ...healthy, container: { id: 'c1', state: 'exited' as const, ports: [] }, xmpp: null, missingFiles: ['prosody.cfg.lua'] };
    expect(kinds(stopped, { ...server, desiredState: 'stopped' })).toEqual(['config_files_missing']);
  });

  it('a configuration older than the worker renders, running or stopped; missing files are the bigger finding', () => {
    const outdated = { ...server, configVersion: PROSODY_CONFIG_VERSION - 1 };
    expect(diagnose(outdated, healthy)).toEqual([{ kind: 'config_outdated', detail: { installed: PROSODY_CONFIG_VERSION - 1, current: PROSODY_CONFIG_VERSION } }]);
    const stopped = { ...healthy, container: { id: 'c1', state: 'exited' as const, ports: [] }, xmpp: null };
    expect(kinds(stopped, { ...outdated, desiredState: 'stopped' })).toEqual(['config_outdated']);
    expect(kinds({ ...healthy, missingFiles: ['prosody.cfg.lua'] }, outdated)).toEqual(['config_files_missing']);
    expect(kinds({ ...healthy, container: null }, outdated)).toEqual(['container_missing']);
  });

  it('lists exactly the ledger records missing from the zone', () => {
    const [finding] = diagnose(server, { ...healthy, zoneKeys: new Set() });
    expect(finding).toEqual({ kind: 'dns_record_missing', detail: { records: [{ zone, record: srv }] } });
  });
});

describe('container events', () => {
  const line = (action: string, labels: Record<string, string>) => JSON.stringify({ Type: 'container', Action: action, Actor: { ID: 'x', Attributes: labels }, time: 1_700_000_000 });

  it('keeps the actions that change health, for Parley\'s containers', () => {
    expect(parseContainerEvent(line('die', { 'parley.server': server.id, 'parley.managed': 'true' }))).toEqual({
      serverId: server.id,
      action: 'die',
      at: new Date(1_700_000_000_000),
    });
  });

  it('drops exec events, unlabelled containers and garbage', () => {
    expect(parseContainerEvent(line('exec_start: prosodyctl reload', { 'parley.server': server.id }))).toBeUndefined();
    expect(parseContainerEvent(line('die', {}))).toBeUndefined();
    expect(parseContainerEvent(line('die', { 'parley.server': '../etc' }))).toBeUndefined();
    expect(parseContainerEvent('{not json')).toBeUndefined();
  });
});

describe('health messages', () => {
  it('say what is wrong and what Parley does, in plain words', () => {
    expect(healthMessage('ok', null)).toBeNull();
    expect(healthMessage('down', 'container_stopped')).toBe('Your server stopped unexpectedly; Parley is restarting it.');
    expect(healthMessage('needs_attention', 'container_stopped')).toMatch(/stopped retrying/);
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime, containerName } from '../../worker/src/adapters/docker.container-runtime.js';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { customDomainHost } from '../../worker/src/contracts/custom-domain.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { luaString } from '../../worker/src/provisioning/prosody-config.js';
import { luaLine, prosodyShell } from '../../worker/src/xmpp-users/prosody-shell.js';
import { challengeCnames, pdnsZone } from '../support/customer-zone.js';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpWithToken, startPlatformApi, untilGoneFromApi, type ApiRequest, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { connectAs } from '../support/xmpp.js';
import { registerWithToken, tokenOf } from '../support/invite-registration.js';

interface ServerDto {
  id: string;
  name: string;
  domain: string;
  state: string;
  stateReason: string | null;
  connection: { jidDomain: string; host: string; ports: { starttls: number } } | null;
}
interface DomainDto {
  id: string;
  name: string;
  status: string;
  records: { name: string; type: 'TXT' | 'CNAME' | 'SRV'; value: string | null; purpose: string; required: boolean }[];
}
interface EventDto {
  id: string;
  step: string;
  status: string;
  message: string;
  willRetry: boolean | null;
}
interface InviteDto {
  id: string;
  state: string;
  expiresAt: string;
  lastError: string | null;
  link?: string | null;
}
interface UserDto {
  id: string;
  localpart: string;
  jid: string;
  state: string;
}
interface Credentials {
  jid: string;
  password: string;
  issuance: number;
}
interface PdnsZone {
  rrsets: { name: string; type: string; ttl: number; records: { content: string; disabled: boolean }[] }[];
}

// Every step a customer takes goes over HTTP to the listening API; the worker, Prosody in Docker,
// PowerDNS and Pebble do the rest for real, and real XMPP clients check the outcome.
describe('the real chain, through the API', () => {
  const env = testEnv();
  const docker = new Docker({ socketPath: env.DOCKER_SOCKET });
  const containers = new DockerContainerRuntime(docker);
  let harness: ProvisioningHarness;
  let api: ListeningApi;
  let request: ApiRequest;
  let trust: string[];

  /** The answer's JSON, once its status is the one expected (the body is in the failure message). */
  const answer = async <T>(response: Promise<Response>, status: number): Promise<T> => {
    const received = await response;
    const text = await received.text();
    expect(received.status, text).toBe(status);
    return JSON.parse(text) as T;
  };
  const getServer = (id: string) => answer<ServerDto>(request('GET', `/servers/${id}`), 200);
  /** Polls GET /servers/{id} until the state; a failed server fails at once with its reason. */
  const untilApiState = (id: string, state: string, timeoutMs: number) =>
    until(
      `the API showing server ${id} ${state}`,
      async () => {
        const server = await getServer(id);
        if (server.state === 'failed') throw new Error(`server ${id} failed: ${server.stateReason ?? '(no reason)'}`);
        return server.state === state ? server : null;
      },
      timeoutMs,
      500,
    );
  const orderServer = (body: { name: string; domainId?: string }) => answer<ServerDto>(request('POST', '/servers', body), 202);
  /** The admin password of the current issuance, revealed (once) through the API. */
  const revealAdmin = (id: string) => answer<Credentials>(request('POST', `/servers/${id}/credentials/reveal`, {}), 200);
  /** Gone from GET /servers/{id} and from the list. */
  const untilGone = async (id: string) => {
    await untilGoneFromApi(request, id);
    const listed = await answer<{ items: { id: string }[] }>(request('GET', '/servers?limit=100'), 200);
    expect(listed.items.map((s) => s.id)).not.toContain(id);
  };
  /** A client login on 127.0.0.1 at the STARTTLS port the API gives, TLS verified against Pebble's root. */
  const open = (server: ServerDto, username: string, password: string) => {
    const port = server.connection?.ports.starttls;
    if (port === undefined) throw new Error(`server ${server.id} has no connection details`);
    return connectAs({ host: '127.0.0.1', port, domain: server.domain, username, password, trustedCaPems: trust, timeoutMs: 15_000 });
  };
  /** Logs in and out; the bound JID proves the account. */
  const logsIn = async (server: ServerDto, username: string, password: string) => {
    const session = await open(server, username, password);
    try {
      expect(session.jid.startsWith(`${username}@${server.domain}/`)).toBe(true);
    } finally {
      await session.close();
    }
  };

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(42_500);
    await harness.startWorker();
    api = await startPlatformApi(harness);
    request = await signUpWithToken(api.url);
    trust = [(await pebbleIssuers()).root.toString()];
  });

  afterAll(async () => {
    await api?.close();
    await harness?.close();
  });

  describe("a server on a customer's own domain", () => {
    const zone = `c${randomBytes(5).toString('hex')}.example`;
    const customer = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone });
    let serverId: string | undefined;

    /** The customer's zone as PowerDNS holds it, SOA (and so its serial) included: any write shows. */
    const customerRrsets = async () => {
      const zoneAnswer = fetch(`${env.PDNS_API_URL}/api/v1/servers/localhost/zones/${zone}.`, { headers: { 'X-API-Key': env.PDNS_API_KEY }, signal: AbortSignal.timeout(10_000) });
      const { rrsets } = await answer<PdnsZone>(zoneAnswer, 200);
      return rrsets
        .map((set) => `${set.name} ${set.ttl} ${set.type} ${set.records.map((r) => `${r.content}${r.disabled ? ' (disabled)' : ''}`).sort().join(' | ')}`)
        .sort();
    };
    /** What the customer does at their DNS host: every record the API gives a value for. */
    const createAskedRecords = async (domain: DomainDto) => {
      const asked = domain.records.flatMap((r): DnsRecord[] => (r.value === null ? [] : [{ name: r.name, type: r.type, ttl: 60, value: r.value }]));
      await customer.addRecords(zone, asked);
    };

    beforeAll(() => pdnsZone('POST', zone));

    afterAll(async () => {
      // The test deletes the server itself; this covers a test that failed before it did.
      if (serverId) {
        await harness.deprovision(serverId);
        await harness.waitForState(serverId, 'deleted', 90_000);
      }
      await pdnsZone('DELETE', zone);
    });

    it('is ordered on a verified domain, logs a client in, and its deletion leaves the customer\'s zone untouched and Parley\'s records gone', async () => {
      const added = await answer<DomainDto>(request('POST', '/domains', { name: zone }), 201);
      expect(added.status).toBe('pending');
      // The API asks for the delegations the worker's certificate order will follow.
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      const asked = added.records.filter((r) => r.purpose === 'acme_challenge').map((r) => ({ name: r.name, type: r.type, ttl: 60, value: r.value }));
      expect(asked.sort(byName)).toEqual(challengeCnames(added.id, zone).sort(byName));
      await createAskedRecords(added);
      const verified = await answer<DomainDto>(request('POST', `/domains/${added.id}/verify`, {}), 200);
      expect(verified.status).toBe('verified');
      const zoneAtOrder = await customerRrsets();

      // Kept before waiting, so that cleanup deletes a server that never got ready.
      serverId = (await orderServer({ name: `k${randomBytes(4).toString('hex')}`, domainId: added.id })).id;
      const server = await untilApiState(serverId, 'ready', 150_000);
      expect(server.domain).toBe(zone);
      // Provisioning wrote nothing into the customer's zone.
      expect(await customerRrsets()).toEqual(zoneAtOrder);
      // Now that ports are allocated the API gives the SRV records too, which the customer adds.
      await createAskedRecords(await answer<DomainDto>(request('GET', `/domains/${added.id}`), 200));
      const zoneBeforeDeletion = await customerRrsets();
      expect(zoneBeforeDeletion.some((set) => set.includes(`_xmpp-client._tcp.${zone}. 60 SRV`))).toBe(true);

      const admin = await revealAdmin(server.id);
      expect(admin.jid).toBe(`admin@${zone}`);
      await logsIn(server, 'admin', admin.password);

      const platformZone = harness.config.platformZone;
      const label = added.id.replaceAll('-', '');
      const ledger = await harness.prisma.dnsRecord.findMany({ where: { serverId: server.id, deletedAt: null } });
      expect(ledger.map((r) => r.zone)).toEqual(ledger.map(() => platformZone));
      expect(ledger).toContainEqual(expect.objectContaining({ name: customDomainHost(added.id, platformZone), type: 'A', value: '127.0.0.1' }));
      const published = async (record: { name: string; type: string; value: string }) =>
        (await harness.dns.listRecords(platformZone, record.name)).some((r) => r.type === record.type && r.value === record.value);
      for (const record of ledger) expect(await published(record), `${record.type} ${record.name} ${record.value}`).toBe(true);

      await answer<{ accepted: boolean }>(request('DELETE', `/servers/${server.id}`, { confirm: server.name }), 202);
      await untilGone(server.id);
      await harness.waitForState(server.id, 'deleted', 10_000);

      expect(await customerRrsets()).toEqual(zoneBeforeDeletion);
      for (const record of ledger) expect(await published(record), `${record.type} ${record.name} ${record.value}`).toBe(false);
      // Nothing else under the domain's names in the platform zone either (host, challenge answers).
      expect((await harness.dns.listRecords(platformZone)).filter((r) => r.name.includes(label))).toEqual([]);
      expect(await harness.prisma.dnsRecord.count({ where: { serverId: server.id, deletedAt: null } })).toBe(0);
      await expect(docker.getContainer(containerName(server.id)).inspect()).rejects.toMatchObject({ statusCode: 404 });
    }, 300_000);
  });

  describe('one server ordered through the API: invites, users, power and the admin password', () => {
    let serverId: string | undefined;
    let server: ServerDto;
    let admin: Credentials;

    /** The accounts `prosodyctl` lists on the server, asked inside its container. */
    const prosodyctlUsers = async () => {
      const listed = await containers.exec(server.id, ['prosodyctl', 'shell', 'user', 'list', server.domain]);
      expect(listed.exitCode, listed.stderr).toBe(0);
      return listed.stdout
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.endsWith(`@${server.domain}`) && !line.includes(' '));
    };
    const invitesPath = () => `/servers/${server.id}/invites`;
    /** Orders an invite and waits until the worker has minted it in Prosody and the API shows its link. */
    const activeInvite = async (body: { expiresInHours?: number }) => {
      const created = await answer<InviteDto>(request('POST', invitesPath(), body), 202);
      expect(created.state).toBe('pending');
      const invite = await until(
        'the invite becoming active',
        async () => {
          const current = await answer<InviteDto>(request('GET', `${invitesPath()}/${created.id}`), 200);
          if (current.state === 'failed') throw new Error(`the invite failed: ${current.lastError ?? '(no reason)'}`);
          return current.state === 'active' && current.link ? { ...current, link: current.link } : null;
        },
        30_000,
        300,
      );
      expect(invite.link).toMatch(new RegExp(`^xmpp:${server.domain.replaceAll('.', '\\.')}\\?register;preauth=[A-Za-z0-9_-]{16,}$`));
      return invite;
    };
    /** Waits for the timeline (through the API) to show `step` succeeded after event `after`; a final failure fails at once. */
    const stepSucceeded = (step: string, after: string) =>
      until(
        `${step} succeeding`,
        async () => {
          const { items } = await answer<{ items: EventDto[] }>(request('GET', `/servers/${server.id}/events?after=${after}&limit=100`), 200);
          const ofStep = items.filter((e) => e.step === step);
          const gaveUp = ofStep.find((e) => e.status === 'failed' && e.willRetry !== true);
          if (gaveUp) throw new Error(`${step} failed: ${gaveUp.message}`);
          return ofStep.some((e) => e.status === 'succeeded') ? true : null;
        },
        90_000,
        500,
      );
    /** The newest event id of the server's timeline, read page by page. */
    const lastEventId = async () => {
      let after = '0';
      for (;;) {
        const { items } = await answer<{ items: EventDto[] }>(request('GET', `/servers/${server.id}/events?after=${after}&limit=100`), 200);
        const last = items.at(-1);
        if (!last) return after;
        after = last.id;
      }
    };
    const act = async (action: 'stop' | 'start' | 'restart') => {
      const after = await lastEventId();
      expect(await answer<{ accepted: boolean; action: string }>(request('POST', `/servers/${server.id}/actions`, { action }), 202)).toMatchObject({ accepted: true, action });
      await stepSucceeded(action, after);
    };
    const container = () => docker.getContainer(containerName(server.id)).inspect();
    const registerWithInvite = (link: string, username: string, password: string) => {
      const port = server.connection?.ports.starttls;
      if (port === undefined) throw new Error('the server has no connection details');
      return registerWithToken({ domain: server.domain, port, trust }, tokenOf(link), username, password);
    };

    beforeAll(async () => {
      serverId = (await orderServer({ name: `a${randomBytes(4).toString('hex')}` })).id;
      server = await untilApiState(serverId, 'ready', 150_000);
      admin = await revealAdmin(serverId);
    }, 200_000);

    afterAll(async () => {
      if (serverId) {
        await harness.deprovision(serverId);
        await harness.waitForState(serverId, 'deleted', 90_000);
      }
    });

    it('an invite made through the API registers an account with a real client (XEP-0401, XEP-0077), once; the account logs in', async () => {
      const invite = await activeInvite({});
      const password = `carol ${randomUUID()}`;
      expect(await registerWithInvite(invite.link, 'carol', password)).toEqual({ preauth: 'ok', register: 'ok' });
      await logsIn(server, 'carol', password);
      expect(await prosodyctlUsers()).toContain(`carol@${server.domain}`);
      // Single use: the spent token registers nobody else.
      expect(await registerWithInvite(invite.link, 'dave', `dave ${randomUUID()}`)).toEqual({ preauth: 'forbidden', register: 'not-acceptable' });
      expect(await prosodyctlUsers()).not.toContain(`dave@${server.domain}`);
    }, 60_000);

    it('an expired invite is refused by Prosody (the API allows one hour at least, so its expiry is moved into the past in Prosody)', async () => {
      const refused = await answer<{ detail: string }>(request('POST', invitesPath(), { expiresInHours: 0 }), 400);
      expect(refused.detail).toContain('from 1 to 720');
      const before = Date.now();
      const invite = await activeInvite({ expiresInHours: 1 });
      expect(Date.parse(invite.expiresAt)).toBeGreaterThan(before + 3_540_000);
      expect(Date.parse(invite.expiresAt)).toBeLessThan(Date.now() + 3_660_000);

      // mod_invites checks the stored `expires` when the token is presented; the invite is found
      // by the row id Parley tags it with. Through the admin shell, inside the running server.
      const lua =
        `local tag, host = ${luaString(invite.id)}, ${luaString(server.domain)}; ` +
        `local storage = require("core.storagemanager"); ` +
        `local map, moved = storage.open(host, "invite_token", "map"), 0; ` +
        `for token, stored in pairs(storage.open(host, "invite_token"):get(nil) or {}) do ` +
        `if type(stored) == "table" and stored.additional_data and stored.additional_data.parley_invite == tag then ` +
        `stored.expires = os.time() - 60; local ok, err = map:set(nil, token, stored); if not ok then return nil, tostring(err) end; moved = moved + 1 ` +
        `end end; ` +
        `return true, "expired " .. moved`;
      expect(await prosodyShell(containers, server.id, 'expire invite', luaLine(lua))).toBe('expired 1');

      const password = `erin ${randomUUID()}`;
      expect(await registerWithInvite(invite.link, 'erin', password)).toEqual({ preauth: 'forbidden', register: 'not-acceptable' });
      await expect(open(server, 'erin', password)).rejects.toMatchObject({ failure: 'auth' });
      expect(await prosodyctlUsers()).not.toContain(`erin@${server.domain}`);
    }, 60_000);

    it('a user created then deleted through the API is gone from Prosody: its login is refused and prosodyctl no longer lists it', async () => {
      const usersPath = `/servers/${server.id}/users`;
      const { user } = await answer<{ user: UserDto }>(request('POST', usersPath, { localpart: 'frank' }), 202);
      expect(user).toMatchObject({ localpart: 'frank', jid: `frank@${server.domain}`, state: 'pending' });
      await until('the user becoming active', async () => ((await answer<UserDto>(request('GET', `${usersPath}/${user.id}`), 200)).state === 'active' ? true : null), 30_000, 300);
      const { password } = await answer<{ jid: string; password: string }>(request('POST', `${usersPath}/${user.id}/password/reveal`, {}), 200);
      await logsIn(server, 'frank', password);
      expect(await prosodyctlUsers()).toContain(`frank@${server.domain}`);

      expect(await answer<UserDto>(request('DELETE', `${usersPath}/${user.id}`), 202)).toMatchObject({ id: user.id, state: 'deleting' });
      await until(
        'the user gone from the API',
        async () => {
          const response = await request('GET', `${usersPath}/${user.id}`);
          await response.text();
          return response.status === 404 ? true : null;
        },
        30_000,
        300,
      );
      expect((await answer<{ items: UserDto[] }>(request('GET', usersPath), 200)).items.map((u) => u.id)).not.toContain(user.id);
      await expect(open(server, 'frank', password)).rejects.toMatchObject({ failure: 'auth' });
      expect(await prosodyctlUsers()).not.toContain(`frank@${server.domain}`);
    }, 60_000);

    it('restart, stop and start through the API show in Docker and in client logins', async () => {
      const startedAt = async () => Date.parse((await container()).State.StartedAt);
      const firstStart = await startedAt();

      await act('restart');
      expect((await getServer(server.id)).state).toBe('ready');
      expect((await container()).State.Running).toBe(true);
      const restartedAt = await startedAt();
      expect(restartedAt).toBeGreaterThan(firstStart);
      await logsIn(server, 'admin', admin.password);

      await act('stop');
      expect((await getServer(server.id)).state).toBe('stopped');
      expect((await container()).State.Running).toBe(false);
      await expect(open(server, 'admin', admin.password)).rejects.toMatchObject({ failure: 'connect' });

      await act('start');
      expect((await getServer(server.id)).state).toBe('ready');
      expect((await container()).State.Running).toBe(true);
      expect(await startedAt()).toBeGreaterThan(restartedAt);
      await logsIn(server, 'admin', admin.password);
    }, 300_000);

    it('an admin reset through the API: the revealed new password logs in, the old one is refused', async () => {
      const old = admin;
      const after = await lastEventId();
      const reset = await answer<{ issuance: number; next: string }>(request('POST', `/servers/${server.id}/credentials/reset`, {}), 202);
      expect(reset.issuance).toBe(old.issuance + 1);
      // As the answer's `next` says: reveal once the timeline shows the reset.
      await stepSucceeded('admin_reset', after);
      admin = await revealAdmin(server.id);
      expect(admin).toMatchObject({ jid: old.jid, issuance: reset.issuance });
      expect(admin.password).not.toBe(old.password);
      await logsIn(server, 'admin', admin.password);
      await expect(open(server, 'admin', old.password)).rejects.toMatchObject({ failure: 'auth' });
      // Revealed once: a second reveal is refused.
      await answer<{ detail: string }>(request('POST', `/servers/${server.id}/credentials/reveal`, {}), 410);
    }, 90_000);
  });
});

import { UnrecoverableError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PROVISIONING_JOBS } from '../../worker/src/contracts/provisioning.js';
import { XMPP_USERS_JOBS } from '../../worker/src/contracts/xmpp-user-jobs.js';
import { jobDefiner, JobRegistry, JobRegistryError } from '../../worker/src/jobs/job-registry.js';
import { PROVISIONING_HANDLERS, provisioningRegistry } from '../../worker/src/provisioning/provisioning.processor.js';
import { xmppUsersRegistry } from '../../worker/src/xmpp-users/xmpp-users.processor.js';

interface Context {
  seen: string[];
}
const job = jobDefiner<Context>();
const echo = job('echo', z.object({ text: z.string() }), (context, { text }) => {
  context.seen.push(text);
  return Promise.resolve(`said ${text}`);
});
const ping = job('ping', z.object({}), () => Promise.resolve('pong'));
const bullJob = (name: string, data: unknown) => ({ name, data }) as Job;

describe('a queue’s job registry', () => {
  it('refuses a declared job with no handler, naming it', () => {
    expect(() => new JobRegistry('q', ['echo', 'ping', 'heal'], [echo, ping])).toThrow(new JobRegistryError('queue q: no handler for "heal"'));
  });

  it('refuses a job with two handlers', () => {
    expect(() => new JobRegistry('q', ['echo', 'ping'], [echo, ping, echo])).toThrow(new JobRegistryError('queue q: job "echo" has two handlers'));
  });

  it('refuses a handler for a job the contracts do not declare', () => {
    expect(() => new JobRegistry('q', ['echo'], [echo, ping])).toThrow(/job "ping" has a handler but is not declared/);
  });

  it('dispatches by name with the parsed payload', async () => {
    const registry = new JobRegistry('q', ['echo', 'ping'], [echo, ping]);
    const context: Context = { seen: [] };
    await expect(registry.dispatch(context, bullJob('echo', { text: 'hi', extra: 1 }))).resolves.toBe('said hi');
    await expect(registry.processor(context, 1_000)(bullJob('ping', {}))).resolves.toBe('pong');
    expect(context.seen).toEqual(['hi']);
  });

  it('fails an unknown name or a malformed payload for good: a retry would meet the same', async () => {
    const registry = new JobRegistry('q', ['echo', 'ping'], [echo, ping]);
    const context: Context = { seen: [] };
    const unknown = registry.dispatch(context, bullJob('heal', {}));
    await expect(unknown).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(unknown).rejects.toThrow('unknown job heal on queue q');
    const malformed = registry.dispatch(context, bullJob('echo', { text: 42 }));
    await expect(malformed).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(malformed).rejects.toThrow('malformed payload for echo');
    expect(context.seen).toEqual([]);
  });

  it('the worker’s own registries cover every job its contracts declare, once', () => {
    expect(provisioningRegistry().queue).toBe('provisioning');
    expect(xmppUsersRegistry().queue).toBe('xmpp-users');
    expect(PROVISIONING_HANDLERS.map((h) => h.name).sort()).toEqual([...PROVISIONING_JOBS].sort());
    expect(XMPP_USERS_JOBS).toEqual(['user.create', 'user.delete', 'user.reset-password', 'invite.create', 'invite.revoke']);
  });
});

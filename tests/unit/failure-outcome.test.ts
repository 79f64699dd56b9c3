import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { AcmeError } from '../../worker/src/adapters/acme.certificate-authority.js';
import { InvalidUsernameError } from '../../worker/src/contracts/xmpp-names.js';
import { classifyError } from '../../worker/src/jobs/error-type.js';
import { failureOutcome } from '../../worker/src/jobs/tracked-step.js';
import { ForeignObjectError, ServerContainerNotFoundError } from '../../worker/src/ports/container-runtime.js';
import { XmppServiceNotReadyError } from '../../worker/src/provisioning/xmpp-readiness.js';
import { InviteExpiredError } from '../../worker/src/xmpp-users/prosody-invites.js';
import { DnsNameTakenError, NoCapacityError, PermanentStepError } from '../../worker/src/provisioning/step-errors.js';
import { AcmeBudgetExhaustedError } from '../../worker/src/provisioning/acme-budget.js';
import { ChallengeDelegationMissingError } from '../../worker/src/provisioning/challenge-delegation.js';

const acme = (type: string) => new AcmeError('the CA said no', [{ type: `urn:ietf:params:acme:error:${type}`, detail: 'no' }]);

describe('what a job failure is', () => {
  it.each([
    ['another container holds the name', new ForeignObjectError('container x exists but is not labelled as Parley\'s'), 'foreign_object', true],
    ['a username outside the grammar', new InvalidUsernameError(), 'invalid_username', true],
    ['a step that cannot succeed', new PermanentStepError('The domain is not acceptable'), 'permanent', true],
    ['a subclass of it', new InviteExpiredError(), 'permanent', true],
    ['BullMQ\'s own, whose message is not written for customers', new UnrecoverableError('no server'), 'unknown', true],
    ['a name with someone else\'s DNS records', new DnsNameTakenError('a.parley.test', [{ name: 'a.parley.test', type: 'A', value: '192.0.2.1' }]), 'dns_name_taken', true],
    ['no node with room', new NoCapacityError('No active node is registered to run servers on.'), 'no_capacity', true],
    ['a request the CA refuses', acme('rejectedIdentifier'), 'acme_rejected', true],
    ['a CA that is busy', acme('rateLimited'), 'acme_rate_limited', false],
    ['a CA failing on its side', acme('serverInternal'), 'acme_unavailable', false],
    ['a customer\'s _acme-challenge CNAME gone', new ChallengeDelegationMissingError([{ name: '_acme-challenge.a.example', target: 'x.acme.parley.test.' }]), 'acme_challenge_cname_missing', true],
    ['the ACME order budget spent', new AcmeBudgetExhaustedError('platform', 250, new Date()), 'acme_budget_exhausted', false],
    ['a missing container', new ServerContainerNotFoundError('s1'), 'container_not_found', false],
    ['XMPP not answering yet', new XmppServiceNotReadyError('no stream features'), 'xmpp_not_ready', false],
    ['anything else', new Error('ECONNREFUSED'), 'unknown', false],
    ['not even an Error', 'a string', 'unknown', false],
  ])('%s', (_what, error, type, permanent) => {
    expect(classifyError(error)).toEqual({ type, permanent });
  });

  it('looks through the causes an adapter wrapped it in', () => {
    const wrapped = new Error('creating the container failed', { cause: new ForeignObjectError('not ours') });
    expect(classifyError(wrapped)).toEqual({ type: 'foreign_object', permanent: true });
  });
});

describe('a failure as the timeline records it', () => {
  it('will be retried before the last attempt, with the bare reason', () => {
    expect(failureOutcome(new Error('DNS is down'), { attempt: 3, maxAttempts: 20 })).toEqual({
      reason: 'DNS is down',
      errorType: 'unknown',
      permanent: false,
      willRetry: true,
    });
  });

  it('is not retried on the last attempt, when permanent, or outside a job', () => {
    expect(failureOutcome(new Error('DNS is down'), { attempt: 20, maxAttempts: 20 }).willRetry).toBe(false);
    expect(failureOutcome(new PermanentStepError('bad domain'), { attempt: 1, maxAttempts: 20 })).toMatchObject({ permanent: true, willRetry: false });
    expect(failureOutcome(new Error('DNS is down'), {}).willRetry).toBe(false);
  });
});

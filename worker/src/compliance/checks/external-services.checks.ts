import { xml } from '@xmpp/client';
import { CheckFailure, failed, passed, type CheckContext, type ComplianceCheck } from '../compliance-check.js';
import { describeServices, externalServices, externalServicesProblem, type ExternalService } from '../service-info.js';
import { describeXmppError } from '../xmpp-exchange.js';

const NS_EXTDISCO = 'urn:xmpp:extdisco:2';

/** The server's external services (XEP-0215); a server without them answers an error, which is `no_external_services`. */
async function advertisedServices(context: CheckContext): Promise<ExternalService[]> {
  try {
    const answer = await context.session.xmpp.iqCaller.request(xml('iq', { type: 'get', to: context.target.domain }, xml('services', { xmlns: NS_EXTDISCO })), context.waitMs);
    const services = answer.getChild('services', NS_EXTDISCO);
    return services ? externalServices(services) : [];
  } catch (error) {
    throw new CheckFailure('no_external_services', `the server answered the services request with ${describeXmppError(error)}`);
  }
}

/** The services, or a CheckFailure with why a calling client could not use them. */
async function usableServices(context: CheckContext): Promise<ExternalService[]> {
  const services = await advertisedServices(context);
  const problem = externalServicesProblem(services, new Date());
  if (problem) throw new CheckFailure(problem.reason, problem.detail);
  return services;
}

/** XEP-0215: STUN and TURN advertised, TURN with a username, a password and an expiry still ahead. */
const externalServicesCheck: ComplianceCheck = {
  id: 'xep0215-external-services',
  run: async (context) => passed(describeServices(await usableServices(context))),
};

/** A STUN binding against the advertised STUN server (UDP), with coturn's own client. */
const stunBinding: ComplianceCheck = {
  id: 'stun-binding',
  run: async (context) => {
    const stun = (await usableServices(context)).find((s) => s.type === 'stun' && s.transport === 'udp');
    if (!stun) return failed('no_stun_udp', 'no stun/udp entry advertised');
    const binding = await context.tools.stunTurn.binding(stun, context.waitMs);
    return passed(`${stun.host}:${stun.port} saw this worker as ${binding.reflexiveAddress}`);
  },
};

/** A TURN allocation with the advertised credentials, and data relayed between two allocations. */
const turnAllocation: ComplianceCheck = {
  id: 'turn-allocation',
  run: async (context) => {
    const turn = (await usableServices(context)).find((s) => s.type === 'turn' && s.transport === 'udp');
    if (!turn?.username || !turn.password) return failed('no_turn_udp', 'no turn/udp entry with credentials advertised');
    const relay = await context.tools.stunTurn.relay(turn, { username: turn.username, password: turn.password }, context.waitMs * 2);
    if (relay.sent === 0 || relay.received < relay.sent) return failed('relay_lost_data', `relayed through ${relay.relayedAddress}: ${relay.received} of ${relay.sent} messages came back`);
    return passed(`allocated ${relay.relayedAddress} at ${turn.host}:${turn.port}; ${relay.received}/${relay.sent} messages relayed`);
  },
};

export const EXTERNAL_SERVICE_CHECKS: readonly ComplianceCheck[] = [externalServicesCheck, stunBinding, turnAllocation];

import { xml, type Element } from '@xmpp/client';
import { failed, passed, type CheckContext, type ComplianceCheck } from '../compliance-check.js';
import { archiveBodies } from '../archive-query.js';
import { bareJid, discoInfo, iq, token, waitFor } from '../xmpp-exchange.js';
import type { XmppSession } from '../../adapters/xmpp-client.xmpp-probe.js';

// Checks that send and store: they run as the throwaway accounts, never the customer's own.

const NS_CARBONS = 'urn:xmpp:carbons:2';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_BLOCKING = 'urn:xmpp:blocking';
const NS_SM = 'urn:xmpp:sm:3';
const NS_DELAY = 'urn:xmpp:delay';

const jidOf = (context: CheckContext, index: 0 | 1) => `${context.users[index].username}@${context.target.domain}`;

const chat = (to: string, body: string) => xml('message', { to, type: 'chat' }, xml('body', {}, body));

const hasBody = (body: string) => (stanza: Element) => stanza.is('message') && stanza.getChildText('body') === body;

/** Returns once the server has handled everything the session sent before (stanzas are processed in order). */
async function roundTrip(session: XmppSession, domain: string, waitMs: number): Promise<void> {
  await iq(session, xml('iq', { type: 'get', to: domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })), waitMs, 'stream_broken');
}

/** XEP-0280: a message sent from one resource is copied to another that enabled carbons. */
const carbons: ComplianceCheck = {
  id: 'xep0280-carbons',
  run: async (context) => {
    const { waitMs } = context;
    const watching = await context.open(context.users[0]);
    const sending = await context.open(context.users[0]);
    await iq(watching, xml('iq', { type: 'set' }, xml('enable', { xmlns: NS_CARBONS })), waitMs, 'enable_refused');
    await watching.xmpp.send(xml('presence'));
    await roundTrip(watching, context.target.domain, waitMs);
    const body = token('carbons');
    const copy = waitFor(
      watching,
      (stanza) => stanza.is('message') && stanza.getChild('sent', NS_CARBONS)?.getChild('forwarded', NS_FORWARD)?.getChild('message')?.getChildText('body') === body,
      waitMs,
      { reason: 'no_carbon_copy', what: 'a carbon copy of a message sent from another resource' },
    );
    await sending.xmpp.send(chat(jidOf(context, 1), body));
    await copy;
    return passed('enabled; a message sent from another resource was copied');
  },
};

async function blocklist(session: XmppSession, waitMs: number): Promise<string[]> {
  const answer = await iq(session, xml('iq', { type: 'get' }, xml('blocklist', { xmlns: NS_BLOCKING })), waitMs, 'blocklist_failed');
  return (answer.getChild('blocklist', NS_BLOCKING)?.getChildren('item') ?? []).flatMap((item) => (item.attrs.jid ? [item.attrs.jid] : []));
}

/** XEP-0191: a JID blocked is on the list, and gone from it once unblocked. */
const blocking: ComplianceCheck = {
  id: 'xep0191-blocking',
  run: async (context) => {
    const { waitMs } = context;
    const session = await context.open(context.users[0]);
    const info = await discoInfo(session, context.target.domain, waitMs);
    if (!info.features.includes(NS_BLOCKING)) return failed('missing_feature', `the server's disco#info lacks ${NS_BLOCKING}`);
    const blocked = jidOf(context, 1);
    const item = xml('item', { jid: blocked });
    await iq(session, xml('iq', { type: 'set' }, xml('block', { xmlns: NS_BLOCKING }, item)), waitMs, 'block_refused');
    if (!(await blocklist(session, waitMs)).includes(blocked)) return failed('block_not_listed', `${blocked} was blocked but is not on the blocklist`);
    await iq(session, xml('iq', { type: 'set' }, xml('unblock', { xmlns: NS_BLOCKING }, xml('item', { jid: blocked }))), waitMs, 'unblock_refused');
    if ((await blocklist(session, waitMs)).includes(blocked)) return failed('unblock_still_listed', `${blocked} was unblocked but is still on the blocklist`);
    return passed('blocked, listed, unblocked, unlisted');
  },
};

/** XEP-0313: a message sent is found in the sender's archive. */
const mam: ComplianceCheck = {
  id: 'xep0313-mam',
  run: async (context) => {
    const { waitMs } = context;
    const session = await context.open(context.users[0]);
    const info = await discoInfo(session, bareJid(session.jid), waitMs);
    if (!info.features.includes('urn:xmpp:mam:2')) return failed('missing_feature', 'the account does not advertise urn:xmpp:mam:2');
    const body = token('mam');
    const peer = jidOf(context, 1);
    await session.xmpp.send(chat(peer, body));
    await roundTrip(session, context.target.domain, waitMs);
    const bodies = await archiveBodies(session, { with: peer }, waitMs);
    return bodies.includes(body) ? passed(`found among ${bodies.length} archived message(s) with ${peer}`) : failed('not_archived', `the sent message is not among ${bodies.length} archived with ${peer}`);
  },
};

/** XEP-0160: a message to an offline account arrives, stamped as delayed, at its next login. */
const offline: ComplianceCheck = {
  id: 'xep0160-offline',
  run: async (context) => {
    const { waitMs } = context;
    const sender = await context.open(context.users[0]);
    const body = token('offline');
    await sender.xmpp.send(chat(jidOf(context, 1), body));
    // Handled (stored, since the recipient has no session) before the recipient logs in.
    await roundTrip(sender, context.target.domain, waitMs);
    const recipient = await context.open(context.users[1]);
    const arrived = waitFor(recipient, hasBody(body), waitMs, { reason: 'not_delivered', what: 'the offline message arriving after login' });
    // Stored messages are delivered on the initial presence (RFC 6121 §4.2).
    await recipient.xmpp.send(xml('presence'));
    const message = await arrived;
    if (!message.getChild('delay', NS_DELAY)) return failed('not_delayed', 'the message arrived without a delay stamp: it was not stored offline');
    return passed(`delivered at the next login, stamped ${message.getChild('delay', NS_DELAY)?.attrs.stamp ?? ''}`);
  },
};

/** XEP-0198: enabled (resumable) at login, and a request for an ack answered with the count of what the server handled. */
const streamManagement: ComplianceCheck = {
  id: 'xep0198-stream-management',
  run: async ({ session, target, waitMs }) => {
    if (!session.streamFeatures.includes(NS_SM)) return failed('no_sm_stream_feature', `stream features: ${session.streamFeatures.join(', ')}`);
    const sm = session.xmpp.streamManagement;
    if (!sm.enabled) return failed('sm_not_enabled', 'the server did not answer <enable/> with <enabled/>');
    if (!sm.id) return failed('sm_not_resumable', 'the server enabled stream management without resumption');
    const ackCount = async () => {
      const ack = waitFor(session, (element) => element.is('a', NS_SM), waitMs, { reason: 'no_ack', what: 'an <a/> answering <r/>', nonza: true });
      await session.xmpp.send(xml('r', { xmlns: NS_SM }));
      return Number((await ack).attrs.h);
    };
    const before = await ackCount();
    await roundTrip(session, target.domain, waitMs);
    const after = await ackCount();
    if (!Number.isInteger(before) || !(after > before)) return failed('ack_count_wrong', `h went from ${before} to ${after} across a handled ping`);
    return passed(`resumable; h went from ${before} to ${after} across a ping`);
  },
};

export const MESSAGING_CHECKS: readonly ComplianceCheck[] = [carbons, blocking, mam, offline, streamManagement];

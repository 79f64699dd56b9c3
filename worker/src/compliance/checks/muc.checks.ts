import { randomBytes } from 'node:crypto';
import { xml, type Element } from '@xmpp/client';
import type { XmppSession } from '../../adapters/xmpp-client.xmpp-probe.js';
import { CheckFailure, failed, passed, type CheckContext, type ComplianceCheck } from '../compliance-check.js';
import { archiveBodies } from '../archive-query.js';
import { discoInfo, iq, token, waitFor } from '../xmpp-exchange.js';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MAM = 'urn:xmpp:mam:2';
const NICK = 'compliance';

/** A room of its own per check, destroyed afterwards (its archive with it). */
interface Room {
  jid: string;
  created: boolean;
  destroy(): Promise<void>;
}

/** Joins a new room on the conference component (creating it as an instant room, XEP-0045 §10.1.2). */
async function enterNewRoom(context: CheckContext, session: XmppSession): Promise<Room> {
  const { waitMs } = context;
  const jid = `parley-check-${randomBytes(6).toString('hex')}@conference.${context.target.domain}`;
  const self = waitFor(session, (stanza) => stanza.is('presence') && stanza.attrs.from === `${jid}/${NICK}`, waitMs, { reason: 'join_failed', what: `entering ${jid}` });
  await session.xmpp.send(xml('presence', { to: `${jid}/${NICK}` }, xml('x', { xmlns: NS_MUC }, xml('history', { maxstanzas: '0' }))));
  const presence = await self;
  if (presence.attrs.type === 'error') throw new CheckFailure('join_failed', `entering ${jid} was refused: ${presence.toString().slice(0, 300)}`);
  const statuses = presence.getChild('x', `${NS_MUC}#user`)?.getChildren('status').map((s) => s.attrs.code) ?? [];
  const created = statuses.includes('201');
  if (created) {
    await iq(session, xml('iq', { type: 'set', to: jid }, xml('query', { xmlns: `${NS_MUC}#owner` }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }))), waitMs, 'room_config_refused');
  }
  return {
    jid,
    created,
    destroy: async () => {
      await iq(session, xml('iq', { type: 'set', to: jid }, xml('query', { xmlns: `${NS_MUC}#owner` }, xml('destroy'))), waitMs, 'room_destroy_refused');
    },
  };
}

/** Sends a group message and waits for the room to reflect it to its sender (so the room handled it). */
async function sayInRoom(session: XmppSession, room: string, body: string, waitMs: number): Promise<Element> {
  const reflected = waitFor(session, (stanza) => stanza.is('message') && stanza.attrs.type === 'groupchat' && stanza.attrs.from === `${room}/${NICK}` && stanza.getChildText('body') === body, waitMs, {
    reason: 'message_not_reflected',
    what: 'the room reflecting a message to its sender',
  });
  await session.xmpp.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, body)));
  return reflected;
}

async function withRoom<T>(context: CheckContext, use: (session: XmppSession, room: Room) => Promise<T>): Promise<T> {
  const session = await context.open(context.users[0]);
  const room = await enterNewRoom(context, session);
  try {
    return await use(session, room);
  } finally {
    await room.destroy().catch(() => undefined);
  }
}

/** XEP-0045: the conference service is advertised, and a room can be created, joined and spoken in. */
const muc: ComplianceCheck = {
  id: 'xep0045-muc',
  run: async (context) => {
    const service = `conference.${context.target.domain}`;
    const info = await discoInfo(context.session, service, context.waitMs);
    if (!info.identities.some((i) => i.category === 'conference' && i.type === 'text')) return failed('no_muc_service', `${service} is not a conference/text service`);
    if (!info.features.includes(NS_MUC)) return failed('missing_feature', `${service} does not list ${NS_MUC}`);
    return withRoom(context, async (session, room) => {
      if (!room.created) return failed('room_not_created', `${room.jid} already existed`);
      await sayInRoom(session, room.jid, token('muc'), context.waitMs);
      return passed(`created and joined ${room.jid}; a message was reflected`);
    });
  },
};

/** XEP-0313 for rooms: the room advertises MAM (or its service does), and a group message is in its archive. */
const mamMuc: ComplianceCheck = {
  id: 'xep0313-mam-muc',
  run: async (context) =>
    withRoom(context, async (session, room) => {
      const service = `conference.${context.target.domain}`;
      const [serviceInfo, roomInfo] = [await discoInfo(context.session, service, context.waitMs), await discoInfo(session, room.jid, context.waitMs)];
      const advertisedBy = [serviceInfo.features.includes(NS_MAM) ? service : '', roomInfo.features.includes(NS_MAM) ? 'the room' : ''].filter(Boolean);
      if (advertisedBy.length === 0) return failed('missing_feature', `neither ${service} nor its rooms advertise ${NS_MAM}`);
      const body = token('mam-muc');
      await sayInRoom(session, room.jid, body, context.waitMs);
      const bodies = await archiveBodies(session, { archive: room.jid }, context.waitMs);
      if (!bodies.includes(body)) return failed('not_archived', `the group message is not among ${bodies.length} in the room's archive`);
      return passed(`${NS_MAM} advertised by ${advertisedBy.join(' and ')}; the group message was archived`);
    }),
};

export const MUC_CHECKS: readonly ComplianceCheck[] = [muc, mamMuc];

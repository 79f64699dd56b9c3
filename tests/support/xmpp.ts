import { xml, type Element } from '@xmpp/client';
import { openXmppSession, type XmppSession } from '../../worker/src/adapters/xmpp-client.xmpp-probe.js';
import type { XmppLoginRequest } from '../../worker/src/ports/xmpp-probe.js';

export type { XmppSession };

/** A logged-in session (STARTTLS verified like the probe's) for tests that exchange stanzas. */
export function connectAs(request: XmppLoginRequest & { resource?: string; preferPlain?: boolean }): Promise<XmppSession> {
  return openXmppSession(request);
}

/** Resolves with the first chat message body that arrives on the session, bounded in time. */
export function nextMessage(session: XmppSession, timeoutMs: number): Promise<{ from: string; body: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.xmpp.off('stanza', onStanza);
      reject(new Error(`no message for ${session.jid} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onStanza = (stanza: Element) => {
      const body = stanza.is('message') ? stanza.getChildText('body') : null;
      if (body === null) return;
      clearTimeout(timer);
      session.xmpp.off('stanza', onStanza);
      resolve({ from: stanza.attrs.from ?? '', body });
    };
    session.xmpp.on('stanza', onStanza);
  });
}

/** Announces the session as available, so the server routes bare-JID messages to it. */
export async function sendPresence(session: XmppSession): Promise<void> {
  await session.xmpp.send(xml('presence'));
}

export async function sendMessage(session: XmppSession, to: string, body: string): Promise<void> {
  await session.xmpp.send(xml('message', { to, type: 'chat' }, xml('body', {}, body)));
}

/** The bodies of the session's archived messages (XEP-0313 query of its own archive), oldest first. */
export async function archivedBodies(session: XmppSession, timeoutMs = 10_000): Promise<string[]> {
  const queryid = `q${Math.random().toString(36).slice(2)}`;
  const bodies: string[] = [];
  const onStanza = (stanza: Element) => {
    const result = stanza.is('message') ? stanza.getChild('result', 'urn:xmpp:mam:2') : undefined;
    if (!result || result.attrs.queryid !== queryid) return;
    const body = result.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message')?.getChildText('body');
    if (body) bodies.push(body);
  };
  session.xmpp.on('stanza', onStanza);
  try {
    await session.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('query', { xmlns: 'urn:xmpp:mam:2', queryid })), timeoutMs);
  } finally {
    session.xmpp.off('stanza', onStanza);
  }
  return bodies;
}

/** Logs both in, sends `body` from one to the other and waits until it arrives; closes both. */
export async function deliverMessage(open: (username: string, password: string) => Promise<XmppSession>, from: { username: string; password: string }, to: { username: string; password: string }, body: string): Promise<void> {
  const receiver = await open(to.username, to.password);
  try {
    await sendPresence(receiver);
    const sender = await open(from.username, from.password);
    try {
      const received = nextMessage(receiver, 10_000);
      await sendMessage(sender, receiver.jid.split('/')[0] ?? receiver.jid, body);
      await received;
    } finally {
      await sender.close();
    }
  } finally {
    await receiver.close();
  }
}

const NS_MAM = 'urn:xmpp:mam:2';
const NS_RSM = 'http://jabber.org/protocol/rsm';
const NS_MUC = 'http://jabber.org/protocol/muc';

/**
 * Every body of an archive (the session's own, or a room's with `archive: room JID`), oldest
 * first, page by page (XEP-0059). A page the server cannot read (a torn record) fails the query.
 */
export async function wholeArchive(session: XmppSession, options: { archive?: string; pageSize?: number; maxPages?: number; timeoutMs?: number } = {}): Promise<string[]> {
  const bodies: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < (options.maxPages ?? 400); page++) {
    const queryid = `q${page}${Math.random().toString(36).slice(2)}`;
    const onStanza = (stanza: Element) => {
      const result = stanza.is('message') ? stanza.getChild('result', NS_MAM) : undefined;
      if (!result || result.attrs.queryid !== queryid) return;
      const body = result.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message')?.getChildText('body');
      if (body) bodies.push(body);
    };
    session.xmpp.on('stanza', onStanza);
    let fin: Element | undefined;
    try {
      const rsm = xml('set', { xmlns: NS_RSM }, xml('max', {}, String(options.pageSize ?? 250)), ...(after ? [xml('after', {}, after)] : []));
      const answer = await session.xmpp.iqCaller.request(xml('iq', { type: 'set', ...(options.archive ? { to: options.archive } : {}) }, xml('query', { xmlns: NS_MAM, queryid }, rsm)), options.timeoutMs ?? 15_000);
      fin = answer.getChild('fin', NS_MAM);
    } finally {
      session.xmpp.off('stanza', onStanza);
    }
    if (!fin || fin.attrs.complete === 'true') return bodies;
    after = fin.getChild('set', NS_RSM)?.getChildText('last') ?? undefined;
    if (!after) return bodies;
  }
  throw new Error(`the archive has more than ${options.maxPages ?? 400} pages`);
}

/** Joins (and, if it is new, creates as an instant room, XEP-0045 §10.1.2) a group chat; resolves once in. */
export async function joinRoom(session: XmppSession, room: string, nick: string, timeoutMs = 10_000): Promise<void> {
  const joined = new Promise<Element>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not in ${room} within ${timeoutMs} ms`)), timeoutMs);
    const onStanza = (stanza: Element) => {
      if (!stanza.is('presence') || stanza.attrs.from !== `${room}/${nick}`) return;
      clearTimeout(timer);
      session.xmpp.off('stanza', onStanza);
      if (stanza.attrs.type === 'error') reject(new Error(`joining ${room} failed: ${stanza.toString()}`));
      else resolve(stanza);
    };
    session.xmpp.on('stanza', onStanza);
  });
  await session.xmpp.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: NS_MUC }, xml('history', { maxstanzas: '0' }))));
  const self = await joined;
  const created = self.getChild('x', `${NS_MUC}#user`)?.getChildren('status').some((status) => status.attrs.code === '201');
  if (created) {
    await session.xmpp.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: `${NS_MUC}#owner` }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }))), timeoutMs);
  }
}

/** The JIDs in the user's roster, in the order the server lists them. */
export async function rosterJids(session: XmppSession, timeoutMs = 10_000): Promise<string[]> {
  const answer = await session.xmpp.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })), timeoutMs);
  return (answer.getChild('query', 'jabber:iq:roster')?.getChildren('item') ?? []).map((item) => item.attrs.jid ?? '');
}

/** As the room's owner: makes it persistent, so it and its history outlive its last occupant leaving. */
export async function makeRoomPersistent(session: XmppSession, room: string, timeoutMs = 10_000): Promise<void> {
  const field = (name: string, value: string) => xml('field', { var: name }, xml('value', {}, value));
  const form = xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, field('FORM_TYPE', `${NS_MUC}#roomconfig`), field('muc#roomconfig_persistentroom', '1'));
  await session.xmpp.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: `${NS_MUC}#owner` }, form)), timeoutMs);
}

export async function sendGroupMessage(session: XmppSession, room: string, body: string): Promise<void> {
  await session.xmpp.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, body)));
}

/** The first error message (RFC 6120 §8.3) that arrives on the session: who bounced it, its condition and text. */
export function nextMessageError(session: XmppSession, timeoutMs: number): Promise<{ from: string; condition: string; text: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.xmpp.off('stanza', onStanza);
      reject(new Error(`no error message for ${session.jid} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onStanza = (stanza: Element) => {
      const error = stanza.is('message') && stanza.attrs.type === 'error' ? stanza.getChild('error') : undefined;
      if (!error) return;
      clearTimeout(timer);
      session.xmpp.off('stanza', onStanza);
      const condition = error.children.find((child): child is Element => typeof child !== 'string' && child.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas' && child.name !== 'text');
      resolve({ from: stanza.attrs.from ?? '', condition: condition?.name ?? '', text: error.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '' });
    };
    session.xmpp.on('stanza', onStanza);
  });
}

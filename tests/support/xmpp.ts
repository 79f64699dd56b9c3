import { xml, type Element } from '@xmpp/client';
import { openXmppSession, type XmppSession } from '../../worker/src/adapters/xmpp-client.xmpp-probe.js';
import type { XmppLoginRequest } from '../../worker/src/ports/xmpp-probe.js';

export type { XmppSession };

/** A logged-in session (STARTTLS verified like the probe's) for tests that exchange stanzas. */
export function connectAs(request: XmppLoginRequest & { resource?: string }): Promise<XmppSession> {
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

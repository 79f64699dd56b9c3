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

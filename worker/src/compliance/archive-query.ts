import { xml, type Element } from '@xmpp/client';
import type { XmppSession } from '../adapters/xmpp-client.xmpp-probe.js';
import { iq } from './xmpp-exchange.js';

const NS_MAM = 'urn:xmpp:mam:2';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_DATA = 'jabber:x:data';
const NS_RSM = 'http://jabber.org/protocol/rsm';

/**
 * The bodies of the last messages of an archive (XEP-0313): the session's own, or a room's with
 * `archive`, optionally only those exchanged `with` one JID. One page, the latest, is enough: a
 * check looks for what it just sent.
 */
export async function archiveBodies(session: XmppSession, filter: { archive?: string; with?: string }, waitMs: number): Promise<string[]> {
  const queryid = `c${Math.random().toString(36).slice(2)}`;
  const bodies: string[] = [];
  const onStanza = (stanza: Element) => {
    const result = stanza.is('message') ? stanza.getChild('result', NS_MAM) : undefined;
    if (!result || result.attrs.queryid !== queryid) return;
    const body = result.getChild('forwarded', NS_FORWARD)?.getChild('message')?.getChildText('body');
    if (body) bodies.push(body);
  };
  const field = (name: string, value: string, type?: string) => xml('field', { var: name, ...(type ? { type } : {}) }, xml('value', {}, value));
  const form = xml('x', { xmlns: NS_DATA, type: 'submit' }, field('FORM_TYPE', NS_MAM, 'hidden'), ...(filter.with ? [field('with', filter.with)] : []));
  // <before/> empty: the last page.
  const page = xml('set', { xmlns: NS_RSM }, xml('max', {}, '50'), xml('before'));
  session.xmpp.on('stanza', onStanza);
  try {
    // The results arrive before the IQ's answer, on the same stream.
    await iq(session, xml('iq', { type: 'set', ...(filter.archive ? { to: filter.archive } : {}) }, xml('query', { xmlns: NS_MAM, queryid }, form, page)), waitMs, 'archive_query_failed');
  } finally {
    session.xmpp.off('stanza', onStanza);
  }
  return bodies;
}

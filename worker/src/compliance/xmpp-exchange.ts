import { xml, type Element } from '@xmpp/client';
import type { XmppSession } from '../adapters/xmpp-client.xmpp-probe.js';
import { CheckFailure } from './compliance-check.js';

// The few exchanges the checks share, each bounded by the wait it is given.

export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

export interface DiscoInfo {
  identities: { category: string; type: string }[];
  features: string[];
  /** The query element itself, for extended forms (XEP-0128). */
  query: Element;
}

/** An IQ whose error answer becomes a CheckFailure with `reason` (the condition goes into the detail). */
export async function iq(session: XmppSession, stanza: Element, waitMs: number, reason: string): Promise<Element> {
  try {
    return await session.xmpp.iqCaller.request(stanza, waitMs);
  } catch (error) {
    throw new CheckFailure(reason, `${stanza.attrs.type ?? 'iq'} to ${stanza.attrs.to ?? 'the account'} failed: ${describeXmppError(error)}`);
  }
}

export async function discoInfo(session: XmppSession, to: string, waitMs: number): Promise<DiscoInfo> {
  const answer = await iq(session, xml('iq', { type: 'get', to }, xml('query', { xmlns: NS_DISCO_INFO })), waitMs, 'disco_failed');
  const query = answer.getChild('query', NS_DISCO_INFO);
  if (!query) throw new CheckFailure('disco_failed', `disco#info of ${to} answered without a query`);
  return {
    identities: query.getChildren('identity').map((i) => ({ category: i.attrs.category ?? '', type: i.attrs.type ?? '' })),
    features: query.getChildren('feature').flatMap((f) => (f.attrs.var ? [f.attrs.var] : [])),
    query,
  };
}

export async function discoItems(session: XmppSession, to: string, waitMs: number): Promise<string[]> {
  const answer = await iq(session, xml('iq', { type: 'get', to }, xml('query', { xmlns: NS_DISCO_ITEMS })), waitMs, 'disco_failed');
  return (answer.getChild('query', NS_DISCO_ITEMS)?.getChildren('item') ?? []).flatMap((i) => (i.attrs.jid ? [i.attrs.jid] : []));
}

/** The first stanza (or, with `nonza`, stream-level element) matching `match`, or a CheckFailure with `reason` after `waitMs`. */
export function waitFor(session: XmppSession, match: (element: Element) => boolean, waitMs: number, failure: { reason: string; what: string; nonza?: boolean }): Promise<Element> {
  const event = failure.nonza ? 'nonza' : 'stanza';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.xmpp.off(event, onElement);
      reject(new CheckFailure(failure.reason, `${failure.what} did not happen within ${waitMs} ms`));
    }, waitMs);
    const onElement = (element: Element) => {
      if (!match(element)) return;
      clearTimeout(timer);
      session.xmpp.off(event, onElement);
      resolve(element);
    };
    session.xmpp.on(event, onElement);
  });
}

export const bareJid = (jid: string): string => jid.split('/')[0] ?? jid;

/** A text unique to one check run, so what a check finds cannot be left over from another. */
export const token = (label: string): string => `parley-compliance ${label} ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

export function describeXmppError(error: unknown): string {
  if (error instanceof Error) {
    const condition = 'condition' in error && typeof error.condition === 'string' ? error.condition : '';
    return condition || error.message || error.name;
  }
  return String(error);
}

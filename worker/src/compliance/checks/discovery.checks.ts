import { xml } from '@xmpp/client';
import type { ComplianceCheckId } from '../../contracts/compliance.js';
import { failed, passed, type CheckContext, type ComplianceCheck } from '../compliance-check.js';
import { serverInfoAddresses } from '../service-info.js';
import { bareJid, discoInfo, discoItems, iq } from '../xmpp-exchange.js';

// Checks that read what the server announces (disco#info, stream features) through the admin's
// session: nothing is written.

const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_ROSTER = 'jabber:iq:roster';
const NS_ROSTERVER = 'urn:xmpp:features:rosterver';
const NS_CSI = 'urn:xmpp:csi:0';

const accountJid = (context: CheckContext) => bareJid(context.session.jid);

/** A feature the account's own disco#info (its bare JID) must list. */
function accountFeature(id: ComplianceCheckId, feature: string): ComplianceCheck {
  return {
    id,
    run: async (context) => {
      const info = await discoInfo(context.session, accountJid(context), context.waitMs);
      return info.features.includes(feature) ? passed(`the account advertises ${feature}`) : failed('missing_feature', `the account's disco#info lacks ${feature}`);
    },
  };
}

/** XEP-0030: the server is an IM server and lists its components as items. */
const disco: ComplianceCheck = {
  id: 'xep0030-disco',
  run: async ({ session, target, waitMs }) => {
    const info = await discoInfo(session, target.domain, waitMs);
    if (!info.identities.some((i) => i.category === 'server' && i.type === 'im')) return failed('no_server_identity', `identities: ${JSON.stringify(info.identities)}`);
    if (!info.features.includes('http://jabber.org/protocol/disco#info')) return failed('missing_feature', 'disco#info does not list itself');
    const items = await discoItems(session, target.domain, waitMs);
    const expected = [`conference.${target.domain}`, `upload.${target.domain}`];
    const missing = expected.filter((jid) => !items.includes(jid));
    if (missing.length > 0) return failed('missing_items', `disco#items lacks ${missing.join(', ')} (has ${items.join(', ') || 'nothing'})`);
    return passed(`server/im with ${info.features.length} features; items ${items.join(', ')}`);
  },
};

/** XEP-0115 §6.3: the server announces its capabilities in the stream features (as the Conversations Compliance Tester checks). */
const caps: ComplianceCheck = {
  id: 'xep0115-caps',
  run: ({ session }) =>
    Promise.resolve(
      session.streamFeatures.includes(NS_CAPS)
        ? passed('the stream features carry the server’s entity capabilities')
        : failed('no_caps_stream_feature', `stream features: ${session.streamFeatures.join(', ')}`),
    ),
};

/** XEP-0163: the account is a PEP service that takes publish-options (XEP-0060 §7.1.5). */
const pep: ComplianceCheck = {
  id: 'xep0163-pep',
  run: async (context) => {
    const info = await discoInfo(context.session, accountJid(context), context.waitMs);
    if (!info.identities.some((i) => i.category === 'pubsub' && i.type === 'pep')) return failed('no_pep_identity', `identities: ${JSON.stringify(info.identities)}`);
    const publishOptions = 'http://jabber.org/protocol/pubsub#publish-options';
    if (!info.features.includes(publishOptions)) return failed('no_publish_options', `the account's disco#info lacks ${publishOptions}`);
    return passed('pubsub/pep with publish-options');
  },
};

/** XEP-0157: the serverinfo form with abuse and admin addresses. */
const contactAddresses: ComplianceCheck = {
  id: 'xep0157-contact-addresses',
  run: async ({ session, target, waitMs }) => {
    const info = await discoInfo(session, target.domain, waitMs);
    const addresses = serverInfoAddresses(info.query);
    if (!addresses) return failed('no_serverinfo_form', 'the server’s disco#info has no http://jabber.org/network/serverinfo form');
    for (const kind of ['abuse-addresses', 'admin-addresses']) {
      if ((addresses[kind] ?? []).length === 0) return failed(`no_${kind.replace('-', '_')}`, `the serverinfo form has no ${kind}`);
    }
    return passed(Object.entries(addresses).map(([kind, uris]) => `${kind}: ${uris.join(' ')}`).join('; '));
  },
};

/** RFC 6121 §2.6 / XEP-0237: the stream feature, and a roster fetch answered with a version. */
const rosterVersioning: ComplianceCheck = {
  id: 'xep0237-roster-versioning',
  run: async ({ session, waitMs }) => {
    if (!session.streamFeatures.includes(NS_ROSTERVER)) return failed('no_rosterver_stream_feature', `stream features: ${session.streamFeatures.join(', ')}`);
    const answer = await iq(session, xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER, ver: '' })), waitMs, 'roster_failed');
    const ver = answer.getChild('query', NS_ROSTER)?.attrs.ver;
    if (ver === undefined || ver === '') return failed('no_roster_version', 'a roster fetch with ver="" came back without a version');
    return passed(`roster version ${ver}`);
  },
};

/** XEP-0352: the stream feature, and the stream still answering after inactive then active. */
const csi: ComplianceCheck = {
  id: 'xep0352-csi',
  run: async ({ session, target, waitMs }) => {
    if (!session.streamFeatures.includes(NS_CSI)) return failed('no_csi_stream_feature', `stream features: ${session.streamFeatures.join(', ')}`);
    await session.xmpp.send(xml('inactive', { xmlns: NS_CSI }));
    await session.xmpp.send(xml('active', { xmlns: NS_CSI }));
    await iq(session, xml('iq', { type: 'get', to: target.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })), waitMs, 'stream_broken');
    return passed('inactive and active were taken and the stream answers');
  },
};

export const DISCOVERY_CHECKS: readonly ComplianceCheck[] = [
  disco,
  caps,
  pep,
  contactAddresses,
  rosterVersioning,
  csi,
  accountFeature('xep0357-push', 'urn:xmpp:push:0'),
  accountFeature('xep0398-avatar-conversion', 'urn:xmpp:pep-vcard-conversion:0'),
  accountFeature('xep0411-bookmarks-conversion', 'urn:xmpp:bookmarks:1#compat'),
];

// XEP-0479 (Compliance Suites 2023): the checks the worker runs against each hosted server, by
// stable id. The API and the dashboard read stored results by these ids: a check is added here,
// never renamed.

/** The suites' categories (XEP-0479 §2): Core, IM, Mobile, A/V calling. */
export const COMPLIANCE_CATEGORIES = ['core', 'im', 'mobile', 'av'] as const;
export type ComplianceCategory = (typeof COMPLIANCE_CATEGORIES)[number];

export interface ComplianceCheckInfo {
  title: string;
  /** The XEP the check is about, as XEP-0479 names it ('XEP-0280'); RFCs for STUN and TURN. */
  spec: string;
  category: ComplianceCategory;
}

export const COMPLIANCE_CHECKS = {
  'xep0030-disco': { title: 'Service Discovery', spec: 'XEP-0030', category: 'core' },
  'xep0115-caps': { title: 'Entity Capabilities', spec: 'XEP-0115', category: 'core' },
  'xep0163-pep': { title: 'Personal Eventing Protocol with publish-options', spec: 'XEP-0163', category: 'core' },
  'xep0368-direct-tls': { title: 'Direct TLS (xmpps-client, ALPN xmpp-client)', spec: 'XEP-0368', category: 'core' },
  'xep0157-contact-addresses': { title: 'Contact Addresses for XMPP Services', spec: 'XEP-0157', category: 'core' },
  'xep0237-roster-versioning': { title: 'Roster Versioning', spec: 'XEP-0237', category: 'im' },
  'xep0280-carbons': { title: 'Message Carbons', spec: 'XEP-0280', category: 'im' },
  'xep0191-blocking': { title: 'Blocking Command', spec: 'XEP-0191', category: 'im' },
  'xep0045-muc': { title: 'Multi-User Chat', spec: 'XEP-0045', category: 'im' },
  'xep0313-mam': { title: 'Message Archive Management', spec: 'XEP-0313', category: 'im' },
  'xep0313-mam-muc': { title: 'Message Archive Management for group chats', spec: 'XEP-0313', category: 'im' },
  'xep0363-http-upload': { title: 'HTTP File Upload', spec: 'XEP-0363', category: 'im' },
  'xep0160-offline': { title: 'Offline Messages', spec: 'XEP-0160', category: 'im' },
  'xep0398-avatar-conversion': { title: 'User Avatar to vCard-Based Avatars Conversion', spec: 'XEP-0398', category: 'im' },
  'xep0411-bookmarks-conversion': { title: 'Bookmarks Conversion', spec: 'XEP-0411', category: 'im' },
  'xep0198-stream-management': { title: 'Stream Management', spec: 'XEP-0198', category: 'mobile' },
  'xep0352-csi': { title: 'Client State Indication', spec: 'XEP-0352', category: 'mobile' },
  'xep0357-push': { title: 'Push Notifications', spec: 'XEP-0357', category: 'mobile' },
  'xep0215-external-services': { title: 'External Service Discovery (STUN and TURN)', spec: 'XEP-0215', category: 'av' },
  'stun-binding': { title: 'STUN binding with the advertised server', spec: 'RFC 8489', category: 'av' },
  'turn-allocation': { title: 'TURN allocation and relay with the advertised credentials', spec: 'RFC 8656', category: 'av' },
} as const satisfies Record<string, ComplianceCheckInfo>;

export type ComplianceCheckId = keyof typeof COMPLIANCE_CHECKS;
export const COMPLIANCE_CHECK_IDS = Object.keys(COMPLIANCE_CHECKS) as ComplianceCheckId[];

/**
 * The localpart prefix of the throwaway accounts a compliance run makes (and deletes): they are
 * the platform's, never a customer's, so the account census does not count them as seats.
 */
export const COMPLIANCE_ACCOUNT_PREFIX = 'parley-check-';
const COMPLIANCE_ACCOUNT = /^parley-check-[0-9a-f]{12}$/;

/** Whether a localpart is one of a compliance run's throwaway accounts. */
export const isComplianceAccount = (localpart: string): boolean => COMPLIANCE_ACCOUNT.test(localpart);

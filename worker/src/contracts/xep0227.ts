import { Element, Parser } from 'ltx';
import { isValidUsername, USERNAME_RULE } from './xmpp-names.js';

// XEP-0227 (Portable Import/Export Format for XMPP-IM Servers) documents: one per server in and
// out of Parley, one per user for Prosody's xep0227 storage driver. Shared by the API (which
// checks an upload) and the worker (which merges an export and splits an import).

export const PIE_NS = 'urn:xmpp:pie:0';
/** Parley keeps admin@<domain> for the server's administrator: an import may not bring one. */
export const RESERVED_LOCALPART = 'admin';
const DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n";
/** Attributes that carry JIDs in the parts of a user's data Prosody exports (roster, archive, PEP). */
const JID_ATTRIBUTES = ['jid', 'to', 'from', 'with'] as const;

/** A document that cannot be imported; the message says what to fix, in the customer's words. */
export class Xep0227Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Xep0227Error';
  }
}

export interface ServerData {
  /** The host the document was exported from (lower case). */
  host: string;
  /** Its users' localparts, in document order. */
  users: string[];
}

/** Checks an uploaded document: what `splitForDomain` accepts, summed up. */
export function readServerData(text: string): ServerData {
  const { host, users } = checkedServerData(text);
  return { host, users: users.map((user) => user.attrs.name ?? '') };
}

/**
 * One standard document of a host's users from Prosody's per-user files (`<user>@<host>.xml`),
 * leaving out the users named in `skip` (Parley's own admin account).
 */
export function mergeUserDocuments(domain: string, documents: string[], skip: (localpart: string) => boolean): { document: string; users: string[] } {
  const host = new Element('host', { jid: domain });
  const users: string[] = [];
  for (const text of documents) {
    const root = parseDocument(text);
    for (const hostElement of root.getChildren('host', PIE_NS)) {
      if (hostElement.attrs.jid?.toLowerCase() !== domain) throw new Xep0227Error(`a per-user file names host "${hostElement.attrs.jid ?? ''}", not ${domain}`);
      for (const user of hostElement.getChildren('user', PIE_NS)) {
        const name = user.attrs.name ?? '';
        if (skip(name)) continue;
        host.cnode(user);
        users.push(name);
      }
    }
  }
  const serverData = new Element('server-data', { xmlns: PIE_NS });
  serverData.cnode(host);
  return { document: DECLARATION + serverData.toString(), users };
}

/**
 * One document per user for `domain`, as Prosody's xep0227 driver reads them: the host renamed,
 * and every JID of the old host (or of its subdomains, such as its group chat service) in the
 * users' data moved to the new one, so alice@old's contact bob@old becomes bob@new.
 */
export function splitForDomain(text: string, domain: string): { user: string; document: string }[] {
  const { host, users } = checkedServerData(text);
  return users.map((user) => {
    rewriteJids(user, host, domain);
    const hostElement = new Element('host', { jid: domain });
    hostElement.cnode(user);
    const serverData = new Element('server-data', { xmlns: PIE_NS });
    serverData.cnode(hostElement);
    return { user: user.attrs.name ?? '', document: DECLARATION + serverData.toString() };
  });
}

/** `jid` moved from host `from` (or a subdomain of it) to `to`; any other JID unchanged. */
export function moveJid(jid: string, from: string, to: string): string {
  const at = jid.indexOf('@');
  const slash = jid.indexOf('/', at + 1);
  const local = at === -1 ? '' : jid.slice(0, at + 1);
  const domainPart = jid.slice(at + 1, slash === -1 ? undefined : slash);
  const resource = slash === -1 ? '' : jid.slice(slash);
  const lower = domainPart.toLowerCase();
  if (lower === from) return `${local}${to}${resource}`;
  if (lower.endsWith(`.${from}`)) return `${local}${lower.slice(0, -from.length)}${to}${resource}`;
  return jid;
}

function rewriteJids(element: Element, from: string, to: string): void {
  for (const name of JID_ATTRIBUTES) {
    const value = element.attrs[name];
    if (value !== undefined) element.attrs[name] = moveJid(value, from, to);
  }
  for (const child of element.getChildElements()) rewriteJids(child, from, to);
}

function checkedServerData(text: string): { host: string; users: Element[] } {
  const root = parseDocument(text);
  if (!root.is('server-data', PIE_NS)) {
    throw new Xep0227Error(`The file is XML but not a XEP-0227 export: its root element must be <server-data xmlns='${PIE_NS}'>.`);
  }
  const hosts = root.getChildren('host', PIE_NS);
  if (hosts.length !== 1) throw new Xep0227Error(`The file must hold exactly one <host> (one server's domain); it holds ${hosts.length}. Export one domain at a time.`);
  const [hostElement] = hosts as [Element];
  const host = (hostElement.attrs.jid ?? '').toLowerCase();
  if (!host) throw new Xep0227Error('The <host> element must name its domain in a jid attribute.');
  const users = hostElement.getChildren('user', PIE_NS);
  if (users.length === 0) throw new Xep0227Error(`The file holds no users of ${host}: nothing to import.`);
  const seen = new Set<string>();
  for (const user of users) {
    const name = user.attrs.name ?? '';
    if (name === RESERVED_LOCALPART) {
      throw new Xep0227Error(
        `The file has a user named "${RESERVED_LOCALPART}"; Parley keeps ${RESERVED_LOCALPART}@<your domain> for the server's administrator. Rename that user on the old server (or in the file) and upload it again.`,
      );
    }
    if (!isValidUsername(name)) throw new Xep0227Error(`The user "${name.slice(0, 80)}" cannot be imported: ${USERNAME_RULE}`);
    if (seen.has(name)) throw new Xep0227Error(`The user "${name}" appears twice in the file; each user must appear once.`);
    seen.add(name);
  }
  return { host, users };
}

/** The document's root element; refuses anything that is not one well-formed XML element. */
function parseDocument(text: string): Element {
  const parser = new Parser();
  const open: string[] = [];
  let roots = 0;
  let problem: string | undefined;
  let parserError: string | undefined;
  let tree: Element | undefined;
  parser.parser.on('startElement', (name: string) => {
    if (open.length === 0) roots++;
    open.push(name);
  });
  parser.parser.on('endElement', (name: string) => {
    if (open.pop() !== name) problem ??= `</${name}> does not close the element open there`;
  });
  parser.parser.on('text', (value: string) => {
    if (open.length === 0 && value.trim() !== '') problem ??= 'text outside the root element';
  });
  parser.on('error', (error: Error) => (parserError ??= error.message));
  parser.on('tree', (root: Element) => (tree = root));
  parser.write(text);
  parser.end();
  if (roots > 1) problem ??= 'more than one root element';
  // The parser reports text only when a tag follows it: trailing text is looked at here.
  if (text.slice(text.lastIndexOf('>') + 1).trim() !== '') problem ??= 'text outside the root element';
  if (open.length > 0) problem ??= `<${open[open.length - 1] ?? ''}> is never closed`;
  problem ??= parserError;
  if (problem !== undefined || !tree) throw new Xep0227Error(`The file is not well-formed XML (${problem ?? 'no element'}).`);
  return tree;
}

import type { Element } from '@xmpp/client';

// Pure readings of what a server answers: its contact addresses (XEP-0157) and its external
// services (XEP-0215).

const NS_DATA = 'jabber:x:data';
export const SERVERINFO_FORM_TYPE = 'http://jabber.org/network/serverinfo';

/** The serverinfo form's fields (`abuse-addresses` → URIs) from a disco#info query, or undefined without one. */
export function serverInfoAddresses(query: Element): Record<string, string[]> | undefined {
  for (const form of query.getChildren('x', NS_DATA)) {
    const fields = form.getChildren('field');
    const formType = fields.find((f) => f.attrs.var === 'FORM_TYPE')?.getChildText('value');
    if (formType !== SERVERINFO_FORM_TYPE) continue;
    return Object.fromEntries(
      fields.filter((f) => f.attrs.var !== undefined && f.attrs.var !== 'FORM_TYPE').map((f) => [f.attrs.var ?? '', f.getChildren('value').map((v) => v.getText().trim()).filter(Boolean)]),
    );
  }
  return undefined;
}

export interface ExternalService {
  type: string;
  transport: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** Milliseconds since the epoch; NaN when absent or not a date. */
  expires: number;
}

/** The `<service/>` entries of a XEP-0215 `<services/>` answer. */
export function externalServices(services: Element): ExternalService[] {
  return services.getChildren('service').map((s) => ({
    type: s.attrs.type ?? '',
    transport: s.attrs.transport ?? 'udp',
    host: s.attrs.host ?? '',
    port: Number(s.attrs.port ?? (s.attrs.type === 'stuns' || s.attrs.type === 'turns' ? 5349 : 3478)),
    ...(s.attrs.username === undefined ? {} : { username: s.attrs.username }),
    ...(s.attrs.password === undefined ? {} : { password: s.attrs.password }),
    expires: Date.parse(s.attrs.expires ?? ''),
  }));
}

/** Why the services are not what a calling client needs (a reason code and the details), or undefined when they are. */
export function externalServicesProblem(services: readonly ExternalService[], now: Date): { reason: string; detail: string } | undefined {
  if (services.length === 0) return { reason: 'no_external_services', detail: 'the server lists no external services' };
  const stun = services.filter((s) => s.type === 'stun');
  const turn = services.filter((s) => s.type === 'turn');
  if (stun.length === 0) return { reason: 'no_stun', detail: `no stun entry among ${describeServices(services)}` };
  if (turn.length === 0) return { reason: 'no_turn', detail: `no turn entry among ${describeServices(services)}` };
  const unusable = [...stun, ...turn].find((s) => s.host === '' || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535);
  if (unusable) return { reason: 'bad_service_address', detail: `${unusable.type}/${unusable.transport} has no usable host and port` };
  const bare = turn.find((s) => !s.username || !s.password || Number.isNaN(s.expires));
  if (bare) return { reason: 'turn_without_credentials', detail: `turn/${bare.transport} lacks a username, password or expiry` };
  const expired = turn.find((s) => s.expires <= now.getTime());
  if (expired) return { reason: 'turn_credentials_expired', detail: `turn/${expired.transport} credentials expired at ${new Date(expired.expires).toISOString()}` };
  return undefined;
}

export const describeServices = (services: readonly ExternalService[]): string => services.map((s) => `${s.type}/${s.transport}@${s.host}:${s.port}`).join(', ');

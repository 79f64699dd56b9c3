export interface XmppLoginRequest {
  /** Where to connect (an address or name); TLS is verified against `domain`, never this. */
  host: string;
  port: number;
  /** The XMPP domain: the stream's `to`, the TLS server name and the name the certificate must carry. */
  domain: string;
  username: string;
  password: string;
  /** PEM roots to trust instead of the system store; undefined = the system roots. */
  trustedCaPems: string[] | undefined;
  timeoutMs: number;
}

export interface XmppLoginResult {
  /** The full JID the server bound. */
  jid: string;
  /**
   * Everything the server offers this account, sorted: disco#info features (XEP-0030) of the
   * domain and of the account's bare JID (MAM, PEP live there), plus the namespaces of the
   * stream features (SM, CSI are only announced there).
   */
  features: string[];
  /** disco#items of the domain: its components, e.g. conference.<domain>. */
  items: string[];
}

export type XmppProbeFailure = 'connect' | 'tls' | 'auth' | 'protocol' | 'timeout';

export class XmppProbeError extends Error {
  constructor(
    readonly failure: XmppProbeFailure,
    message: string,
  ) {
    super(message);
    this.name = 'XmppProbeError';
  }
}

/** A real client login: STARTTLS with the certificate verified, SASL, bind, service discovery. */
export interface XmppProbe {
  /** Read-only apart from the session it opens; always closes the connection. */
  login(request: XmppLoginRequest): Promise<XmppLoginResult>;
}

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as tlsConnect } from 'node:tls';

/**
 * A minimal TURN client over UDP or TLS (RFC 5389 / RFC 5766, long-term credentials): enough to
 * see the exact answer coturn gives an allocation or a permission (turnutils_uclient prints none
 * for a 401). It speaks to the real server; nothing is simulated.
 */

const MAGIC_COOKIE = 0x2112a442;
const METHOD = { allocate: 0x003, refresh: 0x004, createPermission: 0x008 } as const;
const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
} as const;

export type TurnAnswer = { ok: true } | { ok: false; code: number; reason: string };

interface Message {
  type: number;
  attributes: Map<number, Buffer>;
}

function attribute(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

function xorAddress(address: string, port: number): Buffer {
  const value = Buffer.alloc(8);
  value.writeUInt8(0x01, 1); // IPv4
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  const octets = address.split('.').map(Number);
  value.writeUInt32BE(((((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) ^ MAGIC_COOKIE) >>> 0, 4);
  return value;
}

function parseXorAddress(value: Buffer): string {
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const ip = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${port}`;
}

function parse(packet: Buffer): Message & { transactionId: Buffer } {
  const attributes = new Map<number, Buffer>();
  let offset = 20;
  const end = 20 + packet.readUInt16BE(2);
  while (offset + 4 <= end) {
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    attributes.set(type, packet.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { type: packet.readUInt16BE(0), attributes, transactionId: packet.subarray(8, 20) };
}

/** How STUN messages reach the server: datagrams, or a TLS stream verified like an app would. */
export type TurnTransport = { kind: 'udp' } | { kind: 'tls'; servername: string; ca: string };

interface Channel {
  send(packet: Buffer): Promise<void>;
  onMessage(listener: (message: Buffer) => void): void;
  offMessage(listener: (message: Buffer) => void): void;
  close(): void;
}

function udpChannel(server: { host: string; port: number }): Channel {
  const socket = createSocket('udp4');
  return {
    send: (packet) => new Promise((resolve, reject) => socket.send(packet, server.port, server.host, (error) => (error ? reject(error) : resolve()))),
    onMessage: (listener) => socket.on('message', listener),
    offMessage: (listener) => socket.off('message', listener),
    close: () => socket.close(),
  };
}

/** STUN over a stream (RFC 5389 §7.2.2): each message's length is in its header. */
function tlsChannel(server: { host: string; port: number }, transport: { servername: string; ca: string }): Channel {
  const listeners = new Set<(message: Buffer) => void>();
  const socket = tlsConnect({ host: server.host, port: server.port, servername: transport.servername, ca: transport.ca, rejectUnauthorized: true });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  // Without a listener a refused handshake would be an uncaught error; the next send reports it.
  connected.catch(() => undefined);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 20 && pending.length >= 20 + pending.readUInt16BE(2)) {
      const message = pending.subarray(0, 20 + pending.readUInt16BE(2));
      pending = pending.subarray(message.length);
      for (const listener of listeners) listener(message);
    }
  });
  return {
    send: async (packet) => {
      await connected;
      await new Promise<void>((resolve, reject) => socket.write(packet, (error) => (error ? reject(error) : resolve())));
    },
    onMessage: (listener) => listeners.add(listener),
    offMessage: (listener) => listeners.delete(listener),
    close: () => socket.destroy(),
  };
}

/** One client 5-tuple: at most one allocation, as TURN has it. */
export class TurnClient {
  private socket: Channel;
  private auth: { username: string; realm: Buffer; nonce: Buffer; key: Buffer } | undefined;
  /** The relayed address of the allocation, once allocated. */
  relayedAddress: string | undefined;

  constructor(
    private readonly server: { host: string; port: number },
    private readonly credentials: { username: string; password: string },
    private readonly timeoutMs = 3_000,
    private readonly transport: TurnTransport = { kind: 'udp' },
  ) {
    this.socket = this.channel();
  }

  private channel(): Channel {
    return this.transport.kind === 'udp' ? udpChannel(this.server) : tlsChannel(this.server, this.transport);
  }

  /**
   * Allocates a UDP relay. coturn keeps a released client's session for a while, and the kernel
   * may hand a new socket the same port: a 437 (allocation mismatch) is that 5-tuple's, so the
   * client tries from another port, as RFC 5766 §6.4 advises.
   */
  async allocate(): Promise<TurnAnswer> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.allocateOnce();
      if (answer.ok || answer.code !== 437 || attempt === 5) return answer;
      this.socket.close();
      this.socket = this.channel();
    }
  }

  /** The first, unauthenticated request learns the realm and nonce. */
  private async allocateOnce(): Promise<TurnAnswer> {
    // The relay is UDP whatever carries the requests (coturn relays no TCP: no-tcp-relay).
    const transport = Buffer.from([17, 0, 0, 0]);
    const challenge = await this.request(METHOD.allocate, [attribute(ATTR.requestedTransport, transport)], false);
    const realm = challenge.attributes.get(ATTR.realm);
    const nonce = challenge.attributes.get(ATTR.nonce);
    if (!realm || !nonce) return this.answer(challenge, METHOD.allocate);
    const { username, password } = this.credentials;
    this.auth = { username, realm, nonce, key: createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest() };
    const reply = await this.request(METHOD.allocate, [attribute(ATTR.requestedTransport, transport)], true);
    const relayed = reply.attributes.get(ATTR.xorRelayedAddress);
    if (relayed) this.relayedAddress = parseXorAddress(relayed);
    return this.answer(reply, METHOD.allocate);
  }

  /** Asks to relay to `peer` (the allocation must exist): coturn's peer rules answer here. */
  async createPermission(peer: string): Promise<TurnAnswer> {
    const reply = await this.request(METHOD.createPermission, [attribute(ATTR.xorPeerAddress, xorAddress(peer, 0))], true);
    return this.answer(reply, METHOD.createPermission);
  }

  /** Frees the allocation (Refresh with lifetime 0), so it stops counting against the quotas. */
  async release(): Promise<void> {
    if (!this.relayedAddress) return;
    const zero = Buffer.alloc(4);
    await this.request(METHOD.refresh, [attribute(ATTR.lifetime, zero)], true);
    this.relayedAddress = undefined;
  }

  close(): void {
    this.socket.close();
  }

  private answer(reply: Message, method: number): TurnAnswer {
    if (reply.type === (0x0100 | method)) return { ok: true };
    const error = reply.attributes.get(ATTR.errorCode);
    if (!error) throw new Error(`unexpected TURN message type 0x${reply.type.toString(16)}`);
    return { ok: false, code: (error.readUInt8(2) & 7) * 100 + error.readUInt8(3), reason: error.subarray(4).toString().replace(/\0+$/, '') };
  }

  private request(method: number, attributes: Buffer[], authenticated: boolean): Promise<Message> {
    const transactionId = randomBytes(12);
    let body = Buffer.concat(attributes);
    if (authenticated) {
      if (!this.auth) throw new Error('allocate first');
      body = Buffer.concat([body, attribute(ATTR.username, Buffer.from(this.auth.username)), attribute(ATTR.realm, this.auth.realm), attribute(ATTR.nonce, this.auth.nonce)]);
    }
    const header = (length: number) => {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(method, 0);
      h.writeUInt16BE(length, 2);
      h.writeUInt32BE(MAGIC_COOKIE, 4);
      transactionId.copy(h, 8);
      return h;
    };
    let packet = Buffer.concat([header(body.length), body]);
    if (authenticated && this.auth) {
      // The integrity covers the message with its length already counting the MI attribute.
      const hmac = createHmac('sha1', this.auth.key).update(Buffer.concat([header(body.length + 24), body])).digest();
      packet = Buffer.concat([header(body.length + 24), body, attribute(ATTR.messageIntegrity, hmac)]);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.offMessage(onMessage);
        reject(new Error(`no TURN answer from ${this.server.host}:${this.server.port} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const onMessage = (data: Buffer) => {
        if (data.length < 20) return;
        const message = parse(data);
        if (!message.transactionId.equals(transactionId)) return;
        clearTimeout(timer);
        this.socket.offMessage(onMessage);
        resolve(message);
      };
      this.socket.onMessage(onMessage);
      this.socket.send(packet).catch((error: unknown) => {
        clearTimeout(timer);
        this.socket.offMessage(onMessage);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }
}

/** Allocates once with these credentials and frees the allocation: coturn's answer. */
export async function tryAllocation(
  server: { host: string; port: number },
  credentials: { username: string; password: string },
  transport: TurnTransport = { kind: 'udp' },
): Promise<TurnAnswer> {
  const client = new TurnClient(server, credentials, 3_000, transport);
  try {
    const answer = await client.allocate();
    await client.release();
    return answer;
  } finally {
    client.close();
  }
}

/** TURN REST credentials (what Prosody's mod_external_services computes): `<expiry>:<user>`, base64 HMAC-SHA1. */
export function turnRestCredentials(secret: string, user: string, expiresAt: Date): { username: string; password: string } {
  const username = `${Math.floor(expiresAt.getTime() / 1000)}:${user}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

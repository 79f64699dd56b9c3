import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { expect } from 'vitest';

/** The token of an invite link (`xmpp:host?register;preauth=TOKEN`). */
export function tokenOf(inviteUri: string): string {
  return /preauth=([^;&]+)/.exec(inviteUri)?.[1] ?? '';
}

/**
 * A client registering with an invite's token the way Conversations does (XEP-0401 + XEP-0445):
 * STARTTLS verified against Pebble's root, the token sent as <preauth/>, then in-band
 * registration (XEP-0077). Resolves with "ok" or the error condition of each step.
 */
export async function registerWithToken(
  target: { domain: string; port: number; trust: string[] },
  token: string,
  username: string,
  password: string,
): Promise<{ preauth: string; register: string }> {
  const header = `<?xml version='1.0'?><stream:stream to='${target.domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`;
  const plain = connect({ host: '127.0.0.1', port: target.port });
  try {
    await new Promise((resolve, reject) => plain.once('connect', resolve).once('error', reject));
    plain.write(header);
    await readUntil(plain, /<\/stream:features>/);
    plain.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
    await readUntil(plain, /<proceed/);
    const secure = tlsConnect({ socket: plain, servername: target.domain, ca: target.trust });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    secure.write(header);
    const features = await readUntil(secure, /<\/stream:features>/);
    expect(features).toContain(`<register xmlns='urn:xmpp:ibr-token:0'/>`);
    const iq = async (id: string, payload: string) => {
      secure.write(`<iq type='set' id='${id}'>${payload}</iq>`);
      // Prosody writes attributes in no fixed order: type may come before or after id.
      const reply = new RegExp(`<iq [^>]*id='${id}'[^>]*(/>|>[\\s\\S]*?</iq>)`);
      const received = reply.exec(await readUntil(secure, reply))?.[0] ?? '';
      if (/^<iq [^>]*type='result'/.test(received)) return 'ok';
      return /<error[^>]*><([a-z-]+)/.exec(received)?.[1] ?? received;
    };
    const escaped = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll("'", '&apos;');
    const preauth = await iq('preauth', `<preauth xmlns='urn:xmpp:pars:0' token='${escaped(token)}'/>`);
    const register = await iq('register', `<query xmlns='jabber:iq:register'><username>${escaped(username)}</username><password>${escaped(password)}</password></query>`);
    return { preauth, register };
  } finally {
    plain.destroy();
  }
}

/** Collects what arrives on the socket until `pattern` matches (bounded in time). */
function readUntil(socket: Socket, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      if (error) reject(error);
      else resolve(received);
    };
    const timer = setTimeout(() => done(new Error(`no match for ${pattern} within ${timeoutMs} ms; got: ${received.slice(0, 300)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (pattern.test(received)) done();
    };
    socket.on('data', onData);
  });
}

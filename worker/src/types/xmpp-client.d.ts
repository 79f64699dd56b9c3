// @xmpp/client 0.14 ships no type declarations: this is the part of its API Parley uses.
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    toString(): string;
  }

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

  /** A transport class (TCP, TLS, WebSocket); `Socket` is the socket class it instantiates. */
  export interface TransportInstance {
    Socket: SocketClass;
    socketParameters(service: string): unknown;
  }

  export interface Transport {
    prototype: TransportInstance;
    new (...args: never[]): TransportInstance;
  }

  export interface SocketClass {
    new (): XmppSocket;
  }

  export interface XmppSocket extends EventEmitter {
    _attachSocket(socket: Socket): void;
  }

  export interface ClientOptions {
    service: string;
    domain: string;
    username?: string;
    password?: string;
    resource?: string;
    /** Bound on opening and closing the stream, in ms (default 2000). */
    timeout?: number;
    /** Replaces username/password: picks the SASL mechanism among those the server offers. */
    credentials?: (
      authenticate: (credentials: { username: string; password: string }, mechanism: string) => Promise<void>,
      mechanisms: string[],
    ) => Promise<void>;
  }

  export interface Client extends EventEmitter {
    status: string;
    jid: JID | null;
    transports: Transport[];
    reconnect: { stop(): void };
    /** XEP-0198 as the client negotiated it at login: `id` is set when the server allows resumption. */
    streamManagement: { enabled: boolean; id: string };
    iqCaller: { request(stanza: Element, timeoutMs?: number): Promise<Element> };
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(stanza: Element): Promise<void>;
  }

  export function client(options: ClientOptions): Client;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: (Element | string)[]): Element;
  export function jid(address: string): JID;
}

// ltx 3 ships no type declarations: this is the part of its API Parley uses (XEP-0227 documents).
declare module 'ltx' {
  import type { EventEmitter } from 'node:events';

  export class Element {
    constructor(name: string, attrs?: Record<string, string>);
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    parent: Element | null;
    getName(): string;
    getNS(): string | undefined;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    cnode(child: Element): Element;
    toString(): string;
  }

  /** The tree builder; `parser` is the underlying SAX parser, whose events it listens to. */
  export class Parser extends EventEmitter {
    parser: EventEmitter;
    write(data: string): void;
    end(data?: string): void;
  }
}

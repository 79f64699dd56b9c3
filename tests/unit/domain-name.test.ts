import { describe, expect, it } from 'vitest';
import { assertDomain, checkDomain } from '../../worker/src/contracts/domain-name.js';

describe('domain grammar', () => {
  it.each(['alice.parley.test', 'Chat.Example.COM.', 'a-b.c0.example', 'xn--bcher-kva.example'])('accepts %s', (domain) => {
    const result = checkDomain(domain);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.domain).toBe(domain.toLowerCase().replace(/\.$/, ''));
  });

  it.each([
    ['a quote', 'evil".parley.test'],
    ['a single quote', "evil'.parley.test"],
    ['a newline', 'evil\n.parley.test'],
    ['a Lua long-string end', 'evil]].parley.test'],
    ['a Lua long-string end with equals', 'a]=].parley.test'],
    ['a control character', 'evil\u0000.parley.test'],
    ['a tab', 'evil\t.parley.test'],
    ['a space', 'evil .parley.test'],
    ['a raw Cyrillic look-alike', 'p\u0430ypal.com'],
    ['a punycode label mixing Latin and Cyrillic', 'xn--pypal-4ve.com'],
    ['a leading hyphen', '-evil.parley.test'],
    ['a single label', 'localhost'],
    ['an empty label', 'a..parley.test'],
    ['a numeric top-level label', '127.0.0.1'],
    ['a label over 63 characters', `${'a'.repeat(64)}.test`],
    ['a name over 253 characters', `${'a.'.repeat(127)}test`],
    ['a backslash', 'a\\.parley.test'],
    ['a Lua comment', 'a--[[.parley.test'],
  ])('refuses %s, saying what to fix', (_what, domain) => {
    const result = checkDomain(domain);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(20);
    expect(() => assertDomain(domain)).toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { CONTACT_ADDRESS_RULE, contactAddressesProblems, contactAddressProblem } from '../../worker/src/contracts/contact-addresses.js';

describe('contact addresses (XEP-0157)', () => {
  it.each(['xmpp:abuse@chat.example.com', 'mailto:abuse@example.com', 'mailto:First.Last+xmpp@example.com', 'https://example.com/abuse', 'https://example.com'])('accepts %s', (uri) => {
    expect(contactAddressProblem(uri)).toBeUndefined();
  });

  it.each([
    ['no scheme', 'abuse@example.com'],
    ['another scheme', 'http://example.com/abuse'],
    ['javascript', 'javascript:alert(1)'],
    ['a query string', 'https://example.com/?q=1'],
    ['credentials in a URL', 'https://user:pw@example.com/'],
    ['a quote', 'mailto:a"b@example.com'],
    ['a bare domain as JID', 'xmpp:example.com'],
    ['an uppercase JID domain', 'xmpp:abuse@Example.com'],
    ['a space', 'https://example.com/a b'],
    ['a Lua escape attempt', 'xmpp:a@b.com"} os.exit() --'],
    ['too long', `https://example.com/${'a'.repeat(200)}`],
    ['not a string', 42],
  ])('refuses %s', (_, uri) => {
    expect(contactAddressProblem(uri)).toBe(CONTACT_ADDRESS_RULE);
  });

  it('names each bad entry and a list that is too long', () => {
    expect(contactAddressesProblems({ abuse: ['xmpp:ok@example.com', 'nope'], support: ['https://a.example', 'https://b.example', 'https://c.example', 'https://d.example'] })).toEqual({
      'abuse[1]': CONTACT_ADDRESS_RULE,
      support: 'At most 3 support addresses.',
    });
    expect(contactAddressesProblems({ security: ['mailto:security@example.com'] })).toEqual({});
  });
});

import { describe, expect, it } from 'vitest';
import { toApiError, withoutApiReferences } from '../../web/src/api/plain-words.js';

describe('the dashboard\'s plain-words errors', () => {
  it('drops the API routes the details name for scripts, keeping the advice', () => {
    expect(withoutApiReferences('Your Personal plan allows 3 servers and you have 3. Delete one (DELETE /api/v1/servers/{id}) or move to a bigger plan.')).toBe(
      'Your Personal plan allows 3 servers and you have 3. Delete one or move to a bigger plan.',
    );
    expect(withoutApiReferences('You have no server with id 1; list yours with GET /api/v1/servers.')).toBe('You have no server with id 1.');
    expect(withoutApiReferences('The server is dns; stop is possible once it is ready or stopped. Watch GET /api/v1/servers/1/events.')).toBe(
      'The server is dns; stop is possible once it is ready or stopped.',
    );
    expect(withoutApiReferences('alice.parley.test is taken.')).toBe('alice.parley.test is taken.');
  });

  it('gives a title and detail to answers that carry no problem document', () => {
    const down = toApiError(502, null, null);
    expect(down.title).toBe('Parley is unreachable');
    expect(down.detail).toMatch(/Nothing was changed/);
    const limited = toApiError(429, { title: 'Too many attempts', detail: 'Log-in is paused for this email.' }, '900');
    expect(limited.detail).toBe('Log-in is paused for this email. You can try again in 15 minute(s).');
  });

  it('keeps the fields the API named, for the form to show beside them', () => {
    const error = toApiError(400, { title: 'Invalid request', detail: 'x', errors: [{ in: 'body', field: 'name', message: 'is already taken' }, 'junk'] }, null);
    expect(error.fieldMessage('name')).toBe('is already taken');
    expect(error.fieldMessage('plan')).toBeUndefined();
    const inZone = toApiError(400, { errors: [{ in: 'body', field: 'name', message: 'a.parley.test is inside parley.test: order a server with that name instead (POST /api/v1/servers), or add a domain you own.' }] }, null);
    expect(inZone.fieldMessage('name')).toBe('a.parley.test is inside parley.test: order a server with that name instead, or add a domain you own.');
  });
});

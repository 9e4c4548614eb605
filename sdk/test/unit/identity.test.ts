import { afterEach, describe, expect, it, vi } from 'vitest';
import { KEYS, SESSION_IDLE_MS, anonymousId, load, save, sessionId, uuid } from '../../src/identity';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuid', () => {
  it('makes version 4 UUIDs with crypto.randomUUID', () => {
    const ids = new Set(Array.from({ length: 200 }, uuid));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(UUID_V4);
  });

  it('makes version 4 UUIDs with getRandomValues where randomUUID is missing (plain http pages)', () => {
    const realCrypto = globalThis.crypto;
    const getRandomValues = vi.fn((array: Uint8Array<ArrayBuffer>) => realCrypto.getRandomValues(array));
    vi.stubGlobal('crypto', { getRandomValues });
    const ids = new Set(Array.from({ length: 200 }, uuid));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(getRandomValues).toHaveBeenCalled();
  });
});

describe('anonymousId', () => {
  it('is created once and then read back', () => {
    const first = anonymousId();
    expect(first).toMatch(UUID_V4);
    expect(anonymousId()).toBe(first);
    expect(localStorage.getItem(KEYS.anonymousId)).toBe(first);
  });

  it('keeps working, for the page, when localStorage throws', () => {
    vi.spyOn(Storage.prototype, 'getItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    const first = anonymousId();
    expect(first).toMatch(UUID_V4);
    expect(anonymousId()).toBe(first);
  });
});

describe('sessionId', () => {
  afterEach(() => save(KEYS.session, null));
  const start = Date.parse('2026-11-26T10:00:00.000Z');

  it('stays the same while events keep coming less than 30 minutes apart', () => {
    const id = sessionId(start);
    expect(sessionId(start + 29 * 60_000)).toBe(id);
    // Activity extends the session: 58 minutes after its start, 29 after the last event.
    expect(sessionId(start + 58 * 60_000)).toBe(id);
  });

  it('rolls over after 30 minutes without events', () => {
    const id = sessionId(start);
    const next = sessionId(start + SESSION_IDLE_MS);
    expect(next).not.toBe(id);
    expect(next).toMatch(UUID_V4);
    expect(sessionId(start + SESSION_IDLE_MS + 1000)).toBe(next);
  });

  it('starts a new session when the stored value is garbage', () => {
    save(KEYS.session, 'not-a-session');
    expect(sessionId(start)).toMatch(UUID_V4);
    expect(load(KEYS.session)).toMatch(/^[0-9a-f-]{36}\|\d+$/);
  });
});

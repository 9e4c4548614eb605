/** Anonymous id, session id, opt-out and signed-in flags, kept in localStorage. */

export const SESSION_IDLE_MS = 30 * 60 * 1000;

export const KEYS = {
  anonymousId: 'sbw_aid',
  session: 'sbw_sid',
  optedOut: 'sbw_out',
  signedIn: 'sbw_in',
  sent: 'sbw_sent',
  tab: 'sbw_tab',
} as const;

/** Holds what localStorage refused to store (blocked storage, some private modes, quota). */
const fallback: Record<string, string | null> = {};

export function load(key: string): string | null {
  try {
    const value = localStorage.getItem(key);
    if (value != null) return value;
  } catch {}
  return fallback[key] ?? null;
}

export function save(key: string, value: string | null): void {
  delete fallback[key];
  try {
    value == null ? localStorage.removeItem(key) : localStorage.setItem(key, value);
  } catch {
    fallback[key] = value;
  }
}

/** A random (version 4) UUID; getRandomValues where randomUUID is missing (plain http pages). */
export function uuid(): string {
  return crypto.randomUUID
    ? crypto.randomUUID()
    : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
        (+c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (+c / 4)))).toString(16),
      );
}

/** Created once per browser (and again after `reset()` or an opt-out). */
export function anonymousId(): string {
  let id = load(KEYS.anonymousId);
  if (!id) save(KEYS.anonymousId, (id = uuid()));
  return id;
}

/** The current session, renewed after 30 minutes without events; touching it extends it. */
export function sessionId(now: number): string {
  const [id, lastSeen] = (load(KEYS.session) || '').split('|');
  const current = id && now - +lastSeen < SESSION_IDLE_MS ? id : uuid();
  save(KEYS.session, current + '|' + now);
  return current;
}

/**
 * This tab's id, kept in sessionStorage: the same across the pages a tab shows,
 * different in every other tab. Empty when sessionStorage is unavailable.
 */
export function tabId(): string {
  try {
    let id = sessionStorage.getItem(KEYS.tab);
    if (!id) sessionStorage.setItem(KEYS.tab, (id = uuid()));
    return id;
  } catch {
    return '';
  }
}

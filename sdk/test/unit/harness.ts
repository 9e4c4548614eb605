// Test doubles for the browser's network and helpers to look inside the SDK's storage.
import { vi } from 'vitest';
import { DB_NAME, STORE } from '../../src/queue';
import { REPLAY_DELAY_MS, createTracker, type Tracker } from '../../src/tracker';
import type { Options, QueuedEvent, SbwEvent } from '../../src/types';

export const ENDPOINT = 'https://api.shop.example';
export const SITE_KEY = 'pk_test_shop';

export interface SentRequest {
  via: 'fetch' | 'beacon';
  url: URL;
  route: string;
  headers: Record<string, string>;
  keepalive: boolean;
  body: string;
  events: SbwEvent[];
}

/** What the fake server does with the next fetch: a status (202 when none is scripted) or a network error. */
export type Reply = number | { status: number; headers?: Record<string, string>; body?: unknown } | 'network-error';

/**
 * Replaces fetch, navigator.sendBeacon and navigator.onLine. Fetches are
 * answered from `replies` in order, then with 202; every request is recorded.
 */
export function fakeNetwork() {
  const requests: SentRequest[] = [];
  const replies: Reply[] = [];
  const network = {
    requests,
    online: true,
    beaconAccepts: true,
    /** Scripts the answers to the next fetches. */
    reply(...next: Reply[]) {
      replies.push(...next);
    },
    /** Every event that reached the server in a request it answered with 2xx. */
    delivered: [] as SbwEvent[],
    sentEvents: () => requests.flatMap((request) => request.events),
  };
  const record = (via: SentRequest['via'], url: string, body: string, headers: Record<string, string>, keepalive: boolean) => {
    const parsed = new URL(url);
    const request: SentRequest = { via, url: parsed, route: parsed.pathname, headers, keepalive, body, events: JSON.parse(body) };
    requests.push(request);
    return request;
  };
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const request = record('fetch', url, init.body as string, { ...(init.headers as Record<string, string>) }, !!init.keepalive);
      const reply = replies.shift() ?? 202;
      if (reply === 'network-error') throw new TypeError('Failed to fetch');
      const { status, headers, body } = typeof reply == 'number' ? { status: reply, headers: {}, body: undefined } : reply;
      if (status >= 200 && status < 300) network.delivered.push(...request.events);
      const responseBody =
        body ?? (status < 300 ? { accepted: request.events.length, duplicates: 0, rejected: 0, results: [] } : { error: { code: 'x', message: 'scripted' } });
      return new Response(JSON.stringify(responseBody), { status, headers });
    }),
  );
  Object.defineProperty(navigator, 'sendBeacon', {
    configurable: true,
    value: vi.fn((url: string, body: string) => {
      if (!network.beaconAccepts) return false;
      network.delivered.push(...record('beacon', url, body, {}, true).events);
      return true;
    }),
  });
  Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => network.online });
  return network;
}

/** Lets promises, IndexedDB transactions (setImmediate in fake-indexeddb) and their callbacks run. */
export async function settle(): Promise<void> {
  for (let turn = 0; turn < 30; turn++) await new Promise((resolve) => setImmediate(resolve));
}

const startedTrackers: Tracker[] = [];

/** Stops the trackers a test started, so their listeners do not react to later tests' events. */
export function shutdownTrackers(): void {
  for (const tracker of startedTrackers.splice(0)) tracker.shutdown();
}

/** A started tracker with test defaults: large batches and a long interval unless the test says otherwise. */
export async function startTracker(options: Partial<Options> = {}): Promise<Tracker> {
  const tracker = createTracker();
  startedTrackers.push(tracker);
  tracker.init({ endpoint: ENDPOINT, siteKey: SITE_KEY, batchSize: 100, flushInterval: 60_000, ...options });
  await settle();
  return tracker;
}

function openQueueDb(): Promise<IDBDatabase> {
  return new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'e.event_id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The events waiting in the SDK's IndexedDB queue, read straight from the database. */
export async function queuedInIndexedDb(): Promise<SbwEvent[]> {
  const db = await openQueueDb();
  const items = await new Promise<QueuedEvent[]>((resolve, reject) => {
    const request = db.transaction(STORE, 'readonly').objectStore(STORE).getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  db.close();
  return items.map((item) => item.e);
}

/** Writes `event` into the SDK's IndexedDB queue, as a page's queued write that commits late would. */
export async function putInIndexedDb(event: SbwEvent): Promise<void> {
  const db = await openQueueDb();
  await new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put({ e: event, u: 0, n: 1 });
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

/** How many times each event id occurs. */
export function countById(events: SbwEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.event_id, (counts.get(event.event_id) ?? 0) + 1);
  return counts;
}

/** Lets a page load replay earlier pages' events: it waits REPLAY_DELAY_MS first (fake timers). */
export async function afterReplayDelay(): Promise<void> {
  await vi.advanceTimersByTimeAsync(REPLAY_DELAY_MS);
  await settle();
}

/** Lets a minute pass (fake timers): every batch timer and retry backoff fires, then settles. */
export async function afterAMinute(): Promise<void> {
  await vi.advanceTimersByTimeAsync(60_000);
  await settle();
}

export function firePageHide(): void {
  window.dispatchEvent(new Event('pagehide'));
}

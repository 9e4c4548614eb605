import { beforeEach, describe, expect, it, vi } from 'vitest';
import { KEYS } from '../../src/identity';
import { MAX_BEACON_BYTES } from '../../src/tracker';
import {
  afterAMinute,
  afterReplayDelay,
  countById,
  fakeNetwork,
  firePageHide,
  putInIndexedDb,
  queuedInIndexedDb,
  settle,
  shutdownTrackers,
  startTracker,
} from './harness';

/** Simulates closing the page: the tracker stops; IndexedDB and localStorage stay. */
function closePage() {
  shutdownTrackers();
}

/** The next page loads: it sends nothing beyond the one request already made, and empties the queue. */
async function expectNotSentAgainByTheNextPage(network: ReturnType<typeof fakeNetwork>) {
  await startTracker({ batchSize: 1, autoPageViews: false });
  await settle();
  await afterAMinute();
  expect(network.requests).toHaveLength(1);
  expect(await queuedInIndexedDb()).toEqual([]);
}

/** A page that has stored one click in IndexedDB: the network and that stored event. */
async function pageWithAStoredClick() {
  const network = fakeNetwork();
  const page = await startTracker({ autoPageViews: false });
  page.click({ i: 0 });
  await settle();
  return { network, stored: await queuedInIndexedDb() };
}

describe('offline queue in IndexedDB', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });

  it('stores every event until the server acknowledged it', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 3, autoPageViews: false });
    sbw.click({ i: 0 });
    sbw.click({ i: 1 });
    await settle();
    expect((await queuedInIndexedDb()).map((e) => e.props!.i).sort()).toEqual([0, 1]);
    sbw.click({ i: 2 });
    await settle();
    expect(network.delivered).toHaveLength(3);
    expect(await queuedInIndexedDb()).toEqual([]);
  });

  it('replays what a previous page could not send on the next load, exactly once', async () => {
    const network = fakeNetwork();
    network.reply(503);
    const first = await startTracker({ batchSize: 2, autoPageViews: false });
    first.viewProduct({ product_id: 'lap-01' });
    first.addToCart({ product_id: 'lap-01', price: 1200, currency: 'USD' });
    await settle();
    expect(network.delivered).toHaveLength(0);
    closePage();

    const second = await startTracker({ batchSize: 100, autoPageViews: false });
    await afterReplayDelay();
    expect(network.delivered.map((e) => e.event_type)).toEqual(['view', 'add_to_cart']);
    expect(await queuedInIndexedDb()).toEqual([]);
    second.click();
    await afterAMinute();
    expect(network.delivered.map((e) => e.event_type)).toEqual(['view', 'add_to_cart', 'click']);
    expect([...countById(network.delivered).values()].every((n) => n == 1)).toBe(true);
  });

  it('replays a previous page\u2019s events before the new page\u2019s own events', async () => {
    const network = fakeNetwork();
    network.online = false;
    const first = await startTracker({ batchSize: 100, autoPageViews: false });
    first.click({ page: 1 });
    await settle();
    closePage();

    network.online = true;
    const second = await startTracker({ batchSize: 1, autoPageViews: false });
    second.click({ page: 2 });
    await settle();
    await afterAMinute();
    expect(network.delivered.map((e) => e.props!.page)).toEqual([1, 2]);
  });

  it('drops the oldest events when the queue is full', async () => {
    const network = fakeNetwork();
    network.online = false;
    const sbw = await startTracker({ maxQueueSize: 5, autoPageViews: false });
    for (let i = 0; i < 8; i++) sbw.click({ i });
    await settle();
    expect((await queuedInIndexedDb()).map((e) => e.props!.i).sort()).toEqual([3, 4, 5, 6, 7]);

    network.online = true;
    window.dispatchEvent(new Event('online'));
    await settle();
    expect(network.delivered.map((e) => e.props!.i)).toEqual([3, 4, 5, 6, 7]);
  });

  it('never drops the events of the request in flight to make room', async () => {
    const network = fakeNetwork();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const realFetch = globalThis.fetch;
    vi.stubGlobal('fetch', async (...args: Parameters<typeof fetch>) => (await gate, realFetch(...args)));
    const sbw = await startTracker({ batchSize: 3, maxQueueSize: 4, autoPageViews: false });
    for (let i = 0; i < 3; i++) sbw.click({ i }); // in flight
    for (let i = 3; i < 9; i++) sbw.click({ i }); // only one of these fits
    release();
    await settle();
    await afterAMinute();
    expect(network.delivered.map((e) => e.props!.i)).toEqual([0, 1, 2, 8]);
    expect(await queuedInIndexedDb()).toEqual([]);
  });

  it('caps the queue on the next load too, keeping the newest events', async () => {
    const network = fakeNetwork();
    network.online = false;
    const first = await startTracker({ maxQueueSize: 100, autoPageViews: false });
    for (let i = 0; i < 6; i++) first.click({ i });
    await settle();
    closePage();

    const second = await startTracker({ maxQueueSize: 4, autoPageViews: false });
    second.click({ i: 6 });
    await afterReplayDelay();
    expect((await queuedInIndexedDb()).map((e) => e.props!.i).sort()).toEqual([3, 4, 5, 6]);
  });

  it('works without IndexedDB, from memory', async () => {
    const network = fakeNetwork();
    vi.stubGlobal('indexedDB', undefined);
    const sbw = await startTracker({ batchSize: 2, autoPageViews: false });
    sbw.click();
    sbw.click();
    await settle();
    expect(network.delivered).toHaveLength(2);
  });
});

describe('flush when the page is hidden or closed', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });

  it('sends everything waiting with sendBeacon on pagehide, and the next page does not send it again', async () => {
    const network = fakeNetwork();
    const first = await startTracker({ autoPageViews: false });
    first.viewProduct({ product_id: 'mon-27' });
    first.click({ target: 'buy' });
    await settle();
    firePageHide();
    expect(network.requests).toHaveLength(1);
    const [beacon] = network.requests;
    expect(beacon.via).toBe('beacon');
    expect(beacon.route).toBe('/v1/events');
    expect(beacon.url.searchParams.get('site_key')).toBe('pk_test_shop');
    expect(beacon.events.map((e) => e.event_type)).toEqual(['view', 'click']);
    expect(beacon.events.every((e) => e.sent_at && e.sent_at == beacon.events[0].sent_at)).toBe(true);
    await settle();
    closePage();

    const second = await startTracker({ batchSize: 1, autoPageViews: false });
    second.click({ target: 'next-page' });
    await settle();
    await afterAMinute();
    expect(network.requests.map((r) => r.events.length)).toEqual([2, 1]);
    expect([...countById(network.delivered).values()].every((n) => n == 1)).toBe(true);
    // Every sent id, the beacon's remembered beyond the next load (see the late-commit test below).
    expect(JSON.parse(localStorage.getItem(KEYS.sent)!)).toEqual(network.delivered.map((e) => e.event_id));
  });

  it('does not send acknowledged events again when IndexedDB could not delete them before the page died', async () => {
    const network = fakeNetwork();
    const page = await startTracker({ batchSize: 1, autoPageViews: false });
    page.click();
    await settle();
    expect(network.delivered).toHaveLength(1);
    // The 202 arrived; the page was left before the delete transaction committed.
    firePageHide();
    closePage();
    await putInIndexedDb(network.delivered[0]);

    await expectNotSentAgainByTheNextPage(network);
  });

  it('does not send handed-off events again even when IndexedDB could not delete them before the page died', async () => {
    const { network, stored } = await pageWithAStoredClick();
    firePageHide();
    closePage();
    // The page died before the delete transaction committed: put the record back.
    await settle();
    await putInIndexedDb(stored[0]);

    await expectNotSentAgainByTheNextPage(network);
  });

  it('does not send handed-off events again when the dying page\u2019s write commits after the next load', async () => {
    const { network, stored } = await pageWithAStoredClick();
    firePageHide();
    closePage();
    await settle();
    // The next page loads and cleans up...
    await startTracker({ batchSize: 1, autoPageViews: false });
    await settle();
    closePage();
    // ...then the first page's write of the event commits, late.
    await putInIndexedDb(stored[0]);

    await expectNotSentAgainByTheNextPage(network);
  });

  it('does not send again what the previous page hands off while the next page starts', async () => {
    const { network, stored } = await pageWithAStoredClick();
    closePage();
    await startTracker({ autoPageViews: false });
    // The first page's pagehide ran in its own process: its note of the beacon arrives only now.
    localStorage.setItem(KEYS.sent, JSON.stringify(stored.map((e) => e.event_id)));
    await afterReplayDelay();
    await afterAMinute();
    expect(network.requests).toHaveLength(0);
  });

  it('does not replay earlier pages\u2019 events when the visitor opts out before the replay', async () => {
    const network = fakeNetwork();
    network.online = false;
    const first = await startTracker({ autoPageViews: false });
    first.click();
    await settle();
    closePage();
    network.online = true;
    const second = await startTracker({ autoPageViews: false });
    second.optOut();
    second.optIn();
    await afterReplayDelay();
    await afterAMinute();
    expect(network.requests).toHaveLength(0);
    expect(await queuedInIndexedDb()).toEqual([]);
  });

  it('remembers only the newest sent ids', async () => {
    localStorage.setItem(KEYS.sent, JSON.stringify(Array.from({ length: 2000 }, (_, i) => `old-${i}`)));
    fakeNetwork();
    const sbw = await startTracker({ autoPageViews: false });
    sbw.click();
    await settle();
    firePageHide();
    const remembered = JSON.parse(localStorage.getItem(KEYS.sent)!);
    expect(remembered).toHaveLength(2000);
    expect(remembered[0]).toBe('old-1');
  });

  it('survives a corrupt list of sent ids in localStorage', async () => {
    const network = fakeNetwork();
    localStorage.setItem(KEYS.sent, '{not json');
    const sbw = await startTracker({ autoPageViews: false });
    sbw.click();
    await settle();
    firePageHide();
    expect(network.requests.map((r) => r.via)).toEqual(['beacon']);
    expect(JSON.parse(localStorage.getItem(KEYS.sent)!)).toHaveLength(1);
  });

  it('flushes when the tab becomes hidden', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ autoPageViews: false });
    sbw.click();
    await settle();
    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('visible');
    document.dispatchEvent(new Event('visibilitychange'));
    expect(network.requests).toHaveLength(0);
    visibility.mockReturnValue('hidden');
    document.dispatchEvent(new Event('visibilitychange'));
    expect(network.requests.map((r) => r.via)).toEqual(['beacon']);
  });

  it('splits large queues into beacons of at most 60 KB', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1000, maxQueueSize: 1000, autoPageViews: false });
    for (let i = 0; i < 300; i++) sbw.click({ i, padding: 'x'.repeat(500) });
    await settle();
    firePageHide();
    expect(network.requests.length).toBeGreaterThan(2);
    for (const request of network.requests) {
      expect(request.via).toBe('beacon');
      expect(new TextEncoder().encode(request.body).length).toBeLessThanOrEqual(MAX_BEACON_BYTES);
    }
    expect(network.sentEvents().map((e) => e.props!.i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('keeps the events for the next load when the browser refuses the beacon', async () => {
    const network = fakeNetwork();
    network.beaconAccepts = false;
    const first = await startTracker({ autoPageViews: false });
    first.click();
    await settle();
    firePageHide();
    await settle();
    closePage();
    expect(await queuedInIndexedDb()).toHaveLength(1);

    network.beaconAccepts = true;
    await startTracker({ autoPageViews: false });
    await afterReplayDelay();
    expect(network.delivered).toHaveLength(1);
  });

  it('does not beacon while offline: the next load sends the events', async () => {
    const network = fakeNetwork();
    network.online = false;
    const first = await startTracker({ autoPageViews: false });
    first.click();
    first.click();
    await settle();
    firePageHide();
    await settle();
    closePage();
    expect(network.requests).toHaveLength(0);

    network.online = true;
    await startTracker({ autoPageViews: false });
    await afterReplayDelay();
    expect(network.delivered).toHaveLength(2);
    expect(await queuedInIndexedDb()).toEqual([]);
  });

  it('does not beacon what is already in a keepalive request, and forgets it', async () => {
    const network = fakeNetwork();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const realFetch = globalThis.fetch;
    vi.stubGlobal('fetch', async (...args: Parameters<typeof fetch>) => (await gate, realFetch(...args)));
    const first = await startTracker({ batchSize: 2, autoPageViews: false });
    first.click({ i: 0 });
    first.click({ i: 1 }); // in flight, keepalive
    first.click({ i: 2 }); // waiting
    await settle();
    firePageHide();
    release();
    await settle();
    closePage();
    expect(network.requests.map((r) => [r.via, r.keepalive, r.events.map((e) => e.props!.i)])).toEqual([
      ['beacon', true, [2]],
      ['fetch', true, [0, 1]],
    ]);

    await startTracker({ autoPageViews: false });
    await settle();
    expect(network.requests).toHaveLength(2);
  });
});

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_EVENTS_PER_REQUEST } from '../../src/tracker';
import { ENDPOINT, SITE_KEY, afterAMinute, countById, fakeNetwork, settle, startTracker } from './harness';

describe('batching', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });

  it('waits until batchSize events are waiting, then sends them in one request', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 5, autoPageViews: false });
    for (let i = 0; i < 4; i++) sbw.click({ i });
    await settle();
    expect(network.requests).toHaveLength(0);

    sbw.click({ i: 4 });
    await settle();
    expect(network.requests).toHaveLength(1);
    expect(network.requests[0].events.map((e) => e.props!.i)).toEqual([0, 1, 2, 3, 4]);
  });

  it('sends fewer than batchSize events once flushInterval has passed since the first one', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 10, flushInterval: 5000, autoPageViews: false });
    sbw.click({ n: 1 });
    await vi.advanceTimersByTimeAsync(3000);
    sbw.click({ n: 2 });
    await vi.advanceTimersByTimeAsync(1999);
    expect(network.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(network.requests).toHaveLength(1);
    expect(network.requests[0].events).toHaveLength(2);
  });

  it('uses the defaults (10 events, 5 s) for options given as undefined', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: undefined, flushInterval: undefined, autoPageViews: undefined });
    for (let i = 0; i < 8; i++) sbw.click({ i });
    await vi.advanceTimersByTimeAsync(4999);
    expect(network.requests).toHaveLength(0);
    sbw.click({ i: 8 }); // with the automatic page view, the tenth event
    await settle();
    expect(network.requests.map((r) => r.events.length)).toEqual([10]);
    sbw.click({ i: 9 });
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    expect(network.requests.map((r) => r.events.length)).toEqual([10, 1]);
  });

  it('posts to the anonymous route with the site key in the query and JSON as text/plain', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    const [request] = network.requests;
    expect(request.via).toBe('fetch');
    expect(request.url.origin + request.url.pathname).toBe(`${ENDPOINT}/v1/events`);
    expect(request.url.searchParams.get('site_key')).toBe(SITE_KEY);
    expect(request.headers['Content-Type']).toBe('text/plain;charset=UTF-8');
    expect(request.headers.Authorization).toBeUndefined();
    expect(Array.isArray(JSON.parse(request.body))).toBe(true);
  });

  it('accepts an endpoint with a trailing slash and no site key', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ endpoint: ENDPOINT + '/', siteKey: undefined, batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    expect(network.requests[0].url.href).toBe(`${ENDPOINT}/v1/events`);
  });

  it('stamps every event of a request with the same sent_at, taken at send time', async () => {
    vi.useRealTimers();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: Date.parse('2026-11-26T05:00:00.000Z') });
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 10, flushInterval: 5000, autoPageViews: false });
    sbw.click({ n: 1 });
    await vi.advanceTimersByTimeAsync(1234);
    sbw.click({ n: 2 });
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    const [first, second] = network.requests[0].events;
    expect(first.ts).toBe('2026-11-26T05:00:00.000Z');
    expect(second.ts).toBe('2026-11-26T05:00:01.234Z');
    expect(first.sent_at).toBe('2026-11-26T05:00:05.000Z');
    expect(second.sent_at).toBe(first.sent_at);
  });

  it('splits a burst into requests of at most 500 events and sends each event exactly once, in order', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 10, maxQueueSize: 2000, autoPageViews: false });
    for (let i = 0; i < 1203; i++) sbw.click({ i });
    await afterAMinute();
    await afterAMinute();
    const sent = network.sentEvents();
    expect(sent.map((e) => e.props!.i)).toEqual(Array.from({ length: 1203 }, (_, i) => i));
    expect([...countById(sent).values()].every((count) => count == 1)).toBe(true);
    for (const request of network.requests) expect(request.events.length).toBeLessThanOrEqual(MAX_EVENTS_PER_REQUEST);
  });

  it('keeps each request body under the contract limit of 512 KiB', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 400, maxQueueSize: 2000, autoPageViews: false });
    const bigProps = Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`k${k}`, 'é'.repeat(512)]));
    for (let i = 0; i < 400; i++) sbw.click({ ...bigProps, i });
    await settle();
    expect(network.sentEvents()).toHaveLength(400);
    expect(network.requests.length).toBeGreaterThan(1);
    for (const request of network.requests) expect(new TextEncoder().encode(request.body).length).toBeLessThan(512 * 1024);
  });

  it('drains a backlog without waiting for the interval, but leaves a small remainder to the timer', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 10, maxQueueSize: 2000, autoPageViews: false });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const realFetch = globalThis.fetch;
    vi.stubGlobal('fetch', async (...args: Parameters<typeof fetch>) => (await gate, realFetch(...args)));
    for (let i = 0; i < 10; i++) sbw.click({ i }); // first request, held in flight
    for (let i = 10; i < 13; i++) sbw.click({ i }); // arrive while it is in flight
    release();
    await settle();
    expect(network.sentEvents()).toHaveLength(10);
    await afterAMinute();
    expect(network.sentEvents()).toHaveLength(13);
  });

  it('sends one request at a time', async () => {
    const network = fakeNetwork();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const realFetch = globalThis.fetch;
    let concurrent = 0;
    let maxConcurrent = 0;
    vi.stubGlobal('fetch', async (...args: Parameters<typeof fetch>) => {
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await gate;
      concurrent--;
      return realFetch(...args);
    });
    const sbw = await startTracker({ batchSize: 2, autoPageViews: false });
    for (let i = 0; i < 10; i++) sbw.click({ i });
    await settle();
    expect(maxConcurrent).toBe(1);
    release();
    await settle();
    await afterAMinute();
    expect(maxConcurrent).toBe(1);
    expect(network.sentEvents().map((e) => e.props!.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

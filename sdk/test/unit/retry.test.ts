import { beforeEach, describe, expect, it, vi } from 'vitest';
import { countById, fakeNetwork, queuedInIndexedDb, settle, startTracker } from './harness';

/** Advances fake time by `ms` and lets the resulting request complete. */
async function advance(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
}

describe('retry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
  });

  for (const failure of [503, 500, 502, 429, 'network-error'] as const) {
    it(`retries after ${failure} and delivers each event exactly once`, async () => {
      const network = fakeNetwork();
      network.reply(failure);
      const sbw = await startTracker({ batchSize: 3, autoPageViews: false });
      for (let i = 0; i < 3; i++) sbw.click({ i });
      await settle();
      expect(network.requests).toHaveLength(1);
      expect(network.delivered).toHaveLength(0);
      expect(await queuedInIndexedDb()).toHaveLength(3);

      await advance(2000); // first backoff is 1-2 s
      expect(network.requests).toHaveLength(2);
      expect(network.requests[1].events.map((e) => e.event_id)).toEqual(network.requests[0].events.map((e) => e.event_id));
      expect(network.delivered).toHaveLength(3);
      expect([...countById(network.delivered).values()]).toEqual([1, 1, 1]);
      expect(await queuedInIndexedDb()).toEqual([]);
    });
  }

  for (const status of [400, 401, 403, 404, 413]) {
    it(`never retries a ${status}: the events are dropped from the queue`, async () => {
      const network = fakeNetwork();
      network.reply(status);
      const sbw = await startTracker({ batchSize: 2, autoPageViews: false });
      sbw.click({ i: 0 });
      sbw.click({ i: 1 });
      await settle();
      await advance(10 * 60_000);
      expect(network.requests).toHaveLength(1);
      expect(await queuedInIndexedDb()).toEqual([]);
      expect(console.warn).toHaveBeenCalledWith('[sbw] events refused', status, expect.anything());
    });
  }

  it('drops events the server rejected in a 202 and warns about them', async () => {
    const network = fakeNetwork();
    const rejection = {
      accepted: 1,
      duplicates: 0,
      rejected: 1,
      results: [
        { index: 0, status: 'accepted' },
        { index: 1, status: 'rejected', errors: [{ path: '$.ecom.price', reason: 'must be >= 0' }] },
      ],
    };
    network.reply({ status: 202, body: rejection });
    const sbw = await startTracker({ batchSize: 2, autoPageViews: false });
    sbw.click();
    sbw.addToCart({ product_id: 'kb-01', price: -1, qty: 1 });
    await settle();
    await advance(10 * 60_000);
    expect(network.requests).toHaveLength(1);
    expect(await queuedInIndexedDb()).toEqual([]);
    expect(console.warn).toHaveBeenCalledWith('[sbw] events refused', 202, rejection);
  });

  it('backs off exponentially with jitter, up to a cap', async () => {
    const network = fakeNetwork();
    network.reply(...Array(9).fill(503));
    vi.spyOn(Math, 'random').mockReturnValue(0.9999999);
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    // With random close to 1 the waits are just under 2, 4, 8, 16, 32, 64, 64, 64 s.
    const waits = [2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000];
    for (const [attempt, wait] of waits.entries()) {
      await advance(wait - 10);
      expect(network.requests).toHaveLength(attempt + 1);
      await advance(10);
      expect(network.requests).toHaveLength(attempt + 2);
    }
  });

  it('jitter spreads the waits: with random 0 the first retry comes after half the backoff', async () => {
    const network = fakeNetwork();
    network.reply(503, 503);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    await advance(999);
    expect(network.requests).toHaveLength(1);
    await advance(1);
    expect(network.requests).toHaveLength(2);
    await advance(1999);
    expect(network.requests).toHaveLength(2);
    await advance(1);
    expect(network.requests).toHaveLength(3);
  });

  it('waits at least as long as Retry-After says', async () => {
    const network = fakeNetwork();
    network.reply({ status: 503, headers: { 'Retry-After': '30' } });
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    await advance(29_999);
    expect(network.requests).toHaveLength(1);
    await advance(1);
    expect(network.requests).toHaveLength(2);
    expect(network.delivered).toHaveLength(1);
  });

  it('starts over at the shortest backoff after a success', async () => {
    const network = fakeNetwork();
    vi.spyOn(Math, 'random').mockReturnValue(0.9999999);
    network.reply(503, 503, 503, 202, 503);
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    await advance(2000 + 4000 + 8000);
    expect(network.delivered).toHaveLength(1);
    sbw.click();
    await settle();
    expect(network.requests).toHaveLength(5);
    await advance(2000);
    expect(network.requests).toHaveLength(6);
    expect(network.delivered).toHaveLength(2);
  });

  it('keeps new events queued while waiting to retry, and sends them with the retry', async () => {
    const network = fakeNetwork();
    network.reply(503);
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click({ i: 0 });
    await settle();
    sbw.click({ i: 1 });
    sbw.click({ i: 2 });
    await settle();
    expect(network.requests).toHaveLength(1);
    await advance(2000);
    expect(network.delivered.map((e) => e.props!.i)).toEqual([0, 1, 2]);
  });

  it('does not try while the browser is offline and sends as soon as it is online again', async () => {
    const network = fakeNetwork();
    network.online = false;
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    sbw.click();
    await advance(10 * 60_000);
    expect(network.requests).toHaveLength(0);
    expect(await queuedInIndexedDb()).toHaveLength(2);

    network.online = true;
    window.dispatchEvent(new Event('online'));
    await settle();
    expect(network.delivered).toHaveLength(2);
    expect(await queuedInIndexedDb()).toEqual([]);
  });

  it('going online cuts a long backoff short', async () => {
    const network = fakeNetwork();
    network.reply({ status: 503, headers: { 'Retry-After': '3600' } });
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    window.dispatchEvent(new Event('online'));
    await settle();
    expect(network.requests).toHaveLength(2);
    expect(network.delivered).toHaveLength(1);
    await advance(60 * 60_000);
    expect(network.requests).toHaveLength(2);
  });
});

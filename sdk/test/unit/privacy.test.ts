import { describe, expect, it, vi } from 'vitest';
import { KEYS } from '../../src/identity';
import { afterReplayDelay, fakeNetwork, queuedInIndexedDb, settle, shutdownTrackers, startTracker } from './harness';

describe('opt-out', () => {
  it('records nothing after optOut, and forgets the anonymous id and the unsent events', async () => {
    const network = fakeNetwork();
    network.online = false;
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    expect(await queuedInIndexedDb()).toHaveLength(1);
    const anonymousBefore = localStorage.getItem(KEYS.anonymousId);
    expect(anonymousBefore).toBeTruthy();

    sbw.optOut();
    sbw.click();
    sbw.page();
    sbw.purchase('order-1', [{ product_id: 'p1', price: 1, currency: 'USD' }]);
    await settle();
    expect(sbw.isOptedOut()).toBe(true);
    expect(await queuedInIndexedDb()).toEqual([]);
    expect(localStorage.getItem(KEYS.anonymousId)).toBeNull();

    network.online = true;
    window.dispatchEvent(new Event('online'));
    await settle();
    expect(network.requests).toHaveLength(0);
  });

  it('is remembered across page loads, including the automatic page view', async () => {
    const network = fakeNetwork();
    const first = await startTracker({ batchSize: 1 });
    first.optOut();
    shutdownTrackers();
    network.requests.length = 0;

    const second = await startTracker({ batchSize: 1 });
    second.click();
    history.pushState(null, '', '/elsewhere');
    await settle();
    expect(network.requests).toHaveLength(0);
  });

  it('can be undone with optIn, under a new anonymous id', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click();
    await settle();
    const before = network.requests[0].events[0].anonymous_id;
    sbw.optOut();
    sbw.optIn();
    expect(sbw.isOptedOut()).toBe(false);
    sbw.click();
    await settle();
    expect(network.requests).toHaveLength(2);
    expect(network.requests[1].events[0].anonymous_id).not.toBe(before);
  });

  it('can be set before init', async () => {
    const network = fakeNetwork();
    const { createTracker } = await import('../../src/tracker');
    const sbw = createTracker();
    sbw.optOut();
    sbw.init({ endpoint: 'https://api.shop.example', batchSize: 1 });
    await settle();
    expect(network.requests).toHaveLength(0);
    sbw.shutdown();
  });
});

describe('Global Privacy Control', () => {
  const withGpc = (value: boolean | undefined) =>
    Object.defineProperty(navigator, 'globalPrivacyControl', { configurable: true, value });

  it('counts as an opt-out when respectGlobalPrivacyControl is set', async () => {
    withGpc(true);
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, respectGlobalPrivacyControl: true });
    sbw.click();
    await settle();
    expect(sbw.isOptedOut()).toBe(true);
    expect(network.requests).toHaveLength(0);
    withGpc(undefined);
  });

  it('is ignored unless configured', async () => {
    withGpc(true);
    const network = fakeNetwork();
    await startTracker({ batchSize: 1 });
    await settle();
    expect(network.requests).toHaveLength(1);
    withGpc(undefined);
  });

  it('does not block browsers without the signal', async () => {
    withGpc(false);
    const network = fakeNetwork();
    await startTracker({ batchSize: 1, respectGlobalPrivacyControl: true });
    await settle();
    expect(network.requests).toHaveLength(1);
    withGpc(undefined);
  });
});

describe('signed-in visitors', () => {
  it('sends events recorded after identify() to the signed-in route with the ID token', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false, getIdToken: async () => 'id-token-1' });
    sbw.click({ when: 'anonymous' });
    await settle();
    sbw.identify();
    sbw.click({ when: 'signed-in' });
    await settle();
    expect(network.requests.map((r) => [r.route, r.headers.Authorization])).toEqual([
      ['/v1/events', undefined],
      ['/v1/events/signed-in', 'Bearer id-token-1'],
    ]);
    for (const event of network.sentEvents()) expect(event).not.toHaveProperty('user_id');
  });

  it('never mixes anonymous and signed-in events in one request', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 4, autoPageViews: false, getIdToken: () => 'tok' });
    sbw.click({ i: 0 });
    sbw.click({ i: 1 });
    sbw.identify();
    sbw.click({ i: 2 });
    sbw.click({ i: 3 });
    await settle();
    expect(network.requests.map((r) => [r.route, r.events.map((e) => e.props!.i)])).toEqual([
      ['/v1/events', [0, 1]],
      ['/v1/events/signed-in', [2, 3]],
    ]);
  });

  it('falls back to the anonymous route when no token is available', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({
      batchSize: 1,
      autoPageViews: false,
      getIdToken: () => {
        throw new Error('session expired');
      },
    });
    sbw.identify();
    sbw.click();
    await settle();
    expect(network.requests.map((r) => [r.route, r.headers.Authorization])).toEqual([['/v1/events', undefined]]);
  });

  it('sends signed-in events with a keepalive fetch (not a beacon, which cannot carry the token) on pagehide', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ autoPageViews: false, getIdToken: () => Promise.resolve('tok') });
    sbw.identify();
    sbw.click();
    await settle();
    window.dispatchEvent(new Event('pagehide'));
    await settle();
    expect(network.requests.map((r) => [r.via, r.keepalive, r.route, r.headers.Authorization])).toEqual([
      ['fetch', true, '/v1/events/signed-in', 'Bearer tok'],
    ]);
  });

  it('replays signed-in events of a previous page on the signed-in route', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const network = fakeNetwork();
    network.online = false;
    const first = await startTracker({ autoPageViews: false, getIdToken: () => 'tok' });
    first.identify();
    first.click({ page: 1 });
    await settle();
    shutdownTrackers();

    network.online = true;
    await startTracker({ autoPageViews: false, getIdToken: () => 'tok-2' });
    await afterReplayDelay();
    expect(network.requests.map((r) => [r.route, r.headers.Authorization, r.events.map((e) => e.props!.page)])).toEqual([
      ['/v1/events/signed-in', 'Bearer tok-2', [1]],
    ]);
  });

  it('reset() signs out and starts a new anonymous id and session', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false, getIdToken: () => 'tok' });
    sbw.identify();
    sbw.click();
    await settle();
    sbw.reset();
    sbw.click();
    await settle();
    const [before, after] = network.requests;
    expect(after.route).toBe('/v1/events');
    expect(after.events[0].anonymous_id).not.toBe(before.events[0].anonymous_id);
    expect(after.events[0].session_id).not.toBe(before.events[0].session_id);
  });
});

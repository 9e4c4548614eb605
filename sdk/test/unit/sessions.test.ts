import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeNetwork, settle, shutdownTrackers, startTracker } from './harness';

const MINUTE = 60_000;

describe('sessions and the anonymous id in events', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: Date.parse('2026-11-26T08:00:00.000Z') });
  });

  it('keeps one session while the visitor is active and starts a new one after 30 idle minutes', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click({ n: 1 });
    vi.setSystemTime(Date.now() + 29 * MINUTE);
    sbw.click({ n: 2 });
    vi.setSystemTime(Date.now() + 29 * MINUTE);
    sbw.click({ n: 3 });
    vi.setSystemTime(Date.now() + 30 * MINUTE);
    sbw.click({ n: 4 });
    await settle();
    const sessions = network.sentEvents().map((e) => e.session_id);
    expect(sessions[1]).toBe(sessions[0]);
    expect(sessions[2]).toBe(sessions[0]);
    expect(sessions[3]).not.toBe(sessions[0]);
    expect(new Set(network.sentEvents().map((e) => e.anonymous_id)).size).toBe(1);
  });

  it('continues the session and the anonymous id on the next page load', async () => {
    const network = fakeNetwork();
    await startTracker({ batchSize: 1 });
    await settle();
    shutdownTrackers();
    vi.setSystemTime(Date.now() + 10 * MINUTE);
    await startTracker({ batchSize: 1 });
    await settle();
    const [first, second] = network.sentEvents();
    expect(second.session_id).toBe(first.session_id);
    expect(second.anonymous_id).toBe(first.anonymous_id);
  });

  it('gives a new browser (empty storage) a new anonymous id', async () => {
    const network = fakeNetwork();
    await startTracker({ batchSize: 1 });
    await settle();
    shutdownTrackers();
    localStorage.clear();
    await startTracker({ batchSize: 1 });
    await settle();
    const [first, second] = network.sentEvents();
    expect(second.anonymous_id).not.toBe(first.anonymous_id);
    expect(second.session_id).not.toBe(first.session_id);
  });
});

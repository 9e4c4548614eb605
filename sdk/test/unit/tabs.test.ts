import { beforeEach, describe, expect, it, vi } from 'vitest';
import { OTHER_TAB_GRACE_MS } from '../../src/tracker';
import { afterReplayDelay, countById, fakeNetwork, queuedInIndexedDb, settle, shutdownTrackers, startTracker } from './harness';

/** The next tracker runs in another tab: sessionStorage is per tab. */
function switchToNewTab() {
  sessionStorage.clear();
}

describe('several tabs of the shop', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: Date.parse('2026-11-26T09:00:00.000Z') });
  });

  it('a new tab does not send the fresh events an open tab is about to send', async () => {
    const network = fakeNetwork();
    network.online = false;
    const first = await startTracker({ autoPageViews: false });
    first.click({ tab: 1 });
    first.click({ tab: 1 });
    await settle();

    switchToNewTab();
    network.online = true;
    const second = await startTracker({ autoPageViews: false });
    second.click({ tab: 2 });
    second.flush();
    await settle();
    expect(network.requests.map((r) => r.events.map((e) => e.props!.tab))).toEqual([[2]]);

    first.flush();
    await settle();
    expect(network.delivered.map((e) => e.props!.tab)).toEqual([2, 1, 1]);
    expect([...countById(network.delivered).values()].every((n) => n == 1)).toBe(true);
  });

  it('another tab\u2019s leftovers are sent once they are older than the grace period', async () => {
    const network = fakeNetwork();
    network.online = false;
    const closedTab = await startTracker({ autoPageViews: false });
    closedTab.click({ from: 'closed tab' });
    await settle();
    shutdownTrackers(); // the tab is closed while offline

    network.online = true;
    switchToNewTab();
    vi.setSystemTime(Date.now() + OTHER_TAB_GRACE_MS - 1000);
    await startTracker({ autoPageViews: false });
    await settle();
    expect(network.requests).toHaveLength(0);
    shutdownTrackers();

    switchToNewTab();
    vi.setSystemTime(Date.now() + 2000);
    await startTracker({ autoPageViews: false });
    await afterReplayDelay();
    expect(network.delivered.map((e) => e.props!.from)).toEqual(['closed tab']);
    expect(await queuedInIndexedDb()).toEqual([]);
  });

  it('the same tab\u2019s next page sends its earlier pages\u2019 leftovers without the other-tab grace', async () => {
    const network = fakeNetwork();
    network.online = false;
    const earlierPage = await startTracker({ autoPageViews: false });
    earlierPage.click({ from: 'earlier page' });
    await settle();
    shutdownTrackers();

    network.online = true;
    await startTracker({ autoPageViews: false });
    await afterReplayDelay();
    expect(network.delivered.map((e) => e.props!.from)).toEqual(['earlier page']);
  });
});

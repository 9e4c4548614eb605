import { describe, expect, it } from 'vitest';
import { fakeNetwork, settle, startTracker } from './harness';

async function pageViews(network: ReturnType<typeof fakeNetwork>) {
  await settle();
  return network.sentEvents().filter((e) => e.event_type == 'page_view');
}

describe('automatic page views', () => {
  it('records one on init with the cleaned URL and the cleaned referrer', async () => {
    const network = fakeNetwork();
    history.replaceState(null, '', '/laptops?utm_source=google&sort=price&email=a@b.c#top');
    Object.defineProperty(document, 'referrer', { configurable: true, value: 'https://www.google.com/search?q=gaming+laptop' });
    await startTracker({ batchSize: 1 });
    const [view] = await pageViews(network);
    expect(view.page_url).toBe('https://shop.example/laptops?utm_source=google');
    expect(view.referrer).toBe('https://www.google.com/search');
    delete (document as { referrer?: string }).referrer;
  });

  it('uses null as the referrer of a direct visit', async () => {
    const network = fakeNetwork();
    await startTracker({ batchSize: 1 });
    const [view] = await pageViews(network);
    expect(view.referrer).toBeNull();
  });

  it('records SPA navigations through pushState and popstate, with the previous page as referrer', async () => {
    const network = fakeNetwork();
    await startTracker({ batchSize: 1 });
    history.pushState(null, '', '/monitors');
    history.pushState(null, '', '/monitors/dell-u2723qe');
    history.back(); // happy-dom moves back and fires popstate synchronously
    const views = await pageViews(network);
    expect(views.map((v) => [v.page_url, v.referrer])).toEqual([
      ['https://shop.example/', null],
      ['https://shop.example/monitors', 'https://shop.example/'],
      ['https://shop.example/monitors/dell-u2723qe', 'https://shop.example/monitors'],
      ['https://shop.example/monitors', 'https://shop.example/monitors/dell-u2723qe'],
    ]);
  });

  it('does not count a change of fragment, of a stripped query parameter or a replaceState to the same URL', async () => {
    const network = fakeNetwork();
    await startTracker({ batchSize: 1 });
    history.pushState(null, '', '/#reviews');
    history.replaceState({ scroll: 300 }, '', '/');
    history.pushState(null, '', '/?sessionid=abc');
    expect(await pageViews(network)).toHaveLength(1);
  });

  it('gives later events of the page its referrer and URL', async () => {
    const network = fakeNetwork();
    Object.defineProperty(document, 'referrer', { configurable: true, value: 'https://facebook.com/' });
    const sbw = await startTracker({ batchSize: 1 });
    history.pushState(null, '', '/keyboards');
    sbw.click({ target: 'filter' });
    await settle();
    const click = network.sentEvents().find((e) => e.event_type == 'click')!;
    expect(click.page_url).toBe('https://shop.example/keyboards');
    expect(click.referrer).toBe('https://shop.example/');
    delete (document as { referrer?: string }).referrer;
  });

  it('records a page view when the page comes back from the back/forward cache, not on a first show', async () => {
    const network = fakeNetwork();
    await startTracker({ batchSize: 1 });
    window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false }));
    expect(await pageViews(network)).toHaveLength(1);
    window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    const views = await pageViews(network);
    expect(views.map((v) => v.page_url)).toEqual(['https://shop.example/', 'https://shop.example/']);
    expect(views[1].event_id).not.toBe(views[0].event_id);
  });

  it('records nothing by itself with autoPageViews: false, but page() still works', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    history.pushState(null, '', '/cart');
    expect(await pageViews(network)).toHaveLength(0);
    sbw.page({ step: 'cart' });
    const [view] = await pageViews(network);
    expect(view.page_url).toBe('https://shop.example/cart');
    expect(view.props).toEqual({ step: 'cart' });
  });

  it('restores the history methods on shutdown', async () => {
    const { pushState, replaceState } = history;
    const sbw = await startTracker();
    expect(history.pushState).not.toBe(pushState);
    sbw.shutdown();
    expect(history.pushState).toBe(pushState);
    expect(history.replaceState).toBe(replaceState);
  });
});

// The SDK in real headless Chromium, driving the demo shop against `sbwctl dev ingest`.
// Every test checks the raw store the server wrote: each event there exactly once,
// and, through the proxy, that the SDK never re-sent an event the server had accepted.
// Over 400 lines on purpose: the tests share one Chromium (started once per file) and
// the platform helpers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SHOP_DIR } from './support/paths';
import { type Platform, type PlatformOptions, eventually, launchChromium, startPlatform } from './support/platform';
import { type StoredEvent, rawStoreText, storedTwice } from './support/raw-store';

let browser: Browser;
let platform: Platform | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await platform?.stop();
  platform = undefined;
});

/** Quick sends (0.5 s) unless a test asks otherwise. */
async function start(options: PlatformOptions = {}): Promise<Platform> {
  platform = await startPlatform(browser, { ...options, shop: { flushInterval: 500, ...options.shop } });
  return platform;
}

const pathOf = (url: string | null) => (url ? new URL(url).pathname : null);

/** How many products of the shop's catalogue are in `category`: its page lists them all. */
const catalog: { products: { category: string }[] } = JSON.parse(readFileSync(join(SHOP_DIR, 'catalog.json'), 'utf8'));
const productsIn = (category: string) => catalog.products.filter((product) => product.category == category).length;

const isImpression = (event: StoredEvent) => event.event_type == 'impression';
const withoutImpressions = (events: StoredEvent[]) => events.filter((event) => !isImpression(event));

/** Per list: the page it was on and the products it showed, by position (from 1). */
function listsShown(events: StoredEvent[]): Record<string, { page: string | null; products: string[] }> {
  const lists: Record<string, { page: string | null; products: string[] }> = {};
  for (const event of events.filter(isImpression)) {
    const list = (lists[event.props.list as string] ??= { page: pathOf(event.page_url), products: [] });
    list.products[(event.props.position as number) - 1] = event.ecom!.product_id!;
  }
  return lists;
}

/** The product ids of the cards in `grid` (a CSS selector) of the page, in the order shown. */
function cardsIn(page: Platform['page'], grid: string): Promise<string[]> {
  return page.$$eval(`${grid} .card-link`, (links) => links.map((link) => (link as HTMLElement).dataset.productId!));
}

/** A readable summary of an event: type, page, and what it is about. */
function describeEvent(event: StoredEvent): string {
  const about = event.ecom?.product_id ?? (event.props.target as string | undefined) ?? (event.props.query as string | undefined) ?? '';
  return [event.event_type, pathOf(event.page_url), about].filter(Boolean).join(' ');
}

/**
 * The end state every test wants: nothing left in the browser's queue, no event
 * stored twice, and no event the server accepted ever sent to it again.
 */
async function expectDeliveredExactlyOnce(p: Platform, expectedCount: number) {
  await eventually('the SDK queue in IndexedDB to be empty', async () => (await p.queuedInBrowser()) == 0);
  await eventually('the proxy to be idle', () => p.proxy.inFlight() == 0);
  const stored = p.stored();
  expect(stored).toHaveLength(expectedCount);
  expect(storedTwice(stored)).toEqual([]);
  const resent = [...p.proxy.forwardedCopies()].filter(([, copies]) => copies > 1);
  expect(resent).toEqual([]);
  for (const post of p.proxy.posts()) expect(post.response?.duplicates ?? 0).toBe(0);
}

describe('demo shop in Chromium against sbwctl dev ingest', () => {
  it('records page views, product lists shown, product clicks, a product view and a search while browsing', async () => {
    const p = await start();
    await p.open('/index.html');
    const featured = await cardsIn(p.page, '#featured');
    await Promise.all([p.page.waitForURL('**/category.html?c=laptops'), p.page.click('a.tile[href="category.html?c=laptops"]')]);
    await p.page.waitForSelector('html[data-ready="true"]');
    const laptops = await cardsIn(p.page, '#products');
    await Promise.all([p.page.waitForURL('**/product.html?id=*'), p.page.click('#products .card-link >> nth=1')]);
    await p.page.waitForSelector('html[data-ready="true"]');
    const productId = new URL(p.page.url()).searchParams.get('id')!;
    const related = await cardsIn(p.page, '#related');
    await p.page.fill('input[name="q"]', 'mouse');
    await Promise.all([p.page.waitForURL('**/search.html?q=mouse'), p.page.press('input[name="q"]', 'Enter')]);
    await p.page.waitForSelector('html[data-ready="true"]');
    const results = await cardsIn(p.page, '#results');
    // Six products mention a mouse in their name or specs.
    expect([featured, laptops, related, results].map((list) => list.length)).toEqual([8, productsIn('laptops'), 4, 6]);
    const expectedCount = 8 + featured.length + laptops.length + related.length + results.length;

    const stored = await p.waitForStored(expectedCount);
    expect(withoutImpressions(stored).map(describeEvent)).toEqual([
      'page_view /index.html',
      'click /index.html category-tile',
      'page_view /category.html',
      `click /category.html ${productId}`,
      'page_view /product.html',
      `view /product.html ${productId}`,
      'page_view /search.html',
      'search /search.html mouse',
    ]);
    // Every product shown, once, in the list and at the place it was shown.
    expect(listsShown(stored)).toEqual({
      'home:featured': { page: '/index.html', products: featured },
      'category:laptops': { page: '/category.html', products: laptops },
      related: { page: '/product.html', products: related },
      search: { page: '/search.html', products: results },
    });
    expect(stored.filter(isImpression).every((e) => e.ecom!.category && e.ecom!.price == null)).toBe(true);
    // The click on the second laptop names the list and place of its impression: the CTR's numerator.
    const productClick = stored.find((e) => e.event_type == 'click' && e.ecom)!;
    expect(productClick.ecom).toMatchObject({ product_id: laptops[1], category: 'laptops' });
    expect(productClick.props).toEqual({ target: 'product-card', list: 'category:laptops', position: 2 });
    expect(stored.find((e) => e.event_type == 'click' && !e.ecom)!.props).toEqual({ target: 'category-tile' });
    const pageViews = stored.filter((e) => e.event_type == 'page_view');
    expect(pageViews.map((e) => pathOf(e.referrer))).toEqual([null, '/index.html', '/category.html', '/product.html']);
    // Query strings are stripped: the product id and the search words stay out of the URLs.
    expect(stored.every((e) => !e.page_url.includes('?'))).toBe(true);
    expect(stored.find((e) => e.event_type == 'search')!.props).toMatchObject({ query: 'mouse', results: 6 });
    expect(new Set(stored.map((e) => e.session_id)).size).toBe(1);
    expect(new Set(stored.map((e) => e.anonymous_id_hash)).size).toBe(1);
    expect(stored.every((e) => e.user_id_hash == null)).toBe(true);
    // Anonymous requests carry the site key in the query string (sendBeacon cannot set headers).
    expect(p.proxy.posts().every((r) => r.path == '/v1/events' && r.query.get('site_key') == 'demo-shop')).toBe(true);
    await expectDeliveredExactlyOnce(p, expectedCount);
  });

  it('records a product shown once per page view, however often its list is sorted, and clicks at their new place', async () => {
    const p = await start();
    await p.open('/category.html?c=monitors');
    const byRating = await cardsIn(p.page, '#products');
    await p.page.selectOption('#sort', 'price-desc');
    await p.page.selectOption('#sort', 'price-asc');
    const byPrice = await cardsIn(p.page, '#products');
    expect(byPrice).not.toEqual(byRating);
    await Promise.all([p.page.waitForURL('**/product.html?id=*'), p.page.click('#products .card-link >> nth=2')]);
    await p.page.waitForSelector('html[data-ready="true"]');
    const related = await cardsIn(p.page, '#related');

    const expectedCount = 1 + byRating.length + 1 + 2 + related.length;
    const stored = await p.waitForStored(expectedCount);
    expect(listsShown(stored)['category:monitors']).toEqual({ page: '/category.html', products: byRating });
    const productClick = stored.find((e) => e.event_type == 'click')!;
    expect([productClick.ecom!.product_id, productClick.props.list, productClick.props.position]).toEqual([byPrice[2], 'category:monitors', 3]);
    await expectDeliveredExactlyOnce(p, expectedCount);
  });

  it('records a product view and an add to cart with price, currency and quantity', async () => {
    const p = await start();
    await p.open('/product.html?id=lap-asus-g14-2024');
    await p.page.fill('#qty', '2');
    await p.page.click('#add-to-cart');

    // Besides the four laptops shown under "You may also like".
    const stored = await p.waitForStored(7);
    expect(withoutImpressions(stored).map(describeEvent)).toEqual([
      'page_view /product.html',
      'view /product.html lap-asus-g14-2024',
      'add_to_cart /product.html lap-asus-g14-2024',
    ]);
    const addToCart = stored.find((e) => e.event_type == 'add_to_cart')!.ecom!;
    expect({ ...addToCart, price: Number(addToCart.price) }).toEqual({
      product_id: 'lap-asus-g14-2024',
      category: 'laptops',
      currency: 'VND',
      price: 49_990_000,
      qty: 2,
    });
    await expectDeliveredExactlyOnce(p, 7);
  });

  it('records checkout and one purchase event per line item, without the shopper\u2019s personal data', async () => {
    const p = await start();
    await p.open('/product.html?id=mon-dell-u2723qe');
    await p.page.click('#add-to-cart');
    await p.open('/product.html?id=mouse-logitech-mx-master-3s');
    await p.page.fill('#qty', '3');
    await p.page.click('#add-to-cart');
    await p.open('/cart.html');
    await Promise.all([p.page.waitForURL('**/checkout.html'), p.page.click('#to-checkout')]);
    await p.page.waitForSelector('html[data-ready="true"]');
    await p.page.fill('input[name="name"]', 'Nguyễn Văn An');
    await p.page.fill('input[name="phone"]', '0901234567');
    await p.page.fill('input[name="email"]', 'an.nguyen@example.vn');
    await p.page.fill('textarea[name="address"]', '12 Nguyễn Huệ, Quận 1');
    await Promise.all([p.page.waitForURL('**/order.html'), p.page.click('#place-order')]);
    await p.page.waitForSelector('html[data-ready="true"]');
    const orderId = await p.page.textContent('#order-id');

    // Besides four related products shown on each product page.
    const stored = await p.waitForStored(20);
    const purchases = stored.filter((e) => e.event_type == 'purchase');
    expect(purchases.map((e) => [e.ecom!.product_id, e.ecom!.qty, Number(e.ecom!.price), e.ecom!.currency])).toEqual([
      ['mon-dell-u2723qe', 1, 13_990_000, 'VND'],
      ['mouse-logitech-mx-master-3s', 3, 2_490_000, 'VND'],
    ]);
    // Both line items carry the same order id, hashed by the server.
    expect(purchases[0].props.order_id).toBeTruthy();
    expect(purchases[1].props.order_id).toBe(purchases[0].props.order_id);
    expect(purchases[0].props.order_id).not.toBe(orderId);
    const checkout = stored.find((e) => e.event_type == 'checkout')!;
    expect(checkout.props).toMatchObject({ items: 4, value: 13_990_000 + 3 * 2_490_000, currency: 'VND' });
    expect(withoutImpressions(stored).map((e) => e.event_type)).toEqual([
      'page_view', 'view', 'add_to_cart',
      'page_view', 'view', 'add_to_cart',
      'page_view', 'page_view', 'checkout', 'purchase', 'purchase', 'page_view',
    ]);
    // What the shopper typed never leaves the page; the raw order id never reaches the store.
    const sent = p.proxy.requests.map((r) => r.body + r.path + r.query).join('');
    const rawStore = rawStoreText(p.rawDir);
    for (const personal of ['Nguy', '0901234567', 'an.nguyen', 'example.vn']) {
      expect(sent).not.toContain(personal);
      expect(rawStore).not.toContain(personal);
    }
    expect(sent).toContain(orderId);
    expect(rawStore).not.toContain(orderId);
    await expectDeliveredExactlyOnce(p, 20);
  });

  it('records history navigation (quick view with pushState, then Back) as page views', async () => {
    const p = await start();
    await p.open('/category.html?c=monitors');
    await p.page.click('#products [data-quick-view] >> nth=0');
    await p.page.waitForSelector('#quick-view');
    expect(p.page.url()).toContain('/product.html?id=');
    await p.page.goBack();
    await p.page.waitForSelector('#quick-view', { state: 'detached' });

    // The monitors of the list are shown once: Back closes the quick view over the same list.
    const stored = await p.waitForStored(5 + productsIn('monitors'));
    expect(withoutImpressions(stored).map((e) => [e.event_type, pathOf(e.page_url), pathOf(e.referrer)])).toEqual([
      ['page_view', '/category.html', null],
      ['click', '/category.html', null],
      ['page_view', '/product.html', '/category.html'],
      ['view', '/product.html', '/category.html'],
      ['page_view', '/category.html', '/product.html'],
    ]);
    expect(stored.filter(isImpression)).toHaveLength(productsIn('monitors'));
    const quickViewClick = stored.find((e) => e.event_type == 'click')!;
    expect(quickViewClick.props).toEqual({ target: 'quick-view', list: 'category:monitors', position: 1 });
    expect(stored.find((e) => e.event_type == 'view')!.props).toEqual({ source: 'quick-view' });
    expect(stored.find((e) => e.event_type == 'view')!.ecom!.product_id).toBe(quickViewClick.ecom!.product_id);
    await expectDeliveredExactlyOnce(p, 5 + productsIn('monitors'));
  });

  it('counts a page view when Back returns to a page, restored from the back/forward cache or not', async () => {
    const p = await start();
    await p.open('/index.html');
    await Promise.all([p.page.waitForURL('**/category.html?c=keyboards'), p.page.click('a.tile[href="category.html?c=keyboards"]')]);
    await p.page.waitForSelector('html[data-ready="true"]');
    await p.page.goBack();
    await p.page.waitForSelector('html[data-ready="true"]');
    // Loaded again (not restored from the back/forward cache), the home page shows its list again.
    const reloaded = await p.page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).type == 'back_forward');
    const expectedCount = 4 + 8 + productsIn('keyboards') + (reloaded ? 8 : 0);

    const stored = await p.waitForStored(expectedCount);
    expect(withoutImpressions(stored).map(describeEvent)).toEqual([
      'page_view /index.html',
      'click /index.html category-tile',
      'page_view /category.html',
      'page_view /index.html',
    ]);
    await expectDeliveredExactlyOnce(p, expectedCount);
  });

  it('delivers a burst of 500 events, at most 500 per request, each exactly once', async () => {
    const p = await start();
    await p.open('/index.html');
    await p.page.evaluate(() => {
      const sbw = (window as unknown as { sbw: { track(type: string, fields: object): void } }).sbw;
      for (let i = 0; i < 500; i++) sbw.track('click', { props: { burst: i } });
    });

    const stored = await p.waitForStored(509); // with the page view and the 8 products shown
    const burst = stored.filter((e) => e.props.burst != null).map((e) => e.props.burst);
    expect(new Set(burst).size).toBe(500);
    for (const post of p.proxy.posts()) expect(post.eventIds.length).toBeLessThanOrEqual(500);
    await expectDeliveredExactlyOnce(p, 509);
  });

  it('keeps events while offline and sends them when the browser is online again', async () => {
    const p = await start();
    await p.open('/product.html?id=kb-keychron-k2-pro');
    await p.waitForStored(6); // page view, product view, four related keyboards shown
    const postsBefore = p.proxy.posts().length;

    await p.context.setOffline(true);
    await p.page.click('#add-to-cart');
    await p.page.click('#add-to-cart');
    await eventually('both offline events in IndexedDB', async () => (await p.queuedInBrowser()) == 2);
    expect(p.proxy.posts()).toHaveLength(postsBefore);
    expect(p.stored()).toHaveLength(6);

    await p.context.setOffline(false);
    const stored = await p.waitForStored(8);
    expect(withoutImpressions(stored).map((e) => e.event_type)).toEqual(['page_view', 'view', 'add_to_cart', 'add_to_cart']);
    await expectDeliveredExactlyOnce(p, 8);
  });

  it('replays on the next page load what an offline page left behind', async () => {
    const p = await start();
    await p.open('/index.html');
    await p.waitForStored(9); // the page view and the 8 products shown
    await p.context.setOffline(true);
    await p.page.click('.card [data-add] >> nth=0');
    await eventually('the offline event in IndexedDB', async () => (await p.queuedInBrowser()) == 1);
    await p.page.goto('about:blank'); // pagehide while offline: nothing can be sent
    await p.context.setOffline(false);
    expect(p.stored()).toHaveLength(9);

    await p.open('/cart.html');
    const stored = await p.waitForStored(11);
    expect(withoutImpressions(stored).map((e) => [e.event_type, pathOf(e.page_url)])).toEqual([
      ['page_view', '/index.html'],
      ['add_to_cart', '/index.html'],
      ['page_view', '/cart.html'],
    ]);
    await expectDeliveredExactlyOnce(p, 11);
  });

  it('flushes with sendBeacon when the page is left, and the next page does not send those events again', async () => {
    const p = await start({ shop: { batchSize: 1000, flushInterval: 600_000 } });
    await p.open('/product.html?id=hp-sony-wh1000xm5');
    await p.page.click('#add-to-cart');
    // Page view, product view, four related headphones shown, add to cart.
    await eventually('seven events in IndexedDB', async () => (await p.queuedInBrowser()) == 7);
    expect(p.proxy.posts()).toHaveLength(0);

    await p.page.goto('about:blank');
    const stored = await p.waitForStored(7);
    expect(withoutImpressions(stored).map((e) => e.event_type)).toEqual(['page_view', 'view', 'add_to_cart']);
    const [beacon] = p.proxy.posts();
    expect(beacon.headers['content-type']).toBe('text/plain;charset=UTF-8');
    expect(beacon.headers['sec-fetch-mode']).toBe('no-cors'); // sendBeacon, not fetch
    expect(beacon.eventIds).toHaveLength(7);

    await p.open('/index.html');
    await p.page.evaluate(() => (window as unknown as { sbw: { flush(): void } }).sbw.flush());
    const after = await p.waitForStored(16);
    expect(withoutImpressions(after).map((e) => [e.event_type, pathOf(e.page_url)]).at(-1)).toEqual(['page_view', '/index.html']);
    await expectDeliveredExactlyOnce(p, 16);
  });

  it('a second tab does not send the events the first tab has yet to send', async () => {
    const p = await start({ shop: { batchSize: 1000, flushInterval: 600_000 } });
    const flush = (page = p.page) => page.evaluate(() => (window as unknown as { sbw: { flush(): void } }).sbw.flush());
    await p.open('/product.html?id=mon-lg-27gp850');
    // Page view, product view, four related monitors shown.
    await eventually('the first tab\u2019s six events in IndexedDB', async () => (await p.queuedInBrowser()) == 6);

    const secondTab = await p.context.newPage();
    await p.open('/index.html', secondTab);
    await flush(secondTab);
    const fromSecondTab = await p.waitForStored(9);
    expect(withoutImpressions(fromSecondTab).map(describeEvent)).toEqual(['page_view /index.html']);
    expect(fromSecondTab.every((e) => pathOf(e.page_url) == '/index.html')).toBe(true);
    expect(p.proxy.posts().map((r) => r.eventIds.length)).toEqual([9]);

    await flush();
    const stored = await p.waitForStored(15);
    expect(withoutImpressions(stored).map(describeEvent)).toEqual(['page_view /product.html', 'view /product.html mon-lg-27gp850', 'page_view /index.html']);
    await expectDeliveredExactlyOnce(p, 15);
  });

  it('retries after a 503 and a dropped connection, then delivers each event once', async () => {
    // The seven events of the page (page view, product view, four related products shown,
    // add to cart) fill one batch: every attempt carries exactly them.
    const p = await start({ shop: { batchSize: 7, flushInterval: 600_000 } });
    p.proxy.failNext(1, 503, 1);
    p.proxy.dropNext(1);
    await p.open('/product.html?id=acc-samsung-t7-1tb');
    await p.page.click('#add-to-cart');
    await eventually('the first failed request', () => p.proxy.posts().length >= 1);
    expect(await p.queuedInBrowser()).toBe(7);

    const stored = await p.waitForStored(7);
    expect(withoutImpressions(stored).map((e) => e.event_type)).toEqual(['page_view', 'view', 'add_to_cart']);
    const posts = await p.proxy.answeredPosts();
    expect(posts.map((r) => r.outcome)).toEqual([503, 'dropped', 202]);
    expect(posts[0].eventIds).toHaveLength(7);
    expect(posts[1].eventIds).toEqual(posts[0].eventIds);
    expect(posts[2].eventIds).toEqual(posts[0].eventIds);
    await expectDeliveredExactlyOnce(p, 7);
  });

  it('sends a signed-in visitor\u2019s events to the signed-in route with the ID token', async () => {
    const p = await start();
    await p.open('/index.html');
    await p.waitForStored(9);
    await p.page.click('#account-button'); // demo sign-in: identify()
    await p.page.waitForSelector('text=Sign out');
    await p.open('/product.html?id=kb-logitech-mx-keys-s');
    await p.page.click('#add-to-cart');

    const stored = await p.waitForStored(16);
    expect(stored.filter(isImpression).map((e) => [pathOf(e.page_url), e.user_id_hash != null])).toEqual([
      ...Array(8).fill(['/index.html', false]),
      ...Array(4).fill(['/product.html', true]),
    ]);
    expect(withoutImpressions(stored).map((e) => [e.event_type, e.user_id_hash != null])).toEqual([
      ['page_view', false],
      ['page_view', true],
      ['view', true],
      ['add_to_cart', true],
    ]);
    expect(new Set(stored.map((e) => e.anonymous_id_hash)).size).toBe(1);
    const signedIn = p.proxy.posts().filter((r) => r.path == '/v1/events/signed-in');
    expect(signedIn.length).toBeGreaterThan(0);
    for (const post of signedIn) expect(post.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.$/);
    for (const post of p.proxy.posts()) expect(post.body).not.toContain('user_id');
    await expectDeliveredExactlyOnce(p, 16);
  });

  it('drops events the server rejects and keeps the valid ones of the same request, without retrying', async () => {
    // The page view, the 8 products shown, the bad add to cart and the click: one request.
    const p = await start({ shop: { batchSize: 11, flushInterval: 600_000 } });
    await p.open('/index.html');
    const badEventId = await p.page.evaluate(() => {
      const sbw = (window as unknown as { sbw: { addToCart(ecom: object): void; click(props: object): void } }).sbw;
      sbw.addToCart({ product_id: 'acc-laptop-stand-alu', price: -5, currency: 'VND', qty: 1 });
      sbw.click({ target: 'after-the-bad-one' });
      return 'sent';
    });
    expect(badEventId).toBe('sent');

    const stored = await p.waitForStored(10);
    expect(withoutImpressions(stored).map(describeEvent)).toEqual(['page_view /index.html', 'click /index.html after-the-bad-one']);
    const [post] = await p.proxy.answeredPosts();
    expect(post.outcome).toBe(202);
    expect(post.response).toMatchObject({ accepted: 10, rejected: 1 });
    await expectDeliveredExactlyOnce(p, 10);
    expect(p.proxy.posts()).toHaveLength(1);
  });

  it('drops, without retrying, what the server refuses for a wrong site key', async () => {
    // The page's six events (page view, product view, four related products shown) fill a batch.
    const p = await start({ shop: { siteKey: 'not-this-shop', batchSize: 6, flushInterval: 600_000 } });
    await p.open('/product.html?id=pad-steelseries-qck-l');
    await eventually('the refused request', () => p.proxy.posts().length == 1 && p.proxy.posts()[0].outcome != 'pending');
    expect([401, 403]).toContain(p.proxy.posts()[0].outcome);
    await eventually('the refused events to leave the queue', async () => (await p.queuedInBrowser()) == 0);

    // Later events are still sent (and refused) normally: the refusal did not start a retry loop.
    await p.page.click('#add-to-cart');
    await p.page.click('#add-to-cart');
    await p.page.evaluate(() => (window as unknown as { sbw: { flush(): void } }).sbw.flush());
    await eventually('the second refused request', () => p.proxy.posts().length == 2);
    expect(p.proxy.posts()[1].eventIds).toHaveLength(2);
    expect(p.stored()).toEqual([]);
  });

  // Server gap: `sbwctl dev ingest` answers a disallowed Origin with 403 but without
  // Access-Control-Allow-Origin, so the browser hides the status and fetch fails like a
  // network error: the SDK must then keep the events and retry with backoff (it cannot know
  // better). Once the server adds CORS headers to its refusals, this test fails: expect the
  // wrong-site-key behaviour above instead (dropped, not retried).
  it('keeps and retries events when the browser cannot read the refusal of a disallowed origin', async () => {
    const p = await start({ allowedOrigins: () => ['https://another-shop.example'], shop: { batchSize: 6 } });
    await p.open('/product.html?id=pad-steelseries-qck-l');
    await eventually('a retry of the refused request', () => p.proxy.posts().length == 2);
    const [first, retry] = await p.proxy.answeredPosts();
    expect([first.outcome, retry.outcome]).toEqual([403, 403]);
    expect(first.response).toMatchObject({ error: { code: 'origin_not_allowed' } });
    expect(retry.eventIds).toEqual(first.eventIds);
    expect(await p.queuedInBrowser()).toBe(6);
    expect(p.stored()).toEqual([]);
  });

  it('stops all collection after the visitor opts out, across pages, until they opt in again', async () => {
    const p = await start();
    await p.open('/index.html');
    await p.waitForStored(9);
    await p.page.click('#privacy-toggle'); // optOut()
    await p.open('/product.html?id=hp-bose-qc-ultra');
    await p.page.click('#add-to-cart');
    await p.open('/cart.html');
    expect(await p.queuedInBrowser()).toBe(0);
    await p.page.click('#privacy-toggle'); // optIn()
    await p.open('/product.html?id=hp-jbl-tune-520bt');

    const stored = await p.waitForStored(15);
    const visible = withoutImpressions(stored);
    expect(visible.map(describeEvent)).toEqual([
      'page_view /index.html',
      'page_view /product.html',
      'view /product.html hp-jbl-tune-520bt',
    ]);
    expect(Object.keys(listsShown(stored))).toEqual(['home:featured', 'related']);
    // Opting out forgot the anonymous id: the visitor comes back as someone new.
    expect(visible[1].anonymous_id_hash).not.toBe(visible[0].anonymous_id_hash);
    await expectDeliveredExactlyOnce(p, 15);
  });
});

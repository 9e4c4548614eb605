import { describe, expect, it } from 'vitest';
import type { SbwEvent } from '../../src/types';
import { fakeNetwork, settle, startTracker } from './harness';

const laptops = ['lap-tp-x1c', 'lap-asus-g14', 'lap-mba13-m3'].map((product_id) => ({ product_id, category: 'laptops' }));

/** `[list, position, product_id]` of each impression sent. */
function shown(events: SbwEvent[]) {
  return events.filter((e) => e.event_type == 'impression').map((e) => [e.props!.list, e.props!.position, e.ecom!.product_id]);
}

describe('impressions', () => {
  it('records one impression per product shown, with the list, its place from 1 and extra props', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ autoPageViews: false });
    sbw.impressions('category:laptops', laptops, { sort: 'rating' });
    sbw.flush();
    await settle();
    const events = network.sentEvents();
    expect(shown(events)).toEqual([
      ['category:laptops', 1, 'lap-tp-x1c'],
      ['category:laptops', 2, 'lap-asus-g14'],
      ['category:laptops', 3, 'lap-mba13-m3'],
    ]);
    expect(events[0].ecom).toEqual({ product_id: 'lap-tp-x1c', category: 'laptops' });
    expect(events[0].props).toEqual({ sort: 'rating', list: 'category:laptops', position: 1 });
    expect(new Set(events.map((e) => e.event_id)).size).toBe(3);
  });

  it('records a product once per list and page view, however often the list is rendered again', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker();
    sbw.impressions('category:laptops', laptops);
    // Sorted differently, then grown by "load more": only the new product is recorded, at its place.
    sbw.impressions('category:laptops', [...laptops].reverse());
    sbw.impressions('category:laptops', [...laptops, { product_id: 'lap-xps13', category: 'laptops' }]);
    // The same product in another list of the page is another impression.
    sbw.impressions('related', [laptops[0]]);
    history.pushState(null, '', '/?page=2'); // the query is stripped: the same page view
    sbw.impressions('category:laptops', laptops.slice(0, 1));
    history.pushState(null, '', '/laptops'); // a new page view: shown again
    sbw.impressions('category:laptops', laptops.slice(0, 1));
    sbw.flush();
    await settle();
    const events = network.sentEvents();
    expect(shown(events)).toEqual([
      ['category:laptops', 1, 'lap-tp-x1c'],
      ['category:laptops', 2, 'lap-asus-g14'],
      ['category:laptops', 3, 'lap-mba13-m3'],
      ['category:laptops', 4, 'lap-xps13'],
      ['related', 1, 'lap-tp-x1c'],
      ['category:laptops', 1, 'lap-tp-x1c'],
    ]);
    expect(events.filter((e) => e.event_type == 'impression').at(-1)!.page_url).toBe('https://shop.example/laptops');
  });

  it('sends a list of 20 in one request, although the batch size is 10', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 10, autoPageViews: false });
    const products = Array.from({ length: 20 }, (_, i) => ({ product_id: `p-${i + 1}`, category: 'accessories' }));
    sbw.impressions('home:featured', products);
    await settle();
    expect(network.requests).toHaveLength(1);
    expect(shown(network.requests[0].events)).toEqual(products.map((p, i) => ['home:featured', i + 1, p.product_id]));
  });

  it('skips items without a product id, keeping the places of the others', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ autoPageViews: false });
    sbw.impressions('search', [laptops[0], { category: 'ads' }, laptops[1]]);
    sbw.flush();
    await settle();
    expect(shown(network.sentEvents())).toEqual([
      ['search', 1, 'lap-tp-x1c'],
      ['search', 3, 'lap-asus-g14'],
    ]);
  });

  it('records nothing while opted out, and what was shown then counts once the visitor opts in', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ autoPageViews: false });
    sbw.optOut();
    sbw.impressions('home:featured', laptops);
    sbw.optIn();
    sbw.impressions('home:featured', laptops);
    sbw.flush();
    await settle();
    expect(shown(network.sentEvents())).toHaveLength(3);
  });
});

describe('product clicks', () => {
  it('are clicks with the product and the list and place of its impression', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ autoPageViews: false });
    sbw.clickProduct({ product_id: 'lap-asus-g14', category: 'laptops' }, 'category:laptops', 2, { target: 'product-card', list: 'ignored' });
    sbw.click({ target: 'hero-banner' });
    sbw.flush();
    await settle();
    const [productClick, bannerClick] = network.sentEvents();
    expect(productClick.event_type).toBe('click');
    expect(productClick.ecom).toEqual({ product_id: 'lap-asus-g14', category: 'laptops' });
    expect(productClick.props).toEqual({ target: 'product-card', list: 'category:laptops', position: 2 });
    expect(bannerClick).not.toHaveProperty('ecom');
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { SbwEvent } from '../../src/types';
import { fakeNetwork, settle, startTracker } from './harness';

// Tests run from sdk/ (npm test).
const SCHEMA_PATH = resolve(process.cwd(), '../functions/contract/schema/event.schema.json');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UTC_MILLIS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const CONTRACT_FIELDS = ['event_id', 'ts', 'sent_at', 'event_type', 'session_id', 'user_id', 'anonymous_id', 'page_url', 'referrer', 'device', 'geo', 'ecom', 'props'];

/** Records one of every kind of event through the public helpers and returns them as sent. */
async function everyKindOfEvent(): Promise<SbwEvent[]> {
  const network = fakeNetwork();
  const sbw = await startTracker({ batchSize: 1000 });
  sbw.impressions('search', [{ product_id: 'lap-tp-x1c', category: 'laptops' }]);
  sbw.clickProduct({ product_id: 'lap-tp-x1c', category: 'laptops' }, 'search', 1);
  sbw.viewProduct({ product_id: 'lap-tp-x1c', category: 'laptops', price: 42_990_000, currency: 'VND' });
  sbw.click({ target: 'add-to-cart', position: 2, featured: true, coupon: null });
  sbw.search('usb-c dock');
  sbw.addToCart({ product_id: 'lap-tp-x1c', category: 'laptops', price: 42_990_000, currency: 'VND' });
  sbw.checkout({ items: 1, value: 42_990_000 });
  sbw.purchase('ORD-1001', [
    { product_id: 'lap-tp-x1c', category: 'laptops', price: 42_990_000, currency: 'VND', qty: 1 },
    { product_id: 'acc-usbc-hub', category: 'accessories', price: 590_000, currency: 'VND', qty: 2 },
  ]);
  sbw.flush();
  await settle();
  return network.sentEvents();
}

describe('events built by the helpers', () => {
  it('carry the contract fields, with v4 UUIDs and UTC millisecond timestamps', async () => {
    const events = await everyKindOfEvent();
    expect(events.map((e) => e.event_type)).toEqual(['page_view', 'impression', 'click', 'view', 'click', 'search', 'add_to_cart', 'checkout', 'purchase', 'purchase']);
    const anonymousIds = new Set(events.map((e) => e.anonymous_id));
    const sessionIds = new Set(events.map((e) => e.session_id));
    expect(anonymousIds.size).toBe(1);
    expect(sessionIds.size).toBe(1);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
    for (const event of events) {
      expect(Object.keys(event).filter((key) => !CONTRACT_FIELDS.includes(key))).toEqual([]);
      expect(event.event_id).toMatch(UUID_V4);
      expect(event.session_id).toMatch(UUID_V4);
      expect(event.ts).toMatch(UTC_MILLIS);
      expect(event.sent_at).toMatch(UTC_MILLIS);
      expect(event.page_url).toBe('https://shop.example/');
      expect(event).not.toHaveProperty('user_id');
      expect(event).not.toHaveProperty('geo');
    }
  });

  it('give each event type the ecom fields the contract requires', async () => {
    const events = await everyKindOfEvent();
    const byType = (type: string) => events.filter((e) => e.event_type == type);
    expect(byType('view')[0].ecom).toEqual({ product_id: 'lap-tp-x1c', category: 'laptops', price: 42_990_000, currency: 'VND' });
    expect(byType('add_to_cart')[0].ecom).toEqual({ product_id: 'lap-tp-x1c', category: 'laptops', price: 42_990_000, currency: 'VND', qty: 1 });
    expect(byType('search')[0].props).toEqual({ query: 'usb-c dock' });
    expect(byType('impression')[0].ecom).toEqual({ product_id: 'lap-tp-x1c', category: 'laptops' });
    expect(byType('click')[0].props).toEqual({ list: 'search', position: 1 });
    expect(byType('checkout')[0]).not.toHaveProperty('ecom');
    const purchases = byType('purchase');
    expect(purchases.map((e) => [e.ecom!.product_id, e.ecom!.qty, e.props!.order_id])).toEqual([
      ['lap-tp-x1c', 1, 'ORD-1001'],
      ['acc-usbc-hub', 2, 'ORD-1001'],
    ]);
  });

  it('round prices to 4 decimals and keep only contract ecom fields', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    const ecom = { product_id: 'mouse-1', price: 0.1 + 0.2, currency: 'USD', qty: 3, color: 'black' };
    sbw.addToCart(ecom as never);
    await settle();
    expect(network.sentEvents()[0].ecom).toEqual({ product_id: 'mouse-1', price: 0.3, currency: 'USD', qty: 3 });
  });

  it('keep props flat and small, and drop values that look like e-mail addresses', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${String(i).padStart(2, '0')}`, i]));
    sbw.click({
      nested: { a: 1 } as never,
      list: [1, 2] as never,
      big: 10n as never,
      missing: undefined as never,
      contact: 'ann.nguyen@example.vn',
      long: 'y'.repeat(600),
      ['k'.repeat(65)]: 'too long a key',
      kept: 'ok',
      ...many,
    });
    await settle();
    const props = network.sentEvents()[0].props!;
    expect(Object.keys(props)).toHaveLength(32);
    expect(props.kept).toBe('ok');
    expect(props.long).toBe('y'.repeat(512));
    for (const dropped of ['nested', 'list', 'big', 'missing', 'contact', 'k'.repeat(65)]) expect(props).not.toHaveProperty(dropped);
  });

  it('leave props out entirely when none are left', async () => {
    const network = fakeNetwork();
    const sbw = await startTracker({ batchSize: 1, autoPageViews: false });
    sbw.click({ nested: {} as never });
    await settle();
    expect(network.sentEvents()[0]).not.toHaveProperty('props');
  });

  it('record nothing before init', async () => {
    const network = fakeNetwork();
    const { createTracker } = await import('../../src/tracker');
    const sbw = createTracker();
    sbw.click();
    sbw.page();
    sbw.flush();
    await settle();
    expect(network.requests).toHaveLength(0);
  });

  it.skipIf(!existsSync(SCHEMA_PATH))('validate against the contract JSON Schema', async () => {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const events = await everyKindOfEvent();
    for (const event of events) {
      expect(validate(event) ? [] : validate.errors).toEqual([]);
    }
    // The schema does catch what the SDK must never send.
    const addToCart = events.find((e) => e.event_type == 'add_to_cart')!;
    expect(validate({ ...addToCart, ecom: { ...addToCart.ecom, price: -1 } })).toBe(false);
    expect(validate({ ...addToCart, email: 'a@b.vn' })).toBe(false);
    expect(validate({ ...addToCart, event_id: 'not-a-uuid' })).toBe(false);
    const impression = events.find((e) => e.event_type == 'impression')!;
    expect(validate({ ...impression, ecom: { category: 'laptops' } })).toBe(false);
    expect(validate({ ...impression, props: { list: 'search', position: 0 } })).toBe(false);
  });
});

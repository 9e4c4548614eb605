// The dashboard in headless Chromium against the warehouse
// scripts/test-dashboard.sh seeded (testkit's dashboard-fixture through the
// real ETL; its last day is yesterday, so the default "last 7 days" view
// holds all of it). The expected numbers are the fixture's.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  SCREENSHOT_DIR,
  kpiValue,
  launchChromium,
  openPage,
  outputErrors,
  startDashboard,
  waitForModule,
} from './support.mjs';

const MODULES = ['traffic', 'funnel', 'products', 'acquisition', 'reliability'];
const fixture = JSON.parse(readFileSync(process.env.SBW_FIXTURE_JSON, 'utf8'));

let dashboard;
let browser;
const firstPaint = {};

before(async () => {
  dashboard = await startDashboard();
  browser = await launchChromium();
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await dashboard?.stop();
  const times = Object.entries(firstPaint).map(([what, ms]) => `${what} ${ms} ms`);
  console.log(`first paint with data (reported, not asserted): ${times.join(', ')}`);
});

/**
 * Opens `module` and waits until it is drawn with data: by its tab, or with
 * `load`, by loading the page (traffic is the page's first module).
 */
async function openModule(page, module, { load = false } = {}) {
  const started = performance.now();
  if (load) await page.goto(dashboard.url);
  else await page.click(`.navbar a[data-value="${module}"]`);
  const drawn = await waitForModule(page, module);
  return { drawn, ms: Math.round(performance.now() - started) };
}

test('every module draws its charts with data and fills its tables', async () => {
  // The first page after the app started pays for loading R packages and the browser's caches.
  const cold = await openPage(browser, 'about:blank');
  firstPaint['page load, first after start'] = (await openModule(cold, 'traffic', { load: true })).ms;
  await cold.close();

  const page = await openPage(browser, 'about:blank');
  for (const module of MODULES) {
    const { drawn, ms } = await openModule(page, module, { load: module === 'traffic' });
    firstPaint[module === 'traffic' ? 'page load' : module] = ms;
    assert.equal(await page.evaluate(() => window.Plotly?.version), '2.11.1', 'the vendored plotly.js is loaded');
    assert.ok(drawn.charts.length >= 1, `${module}: charts`);
    for (const chart of drawn.charts) assert.ok(chart.points > 0, `${module}: ${chart.id} has points`);
    assert.match(drawn.freshness, /^Data refreshed .* \(ETL run \d+\), .* ago; complete up to .*within the \d+-minute freshness objective\.$/);
    assert.deepEqual(await outputErrors(page), [], `${module}: no output errors`);
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${module}.png`), fullPage: true });
  }
  assert.deepEqual(page.errors(), []);
  await page.close();

  // Traffic by its tab as well, from a page opened on another module (a
  // shared link): a module hidden until then is computed when it is shown.
  const linked = await openPage(browser, `${dashboard.url}/?_inputs_&module=%22reliability%22`);
  await waitForModule(linked, 'reliability');
  firstPaint.traffic = (await openModule(linked, 'traffic')).ms;
  assert.deepEqual(linked.errors(), []);
  await linked.close();
});

test('the numbers are the fixture\'s, and a filter changes them', async () => {
  const page = await openPage(browser, dashboard.url);
  const traffic = await waitForModule(page, 'traffic');
  assert.equal(traffic.kpis['Visits'], '8');
  assert.equal(traffic.kpis['Visitors'], '6');
  assert.equal(traffic.kpis['Bounce rate'], '12.5 %');
  assert.equal(traffic.kpis['Average visit duration'], '2 min 50 s');

  await page.selectOption('#controls-device', 'mobile');
  assert.equal(await kpiValue(page, 'traffic', 'Visits', '8'), '4');
  assert.equal(await kpiValue(page, 'traffic', 'Bounce rate'), '25.0 %');

  await page.click('.navbar a[data-value="products"]');
  await waitForModule(page, 'products');
  assert.equal(await kpiValue(page, 'products', 'Revenue'), '4,980,000 ₫');
  await page.selectOption('#controls-device', '*');
  assert.equal(await kpiValue(page, 'products', 'Revenue', '4,980,000 ₫'), '42,650,000 ₫');
  const products = await page.$$eval('#products-products tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
  );
  assert.deepEqual(products[0].slice(0, 3), ['lap-apple-mba13-m3', 'laptops', '4']);
  assert.equal(products[0].at(-1), '27,490,000 ₫');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#products-products_csv')]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.equal(csv.length, 6, 'a header and five products');
  assert.match(csv[0], /^"product_id","category","impressions"/);

  await page.click('.navbar a[data-value="funnel"]');
  await waitForModule(page, 'funnel');
  assert.equal(await kpiValue(page, 'funnel', 'Overall conversion'), '37.5 %');
  await page.selectOption('#controls-category', 'laptops');
  assert.equal(await kpiValue(page, 'funnel', 'Overall conversion', '37.5 %'), '33.3 %');
  assert.deepEqual(await outputErrors(page), []);
  assert.deepEqual(page.errors(), []);
  await page.close();
});

test('the URL holds the view, and opening it restores the view', async () => {
  const page = await openPage(browser, dashboard.url);
  await waitForModule(page, 'traffic');
  await page.selectOption('#controls-device', 'desktop');
  await page.click('.navbar a[data-value="acquisition"]');
  await waitForModule(page, 'acquisition');
  await page.selectOption('#acquisition-dimension', 'utm_campaign');
  await page.waitForFunction(() => decodeURIComponent(location.search).includes('"utm_campaign"'));
  const shared = page.url();
  assert.doesNotMatch(decodeURIComponent(shared), /rows_current|_state|view=/, 'only the view is in the URL');
  await page.close();

  const restored = await openPage(browser, shared);
  const acquisition = await waitForModule(restored, 'acquisition');
  assert.equal(await restored.inputValue('#controls-device'), 'desktop');
  assert.equal(await restored.inputValue('#acquisition-dimension'), 'utm_campaign');
  assert.equal(acquisition.kpis['Visits'], '3');
  const campaigns = await restored.$$eval('#acquisition-sources tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(campaigns, ['(none)', 'weekly-deals']);
  await restored.close();

  // A custom range: the fixture's last two days.
  const [, second, third] = fixture.days;
  const custom = await openPage(
    browser,
    `${dashboard.url}/?_inputs_&module=%22traffic%22&controls-preset=%22custom%22` +
      `&controls-dates=${encodeURIComponent(JSON.stringify([second, third]))}`,
  );
  const traffic = await waitForModule(custom, 'traffic');
  assert.equal(await custom.inputValue('#controls-preset'), 'custom');
  assert.equal(traffic.kpis['Visits'], '6');
  assert.match(await custom.textContent('#traffic-kpis'), /\+200\.0 %/);
  assert.deepEqual(await outputErrors(custom), []);
  await custom.close();
});

test('/healthz answers 200 when the warehouse answers', async () => {
  const response = await fetch(`${dashboard.url}/healthz`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'ok\n');
});

test('a warehouse that cannot be reached is a sentence on the page and a 503 at /healthz', async () => {
  const down = await startDashboard({ PGPORT: '1' });
  try {
    const response = await fetch(`${down.url}/healthz`);
    assert.equal(response.status, 503);
    assert.match(await response.text(), /^The warehouse cannot be reached: .*Connection refused/);
    const page = await openPage(browser, down.url);
    const notice = page.locator('.tab-pane.active[data-value="traffic"] .sbw-notice');
    await notice.filter({ hasText: 'The warehouse cannot be reached' }).waitFor();
    assert.match(await notice.textContent(), /^\s*The warehouse cannot be reached: could not connect .*Connection refused/);
    assert.deepEqual(await outputErrors(page), []);
    await page.close();
  } finally {
    await down.stop();
  }
});

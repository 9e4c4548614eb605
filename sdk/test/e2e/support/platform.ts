// One test's world: the ingest server on a fresh raw store, the recording proxy
// in front of it, the demo shop pointing at the proxy, and a browser context.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { type IngestOptions, type IngestServer, startIngest } from './ingest';
import { CHROMIUM } from './paths';
import { type Proxy, startProxy } from './proxy';
import { type StoredEvent, storedEvents } from './raw-store';
import { type ShopConfig, type ShopServer, startShop } from './shop-server';

export const SITE_KEY = 'demo-shop';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface Platform {
  shop: ShopServer;
  proxy: Proxy;
  ingest: IngestServer;
  rawDir: string;
  context: BrowserContext;
  page: Page;
  /** Opens a shop page (path like "/product.html?id=…") and waits until the shop script ran. */
  open(path: string, page?: Page): Promise<void>;
  stored(): StoredEvent[];
  /** Waits until the raw store holds `count` events (more is fine: the caller checks). */
  waitForStored(count: number): Promise<StoredEvent[]>;
  /** Events waiting in the SDK's IndexedDB queue of the page. */
  queuedInBrowser(page?: Page): Promise<number>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  ingest?: Partial<IngestOptions>;
  shop?: Partial<ShopConfig>;
  /** Origins the server allows; the shop's own origin when not given. */
  allowedOrigins?: (shopOrigin: string) => string[];
}

/** Polls `check` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result) return result as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startPlatform(browser: Browser, options: PlatformOptions = {}): Promise<Platform> {
  const workDir = mkdtempSync(join(tmpdir(), 'sbw-sdk-e2e-'));
  const rawDir = join(workDir, 'raw');
  const shop = await startShop({ endpoint: 'http://unset.invalid', siteKey: SITE_KEY, ...options.shop });
  const ingest = await startIngest({
    rawDir,
    siteKeys: [SITE_KEY],
    allowedOrigins: options.allowedOrigins ? options.allowedOrigins(shop.origin) : [shop.origin],
    acceptUnverifiedJwt: true,
    ...options.ingest,
  });
  const proxy = await startProxy(ingest.url);
  shop.config.endpoint = proxy.url;
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));

  const platform: Platform = {
    shop,
    proxy,
    ingest,
    rawDir,
    context,
    page,
    async open(path, target = page) {
      await target.goto(shop.origin + path);
      await target.waitForSelector('html[data-ready="true"]');
      if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    },
    stored: () => storedEvents(rawDir),
    waitForStored: (count) =>
      eventually(`${count} events in the raw store`, () => {
        const events = storedEvents(rawDir);
        return events.length >= count ? events : undefined;
      }),
    queuedInBrowser: (target = page) =>
      target.evaluate(
        () =>
          new Promise<number>((resolve, reject) => {
            const open = indexedDB.open('sbw', 1);
            open.onupgradeneeded = () => open.result.createObjectStore('queue', { keyPath: 'e.event_id' });
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const count = open.result.transaction('queue').objectStore('queue').count();
              count.onsuccess = () => (open.result.close(), resolve(count.result));
            };
          }),
      ),
    async stop() {
      await context.close();
      await proxy.close();
      await ingest.stop();
      await shop.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  return platform;
}

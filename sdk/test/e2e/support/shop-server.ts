// Serves the demo shop as static files, with /config.js made from `config` and
// the SDK bundle from sdk/dist (the build under test).
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { SDK_BUNDLE, SHOP_DIR } from './paths';

export interface ShopConfig {
  endpoint: string;
  siteKey?: string;
  batchSize?: number;
  flushInterval?: number;
}

export interface ShopServer {
  origin: string;
  /** What /config.js hands the shop; change it between page loads. */
  config: ShopConfig;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export async function startShop(config: ShopConfig): Promise<ShopServer> {
  const shop: Partial<ShopServer> = { config };
  const server = http.createServer(async (request, response) => {
    const path = new URL(request.url!, 'http://shop').pathname;
    if (path == '/config.js') {
      response.writeHead(200, { 'content-type': TYPES['.js'], 'cache-control': 'no-store' });
      response.end(`window.SBW_CONFIG = ${JSON.stringify(shop.config)};\n`);
      return;
    }
    const file = path == '/js/sbw.min.js' ? SDK_BUNDLE : join(SHOP_DIR, normalize(path == '/' ? '/index.html' : path));
    if (!file.startsWith(SHOP_DIR) && file != SDK_BUNDLE) {
      response.writeHead(403);
      response.end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      response.end(body);
    } catch {
      response.writeHead(404);
      response.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  shop.origin = `http://127.0.0.1:${port}`;
  shop.close = () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return shop as ShopServer;
}

// Reads the raw store the local ingest server writes: events/year=…/hour=…/events-<uuid>.ndjson.gz.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** One stored event line (the fields the tests look at). */
export interface StoredEvent {
  event_id: string;
  event_type: string;
  session_id: string;
  anonymous_id_hash: string;
  user_id_hash: string | null;
  page_url: string;
  referrer: string | null;
  client_ts: string;
  ecom: { product_id?: string; category?: string; currency?: string; price?: string | number; qty?: number } | null;
  props: Record<string, unknown>;
  [field: string]: unknown;
}

function objectFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? objectFiles(join(dir, entry.name)) : entry.name.endsWith('.ndjson.gz') ? [join(dir, entry.name)] : [],
  );
}

/** The decompressed text of every events object. */
export function rawStoreText(rawDir: string): string {
  return objectFiles(join(rawDir, 'events'))
    .map((file) => gunzipSync(readFileSync(file)).toString('utf8'))
    .join('');
}

/** Every stored event, in client time order. */
export function storedEvents(rawDir: string): StoredEvent[] {
  return rawStoreText(rawDir)
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as StoredEvent)
    .sort((a, b) => (a.client_ts < b.client_ts ? -1 : a.client_ts > b.client_ts ? 1 : 0));
}

/** Event ids stored more than once. */
export function storedTwice(events: StoredEvent[]): string[] {
  const seen = new Map<string, number>();
  for (const event of events) seen.set(event.event_id, (seen.get(event.event_id) ?? 0) + 1);
  return [...seen].filter(([, count]) => count > 1).map(([id]) => id);
}

/** The event types of the SBW event contract. */
export type EventType = 'page_view' | 'view' | 'impression' | 'click' | 'search' | 'add_to_cart' | 'checkout' | 'purchase';

/** `props` are flat: string, number, boolean or null values only. */
export type PropValue = string | number | boolean | null;
export type Props = Record<string, PropValue>;

/** E-commerce facts of an event. `price` is a plain number (at most 4 decimals are kept). */
export interface Ecom {
  product_id?: string;
  category?: string;
  /** ISO 4217 code, e.g. "VND" or "USD". */
  currency?: string;
  price?: number;
  qty?: number;
}

/** What `track` takes besides the event type. */
export interface EventFields {
  ecom?: Ecom;
  props?: Props;
}

/** One event as sent to `POST /v1/events` (the SDK never sets `user_id`, `device` or `geo`). */
export interface SbwEvent {
  event_id: string;
  ts: string;
  sent_at?: string;
  event_type: EventType;
  session_id: string;
  anonymous_id: string;
  page_url: string;
  referrer: string | null;
  ecom?: Ecom;
  props?: Props;
}

/**
 * A queued event. `u` is 1 when it was recorded while the visitor was signed in;
 * `n` orders the queue (milliseconds * 1000 + a counter); `t` is the tab that recorded it.
 */
export interface QueuedEvent {
  e: SbwEvent;
  u: 0 | 1;
  n: number;
  t?: string;
}

export interface Options {
  /** Base URL of the SBW API, e.g. "https://d111111abcdef8.cloudfront.net". */
  endpoint: string;
  /** Publishable site key; sent as the `site_key` query parameter. */
  siteKey?: string;
  /** Returns the Cognito ID token of the signed-in visitor (or null); used after `identify()`. */
  getIdToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Send as soon as this many events are waiting (default 10). */
  batchSize?: number;
  /** Send waiting events at the latest this many milliseconds after the first one (default 5000). */
  flushInterval?: number;
  /** Most events kept in the offline queue; the oldest are dropped beyond it (default 1000). */
  maxQueueSize?: number;
  /** Record a page view on init and on every history navigation (default true). */
  autoPageViews?: boolean;
  /** Treat a browser's Global Privacy Control signal as an opt-out (default false). */
  respectGlobalPrivacyControl?: boolean;
}

/**
 * The tracker: events recorded, queued in IndexedDB, sent in batches by fetch (or by
 * beacon as the page goes away), handed off between pages and tabs, and retried.
 * Over 400 lines on purpose: `createTracker` is one closure whose state (the queue, what
 * is in flight, the timers) every function in it shares; a closure also minifies
 * smallest, and the bundle has a 4 KiB budget.
 */
import { KEYS, anonymousId, load, save, sessionId, tabId, uuid } from './identity';
import { openQueue, type PersistentQueue } from './queue';
import type { Ecom, EventFields, EventType, Options, Props, QueuedEvent, SbwEvent } from './types';
import { cleanUrl } from './url';

/** Contract limit: events per request. */
export const MAX_EVENTS_PER_REQUEST = 500;
/** Body budget of one fetch (the contract allows 512 KiB). */
export const MAX_FETCH_BYTES = 400_000;
/**
 * Ids of sent events (acknowledged by the server or handed to the browser) remembered in
 * localStorage, newest kept. Not forgotten at the next load: the dying page's IndexedDB
 * writes can commit after that load cleaned up, and a later load must still know not to
 * send those events again.
 */
const MAX_SENT_IDS = 2000;
/** Body budget of one sendBeacon / keepalive fetch (browsers allow 64 KiB in flight). */
export const MAX_BEACON_BYTES = 60_000;
/** Longest wait between two retries. */
export const MAX_RETRY_DELAY_MS = 5 * 60_000;
/**
 * Age after which a page load sends events another tab left in IndexedDB. Younger
 * ones may still be on their way from that tab, which is probably open.
 */
export const OTHER_TAB_GRACE_MS = 2 * 60_000;
/**
 * Wait before a page load sends events an earlier page left in IndexedDB and has not
 * (yet) noted as sent. Chrome can run the previous page's pagehide in another
 * process at the same time as this page starts, and that page's localStorage note
 * reaches this one a moment later: sent at once, its beacon's events would go twice.
 */
export const REPLAY_DELAY_MS = 2000;

const ECOM_FIELDS = ['product_id', 'category', 'currency', 'price', 'qty'] as const;
const LOOKS_LIKE_EMAIL = /\S@\S+\.\S/;

/** Only the contract's ecom fields; prices rounded to 4 decimals (0.1 + 0.2 is 0.3). */
function cleanEcom(ecom: Ecom): Ecom {
  const clean: Record<string, unknown> = {};
  for (const field of ECOM_FIELDS) {
    const value = ecom[field];
    if (value != null) clean[field] = field == 'price' ? Math.round(+value * 1e4) / 1e4 : value;
  }
  return clean;
}

/** At most 32 flat entries, strings cut to 512 characters, nothing that looks like an e-mail address. */
function cleanProps(props: Props | undefined): Props | undefined {
  let clean: Props | undefined;
  let count = 0;
  for (const key in props) {
    const value = props[key];
    const kind = typeof value;
    if (
      count < 32 &&
      key.length <= 64 &&
      (value === null || kind == 'string' || kind == 'number' || kind == 'boolean') &&
      !LOOKS_LIKE_EMAIL.test(value as string)
    ) {
      (clean ||= {})[key] = kind == 'string' ? (value as string).slice(0, 512) : value;
      count++;
    }
  }
  return clean;
}

const byteLength = (text: string) => new TextEncoder().encode(text).length;

export type Tracker = ReturnType<typeof createTracker>;

/** One tracker per page; `index.ts` exports a ready-made one. */
export function createTracker() {
  let options: Options | undefined;
  let store: PersistentQueue;
  /** Waiting events, oldest first; the first `sending.length` are in the request in flight. */
  let queue: QueuedEvent[] = [];
  let sending: QueuedEvent[] | null = null;
  let sendingKeepalive = false;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set while earlier pages' events wait to be replayed; sending waits too, to keep their order. */
  let replayTimer: ReturnType<typeof setTimeout> | undefined;
  let failedAttempts = 0;
  /** Orders queued events across page loads: milliseconds * 1000, then a counter. */
  let sequence = 0;
  let tab = '';
  let pageUrl: string | null = null;
  let pageReferrer: string | null = null;
  /** Products recorded as shown during this page view: `list + NUL + product_id`. */
  let shown = new Set<string>();
  let listeners: AbortController;
  let restoreHistory: () => void;

  const optedOut = () =>
    load(KEYS.optedOut) == '1' ||
    !!(options?.respectGlobalPrivacyControl && (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl);

  const sentIds = (): string[] => {
    try {
      const ids = JSON.parse(load(KEYS.sent)!);
      return Array.isArray(ids) ? ids : [];
    } catch {
      return [];
    }
  };

  /** Whether calls record events now: after init, unless opted out. */
  const recording = () => !!options && !optedOut();

  function record(type: EventType, fields?: EventFields): void {
    if (recording()) enqueue([queued(type, fields)]);
  }

  function queued(type: EventType, fields: EventFields = {}): QueuedEvent {
    const now = Date.now();
    const event: SbwEvent = {
      event_id: uuid(),
      ts: new Date(now).toISOString(),
      event_type: type,
      session_id: sessionId(now),
      anonymous_id: anonymousId(),
      page_url: cleanUrl(location.href)!,
      referrer: pageReferrer,
    };
    if (fields.ecom) event.ecom = cleanEcom(fields.ecom);
    const props = cleanProps(fields.props);
    if (props) event.props = props;
    return { e: event, u: load(KEYS.signedIn) ? 1 : 0, n: (sequence = Math.max(sequence + 1, now * 1000)), t: tab };
  }

  /**
   * One `impression` per product of `items` (in the order shown, `props.position` from 1)
   * not yet recorded in `list` during this page view; enqueued together, so they go out
   * in one request.
   */
  function impressions(list: string, items: Ecom[], props?: Props): void {
    if (!recording()) return;
    const events: QueuedEvent[] = [];
    items.forEach((ecom, index) => {
      // NUL cannot occur in a contract string, so list and product id cannot run into each other.
      const key = list + '\0' + ecom.product_id;
      if (ecom.product_id && !shown.has(key)) {
        shown.add(key);
        events.push(queued('impression', { ecom, props: { ...props, list, position: index + 1 } }));
      }
    });
    if (events.length) enqueue(events);
  }

  /** Adds events behind the request in flight; drops the oldest waiting ones beyond maxQueueSize. */
  function enqueue(items: QueuedEvent[], persist = true): void {
    const inFlight = sending ? sending.length : 0;
    if (persist) store.put(items);
    queue.push(...items);
    const excess = queue.length - Math.max(options!.maxQueueSize!, inFlight);
    if (excess > 0) store.remove(queue.splice(inFlight, excess).map((item) => item.e.event_id));
    schedule();
  }

  function schedule(): void {
    if (queue.length - (sending ? sending.length : 0) >= options!.batchSize!) flush();
    else if (queue.length && !flushTimer) flushTimer = setTimeout(flush, options!.flushInterval);
  }

  /** The next request: waiting events of one route (anonymous or signed-in), within the byte budget. */
  function nextBatch(from: QueuedEvent[], maxBytes: number): [QueuedEvent[], string] {
    const batch: QueuedEvent[] = [];
    let bytes = 2;
    for (const item of from) {
      const size = byteLength(JSON.stringify(item.e)) + 40;
      if (item.u != from[0].u || batch.length == MAX_EVENTS_PER_REQUEST || (batch.length && bytes + size > maxBytes)) break;
      batch.push(item);
      bytes += size;
    }
    const sentAt = new Date().toISOString();
    return [batch, JSON.stringify(batch.map((item) => ({ ...item.e, sent_at: sentAt })))];
  }

  function routeOf(token: string | null | undefined): string {
    const { endpoint, siteKey } = options!;
    return (
      endpoint.replace(/\/+$/, '') +
      (token ? '/v1/events/signed-in' : '/v1/events') +
      (siteKey ? '?site_key=' + encodeURIComponent(siteKey) : '')
    );
  }

  /** The ID token for a signed-in batch; null (anonymous route) when there is none. */
  function tokenFor(batch: QueuedEvent[]): Promise<string | null | undefined> {
    return new Promise<string | null | undefined>((resolve) =>
      resolve(batch[0].u && options!.getIdToken ? options!.getIdToken() : null),
    ).catch(() => null);
  }

  function post(body: string, token: string | null | undefined, keepalive: boolean): Promise<Response> {
    const headers: Record<string, string> = { 'Content-Type': 'text/plain;charset=UTF-8' };
    if (token) headers.Authorization = 'Bearer ' + token;
    return fetch(routeOf(token), { method: 'POST', body, headers, keepalive, credentials: 'omit' });
  }

  /**
   * The server has the events (or refused them for good), or the browser delivers them
   * after the page is gone: forget them. Their ids are noted synchronously in localStorage
   * first: the page can die before IndexedDB commits the delete, and a later load must not
   * send them again.
   */
  function acknowledge(batch: QueuedEvent[]): void {
    const ids = batch.map((item) => item.e.event_id);
    save(KEYS.sent, JSON.stringify([...new Set([...sentIds(), ...ids])].slice(-MAX_SENT_IDS)));
    queue = queue.filter((item) => !batch.includes(item));
    store.remove(ids);
  }

  /** Sends the waiting events with fetch, one request at a time, retrying with backoff. */
  function flush(): void {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!options || sending || retryTimer || replayTimer || !queue.length || navigator.onLine === false) return;
    const [batch, body] = nextBatch(queue, MAX_FETCH_BYTES);
    // Everything waiting now is due: what did not fit in this request goes right after it.
    const backlog = batch.length < queue.length;
    sending = batch;
    sendingKeepalive = body.length < MAX_BEACON_BYTES;
    tokenFor(batch)
      .then((token) => post(body, token, sendingKeepalive))
      .then(
        (response) => {
          const status = response.status;
          if (status == 429 || status >= 500) return retryLater(response.headers.get('Retry-After'));
          failedAttempts = 0;
          acknowledge(batch);
          response.json().then(
            (result) => (result.rejected || result.error) && console.warn('[sbw] events refused', status, result),
            () => status >= 400 && console.warn('[sbw] events refused', status),
          );
        },
        () => retryLater(null),
      )
      .then(() => {
        sending = null;
        if (!retryTimer && options) backlog ? flush() : schedule();
      });
  }

  /** Exponential backoff with jitter: 1-2 s, 2-4 s, ... up to 32-64 s; longer if the server says so. */
  function retryLater(retryAfterSeconds: string | null): void {
    const backoff = 2000 * 2 ** Math.min(failedAttempts++, 5);
    const delay = Math.max(backoff / 2 + (Math.random() * backoff) / 2, +retryAfterSeconds! * 1000 || 0);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      flush();
    }, Math.min(delay, MAX_RETRY_DELAY_MS));
  }

  /**
   * The page is going away: hand every waiting event to the browser, which
   * delivers it after the page is gone (sendBeacon; keepalive fetch for the
   * signed-in route, which needs a header), and acknowledged, so the next page
   * load does not send it again from IndexedDB. Offline, everything stays queued
   * for the next load.
   */
  function leave(): void {
    if (!options || navigator.onLine === false) return;
    let waiting = queue.slice(sending ? sending.length : 0);
    if (sending && sendingKeepalive) acknowledge(sending);
    while (waiting.length) {
      const [batch, body] = nextBatch(waiting, MAX_BEACON_BYTES);
      waiting = waiting.slice(batch.length);
      if (!batch[0].u) {
        if (navigator.sendBeacon?.(routeOf(null), body)) acknowledge(batch);
      } else {
        // Sent only if the token is at hand before the page is gone; otherwise replayed on the next load.
        tokenFor(batch).then((token) => {
          post(body, token, true).catch(() => {});
          acknowledge(batch);
        });
      }
    }
  }

  /**
   * Events earlier pages left in IndexedDB and did not note as sent: sent after REPLAY_DELAY_MS,
   * ahead of this page's own. Those of this tab's earlier pages; another tab's only when
   * old (that tab may be open and about to send them itself).
   */
  function replayStoredEvents(): void {
    store.all().then((stored) => {
      const notSent = () => {
        const sent = new Set(sentIds());
        const known = new Set(queue.map((item) => item.e.event_id));
        return stored.filter(
          (item) =>
            !sent.has(item.e.event_id) &&
            !known.has(item.e.event_id) &&
            (item.t == tab || Date.now() - (item.n / 1000 || 0) > OTHER_TAB_GRACE_MS),
        );
      };
      if (!options) return;
      store.remove(sentIds());
      if (!notSent().length) return;
      replayTimer = setTimeout(() => {
        replayTimer = undefined;
        if (!recording()) return;
        const replay = notSent().sort((a, b) => a.n - b.n);
        const inFlight = sending ? sending.length : 0;
        queue.splice(inFlight, 0, ...replay);
        enqueue([], false);
        flush();
      }, REPLAY_DELAY_MS);
    });
  }

  function page(props?: Props): void {
    const url = cleanUrl(location.href);
    pageReferrer = pageUrl || cleanUrl(document.referrer);
    pageUrl = url;
    shown = new Set();
    record('page_view', { props });
  }

  function onNavigation(): void {
    if (cleanUrl(location.href) != pageUrl) page();
  }

  function patchHistory(): () => void {
    const { pushState, replaceState } = history;
    history.pushState = function (...args) {
      pushState.apply(this, args);
      onNavigation();
    };
    history.replaceState = function (...args) {
      replaceState.apply(this, args);
      onNavigation();
    };
    return () => Object.assign(history, { pushState, replaceState });
  }

  function forgetQueuedEvents(): void {
    clearTimeout(replayTimer);
    replayTimer = undefined;
    queue = [];
    sending = null;
    store.clear();
    save(KEYS.sent, null);
  }

  return {
    /** Starts tracking; the first call wins. */
    init(config: Options): void {
      if (options) return;
      // Options left undefined (e.g. read from an optional config) get their defaults.
      options = {
        ...config,
        batchSize: config.batchSize || 10,
        flushInterval: config.flushInterval ?? 5000,
        maxQueueSize: config.maxQueueSize || 1000,
        autoPageViews: config.autoPageViews != false,
      };
      store = openQueue();
      tab = tabId();
      listeners = new AbortController();
      const on = (target: EventTarget, type: string, handler: (event: Event) => void) =>
        target.addEventListener(type, handler, { signal: listeners.signal });
      on(window, 'pagehide', leave);
      on(document, 'visibilitychange', () => document.visibilityState == 'hidden' && leave());
      on(window, 'online', () => {
        clearTimeout(retryTimer);
        retryTimer = undefined;
        failedAttempts = 0;
        flush();
      });
      // Before the first event of this page is stored, so only earlier pages' events are replayed.
      replayStoredEvents();
      pageReferrer = cleanUrl(document.referrer);
      restoreHistory = () => {};
      if (options.autoPageViews) {
        on(window, 'popstate', onNavigation);
        // Back/Forward to a page kept in the back/forward cache: the page is shown again.
        on(window, 'pageshow', (event) => {
          if ((event as PageTransitionEvent).persisted) {
            pageUrl = null;
            page();
          }
        });
        restoreHistory = patchHistory();
        page();
      }
    },
    /** Records a page view of the current URL. */
    page,
    /** Records any event of the contract. */
    track: record,
    viewProduct: (ecom: Ecom, props?: Props) => record('view', { ecom, props }),
    click: (props?: Props) => record('click', { props }),
    impressions,
    /** A click on a product shown in `list` at `position` (from 1): a `click` with `ecom`. */
    clickProduct: (ecom: Ecom, list: string, position: number, props?: Props) =>
      record('click', { ecom, props: { ...props, list, position } }),
    search: (query: string, props?: Props) => record('search', { props: { ...props, query } }),
    addToCart: (ecom: Ecom, props?: Props) => record('add_to_cart', { ecom: { qty: 1, ...ecom }, props }),
    checkout: (props?: Props, ecom?: Ecom) => record('checkout', { ecom, props }),
    /** One `purchase` event per line item, all carrying `props.order_id` (hashed by the server). */
    purchase(orderId: string, items: Ecom[], props?: Props): void {
      for (const ecom of items) record('purchase', { ecom: { qty: 1, ...ecom }, props: { ...props, order_id: orderId } });
    },
    /** The visitor signed in: later events go to the signed-in route with `getIdToken()`. */
    identify(): void {
      save(KEYS.signedIn, '1');
    },
    /** The visitor signed out: new anonymous id and session, anonymous route again. */
    reset(): void {
      save(KEYS.signedIn, null);
      save(KEYS.anonymousId, null);
      save(KEYS.session, null);
    },
    /** Stops collection in this browser and forgets the ids and every unsent event. */
    optOut(): void {
      save(KEYS.optedOut, '1');
      save(KEYS.anonymousId, null);
      save(KEYS.session, null);
      if (options) forgetQueuedEvents();
    },
    optIn(): void {
      save(KEYS.optedOut, null);
    },
    isOptedOut: optedOut,
    /** Sends waiting events now (fetch, with retries). */
    flush,
    /** Stops timers and listeners and restores history methods; events stay queued in IndexedDB. */
    shutdown(): void {
      if (!options) return;
      clearTimeout(flushTimer);
      clearTimeout(retryTimer);
      clearTimeout(replayTimer);
      flushTimer = retryTimer = replayTimer = undefined;
      listeners.abort();
      restoreHistory();
      options = undefined;
      queue = [];
      sending = null;
    },
  };
}

import type { QueuedEvent } from './types';

/**
 * The persistent side of the event queue: one IndexedDB object store keyed by
 * event id. Every call is chained on the opened database, so transactions are
 * created (and, overlapping one store, run) in call order. Without IndexedDB
 * every call does nothing and the queue lives in memory only.
 */
export interface PersistentQueue {
  put(items: QueuedEvent[]): Promise<unknown>;
  remove(eventIds: string[]): Promise<unknown>;
  all(): Promise<QueuedEvent[]>;
  clear(): Promise<unknown>;
}

export const DB_NAME = 'sbw';
export const STORE = 'queue';

export function openQueue(): PersistentQueue {
  const ready = new Promise<IDBDatabase | null>((resolve) => {
    try {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'e.event_id' });
      request.onsuccess = () => resolve(request.result);
      request.onerror = request.onblocked = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
  const run = (mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest | void): Promise<any> =>
    ready.then(
      (db) =>
        new Promise((resolve) => {
          try {
            const tx = db!.transaction(STORE, mode);
            const request = work(tx.objectStore(STORE));
            tx.oncomplete = () => resolve(request && request.result);
            tx.onerror = tx.onabort = () => resolve(undefined);
          } catch {
            resolve(undefined);
          }
        }),
    );
  return {
    put: (items) => run('readwrite', (store) => items.forEach((item) => store.put(item))),
    remove: (ids) => run('readwrite', (store) => ids.forEach((id) => store.delete(id))),
    all: () => run('readonly', (store) => store.getAll()).then((items) => items || []),
    clear: () => run('readwrite', (store) => store.clear()),
  };
}

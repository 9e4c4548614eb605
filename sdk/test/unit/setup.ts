import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, vi } from 'vitest';
import { shutdownTrackers } from './harness';

beforeEach(() => {
  // Every test starts from a browser that never saw the SDK.
  globalThis.indexedDB = new IDBFactory();
  localStorage.clear();
  sessionStorage.clear();
  history.replaceState(null, '', 'https://shop.example/');
});

afterEach(() => {
  shutdownTrackers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

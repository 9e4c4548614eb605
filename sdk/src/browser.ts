// Entry of the IIFE bundle: `window.sbw` is the page's tracker.
import { createTracker } from './tracker';

(window as unknown as { sbw: unknown }).sbw = createTracker();

import { createTracker } from './tracker';

export type { Ecom, EventFields, EventType, Options, PropValue, Props, SbwEvent } from './types';
export { createTracker, type Tracker } from './tracker';
export { cleanUrl } from './url';

/** The page's tracker. */
const sbw = createTracker();
export default sbw;
export const {
  init,
  page,
  track,
  viewProduct,
  impressions,
  click,
  clickProduct,
  search,
  addToCart,
  checkout,
  purchase,
  identify,
  reset,
  optOut,
  optIn,
  isOptedOut,
  flush,
  shutdown,
} = sbw;

// Where the demo shop sends its events. The local platform (`sbwctl dev up --demo`)
// and the SDK's browser tests serve their own /config.js in place of this file.
window.SBW_CONFIG = {
  endpoint: 'http://127.0.0.1:8787',
  siteKey: 'demo-shop',
};

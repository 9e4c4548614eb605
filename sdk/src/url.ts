/** Longest `page_url` / `referrer` the contract accepts. */
export const MAX_URL_CHARS = 2048;

/**
 * The URL as the contract wants it: absolute http(s), without user info, the
 * fragment and every query parameter except `utm_*`. Null for anything else.
 */
export function cleanUrl(href: string | null | undefined): string | null {
  try {
    const url = new URL(href!);
    if (!/^https?:$/.test(url.protocol)) return null;
    const kept = new URLSearchParams();
    url.searchParams.forEach((value, key) => key.startsWith('utm_') && kept.append(key, value));
    url.search = '' + kept;
    url.hash = url.username = url.password = '';
    return (url.href.length > MAX_URL_CHARS ? url.origin + url.pathname : url.href).slice(0, MAX_URL_CHARS);
  } catch {
    return null;
  }
}

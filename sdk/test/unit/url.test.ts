import { describe, expect, it } from 'vitest';
import { MAX_URL_CHARS, cleanUrl } from '../../src/url';

describe('cleanUrl', () => {
  it('keeps utm_* parameters and drops every other one', () => {
    expect(cleanUrl('https://shop.example/p/1?utm_source=fb&email=a%40b.vn&q=x&utm_campaign=sale')).toBe(
      'https://shop.example/p/1?utm_source=fb&utm_campaign=sale',
    );
  });

  it('drops the query entirely when no utm_* parameter is present', () => {
    expect(cleanUrl('https://shop.example/cart?token=abc&phone=0901234567')).toBe('https://shop.example/cart');
  });

  it('does not keep parameters that merely contain utm', () => {
    expect(cleanUrl('https://shop.example/?xutm_source=a&UTM_SOURCE=b')).toBe('https://shop.example/');
  });

  it('drops the fragment and user info', () => {
    expect(cleanUrl('https://ann:secret@shop.example/checkout#step-2')).toBe('https://shop.example/checkout');
  });

  it('refuses what is not an absolute http(s) URL', () => {
    expect(cleanUrl('')).toBeNull();
    expect(cleanUrl(null)).toBeNull();
    expect(cleanUrl(undefined)).toBeNull();
    expect(cleanUrl('/relative/path')).toBeNull();
    expect(cleanUrl('file:///etc/passwd')).toBeNull();
    expect(cleanUrl('javascript:alert(1)')).toBeNull();
  });

  it('keeps plain http URLs and ports', () => {
    expect(cleanUrl('http://127.0.0.1:8080/p?utm_medium=email')).toBe('http://127.0.0.1:8080/p?utm_medium=email');
  });

  it('never returns more than the contract allows', () => {
    const longUtm = 'https://shop.example/p?utm_term=' + 'x'.repeat(3000);
    expect(cleanUrl(longUtm)).toBe('https://shop.example/p');
    const longPath = 'https://shop.example/' + 'a'.repeat(3000);
    expect(cleanUrl(longPath)!.length).toBe(MAX_URL_CHARS);
  });
});

//! Personal data handling: identifiers are HMAC-SHA256 hashed with a
//! per-deployment key, known PII is dropped from `props`, URLs lose the parts
//! that carry personal data (query strings other than `utm_*`, fragments, user info).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest accepted hashing key (bytes).
pub const MIN_HASH_KEY_BYTES: usize = 32;

/// HMAC-SHA256 keyed with the deployment's secret; the same input always
/// hashes to the same value inside one deployment, so joins keep working.
#[derive(Clone)]
pub struct IdentifierHasher {
    mac: Hmac<Sha256>,
}

#[derive(Debug, thiserror::Error)]
#[error("the identifier hashing key must be at least {MIN_HASH_KEY_BYTES} bytes, got {0}")]
pub struct WeakHashKey(pub usize);

impl IdentifierHasher {
    pub fn new(key: &[u8]) -> Result<Self, WeakHashKey> {
        if key.len() < MIN_HASH_KEY_BYTES {
            return Err(WeakHashKey(key.len()));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        Ok(IdentifierHasher { mac })
    }

    /// Hex HMAC of `value`, with a `kind` label so equal strings of different
    /// kinds (a user id and an order id) hash apart.
    pub fn hash(&self, kind: &str, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        // Into a buffer, then one copy: `hex::encode` pushes char by char.
        let mut digits = [0; 64];
        hex::encode_to_slice(mac.finalize().into_bytes(), &mut digits)
            .expect("32 bytes make 64 hex digits");
        String::from_utf8_lossy(&digits).into_owned()
    }
}

impl std::fmt::Debug for IdentifierHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentifierHasher(<key hidden>)")
    }
}

/// How many identifiers a [`BatchHasher`] remembers hashed.
const REMEMBERED_HASHES: usize = 4;

/// An [`IdentifierHasher`] for the events of one request. They come from one
/// browser and share their anonymous id, user id and often an order id: each
/// of those is hashed once per batch rather than once per event.
pub struct BatchHasher<'h> {
    hasher: &'h IdentifierHasher,
    /// (kind, value, hash), oldest first.
    remembered: Vec<(String, String, String)>,
}

impl<'h> BatchHasher<'h> {
    pub fn new(hasher: &'h IdentifierHasher) -> Self {
        BatchHasher {
            hasher,
            remembered: Vec::with_capacity(REMEMBERED_HASHES),
        }
    }

    /// The same as [`IdentifierHasher::hash`].
    pub fn hash(&mut self, kind: &str, value: &str) -> String {
        if let Some((_, _, hash)) = self
            .remembered
            .iter()
            .find(|(k, v, _)| k == kind && v == value)
        {
            return hash.clone();
        }
        let hash = self.hasher.hash(kind, value);
        if self.remembered.len() == REMEMBERED_HASHES {
            self.remembered.remove(0);
        }
        self.remembered
            .push((kind.to_owned(), value.to_owned(), hash.clone()));
        hash
    }
}

/// `props` keys that name personal data; compared after [`normalize_key`].
const PII_KEYS: &[&str] = &[
    "email",
    "emailaddress",
    "mail",
    "phone",
    "phonenumber",
    "tel",
    "telephone",
    "mobile",
    "name",
    "firstname",
    "lastname",
    "fullname",
    "surname",
    "username",
    "address",
    "streetaddress",
    "street",
    "postcode",
    "zip",
    "zipcode",
    "ip",
    "ipaddress",
    "password",
    "passwd",
    "ssn",
    "creditcard",
    "cardnumber",
    "ccnumber",
    "cvv",
    "dob",
    "dateofbirth",
    "birthdate",
    "birthday",
    "nationalid",
    "passport",
];

/// `props` keys that are identifiers: kept, but hashed like `user_id`.
const IDENTIFIER_KEYS: &[&str] = &["orderid", "customerid", "cartid", "userid", "accountid"];

/// Room for the longest listed key, normalized.
const NORMALIZED_KEY_BYTES: usize = 24;

/// `key` lower-cased without `_`, `-`, `.` and spaces (`E-Mail` and `e_mail`
/// give `email`), written into `buffer`; `None` when it cannot be a listed
/// key: a character outside ASCII, or longer than the buffer. Called for
/// every `props` key of every event, so it does not allocate.
fn normalize_key<'b>(key: &str, buffer: &'b mut [u8; NORMALIZED_KEY_BYTES]) -> Option<&'b str> {
    let mut len = 0;
    for c in key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
    {
        if !c.is_ascii() || len == buffer.len() {
            return None;
        }
        buffer[len] = c as u8;
        len += 1;
    }
    std::str::from_utf8(&buffer[..len]).ok()
}

/// What to do with one `props` entry.
#[derive(Debug, PartialEq, Eq)]
pub enum PropHandling {
    Keep,
    Hash,
    Drop,
}

pub fn prop_handling(key: &str, value: &serde_json::Value) -> PropHandling {
    let mut buffer = [0; NORMALIZED_KEY_BYTES];
    let key = normalize_key(key, &mut buffer);
    let listed_in = |names: &[&str]| key.is_some_and(|key| names.contains(&key));
    if listed_in(PII_KEYS) || value.as_str().is_some_and(looks_like_email) {
        PropHandling::Drop
    } else if listed_in(IDENTIFIER_KEYS) {
        PropHandling::Hash
    } else {
        PropHandling::Keep
    }
}

/// True when any word of `text` has the shape `local@domain.tld`.
fn looks_like_email(text: &str) -> bool {
    text.contains('@')
        && text.split_whitespace().any(|word| {
            word.split_once('@').is_some_and(|(local, domain)| {
                let domain = domain.trim_end_matches(['.', ',', ';', ')', '>']);
                !local.is_empty() && domain.split('.').filter(|part| !part.is_empty()).count() >= 2
            })
        })
}

/// A page URL without its fragment, user info, and query parameters other than `utm_*`.
pub fn sanitize_page_url(mut url: url::Url) -> String {
    url.set_fragment(None);
    strip_user_info(&mut url);
    // Most page URLs carry no query or only plain `utm_*` pairs; those keep
    // their text, which is exactly what the rebuild would write.
    if url.query().is_some_and(|query| !is_plain_utm_query(query)) {
        keep_only_utm_pairs(&mut url);
    }
    url.into()
}

fn keep_only_utm_pairs(url: &mut url::Url) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k.starts_with("utm_"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// True when every pair of `query` is `utm_*=value` written only with the
/// bytes form encoding leaves as they are (ASCII letters, digits, `*-._`):
/// decoding and encoding such a query again gives back the same text.
fn is_plain_utm_query(query: &str) -> bool {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_');
    query.split('&').all(|pair| {
        pair.split_once('=').is_some_and(|(key, value)| {
            key.starts_with("utm_") && key.bytes().all(plain) && value.bytes().all(plain)
        })
    })
}

/// A referrer reduced to scheme, host and path: other sites' query strings are not ours to keep.
pub fn sanitize_referrer(mut url: url::Url) -> String {
    url.set_fragment(None);
    url.set_query(None);
    strip_user_info(&mut url);
    url.into()
}

fn strip_user_info(url: &mut url::Url) {
    // Both only fail for URLs that cannot have credentials; nothing to strip then.
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hasher() -> IdentifierHasher {
        IdentifierHasher::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(IdentifierHasher::new(&[1u8; 31]).is_err());
    }

    #[test]
    fn hashing_is_deterministic_keyed_and_kind_separated() {
        let h = hasher();
        assert_eq!(h.hash("user", "alice"), h.hash("user", "alice"));
        assert_ne!(h.hash("user", "alice"), h.hash("order", "alice"));
        let other = IdentifierHasher::new(&[8u8; 32]).unwrap();
        assert_ne!(h.hash("user", "alice"), other.hash("user", "alice"));
        let hashed = h.hash("user", "alice");
        assert_eq!(hashed.len(), 64);
        assert!(!hashed.contains("alice"));
    }

    #[test]
    fn a_batch_hasher_hashes_as_the_hasher_does() {
        let h = hasher();
        let mut batch = BatchHasher::new(&h);
        // More distinct identifiers than it remembers, each asked for twice in turn.
        let asked = ["a", "b", "a", "c", "d", "e", "a", "b", "f", "a"];
        for value in asked.iter().chain(asked.iter().rev()) {
            for kind in ["anonymous", "user"] {
                assert_eq!(
                    batch.hash(kind, value),
                    h.hash(kind, value),
                    "{kind} {value}"
                );
            }
        }
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", hasher()), "IdentifierHasher(<key hidden>)");
    }

    #[test]
    fn pii_keys_are_dropped_in_any_spelling() {
        for key in [
            "email",
            "E-Mail",
            "first_name",
            "Phone Number",
            "ip_address",
            "credit.card",
        ] {
            assert_eq!(prop_handling(key, &json!("x")), PropHandling::Drop, "{key}");
        }
    }

    #[test]
    fn every_listed_key_fits_the_normalization_buffer() {
        for key in PII_KEYS.iter().chain(IDENTIFIER_KEYS) {
            let mut buffer = [0; NORMALIZED_KEY_BYTES];
            assert_eq!(normalize_key(key, &mut buffer), Some(*key));
        }
    }

    #[test]
    fn keys_that_cannot_be_listed_are_kept() {
        for key in ["e_mail_address_of_the_customer_please", "émail", "", "_"] {
            assert_eq!(prop_handling(key, &json!("x")), PropHandling::Keep, "{key}");
        }
        // The Kelvin sign lower-cases to an ASCII `k`.
        let mut buffer = [0; NORMALIZED_KEY_BYTES];
        assert_eq!(normalize_key("\u{212A}EY", &mut buffer), Some("key"));
    }

    #[test]
    fn email_values_are_dropped_under_any_key() {
        assert_eq!(
            prop_handling("note", &json!("write to bob@example.com")),
            PropHandling::Drop
        );
        assert_eq!(
            prop_handling("note", &json!("price @ 10")),
            PropHandling::Keep
        );
    }

    #[test]
    fn identifier_keys_are_hashed_and_others_kept() {
        assert_eq!(prop_handling("order_id", &json!("A-1")), PropHandling::Hash);
        assert_eq!(prop_handling("button", &json!("buy")), PropHandling::Keep);
    }

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn page_urls_keep_only_utm_parameters() {
        assert_eq!(
            sanitize_page_url(url(
                "https://bob:pw@shop.example/p/1?email=a%40b.c&utm_source=news&q=x#top"
            )),
            "https://shop.example/p/1?utm_source=news"
        );
        assert_eq!(
            sanitize_page_url(url("https://shop.example/cart?session=1")),
            "https://shop.example/cart"
        );
    }

    #[test]
    fn plain_utm_queries_keep_the_text_a_rebuild_would_write() {
        for query in [
            "utm_source=news",
            "utm_source=news&utm_medium=email",
            "utm_source=news.letter_2026*-",
            "utm_source=",
            "",
            "utm_source",
            "utm_source=a=b",
            "utm_source=a+b",
            "utm_source=a%20b",
            "utm_source=%41",
            "utm_source=news&",
            "&utm_source=news",
            "utm_source=news&&utm_medium=email",
            "utm_source=news&q=1",
            "q=1",
            "utm_source=caf\u{e9}",
            "utm_source=a'b",
            "UTM_source=news",
        ] {
            let text = format!("https://shop.example/p?{query}");
            let mut rebuilt = url(&text);
            strip_user_info(&mut rebuilt);
            keep_only_utm_pairs(&mut rebuilt);
            assert_eq!(sanitize_page_url(url(&text)), rebuilt.as_str(), "{query:?}");
        }
        assert!(is_plain_utm_query("utm_source=news&utm_medium=email"));
        assert!(!is_plain_utm_query("utm_source=a+b"));
    }

    #[test]
    fn referrers_lose_query_and_fragment() {
        assert_eq!(
            sanitize_referrer(url("https://www.google.com/search?q=my+name#x")),
            "https://www.google.com/search"
        );
    }
}

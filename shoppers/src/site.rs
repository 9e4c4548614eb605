//! The shop being visited: where it is served (its origin, in every page
//! URL and in the `Origin` header), its time zone, and its pages' URLs as
//! the SDK reports them (without query strings other than `utm_*`).

use chrono_tz::Tz;

/// Where `sbwctl dev up` serves the demo shop by default.
pub const DEFAULT_ORIGIN: &str = "http://127.0.0.1:8000";
/// The demo shop's time zone: it sells in Vietnam.
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Asia::Ho_Chi_Minh;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    /// `scheme://host[:port]`, no trailing slash.
    origin: String,
    pub timezone: Tz,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShopError {
    #[error("the shop's origin {0:?} is not an http(s) origin such as http://127.0.0.1:8000")]
    Origin(String),
    #[error("{0:?} is not a time zone (an IANA name such as Asia/Ho_Chi_Minh)")]
    Timezone(String),
}

impl Shop {
    /// The shop at `origin` (`http://host:port`, a trailing slash is fine) in `timezone` (an IANA name).
    pub fn new(origin: &str, timezone: &str) -> Result<Shop, ShopError> {
        let parsed = url::Url::parse(origin).map_err(|_| ShopError::Origin(origin.to_owned()))?;
        let bare = matches!(parsed.scheme(), "http" | "https")
            && parsed.host().is_some()
            && parsed.path() == "/"
            && parsed.query().is_none()
            && parsed.fragment().is_none()
            && parsed.username().is_empty();
        if !bare {
            return Err(ShopError::Origin(origin.to_owned()));
        }
        let timezone: Tz = timezone
            .parse()
            .map_err(|_| ShopError::Timezone(timezone.to_owned()))?;
        Ok(Shop {
            origin: parsed.origin().ascii_serialization(),
            timezone,
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

impl Default for Shop {
    fn default() -> Shop {
        Shop {
            origin: DEFAULT_ORIGIN.to_owned(),
            timezone: DEFAULT_TIMEZONE,
        }
    }
}

/// The demo shop's pages (`examples/demo-shop/*.html`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    /// `/` when typed or linked from outside, `/index.html` from the shop's own links.
    Home,
    /// A category, by index into the catalogue's categories.
    Category(usize),
    /// A product, by index into the catalogue's products.
    Product(usize),
    /// Search results, by index into the searches shoppers make.
    Search(usize),
    Cart,
    Checkout,
    Order,
}

impl Page {
    /// The path the SDK reports: the shop's query strings (`?c=`, `?id=`,
    /// `?q=`) are not sent.
    pub fn path(self, from_outside: bool) -> &'static str {
        match self {
            Page::Home if from_outside => "/",
            Page::Home => "/index.html",
            Page::Category(_) => "/category.html",
            Page::Product(_) => "/product.html",
            Page::Search(_) => "/search.html",
            Page::Cart => "/cart.html",
            Page::Checkout => "/checkout.html",
            Page::Order => "/order.html",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_and_kept_bare() {
        let shop = Shop::new("http://127.0.0.1:8000/", "Asia/Ho_Chi_Minh").unwrap();
        assert_eq!(shop.origin(), "http://127.0.0.1:8000");
        assert_eq!(shop.url("/cart.html"), "http://127.0.0.1:8000/cart.html");
        assert_eq!(Shop::default(), shop);
        for bad in [
            "127.0.0.1:8000",
            "ftp://shop",
            "http://shop/path",
            "http://u@shop",
        ] {
            assert_eq!(
                Shop::new(bad, "UTC").unwrap_err(),
                ShopError::Origin(bad.to_owned())
            );
        }
        assert!(Shop::new("https://shop.example", "Mars/Olympus")
            .unwrap_err()
            .to_string()
            .contains("not a time zone"));
    }
}

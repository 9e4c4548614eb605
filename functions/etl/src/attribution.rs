//! Where a visit came from: the page path, the `utm_*` campaign tags of the
//! landing URL, and a referrer class the Acquisition dashboard groups by.

use url::Url;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// The page URL's path, without query: what dashboards group pages by.
    pub page_path: String,
    pub referrer_class: &'static str,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
}

const SEARCH_ENGINES: &[&str] = &[
    "google.",
    "bing.com",
    "duckduckgo.com",
    "yahoo.",
    "baidu.com",
    "yandex.",
    "ecosia.org",
    "coccoc.com",
    "search.brave.com",
];
const SOCIAL_NETWORKS: &[&str] = &[
    "facebook.com",
    "fb.com",
    "instagram.com",
    "t.co",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "lnkd.in",
    "pinterest.",
    "tiktok.com",
    "youtube.com",
    "youtu.be",
    "reddit.com",
    "zalo.me",
];
const PAID_MEDIUMS: &[&str] = &[
    "cpc",
    "ppc",
    "paid",
    "paidsearch",
    "paid_social",
    "cpm",
    "display",
];

/// Classes, most specific first: campaign tags say `paid` or `email`
/// whatever the referrer; otherwise the referrer's host decides.
pub fn attribute(page_url: &str, referrer: Option<&str>) -> Attribution {
    let page = Url::parse(page_url).ok();
    let tag = |name: &str| {
        page.as_ref().and_then(|url| {
            url.query_pairs()
                .find(|(key, value)| key == name && !value.is_empty())
                .map(|(_, value)| value.chars().take(128).collect::<String>())
        })
    };
    let utm_source = tag("utm_source");
    let utm_medium = tag("utm_medium");
    let utm_campaign = tag("utm_campaign");
    let page_path = page
        .as_ref()
        .map(|url| url.path().to_owned())
        .unwrap_or_else(|| page_url.split(['?', '#']).next().unwrap_or("").to_owned());

    let medium = utm_medium.as_deref().map(str::to_ascii_lowercase);
    let referrer_host = referrer
        .filter(|r| !r.is_empty())
        .and_then(|r| Url::parse(r).ok())
        .and_then(|url| {
            url.host_str()
                .map(|h| h.trim_start_matches("www.").to_owned())
        });
    let page_host = page.as_ref().and_then(|url| {
        url.host_str()
            .map(|h| h.trim_start_matches("www.").to_owned())
    });
    let host_matches = |host: &str, patterns: &[&str]| {
        patterns.iter().any(|p| {
            if p.ends_with('.') {
                host.starts_with(p) || host.contains(&format!(".{p}"))
            } else {
                host == *p || host.ends_with(&format!(".{p}"))
            }
        })
    };
    let referrer_class = match (medium.as_deref(), referrer_host.as_deref()) {
        (Some(m), _) if PAID_MEDIUMS.contains(&m) => "paid",
        (Some("email" | "newsletter"), _) => "email",
        (_, None) if utm_source.is_some() => "campaign",
        (_, None) => "direct",
        (_, Some(host)) if Some(host) == page_host.as_deref() => "internal",
        (_, Some(host)) if host_matches(host, SEARCH_ENGINES) => "search",
        (_, Some(host)) if host_matches(host, SOCIAL_NETWORKS) => "social",
        (_, Some(_)) => "referral",
    };
    Attribution {
        page_path,
        referrer_class,
        utm_source,
        utm_medium,
        utm_campaign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(page: &str, referrer: Option<&str>) -> &'static str {
        attribute(page, referrer).referrer_class
    }

    #[test]
    fn referrer_classes() {
        let shop = "https://shop.example/p/1";
        assert_eq!(class(shop, None), "direct");
        assert_eq!(class(shop, Some("")), "direct");
        assert_eq!(class(shop, Some("https://www.shop.example/")), "internal");
        assert_eq!(
            class(shop, Some("https://www.google.com.vn/search")),
            "search"
        );
        assert_eq!(class(shop, Some("https://google.com/")), "search");
        assert_eq!(class(shop, Some("https://duckduckgo.com/")), "search");
        assert_eq!(class(shop, Some("https://m.facebook.com/")), "social");
        assert_eq!(class(shop, Some("https://t.co/abc")), "social");
        assert_eq!(
            class(shop, Some("https://blog.example.org/post")),
            "referral"
        );
        assert_eq!(class(shop, Some("not a url")), "direct");
        // Hosts that merely contain a known name are not that network.
        assert_eq!(class(shop, Some("https://notfacebook.com/")), "referral");
        assert_eq!(class(shop, Some("https://fakegoogle.net/")), "referral");
    }

    #[test]
    fn campaign_tags_come_first() {
        let paid = "https://shop.example/?utm_source=google&utm_medium=CPC&utm_campaign=sale";
        let a = attribute(paid, Some("https://www.google.com/"));
        assert_eq!(a.referrer_class, "paid");
        assert_eq!(a.utm_source.as_deref(), Some("google"));
        assert_eq!(a.utm_medium.as_deref(), Some("CPC"));
        assert_eq!(a.utm_campaign.as_deref(), Some("sale"));
        assert_eq!(a.page_path, "/");
        assert_eq!(
            class(
                "https://shop.example/?utm_medium=email&utm_source=news",
                None
            ),
            "email"
        );
        assert_eq!(
            class("https://shop.example/?utm_source=partner", None),
            "campaign"
        );
        assert_eq!(
            class("https://shop.example/?utm_source=", None),
            "direct",
            "an empty tag is no tag"
        );
    }

    #[test]
    fn page_paths_drop_the_query() {
        assert_eq!(
            attribute("https://shop.example/c/laptops?utm_source=x", None).page_path,
            "/c/laptops"
        );
        assert_eq!(attribute("/relative?x=1", None).page_path, "/relative");
    }
}

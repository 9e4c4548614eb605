//! The demo shop's catalogue, read from the shop's own data file
//! (`examples/demo-shop/catalog.json`), and the product lists its pages show,
//! computed as `examples/demo-shop/js/shop.js` computes them.

use std::collections::HashSet;
use std::sync::LazyLock;

use rust_decimal::Decimal;
use sbw_contract::limits::{MAX_ID_CHARS, MAX_NAME_CHARS};
use serde::Deserialize;

const DEMO_SHOP_CATALOG: &str = include_str!("../../examples/demo-shop/catalog.json");

/// Products on the home page's "Customer favourites" (`home:featured`).
pub const FEATURED_PRODUCTS: usize = 8;
/// Products under "You may also like" on a product page (`related`).
pub const RELATED_PRODUCTS: usize = 4;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// ISO 4217 code of every price.
    pub currency: String,
    pub categories: Vec<Category>,
    pub products: Vec<Product>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub blurb: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub category: String,
    pub brand: String,
    pub name: String,
    pub price_vnd: u64,
    /// Stars out of 5: the category pages list the best rated first.
    pub rating: f64,
    /// Relative demand, 1 to 100: how often the product is featured, landed
    /// on and clicked.
    pub popularity: u32,
    pub specs: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the catalogue is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the catalogue is inconsistent: {0}")]
    Invalid(String),
}

impl Product {
    pub fn price(&self) -> Decimal {
        Decimal::from(self.price_vnd)
    }
}

impl Catalog {
    /// Reads and checks a catalogue: unique product ids, known categories,
    /// prices, ratings and popularity in range, ids and categories within
    /// the event contract's limits.
    pub fn parse(json: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog = serde_json::from_str(json)?;
        catalog.check().map_err(CatalogError::Invalid)?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), String> {
        let categories: HashSet<&str> = self.categories.iter().map(|c| c.id.as_str()).collect();
        if categories.len() != self.categories.len() {
            return Err("two categories have the same id".to_owned());
        }
        if let Some(long) = self
            .categories
            .iter()
            .find(|c| c.id.chars().count() > MAX_NAME_CHARS)
        {
            return Err(format!(
                "category id {:?} is too long for an event",
                long.id
            ));
        }
        let mut ids = HashSet::new();
        for product in &self.products {
            let id = &product.id;
            if !ids.insert(id.as_str()) {
                return Err(format!("product id {id:?} appears twice"));
            }
            if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
                return Err(format!(
                    "product id {id:?} is empty or too long for an event"
                ));
            }
            if !categories.contains(product.category.as_str()) {
                return Err(format!(
                    "product {id:?} is in the unknown category {:?}",
                    product.category
                ));
            }
            if product.price_vnd == 0 {
                return Err(format!("product {id:?} has no price"));
            }
            if !(0.0..=5.0).contains(&product.rating) {
                return Err(format!("product {id:?} is rated {} of 5", product.rating));
            }
            if !(1..=100).contains(&product.popularity) {
                return Err(format!(
                    "product {id:?} has popularity {}, not 1 to 100",
                    product.popularity
                ));
            }
        }
        if let Some(empty) = self
            .categories
            .iter()
            .find(|c| !self.products.iter().any(|p| p.category == c.id))
        {
            return Err(format!("category {:?} has no products", empty.id));
        }
        Ok(())
    }

    /// The demo shop's catalogue (`examples/demo-shop/catalog.json`, built in).
    pub fn demo_shop() -> &'static Catalog {
        static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
            Catalog::parse(DEMO_SHOP_CATALOG)
                .expect("examples/demo-shop/catalog.json is checked by this crate's tests")
        });
        &CATALOG
    }

    pub fn category_name(&self, id: &str) -> Option<&str> {
        self.categories
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.as_str())
    }

    /// The home page's "Customer favourites": the most popular products
    /// (indices into `products`, in the order shown).
    pub fn featured(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.products.len()).collect();
        // A stable sort, as JavaScript's: ties keep the catalogue's order.
        order.sort_by_key(|&i| std::cmp::Reverse(self.products[i].popularity));
        order.truncate(FEATURED_PRODUCTS);
        order
    }

    /// A category page: every product of `category`, best rated first.
    pub fn category_list(&self, category: &str) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.products.len())
            .filter(|&i| self.products[i].category == category)
            .collect();
        order.sort_by(|&a, &b| self.products[b].rating.total_cmp(&self.products[a].rating));
        order
    }

    /// `list` sorted by price, as the category page's "Price: low to high".
    pub fn by_price(&self, list: &[usize]) -> Vec<usize> {
        let mut order = list.to_vec();
        order.sort_by_key(|&i| self.products[i].price_vnd);
        order
    }

    /// "You may also like" on the page of `product`: the first other
    /// products of its category, in the catalogue's order.
    pub fn related(&self, product: usize) -> Vec<usize> {
        let category = &self.products[product].category;
        (0..self.products.len())
            .filter(|&i| i != product && &self.products[i].category == category)
            .take(RELATED_PRODUCTS)
            .collect()
    }

    /// The search page's results: products whose name, specs and category
    /// name hold every word of `query` (case-insensitive), in catalogue order.
    pub fn search(&self, query: &str) -> Vec<usize> {
        let query = query.to_lowercase();
        let words: Vec<&str> = query.split_whitespace().collect();
        if words.is_empty() {
            return Vec::new();
        }
        (0..self.products.len())
            .filter(|&i| {
                let product = &self.products[i];
                let text = format!(
                    "{} {} {}",
                    product.name,
                    product.specs,
                    self.category_name(&product.category).unwrap_or_default()
                )
                .to_lowercase();
                words.iter().all(|word| text.contains(word))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(catalog: &Catalog, list: &[usize]) -> Vec<String> {
        list.iter()
            .map(|&i| catalog.products[i].id.clone())
            .collect()
    }

    #[test]
    fn the_demo_shop_catalogue_is_a_computer_store_of_about_200_products() {
        let catalog = Catalog::demo_shop();
        assert_eq!(catalog.currency, "VND");
        assert!((180..=230).contains(&catalog.products.len()));
        let categories: Vec<&str> = catalog.categories.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            categories,
            [
                "laptops",
                "monitors",
                "keyboards",
                "mice-pads",
                "headphones",
                "accessories"
            ]
        );
        for category in &categories {
            assert!(catalog.category_list(category).len() >= 25, "{category}");
        }
        let brands: HashSet<&str> = catalog.products.iter().map(|p| p.brand.as_str()).collect();
        assert!(brands.len() >= 30, "{} brands", brands.len());
        // Prices in đồng: from a 150,000 ₫ mouse pad to laptops over 50 million.
        let prices: Vec<u64> = catalog.products.iter().map(|p| p.price_vnd).collect();
        assert!(prices.iter().all(|p| (100_000..=60_000_000).contains(p)));
        assert!(prices.iter().all(|p| p % 10_000 == 0));
    }

    #[test]
    fn the_ids_tests_and_fixtures_use_are_kept() {
        let catalog = Catalog::demo_shop();
        for (id, category, price) in [
            ("lap-apple-mba13-m3", "laptops", 27_490_000),
            ("lap-asus-g14-2024", "laptops", 49_990_000),
            ("mouse-logitech-mx-master-3s", "mice-pads", 2_490_000),
            ("mon-lg-27gp850", "monitors", 8_490_000),
            ("mon-dell-u2723qe", "monitors", 13_990_000),
            ("kb-akko-3068b-plus", "keyboards", 1_690_000),
            ("kb-keychron-k2-pro", "keyboards", 2_590_000),
            ("hp-jbl-tune-520bt", "headphones", 1_090_000),
            ("pad-steelseries-qck-l", "mice-pads", 390_000),
            ("acc-samsung-t7-1tb", "accessories", 2_390_000),
            ("acc-laptop-stand-alu", "accessories", 450_000),
        ] {
            let product = catalog.products.iter().find(|p| p.id == id).expect(id);
            assert_eq!(
                (product.category.as_str(), product.price_vnd),
                (category, price)
            );
        }
    }

    #[test]
    fn lists_are_the_ones_the_shop_shows() {
        let catalog = Catalog::demo_shop();
        let featured = catalog.featured();
        assert_eq!(featured.len(), FEATURED_PRODUCTS);
        assert_eq!(catalog.products[featured[0]].id, "lap-apple-mba13-m3");
        let laptops = catalog.category_list("laptops");
        let ratings: Vec<f64> = laptops
            .iter()
            .map(|&i| catalog.products[i].rating)
            .collect();
        assert!(ratings.windows(2).all(|pair| pair[0] >= pair[1]));
        let cheapest_first = catalog.by_price(&laptops);
        assert_eq!(catalog.products[cheapest_first[0]].id, "lap-msi-modern-14");
        let keychron = catalog
            .products
            .iter()
            .position(|p| p.id == "kb-keychron-k2-pro")
            .unwrap();
        assert_eq!(
            ids(catalog, &catalog.related(keychron)),
            [
                "kb-logitech-mx-keys-s",
                "kb-akko-3068b-plus",
                "kb-razer-blackwidow-v4",
                "kb-keychron-q1-max"
            ]
        );
        // The SDK's browser tests search for "mouse" and expect these six.
        assert_eq!(catalog.search("Mouse").len(), 6);
        assert_eq!(catalog.search("  mx   master ").len(), 1);
        assert!(catalog.search("tai nghe").is_empty());
        assert!(catalog.search("").is_empty());
    }

    #[test]
    fn a_bad_catalogue_is_refused_with_the_reason() {
        let good = r#"{"currency": "VND", "categories": [{"id": "laptops", "name": "Laptops", "blurb": "b"}],
            "products": [{"id": "lap-1", "category": "laptops", "brand": "B", "name": "N", "price_vnd": 1000,
                          "rating": 4.5, "popularity": 10, "specs": "s"}]}"#;
        assert_eq!(Catalog::parse(good).unwrap().products.len(), 1);
        for (change, reason) in [
            (
                (
                    "\"category\": \"laptops\", \"brand\"",
                    "\"category\": \"tablets\", \"brand\"",
                ),
                "unknown category",
            ),
            (("\"price_vnd\": 1000", "\"price_vnd\": 0"), "no price"),
            (("\"popularity\": 10", "\"popularity\": 0"), "popularity 0"),
            (("\"rating\": 4.5", "\"rating\": 7"), "rated 7"),
            (("\"id\": \"lap-1\"", "\"id\": \"\""), "empty or too long"),
            (
                ("\"specs\": \"s\"", "\"specs\": \"s\", \"colour\": \"red\""),
                "unknown field",
            ),
        ] {
            let error = Catalog::parse(&good.replace(change.0, change.1)).unwrap_err();
            assert!(error.to_string().contains(reason), "{error}");
        }
    }
}

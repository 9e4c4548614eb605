PRODUCTS <- c("lap-apple-mba13-m3", "mon-lg-27gp850", "mouse-logitech-mx-master-3s", "kb-akko-3068b-plus", "hp-jbl-tune-520bt")

measures <- function(table, key) {
  rows <- lapply(seq_len(nrow(table)), function(i) unlist(table[i, PRODUCT_MEASURES]))
  stats::setNames(rows, table[[key]])
}
m <- function(impressions, clicks, views, add_to_carts, purchases, units, revenue) {
  c(impressions = impressions, clicks = clicks, views = views, add_to_carts = add_to_carts,
    purchases = purchases, units = units, revenue = revenue)
}

test_that("every product with its impressions, clicks, views, carts, purchases, units and revenue", {
  skip_without_warehouse()
  for (range in list(days(1, 3), wide_range())) {
    products <- product_performance(seeded(), range, filters())
    expect_equal(products$category, c("laptops", "monitors", "mice-pads", "keyboards", "headphones"))
    expect_equal(measures(products, "product_id"), stats::setNames(list(
      m(4, 1, 3, 2, 1, 1, 27490000), m(3, 0, 1, 1, 1, 1, 8490000), m(4, 2, 2, 2, 1, 2, 4980000),
      m(2, 1, 2, 1, 1, 1, 1690000), m(1, 0, 0, 0, 0, 0, 0)
    ), PRODUCTS))
    expect_equal(products$ctr, c(1 / 4, 0, 2 / 4, 1 / 2, 0))
    expect_equal(products$add_to_cart_rate, c(2 / 3, 1, 1, 1 / 2, NA))
  }
})

test_that("the device and country filters hold, the category filter keeps its products", {
  skip_without_warehouse()
  con <- seeded()
  mobile <- product_performance(con, days(1, 3), filters(device = "mobile"))
  expect_equal(measures(mobile, "product_id")[c("mouse-logitech-mx-master-3s", "kb-akko-3068b-plus", "lap-apple-mba13-m3")],
               list(`mouse-logitech-mx-master-3s` = m(3, 2, 2, 2, 1, 2, 4980000),
                    `kb-akko-3068b-plus` = m(2, 1, 1, 0, 0, 0, 0),
                    `lap-apple-mba13-m3` = m(2, 0, 0, 0, 0, 0, 0)))
  laptops <- product_performance(con, days(1, 3), filters(category = "laptops"))
  expect_equal(laptops$product_id, "lap-apple-mba13-m3")
  japan <- product_performance(con, days(1, 3), filters(country = "JP"))
  expect_equal(measures(japan, "product_id")[["lap-apple-mba13-m3"]], m(1, 0, 1, 0, 0, 0, 0))
})

test_that("categories sum their products", {
  skip_without_warehouse()
  categories <- category_performance(product_performance(seeded(), days(1, 3), filters()))
  expect_equal(measures(categories, "category"), list(
    laptops = m(4, 1, 3, 2, 1, 1, 27490000), monitors = m(3, 0, 1, 1, 1, 1, 8490000),
    `mice-pads` = m(4, 2, 2, 2, 1, 2, 4980000), keyboards = m(2, 1, 2, 1, 1, 1, 1690000),
    headphones = m(1, 0, 0, 0, 0, 0, 0)
  ))
})

test_that("totals, best sellers and the least viewed products", {
  skip_without_warehouse()
  data <- products_data(seeded(), days(1, 3), filters())
  expect_equal(data$totals[c(PRODUCT_MEASURES, "ctr", "add_to_cart_rate")],
               c(m(14, 4, 8, 6, 4, 5, 42650000), ctr = 4 / 14, add_to_cart_rate = 6 / 8))
  expect_equal(data$previous_totals[["revenue"]], 0)
  expect_equal(format_money(data$totals[["revenue"]], "VND"), "42,650,000 ₫")
  expect_equal(data$best_sellers$product_id, PRODUCTS[1:4])
  # Fewest views first; of equals, the one shown most often in lists.
  expect_equal(data$least_viewed$product_id,
               c("hp-jbl-tune-520bt", "mon-lg-27gp850", "mouse-logitech-mx-master-3s",
                 "kb-akko-3068b-plus", "lap-apple-mba13-m3"))
  day_two <- products_data(seeded(), days(2, 3), filters())
  expect_equal(day_two$previous_totals[["revenue"]], 27490000)
  expect_equal(day_two$totals[["revenue"]], 42650000 - 27490000)
})

stages <- function(...) c(sessions = ..1, product_view = ..2, add_to_cart = ..3, checkout = ..4, purchase = ..5)

test_that("the closed funnel of the fixture, from day rows and from month rows", {
  skip_without_warehouse()
  for (range in list(days(1, 3), wide_range())) {
    expect_equal(unlist(funnel_stages(seeded(), range, filters())), stages(8, 7, 5, 4, 3))
  }
  expect_equal(unlist(funnel_stages(seeded(), days(1, 3), filters(device = "mobile"))), stages(4, 3, 2, 1, 1))
  expect_equal(unlist(funnel_stages(seeded(), days(1, 3), filters(category = "laptops"))), stages(3, 3, 2, 2, 1))
})

test_that("stage conversion, drop-off and the share of all visits", {
  table <- funnel_table(data.frame(sessions = 8, product_view = 7, add_to_cart = 5, checkout = 4, purchase = 3))
  expect_equal(table$stage, c("Visits", "Viewed a product", "Added to cart", "Checked out", "Purchased"))
  expect_equal(table$conversion, c(NA, 7 / 8, 5 / 7, 4 / 5, 3 / 4))
  expect_equal(table$drop_off, c(NA, 1, 2, 1, 1))
  expect_equal(table$of_visits, c(8, 7, 5, 4, 3) / 8)
  nobody <- funnel_table(data.frame(sessions = 0, product_view = 0, add_to_cart = 0, checkout = 0, purchase = 0))
  expect_true(all(is.na(nobody$conversion)))
  expect_true(all(is.na(nobody$of_visits)))
})

test_that("split by device and by category", {
  skip_without_warehouse()
  con <- seeded()
  segments <- function(split) {
    rows <- lapply(seq_len(nrow(split)), function(i) unlist(split[i, names(FUNNEL_STAGES)]))
    stats::setNames(rows, split$segment)
  }
  expect_equal(segments(funnel_split(con, days(1, 3), filters(), "device_type")),
               list(mobile = stages(4, 3, 2, 1, 1), desktop = stages(3, 3, 3, 3, 2), tablet = stages(1, 1, 0, 0, 0)))
  expect_equal(segments(funnel_split(con, days(1, 3), filters(), "category")),
               list(laptops = stages(3, 3, 2, 2, 1), keyboards = stages(2, 2, 1, 1, 1),
                    `mice-pads` = stages(2, 2, 2, 1, 1), monitors = stages(1, 1, 1, 1, 1)))
  # The filters hold in a split: mobile visits by category, desktop alone by device.
  expect_equal(segments(funnel_split(con, days(1, 3), filters(device = "mobile"), "category")),
               list(`mice-pads` = stages(2, 2, 2, 1, 1), keyboards = stages(1, 1, 0, 0, 0)))
  expect_equal(names(segments(funnel_split(con, days(1, 3), filters(device = "desktop"), "device_type"))), "desktop")
})

test_that("overall conversion against the previous period", {
  skip_without_warehouse()
  data <- funnel_data(seeded(), days(2, 3), filters())
  expect_equal(data$overall, 2 / 6)
  expect_equal(data$previous_overall, 1 / 2)
  expect_equal(c(data$purchases, data$previous_purchases), c(2, 1))
  expect_equal(format_change(data$overall, data$previous_overall, "rate"), "−16.7 pp")
  expect_equal(funnel_data(seeded(), days(1, 3), filters())$overall, 3 / 8)
})

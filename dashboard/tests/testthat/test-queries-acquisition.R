sources <- function(table) {
  rows <- lapply(seq_len(nrow(table)), function(i) unlist(table[i, c("sessions", "bounces", "conversions", "revenue")]))
  stats::setNames(rows, table$value)
}
s <- function(sessions, bounces, conversions, revenue) {
  c(sessions = sessions, bounces = bounces, conversions = conversions, revenue = revenue)
}

test_that("visits by channel, with bounces, purchasing visits and revenue", {
  skip_without_warehouse()
  for (range in list(days(1, 3), wide_range())) {
    channels <- acquisition_by(seeded(), range, filters(), "referrer_class")
    expect_equal(sources(channels), list(
      direct = s(2, 1, 0, 0), email = s(1, 0, 1, 10180000), internal = s(1, 0, 0, 0),
      paid = s(1, 0, 1, 4980000), referral = s(1, 0, 0, 0), search = s(1, 0, 1, 27490000),
      social = s(1, 0, 0, 0)
    ))
    expect_equal(channels$bounce_rate[1], 0.5)
    expect_equal(channels$conversion_rate[channels$value == "search"], 1)
  }
})

test_that("referrer hosts, UTM tags, devices and countries", {
  skip_without_warehouse()
  by <- function(dimension, ...) {
    table <- acquisition_by(seeded(), days(1, 3), filters(...), dimension)
    stats::setNames(table$sessions, table$value)
  }
  expect_equal(by("referrer_host"), c(`(none)` = 3, www.google.com = 2, shop.example = 1,
                                      tinhte.vn = 1, www.facebook.com = 1))
  expect_equal(by("utm_source"), c(`(none)` = 6, google = 1, newsletter = 1))
  expect_equal(by("utm_medium"), c(`(none)` = 6, cpc = 1, email = 1))
  expect_equal(by("utm_campaign"), c(`(none)` = 6, `back-to-school` = 1, `weekly-deals` = 1))
  expect_equal(by("device_type"), c(mobile = 4, desktop = 3, tablet = 1))
  expect_equal(by("country"), c(`Vietnam (VN)` = 5, `Japan (JP)` = 1, `Singapore (SG)` = 1, Unknown = 1))
  # Filters hold, on the dimension itself too.
  expect_equal(by("referrer_class", device = "desktop"), c(direct = 1, email = 1, search = 1))
  expect_equal(by("device_type", device = "desktop"), c(desktop = 3))
  expect_equal(by("country", category = "laptops"), c(`Japan (JP)` = 1, `Vietnam (VN)` = 1, Unknown = 1))
  revenue <- acquisition_by(seeded(), days(1, 3), filters(), "country")
  expect_equal(revenue$revenue[revenue$value == "Vietnam (VN)"], 42650000)
})

test_that("the totals and their previous period", {
  skip_without_warehouse()
  data <- acquisition_data(seeded(), days(2, 3), filters())
  expect_equal(data$totals, c(sessions = 6, bounce_rate = 0, conversion_rate = 2 / 6, revenue = 15160000))
  expect_equal(data$previous_totals, c(sessions = 2, bounce_rate = 0.5, conversion_rate = 0.5, revenue = 27490000))
  expect_setequal(names(data$by), ACQUISITION_DIMENSIONS)
})

# The fixture's visits (testkit/src/bin/dashboard-fixture.rs), read back.

test_that("traffic totals are the fixture's, from day rows and from month rows alike", {
  skip_without_warehouse()
  con <- seeded()
  for (range in list(days(1, 3), wide_range())) {
    expect_equal(
      as.list(traffic_summary(con, range, filters())),
      list(sessions = 8, visitors = 6, signed_in = 2, page_views = 20, bounces = 1, duration_seconds = 1360)
    )
  }
})

test_that("every filter, alone or combined, narrows the totals", {
  skip_without_warehouse()
  con <- seeded()
  totals <- function(...) as.list(traffic_summary(con, days(1, 3), filters(...))[c("sessions", "visitors", "page_views", "bounces")])
  expect_equal(totals(device = "mobile"), list(sessions = 4, visitors = 3, page_views = 8, bounces = 1))
  expect_equal(totals(country = "VN"), list(sessions = 5, visitors = 3, page_views = 13, bounces = 1))
  expect_equal(totals(country = "unknown"), list(sessions = 1, visitors = 1, page_views = 3, bounces = 0))
  expect_equal(totals(category = "laptops"), list(sessions = 3, visitors = 3, page_views = 8, bounces = 0))
  expect_equal(totals(device = "mobile", country = "VN"), list(sessions = 3, visitors = 2, page_views = 6, bounces = 1))
  expect_equal(totals(device = "tablet", country = "VN"), list(sessions = 0, visitors = 0, page_views = 0, bounces = 0))
})

test_that("the daily trend has every day of the range, empty ones as zeros", {
  skip_without_warehouse()
  daily <- traffic_daily(seeded(), date_range(day(1) - 1, day(3)), filters())
  expect_equal(daily$day, seq(day(1) - 1, day(3), by = "day"))
  expect_equal(daily$sessions, c(0, 2, 2, 4))
  expect_equal(daily$visitors, c(0, 2, 2, 3))
  expect_equal(daily$page_views, c(0, 4, 6, 10))
  expect_equal(daily$bounces, c(0, 1, 0, 0))
})

test_that("visitors over a range are distinct visitors, not a sum of days", {
  skip_without_warehouse()
  data <- traffic_data(seeded(), days(1, 3), filters())
  # Visitor A came on day 1 and day 2, E twice on day 3: 2 + 2 + 3 daily, 6 in all.
  expect_equal(sum(data$daily$visitors), 7)
  expect_equal(data$kpis[["visitors"]], 6)
  expect_equal(data$kpis[["dau"]], 7 / 3)
  expect_equal(data$kpis[["wau"]], 6)
  expect_equal(data$kpis[["mau"]], 6)
  last_day <- traffic_data(seeded(), days(3), filters())$kpis
  expect_equal(last_day[c("visitors", "dau", "wau", "mau")], c(visitors = 3, dau = 3, wau = 6, mau = 6))
})

test_that("the KPIs and their previous period", {
  skip_without_warehouse()
  con <- seeded()
  all_days <- traffic_data(con, days(1, 3), filters())
  expect_equal(all_days$kpis[c("sessions", "pages_per_session", "avg_duration", "bounce_rate")],
               c(sessions = 8, pages_per_session = 2.5, avg_duration = 170, bounce_rate = 0.125))
  # Nothing before day 1: zeros, and no rates.
  expect_equal(all_days$previous_kpis[["sessions"]], 0)
  expect_true(is.na(all_days$previous_kpis[["bounce_rate"]]))
  # Days 2-3 against days 0-1 (day 1's two visits, one a bounce).
  last_two <- traffic_data(con, days(2, 3), filters())
  expect_equal(last_two$kpis[c("sessions", "visitors", "bounce_rate")], c(sessions = 6, visitors = 5, bounce_rate = 0))
  expect_equal(last_two$previous_kpis[c("sessions", "visitors", "bounce_rate", "wau")],
               c(sessions = 2, visitors = 2, bounce_rate = 0.5, wau = 2))
  expect_equal(format_change(last_two$kpis[["sessions"]], last_two$previous_kpis[["sessions"]]), "+200.0 %")
})

test_that("top pages by page views, entry pages by entries with their bounce rate", {
  skip_without_warehouse()
  con <- seeded()
  expect_equal(
    top_pages(con, days(1, 3), filters()),
    data.frame(
      page_path = c("/", "/checkout", "/p/lap-apple-mba13-m3", "/p/kb-akko-3068b-plus",
                    "/p/mouse-logitech-mx-master-3s", "/c/keyboards", "/c/laptops", "/p/mon-lg-27gp850"),
      page_views = c(6, 4, 3, 2, 2, 1, 1, 1)
    )
  )
  expect_equal(
    entry_pages(con, days(1, 3), filters()),
    data.frame(page_path = c("/", "/c/keyboards", "/p/lap-apple-mba13-m3"),
               entries = c(6, 1, 1), bounces = c(1, 0, 0), bounce_rate = c(1 / 6, 0, 0))
  )
  expect_equal(top_pages(con, days(1, 3), filters(device = "tablet"))$page_path,
               c("/c/laptops", "/p/lap-apple-mba13-m3"))
  expect_equal(nrow(top_pages(con, empty_range(), filters())), 0)
})

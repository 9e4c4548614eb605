test_that("a range inside one month is read from day rows only", {
  split <- range_split(date_range("2026-11-03", "2026-11-20"))
  expect_length(split$months, 0)
  expect_equal(split$days, list(date_range("2026-11-03", "2026-11-20")))
  expect_equal(range_where(date_range("2026-11-03", "2026-11-20")),
               "((grain = 'day' AND day BETWEEN DATE '2026-11-03' AND DATE '2026-11-20'))")
})

test_that("a whole month is one month row", {
  split <- range_split(date_range("2026-02-01", "2026-02-28"))
  expect_equal(split$months, as.Date("2026-02-01"))
  expect_length(split$days, 0)
  expect_equal(range_where(date_range("2026-02-01", "2026-02-28")),
               "((grain = 'month' AND day BETWEEN DATE '2026-02-01' AND DATE '2026-02-01'))")
})

test_that("days across a month boundary without a whole month stay days", {
  split <- range_split(date_range("2026-10-31", "2026-11-01"))
  expect_length(split$months, 0)
  expect_equal(split$days, list(date_range("2026-10-31", "2026-11-01")))
})

test_that("a range over month boundaries is its whole months and the days at either end", {
  split <- range_split(date_range("2026-10-15", "2026-12-02"))
  expect_equal(split$months, as.Date("2026-11-01"))
  expect_equal(split$days, list(date_range("2026-10-15", "2026-10-31"), date_range("2026-12-01", "2026-12-02")))
  expect_equal(
    range_where(date_range("2026-10-15", "2026-12-02"), "r."),
    paste0("((r.grain = 'day' AND r.day BETWEEN DATE '2026-10-15' AND DATE '2026-10-31')",
           " OR (r.grain = 'day' AND r.day BETWEEN DATE '2026-12-01' AND DATE '2026-12-02')",
           " OR (r.grain = 'month' AND r.day BETWEEN DATE '2026-11-01' AND DATE '2026-11-01'))")
  )
})

test_that("a year is about twelve month rows and a few days", {
  split <- range_split(date_range("2025-11-30", "2026-11-29"))
  expect_equal(split$months, seq(as.Date("2025-12-01"), as.Date("2026-10-01"), by = "month"))
  expect_equal(split$days, list(date_range("2025-11-30", "2025-11-30"), date_range("2026-11-01", "2026-11-29")))
  calendar_year <- range_split(date_range("2026-01-01", "2026-12-31"))
  expect_equal(calendar_year$months, seq(as.Date("2026-01-01"), as.Date("2026-12-01"), by = "month"))
  expect_length(calendar_year$days, 0)
})

test_that("the split covers every day of a range exactly once", {
  for (range in list(date_range("2024-02-10", "2024-03-31"), date_range("2023-12-31", "2025-01-01"),
                     date_range("2026-03-01", "2026-03-01"), date_range("2026-01-31", "2026-03-01"))) {
    split <- range_split(range)
    covered <- c(
      unlist(lapply(split$months, function(m) seq(m, lubridate::ceiling_date(m + 1, "month") - 1, by = "day"))),
      unlist(lapply(split$days, function(d) seq(d$from, d$to, by = "day")))
    )
    expect_setequal(as.Date(covered, origin = "1970-01-01"), seq(range$from, range$to, by = "day"))
    expect_equal(length(covered), range_days(range))
  }
})

test_that("presets are ranges ending today in the shop's time zone", {
  today <- as.Date("2026-11-30")
  expect_equal(preset_range("today", today), date_range(today, today))
  expect_equal(preset_range("last_7", today), date_range("2026-11-24", today))
  expect_equal(preset_range("last_30", today), date_range("2026-11-01", today))
  expect_equal(preset_range("last_90", today), date_range("2026-09-02", today))
  expect_equal(preset_range("month_to_date", today), date_range("2026-11-01", today))
  expect_null(preset_range("custom", today))
  expect_error(preset_range("yesterday", today), "unknown date range preset")
  # 20:00 UTC on 30 November is already 1 December in Ho Chi Minh City.
  evening <- as.POSIXct("2026-11-30 20:00:00", tz = "UTC")
  expect_equal(shop_today("Asia/Ho_Chi_Minh", evening), as.Date("2026-12-01"))
  expect_equal(shop_today("UTC", evening), as.Date("2026-11-30"))
})

test_that("the previous period has the same length and ends the day before", {
  expect_equal(previous_period(date_range("2026-11-24", "2026-11-30")), date_range("2026-11-17", "2026-11-23"))
  expect_equal(previous_period(date_range("2026-03-01", "2026-03-01")), date_range("2026-02-28", "2026-02-28"))
  expect_equal(trailing_window(date_range("2026-11-01", "2026-11-30"), 7), date_range("2026-11-24", "2026-11-30"))
  expect_equal(date_range("2026-11-30", "2026-11-01"), date_range("2026-11-01", "2026-11-30"))
})

test_that("ranges read as dates", {
  expect_equal(format_range(date_range("2026-11-03", "2026-11-20")), "3 Nov – 20 Nov 2026")
  expect_equal(format_range(date_range("2025-12-30", "2026-01-02")), "30 Dec 2025 – 2 Jan 2026")
  expect_equal(format_range(date_range("2026-11-03", "2026-11-03")), "3 Nov 2026")
})

test_that("VND has no decimals and thousands separators", {
  expect_equal(format_money(12490000, "VND"), "12,490,000 ₫")
  expect_equal(format_money(c(0, 1234567.6), "VND"), c("0 ₫", "1,234,568 ₫"))
  expect_equal(format_money(12345678901234, "VND"), "12,345,678,901,234 ₫")
})

test_that("other currencies get two decimals", {
  expect_equal(format_money(1234.5, "USD"), "$1,234.50")
  expect_equal(format_money(1234.5, "THB"), "1,234.50 THB")
  expect_equal(format_money(1234.5, NA), "1,234.50")
})

test_that("changes are relative for amounts and in points for rates", {
  expect_equal(format_change(12, 8), "+50.0 %")
  expect_equal(format_change(6, 8), "−25.0 %")
  expect_equal(format_change(5, 5), "±0.0 %")
  expect_equal(format_change(3, 0), "new")
  expect_equal(format_change(0, 0), "±0 %")
  expect_equal(format_change(0.125, 0.5, "rate"), "−37.5 pp")
  expect_equal(format_change(NA, 0.5, "rate"), "–")
})

test_that("durations, ages, counts and percentages read naturally", {
  expect_equal(format_duration(0.114), "0.1 s")
  expect_equal(format_duration(45), "45 s")
  expect_equal(format_duration(170), "2 min 50 s")
  expect_equal(format_duration(3725), "1 h 02 min")
  expect_equal(format_duration(NA), "–")
  expect_equal(format_age(12.4), "12 min")
  expect_equal(format_age(135), "2 h 15 min")
  expect_equal(format_age(4 * 1440), "4 days")
  expect_equal(format_count(c(1234567, NA)), c("1,234,567", "–"))
  expect_equal(format_percent(c(0.125, NA)), c("12.5 %", "–"))
})

test_that("countries read as names with their code", {
  skip_if_not(file.exists("/usr/share/iso-codes/json/iso_3166-1.json"), "Debian's iso-codes is not installed")
  expect_equal(country_name(c("VN", "SG", "unknown", "ZZ")),
               c("Vietnam (VN)", "Singapore (SG)", "Unknown", "ZZ"))
})

test_that("filter values are quoted, never pasted raw", {
  expect_equal(rollup_filter_where(filters("mobile", "VN", "x' OR '1'='1")),
               "device_type = 'mobile' AND country = 'VN' AND category = 'x'' OR ''1''=''1'")
  expect_equal(rollup_filter_where(filters(), "r.", split = "device_type"),
               "r.device_type <> '*' AND r.country = '*' AND r.category = '*'")
  expect_equal(rollup_filter_where(filters("tablet"), split = "device_type", columns = "device_type"),
               "device_type = 'tablet'")
})

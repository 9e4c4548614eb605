# Last (files run in name order): it adds an ETL run to the seeded warehouse.

test_that("a new ETL run renews the status and every cached result", {
  skip_without_warehouse()
  skip_if_not(nzchar(Sys.getenv("SBW_SBWCTL")), "SBW_SBWCTL is not set")
  con <- seeded()
  before <- warehouse_status(con)
  fingerprint <- runs_fingerprint(con)
  is_cached <- memoise::has_cache(cached_module_data)
  data <- cached_module_data(con, "traffic", days(1, 3), filters(), before$run_id)
  expect_true(is_cached(con, "traffic", days(1, 3), filters(), before$run_id))
  expect_false(is_cached(con, "traffic", days(1, 3), filters(device = "mobile"), before$run_id))

  etl <- system2(Sys.getenv("SBW_SBWCTL"),
                 c("etl", "run", "--raw-dir", Sys.getenv("SBW_FIXTURE_RAW_DIR"),
                   "--database-url", Sys.getenv("SBW_ETL_DATABASE_URL"),
                   "--timezone", fixture$timezone, "--freshness-slo-minutes", "90"),
                 stdout = TRUE, stderr = TRUE)
  expect_null(attr(etl, "status"))

  after <- warehouse_status(con)
  expect_equal(after$run_id, before$run_id + 1)
  expect_false(identical(runs_fingerprint(con), fingerprint))
  expect_false(is_cached(con, "traffic", days(1, 3), filters(), after$run_id))
  # The run loaded nothing new: the same numbers under the new key.
  expect_equal(cached_module_data(con, "traffic", days(1, 3), filters(), after$run_id), data)
})

# The seeding run (the fixture's only run so far) started after day 3.
since_fixture <- function() date_range(day(3) + 1, shop_today(fixture$timezone))

test_that("the runs of a range: status, rows, rejects, quarantined objects, lag", {
  skip_without_warehouse()
  runs <- etl_runs_in(seeded(), since_fixture(), fixture$timezone)
  expect_equal(nrow(runs), 1)
  expect_equal(as.list(runs[c("run_id", "trigger", "status", "events_loaded", "rejected_lines", "objects_quarantined")]),
               list(run_id = 1, trigger = "manual", status = "succeeded", events_loaded = 63,
                    rejected_lines = 1, objects_quarantined = 1))
  # 9 visits (the bot's included) and the object with the rejected line.
  expect_equal(runs$objects_loaded, 10)
  expect_gte(runs$duration_seconds, 0)
  # The newest event was received late on day 3; the run ended later.
  expect_gt(runs$lag_seconds, 0)
  expect_equal(nrow(etl_runs_in(seeded(), days(1, 3), fixture$timezone)), 0)
})

test_that("freshness: loaded through the start of the latest successful run, against the objective", {
  skip_without_warehouse()
  fresh <- etl_freshness(seeded())
  run <- etl_runs_in(seeded(), since_fixture(), fixture$timezone)
  expect_equal(fresh$loaded_through, run$started_at)
  expect_equal(fresh$refreshed_at, run$finished_at)
  expect_equal(fresh$slo_minutes, 90)
})

test_that("the operational snapshot: ingest error rate and dead letters", {
  skip_without_warehouse()
  expected <- list(source = "local", window_minutes = 60, ingest_requests = 120, ingest_client_errors = 6,
                   ingest_server_errors = 2, dead_letters = 3, dead_letter_oldest_seconds = 900, error_rate = 8 / 120)
  latest <- latest_ops_snapshot(seeded())
  expect_equal(as.list(latest[names(expected)]), expected)
  expect_equal(nrow(ops_snapshots_in(seeded(), since_fixture(), fixture$timezone)), 1)
  expect_equal(nrow(ops_snapshots_in(seeded(), days(1, 3), fixture$timezone)), 0)
})

test_that("the filters do not change the reliability figures", {
  skip_without_warehouse()
  expect_equal(reliability_data(seeded(), since_fixture(), filters(device = "mobile", category = "laptops")),
               reliability_data(seeded(), since_fixture(), filters()))
  data <- reliability_data(seeded(), since_fixture(), filters())
  expect_equal(data$timezone, "Asia/Ho_Chi_Minh")
  expect_equal(data$latest_lag_seconds, data$runs$lag_seconds)
})

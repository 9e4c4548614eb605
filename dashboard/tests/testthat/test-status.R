test_that("a loaded warehouse is ready: run, time zone, objective, currency", {
  skip_without_warehouse()
  status <- warehouse_status(seeded())
  expect_equal(status[c("state", "timezone", "slo_minutes", "run_id", "currency")],
               list(state = "ready", timezone = "Asia/Ho_Chi_Minh", slo_minutes = 90, run_id = 1, currency = "VND"))
  expect_lte(as.numeric(status$loaded_through), as.numeric(status$refreshed_at))
  expect_match(freshness_sentence(status, now = status$loaded_through + 30 * 60),
               "^Data refreshed .* \\(ETL run 1\\), .* ago; complete up to .*, 30 min old: within the 90-minute freshness objective\\.$")
  expect_match(freshness_sentence(status, now = status$loaded_through + 200 * 60),
               "3 h 20 min old: beyond the 90-minute freshness objective\\.$")
  backfills_only <- modifyList(status, list(loaded_through = NA))
  expect_match(freshness_sentence(backfills_only), "; only backfills have run, so how complete it is is unknown\\.$")
})

test_that("a migrated warehouse without a successful run, an empty one, one out of reach", {
  skip_without_warehouse()
  migrated <- warehouse_status(warehouse_named("SBW_DASHBOARD_MIGRATED_DB"))
  expect_equal(migrated$state, "no_run")
  expect_match(migrated$message, "^No ETL run has loaded the warehouse yet\\.")
  expect_equal(warehouse_status(warehouse_named("SBW_DASHBOARD_EMPTY_DB"))$state, "no_schema")
  down <- warehouse_status(unreachable())
  expect_equal(down$state, "unavailable")
  expect_match(down$message, "^The warehouse cannot be reached: could not connect .*Connection refused")
  expect_equal(freshness_sentence(down), down$message)
})

test_that("the filters offer what the rollups hold", {
  skip_without_warehouse()
  expect_equal(filter_choices(seeded()),
               list(country = c("JP", "SG", "VN", "unknown"),
                    category = c("keyboards", "laptops", "mice-pads", "monitors")))
})

test_that("/healthz is 200 when the role can query, 503 with the reason otherwise", {
  skip_without_warehouse()
  ok <- health_response(seeded())
  expect_equal(ok$status, 200L)
  expect_equal(ok$content, "ok\n")
  down <- health_response(unreachable())
  expect_equal(down$status, 503L)
  expect_match(down$content, "^The warehouse cannot be reached: .*Connection refused")
})

test_that("the dashboard's role can only read", {
  skip_without_warehouse()
  expect_error(db_get(seeded(), "CREATE TABLE intruder (id int)"), "read-only transaction", class = "sbw_unavailable")
  expect_error(db_get(seeded(), "DELETE FROM etl_runs"), "read-only transaction|permission denied",
               class = "sbw_unavailable")
})

test_that("a connection the server closed is opened again", {
  skip_without_warehouse()
  con <- warehouse()
  on.exit(db_disconnect(con))
  pid <- db_get(con, "SELECT pg_backend_pid() AS pid")$pid
  admin <- superuser()
  expect_true(db_get(admin, sprintf("SELECT pg_terminate_backend(%d) AS done", pid))$done)
  db_disconnect(admin)
  expect_false(identical(db_get(con, "SELECT pg_backend_pid() AS pid")$pid, pid))
})

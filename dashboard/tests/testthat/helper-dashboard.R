# The app's functions, and the warehouse scripts/test-dashboard.sh seeded
# with testkit's dashboard-fixture through the real ETL (the scenario and
# its numbers: testkit/src/bin/dashboard-fixture.rs). Tests connect as
# sbw_dashboard through the libpq variables the script sets.

library(shiny)
library(testthat)

app_dir <- normalizePath(test_path("..", ".."))
options(sbw.dashboard_dir = app_dir)
if (!nzchar(Sys.getenv("TZ"))) Sys.setenv(TZ = "UTC")
shiny::loadSupport(app_dir, renv = globalenv())

fixture <- if (nzchar(Sys.getenv("SBW_FIXTURE_JSON"))) jsonlite::fromJSON(Sys.getenv("SBW_FIXTURE_JSON"))

skip_without_warehouse <- function() {
  skip_if(is.null(fixture), "no seeded warehouse: run scripts/test-dashboard.sh")
}

# The seeded warehouse, and warehouses in other states (same server): one
# handle each, as the app has one (RPostgreSQL allows 16 connections).
handles <- new.env()
shared <- function(key, open) {
  if (is.null(handles[[key]])) handles[[key]] <- open()
  handles[[key]]
}
seeded <- function() shared("seeded", warehouse)
warehouse_named <- function(variable) shared(variable, function() warehouse(dbname = Sys.getenv(variable)))
unreachable <- function() warehouse(host = "127.0.0.1", port = "1")
superuser <- function() {
  warehouse(user = sub("^postgres(ql)?://([^@:/]+).*$", "\\2", Sys.getenv("SBW_TEST_PG_URL", "postgresql://postgres@")))
}

# Fixture day 1, 2 or 3; ranges over them.
day <- function(n) as.Date(fixture$days[[n]])
days <- function(first, last = first) date_range(day(first), day(last))

# Every month row holding the fixture, none of its day rows.
wide_range <- function() date_range(day(1) - 400, day(3) + 400)

# A range with nothing in it, long before the fixture.
empty_range <- function() date_range(day(1) - 1000, day(1) - 990)

row_of <- function(table, column, value) {
  as.list(table[table[[column]] == value, , drop = FALSE])
}

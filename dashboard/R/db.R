# The warehouse connection: one per R process, opened from the libpq
# environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD,
# PGSSLMODE) as the read-only role, and opened again when it breaks.
# Every failure to reach or query the warehouse is a condition of class
# `sbw_unavailable` whose message is a sentence for the page.

# `...` overrides libpq settings (host, port, dbname, user, password).
warehouse <- function(...) {
  handle <- new.env(parent = emptyenv())
  handle$params <- list(...)
  handle$connection <- NULL
  structure(handle, class = "sbw_warehouse")
}

warehouse_unavailable <- function(reason, what = "cannot be reached") {
  reason <- gsub("\\s+", " ", trimws(sub("^(RPosgreSQL error|ERROR|FATAL): *", "", reason)))
  structure(
    class = c("sbw_unavailable", "error", "condition"),
    list(message = sprintf("The warehouse %s: %s", what, reason), call = NULL)
  )
}

db_connect <- function(con) {
  # libpq waits for an unreachable host as long as TCP does (minutes); the
  # health check and the page need an answer sooner.
  if (!nzchar(Sys.getenv("PGCONNECT_TIMEOUT"))) Sys.setenv(PGCONNECT_TIMEOUT = "5")
  connection <- tryCatch(
    do.call(DBI::dbConnect, c(list(RPostgreSQL::PostgreSQL()), con$params)),
    error = function(e) stop(warehouse_unavailable(conditionMessage(e)))
  )
  # Parallel workers cost more to start than the rollup queries take on a
  # two-core warehouse (an acquisition year: 73 ms with them, 25 without).
  for (setting in c("SET statement_timeout = '15s'", "SET TIME ZONE 'UTC'",
                    "SET application_name = 'sbw-dashboard'",
                    "SET max_parallel_workers_per_gather = 0")) {
    DBI::dbExecute(connection, setting)
  }
  connection
}

db_disconnect <- function(con) {
  if (!is.null(con$connection)) try(DBI::dbDisconnect(con$connection), silent = TRUE)
  con$connection <- NULL
}

# RPostgreSQL reports a failed statement by printing the server's error
# through try() and warning "Could not create execute" with a NULL result;
# the server's message is kept for dbGetException(). Returns the rows or an
# error condition carrying the server's first line.
try_query <- function(connection, sql) {
  silenced <- textConnection(NULL, "w")
  old <- options(try.outFile = silenced)
  on.exit({
    options(old)
    close(silenced)
  })
  result <- tryCatch(DBI::dbGetQuery(connection, sql), warning = identity, error = identity)
  if (!is.null(result) && !inherits(result, "condition")) return(result)
  reason <- tryCatch(DBI::dbGetException(connection)$errorMsg, error = function(e) "")
  simpleError(sub("\n.*", "", if (nzchar(reason)) reason else "the connection was lost"))
}

# The rows of `sql` as a data frame.
db_get <- function(con, sql) {
  if (is.null(con$connection)) con$connection <- db_connect(con)
  result <- try_query(con$connection, sql)
  if (!inherits(result, "condition")) return(result)
  # A connection the server closed (restart, idle timeout) fails once; a
  # fresh one answers. A statement the server refused fails again.
  if (!inherits(try_query(con$connection, "SELECT 1"), "condition")) {
    message("warehouse query failed: ", conditionMessage(result), "\n", sql)
    stop(warehouse_unavailable(conditionMessage(result), "could not answer"))
  }
  db_disconnect(con)
  con$connection <- db_connect(con)
  result <- try_query(con$connection, sql)
  if (inherits(result, "condition")) stop(warehouse_unavailable(conditionMessage(result), "could not answer"))
  result
}

# SQL literals. Values are quoted, never pasted raw; the server's
# standard_conforming_strings (on since PostgreSQL 9.1) makes doubling
# single quotes the whole escape (DBI's ANSI quoting, without its S4 cost).
sql_string <- function(x) paste0("'", gsub("'", "''", as.character(x), fixed = TRUE), "'")
sql_date <- function(x) paste0("DATE ", sql_string(format(as.Date(x), "%Y-%m-%d")))

# What the whole dashboard depends on: is the warehouse there, has a run
# loaded it, which run (the cache key), how fresh, in which time zone and
# currency. `state` is "ready", "no_run" (migrated, no successful run yet),
# "no_schema" (no run ever reached it) or "unavailable".
warehouse_status <- function(con) {
  tryCatch(read_status(con), sbw_unavailable = function(e) {
    list(state = "unavailable", message = conditionMessage(e), timezone = "UTC")
  })
}

read_status <- function(con) {
  if (!has_schema(con)) {
    return(list(
      state = "no_schema", timezone = "UTC",
      message = paste("The warehouse is empty: no ETL run has reached it yet.",
                      "The dashboard fills after the first successful run.")
    ))
  }
  settings <- db_get(con, "SELECT timezone, freshness_slo_minutes FROM warehouse_settings")
  runs <- latest_runs(con)
  latest <- db_get(con, "
    SELECT finished_at AS refreshed_at,
           (SELECT max(started_at) FROM etl_runs
            WHERE status = 'succeeded' AND trigger <> 'backfill') AS loaded_through
    FROM etl_runs WHERE status = 'succeeded' ORDER BY run_id DESC LIMIT 1")
  currency <- db_get(con, "
    SELECT currency FROM dim_product WHERE currency IS NOT NULL
    GROUP BY currency ORDER BY count(*) DESC, currency LIMIT 1")$currency
  status <- list(
    # A warehouse no run has touched since the time zone was introduced has no settings row.
    timezone = if (nrow(settings) == 1) settings$timezone else "UTC",
    slo_minutes = if (nrow(settings) == 1) settings$freshness_slo_minutes else 135,
    run_id = runs$succeeded,
    # Keys what also changes with failed runs (the Reliability module).
    runs_key = paste(runs, collapse = "/"),
    currency = if (length(currency) == 1) currency else NA_character_
  )
  if (nrow(latest) == 0) {
    return(c(status, list(
      state = "no_run",
      message = paste("No ETL run has loaded the warehouse yet.",
                      "The dashboard fills after the first successful run.")
    )))
  }
  c(status, list(state = "ready", refreshed_at = latest$refreshed_at,
                 loaded_through = latest$loaded_through))
}

has_schema <- function(con) {
  isTRUE(db_get(con, "SELECT to_regclass('public.etl_runs') IS NOT NULL AS ok")$ok)
}

latest_runs <- function(con) {
  db_get(con, "
    SELECT max(run_id) FILTER (WHERE status = 'succeeded') AS succeeded,
           max(run_id) AS latest, count(*) FILTER (WHERE status = 'running') AS running
    FROM etl_runs")
}

# What changes when a run starts or ends: the poll that tells the dashboard
# to read the status again (and so to drop its cached results).
runs_fingerprint <- function(con) {
  tryCatch({
    if (has_schema(con)) paste(latest_runs(con), collapse = "/") else "no schema"
  }, sbw_unavailable = function(e) conditionMessage(e))
}

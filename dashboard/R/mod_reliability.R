# Reliability: is the data complete and on time? ETL runs, freshness
# against its objective, the ETL's lag, the dead letters waiting and the
# ingest error rate, all from what the runs record in the warehouse.

RUN_STATUS_COLORS <- c(succeeded = "#54a24b", partial = "#b279a2", running = "#4c78a8", failed = "#e45756", abandoned = "#f58518")

shop_timezone <- function(con) {
  db_get(con, "SELECT coalesce(max(timezone), 'UTC') AS timezone FROM warehouse_settings")$timezone
}

# The time condition for `column` covering the range's local days.
local_days_where <- function(column, range, timezone) {
  sprintf("%1$s >= (%2$s)::timestamp AT TIME ZONE %4$s AND %1$s < (%3$s)::timestamp AT TIME ZONE %4$s",
          column, sql_date(range$from), sql_date(range$to + 1), sql_string(timezone))
}

# The runs started in the range, newest first. Lag: how old the newest event
# a run loaded was when the run made it visible.
etl_runs_in <- function(con, range, timezone, limit = 500) {
  db_get(con, sprintf("
    SELECT run_id, trigger, status, started_at, finished_at,
           extract(epoch FROM finished_at - started_at) AS duration_seconds,
           objects_loaded, objects_quarantined, events_loaded, duplicates, rejected_lines,
           extract(epoch FROM finished_at - newest_received_at) AS lag_seconds, error
    FROM etl_runs WHERE %s
    ORDER BY run_id DESC LIMIT %d", local_days_where("started_at", range, timezone), limit))
}

# Loaded through: every event received before the start of the latest
# successful scheduled or manual run is in the warehouse.
etl_freshness <- function(con) {
  db_get(con, "
    SELECT max(started_at) FILTER (WHERE status = 'succeeded' AND trigger <> 'backfill') AS loaded_through,
           max(finished_at) FILTER (WHERE status = 'succeeded') AS refreshed_at,
           (SELECT max(freshness_slo_minutes) FROM warehouse_settings) AS slo_minutes
    FROM etl_runs")
}

# The last snapshot of each hour in the range: its trailing hour covers that
# hour, and a year stays 8,760 points whatever the ETL's cadence.
ops_snapshots_in <- function(con, range, timezone) {
  with_error_rate(db_get(con, sprintf("
    SELECT DISTINCT ON (date_trunc('hour', taken_at))
           taken_at, source, window_minutes, ingest_requests, ingest_client_errors,
           ingest_server_errors, dead_letters, dead_letter_oldest_seconds
    FROM ops_snapshots WHERE %s
    ORDER BY date_trunc('hour', taken_at), taken_at DESC", local_days_where("taken_at", range, timezone))))
}

# The dead letters waiting and the ingest answers now, whatever the range.
latest_ops_snapshot <- function(con) {
  with_error_rate(db_get(con, "
    SELECT taken_at, source, window_minutes, ingest_requests, ingest_client_errors,
           ingest_server_errors, dead_letters, dead_letter_oldest_seconds
    FROM ops_snapshots ORDER BY taken_at DESC LIMIT 1"))
}

with_error_rate <- function(snapshots) {
  errors <- snapshots$ingest_client_errors + snapshots$ingest_server_errors
  snapshots$error_rate <- ifelse(snapshots$ingest_requests == 0, NA, errors / snapshots$ingest_requests)
  snapshots
}

# The filters do not apply: the pipeline has no devices or countries.
reliability_data <- function(con, range, filters) {
  timezone <- shop_timezone(con)
  runs <- etl_runs_in(con, range, timezone)
  list(
    timezone = timezone,
    freshness = etl_freshness(con),
    runs = runs,
    latest_lag_seconds = runs$lag_seconds[runs$status == "succeeded"][1],
    snapshots = ops_snapshots_in(con, range, timezone),
    latest_snapshot = latest_ops_snapshot(con)
  )
}

reliability_ui <- function(id) {
  ns <- NS(id)
  module_page(
    id,
    note = tags$p(class = "text-muted small",
                  "The pipeline's health: the device, country and category filters do not apply here."),
    uiOutput(ns("kpis")),
    side_by_side(
      titled_card("ETL runs: duration and lag", plotly::plotlyOutput(ns("runs_chart"), height = "280px")),
      titled_card("Ingest errors and dead letters", plotly::plotlyOutput(ns("ops_chart"), height = "280px"))
    ),
    titled_card("ETL runs", DT::DTOutput(ns("runs")))
  )
}

reliability_server <- function(id, con, controls, status) {
  moduleServer(id, function(input, output, session) {
    result <- module_result(
      "reliability", con, controls, status,
      needs = c("ready", "no_run"), key = function(status) status$runs_key,
      empty = function(data, ctl) {
        if (nrow(data$runs) == 0 && nrow(data$snapshots) == 0) {
          sprintf("No ETL run started between %s.", format_range(ctl$range))
        }
      }
    )
    module_page_server(input, output, session, result, status)

    output$kpis <- renderUI({
      data <- result_data(result)
      invalidateLater(60 * 1000)
      fresh <- data$freshness
      age <- as.numeric(difftime(Sys.time(), fresh$loaded_through, units = "mins"))
      latest <- data$latest_snapshot
      kpi_row(list(
        kpi_box("Freshness", format_age(age),
                note = if (is.na(age)) "no successful run yet" else
                  sprintf("%s the %d-minute objective", if (age <= fresh$slo_minutes) "within" else "beyond",
                          fresh$slo_minutes),
                help = "Every event received before this long ago is in the warehouse."),
        kpi_box("ETL lag", format_duration(data$latest_lag_seconds),
                help = "Latest successful run of the range: from the newest event's receipt to the run's end."),
        kpi_box("Dead letters", if (nrow(latest) == 0) "–" else format_count(latest$dead_letters),
                note = if (nrow(latest) == 1 && !is.na(latest$dead_letter_oldest_seconds))
                  paste("oldest", format_duration(latest$dead_letter_oldest_seconds)),
                help = "Events the raw store could not take, waiting to be redriven."),
        kpi_box("Ingest error rate", if (nrow(latest) == 0) "–" else format_percent(latest$error_rate),
                note = if (nrow(latest) == 1)
                  sprintf("%s of %s requests, last %d min",
                          format_count(latest$ingest_client_errors + latest$ingest_server_errors),
                          format_count(latest$ingest_requests), latest$window_minutes),
                help = "4xx and 5xx answers of the ingest endpoint over the latest snapshot's window.")
      ))
    })

    # Times on the shop's clock, over the whole range.
    local_clock <- function(t, timezone) as.POSIXct(format(t, tz = timezone), tz = "UTC")
    range_axis <- function() {
      range <- controls()$range
      list(range = as.numeric(as.POSIXct(c(range$from, range$to + 1))) * 1000, type = "date")
    }

    output$runs_chart <- plotly::renderPlotly({
      data <- result_data(result)
      if (nrow(data$runs) == 0) return(empty_chart("No ETL run started in this range."))
      runs <- transform(data$runs, started = local_clock(started_at, data$timezone), lag_minutes = lag_seconds / 60)
      chart(plotly::plot_ly(runs, x = ~started) |>
              plotly::add_markers(y = ~duration_seconds, color = ~status, colors = RUN_STATUS_COLORS) |>
              plotly::add_trace(y = ~lag_minutes, name = "Lag (min)", type = "scatter", mode = "lines+markers",
                                yaxis = "y2", line = list(color = "#e45756"), marker = list(color = "#e45756")) |>
              plotly::layout(xaxis = range_axis()),
            y_title = "duration (s)", y2_title = "lag (min)")
    })

    output$ops_chart <- plotly::renderPlotly({
      data <- result_data(result)
      if (nrow(data$snapshots) == 0) return(empty_chart("No operational snapshot in this range."))
      snapshots <- transform(data$snapshots, taken = local_clock(taken_at, data$timezone))
      chart(plotly::plot_ly(snapshots, x = ~taken) |>
              plotly::add_trace(y = ~ 100 * error_rate, name = "Ingest errors (%)", type = "scatter",
                                mode = "lines+markers") |>
              plotly::add_trace(y = ~dead_letters, name = "Dead letters", type = "scatter",
                                mode = "lines+markers", yaxis = "y2") |>
              plotly::layout(xaxis = range_axis()),
            y_title = "errors (%)", y2_title = "dead letters")
    })

    output$runs <- render_table({
      data <- result_data(result)
      runs <- data$runs
      local_time <- function(t) format(t, "%Y-%m-%d %H:%M", tz = data$timezone)
      runs$started <- local_time(runs$started_at)
      runs$duration <- vapply(runs$duration_seconds, format_duration, character(1))
      data_table(runs,
                 c(run_id = "Run", trigger = "Trigger", status = "Status", started = "Started",
                   duration = "Duration", events_loaded = "Events", objects_loaded = "Objects",
                   rejected_lines = "Rejected lines", objects_quarantined = "Quarantined objects",
                   duplicates = "Duplicates", error = "Error"),
                 counts = c("events_loaded", "objects_loaded", "rejected_lines", "objects_quarantined", "duplicates"))
    })
  })
}

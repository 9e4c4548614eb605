# Traffic & Engagement: visitors, visits, engagement, the daily trend, top
# pages and entry pages.

HLL_NOTE <- paste(
  "Distinct visitors are counted with HyperLogLog sketches (log2m = 12):",
  "exact for small numbers, within about ±1.6 % beyond."
)

# Totals of each range, one row per range in the order given, in one
# round trip. Visitors: distinct over the whole range, from the union of the
# sketches, never a sum of daily counts.
traffic_summaries <- function(con, ranges, filters) {
  selects <- vapply(seq_along(ranges), function(i) sprintf("
    SELECT %d AS position,
           coalesce(sum(sessions), 0) AS sessions,
           coalesce(round(hll_cardinality(hll_union_agg(visitors))), 0) AS visitors,
           coalesce(sum(signed_in), 0) AS signed_in,
           coalesce(sum(page_views), 0) AS page_views,
           coalesce(sum(bounces), 0) AS bounces,
           coalesce(sum(duration_seconds), 0) AS duration_seconds
    FROM rollup_traffic
    WHERE %s AND %s", i, range_where(ranges[[i]]), rollup_filter_where(filters)), character(1))
  rows <- db_get(con, paste(selects, collapse = "\n    UNION ALL"))
  rows <- rows[order(rows$position), setdiff(names(rows), "position")]
  rownames(rows) <- NULL
  rows
}

traffic_summary <- function(con, range, filters) traffic_summaries(con, list(range), filters)

# One row per day of the range, days without visits included.
traffic_daily <- function(con, range, filters) {
  rows <- db_get(con, sprintf("
    SELECT day, sessions, round(hll_cardinality(visitors)) AS visitors, page_views, bounces
    FROM rollup_traffic
    WHERE %s AND %s ORDER BY day", days_where(range), rollup_filter_where(filters)))
  all_days <- data.frame(day = seq(range$from, range$to, by = "day"))
  daily <- merge(all_days, rows, by = "day", all.x = TRUE)
  daily[is.na(daily)] <- 0
  daily
}

top_pages <- function(con, range, filters, limit = 10) {
  db_get(con, sprintf("
    SELECT page_path, sum(page_views) AS page_views
    FROM rollup_pages
    WHERE %s AND %s
    GROUP BY page_path HAVING sum(page_views) > 0
    ORDER BY page_views DESC, page_path COLLATE \"C\" LIMIT %d", range_where(range), rollup_filter_where(filters), limit))
}

entry_pages <- function(con, range, filters, limit = 10) {
  pages <- db_get(con, sprintf("
    SELECT page_path, sum(entries) AS entries, sum(entry_bounces) AS bounces
    FROM rollup_pages
    WHERE %s AND %s
    GROUP BY page_path HAVING sum(entries) > 0
    ORDER BY entries DESC, page_path COLLATE \"C\" LIMIT %d", range_where(range), rollup_filter_where(filters), limit))
  pages$bounce_rate <- pages$bounces / pages$entries
  pages
}

# A period and the 7 and 30 days that end with it: the windows of its
# visitors, weekly and monthly active visitors.
visitor_windows <- function(range) {
  list(range, trailing_window(range, 7), trailing_window(range, 30))
}

# The KPIs of a period from the totals of its visitor windows and its days.
traffic_kpis <- function(range, windows, daily) {
  totals <- windows[1, ]
  c(
    visitors = totals$visitors,
    dau = sum(daily$visitors) / range_days(range),
    wau = windows$visitors[2],
    mau = windows$visitors[3],
    sessions = totals$sessions,
    pages_per_session = ratio(totals$page_views, totals$sessions),
    avg_duration = ratio(totals$duration_seconds, totals$sessions),
    bounce_rate = ratio(totals$bounces, totals$sessions)
  )
}

traffic_data <- function(con, range, filters) {
  previous <- previous_period(range)
  totals <- traffic_summaries(con, c(visitor_windows(range), visitor_windows(previous)), filters)
  daily <- traffic_daily(con, range, filters)
  previous_daily <- traffic_daily(con, previous, filters)
  list(
    kpis = traffic_kpis(range, totals[1:3, ], daily),
    previous_kpis = traffic_kpis(previous, totals[4:6, ], previous_daily),
    daily = daily, previous_daily = previous_daily,
    top_pages = top_pages(con, range, filters),
    entry_pages = entry_pages(con, range, filters)
  )
}

# A function, not a constant: kpi() is in module.R, which Shiny may source later.
traffic_kpi_specs <- function() list(
  visitors = kpi("Visitors", format_count, help = HLL_NOTE),
  dau = kpi("Daily active visitors", function(x) format_count(x, 1),
            help = "Average over the days of the range of each day's distinct visitors."),
  wau = kpi("Weekly active visitors", format_count,
            help = "Distinct visitors over the 7 days ending with the range's last day."),
  mau = kpi("Monthly active visitors", format_count,
            help = "Distinct visitors over the 30 days ending with the range's last day."),
  sessions = kpi("Visits", format_count),
  pages_per_session = kpi("Pages per visit", function(x) format_count(x, 2)),
  avg_duration = kpi("Average visit duration", format_duration, help = "From a visit's first event to its last."),
  bounce_rate = kpi("Bounce rate", format_percent, "rate", "Visits with a single page view.")
)

traffic_ui <- function(id) {
  ns <- NS(id)
  module_page(
    id,
    uiOutput(ns("kpis")),
    titled_card("Visits and visitors per day", plotly::plotlyOutput(ns("trend"), height = "300px")),
    side_by_side(
      titled_card("Top pages", DT::DTOutput(ns("top_pages"))),
      titled_card("Entry pages", DT::DTOutput(ns("entry_pages")))
    ),
    tags$p(class = "text-muted small", HLL_NOTE)
  )
}

traffic_server <- function(id, con, controls, status) {
  moduleServer(id, function(input, output, session) {
    result <- module_result("traffic", con, controls, status, empty = function(data, ctl) {
      if (data$kpis[["sessions"]] == 0) no_data_sentence("visits", ctl)
    })
    module_page_server(input, output, session, result, status)

    output$kpis <- renderUI({
      data <- result_data(result)
      kpi_boxes(traffic_kpi_specs(), data$kpis, data$previous_kpis, controls()$compare)
    })

    output$trend <- plotly::renderPlotly({
      data <- result_data(result)
      plot <- plotly::plot_ly(data$daily, x = ~day) |>
        plotly::add_bars(y = ~sessions, name = "Visits", marker = list(color = "#4c78a8")) |>
        plotly::add_lines(y = ~visitors, name = "Visitors", line = list(color = "#f58518"))
      if (controls()$compare) {
        # The previous period drawn over this one, day for day.
        shifted <- transform(data$previous_daily, day = day + nrow(data$daily))
        plot <- plotly::add_lines(plot, data = shifted, x = ~day, y = ~sessions,
                                  name = "Visits, previous period",
                                  line = list(color = "#4c78a8", dash = "dot"))
      }
      chart(plot)
    })

    output$top_pages <- render_table({
      data_table(result_data(result)$top_pages, c(page_path = "Page", page_views = "Page views"),
                 counts = "page_views")
    })
    output$entry_pages <- render_table({
      data_table(result_data(result)$entry_pages,
                 c(page_path = "Page", entries = "Entries", bounce_rate = "Bounce rate"),
                 counts = "entries", percents = "bounce_rate")
    })
  })
}

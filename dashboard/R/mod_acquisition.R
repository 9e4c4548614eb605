# Acquisition: where visits come from, and how each source's visits behave.

ACQUISITION_DIMENSIONS <- c(
  "Channel" = "referrer_class", "Referrer" = "referrer_host", "UTM source" = "utm_source",
  "UTM medium" = "utm_medium", "UTM campaign" = "utm_campaign",
  "Device" = "device_type", "Country" = "country"
)

# The SELECT of visits, bounces, purchasing visits and revenue per value of
# `dimension`, its rows tagged with `tag`.
acquisition_select <- function(range, filters, dimension, tag = dimension) {
  stopifnot(dimension %in% ACQUISITION_DIMENSIONS)
  split <- if (dimension %in% names(FILTER_COLUMNS)) dimension
  sprintf("
    SELECT %4$s AS dimension, %1$s AS value, sum(sessions) AS sessions, sum(bounces) AS bounces,
           sum(conversions) AS conversions, sum(revenue) AS revenue
    FROM rollup_acquisition
    WHERE %2$s AND %3$s
    GROUP BY %1$s",
    dimension, range_where(range), rollup_filter_where(filters, split = split), sql_string(tag))
}

# One dimension's rows of a query's result: busiest first, labelled, with rates.
acquisition_rows <- function(rows, dimension) {
  sources <- rows[rows$dimension == dimension, setdiff(names(rows), "dimension"), drop = FALSE]
  sources <- sources[order(-sources$sessions, sources$value, method = "radix"), , drop = FALSE]
  rownames(sources) <- NULL
  sources$value <- if (dimension == "country") country_name(sources$value) else
    ifelse(is.na(sources$value), "(none)", sources$value)
  sources$bounce_rate <- sources$bounces / sources$sessions
  sources$conversion_rate <- sources$conversions / sources$sessions
  sources
}

# Visits, bounces, purchasing visits and revenue per value of `dimension`.
acquisition_by <- function(con, range, filters, dimension) {
  acquisition_rows(db_get(con, acquisition_select(range, filters, dimension)), dimension)
}

# Every visit has one channel, so the channels add up to all visits.
acquisition_totals <- function(channels) {
  sessions <- sum(channels$sessions)
  c(sessions = sessions,
    bounce_rate = ratio(sum(channels$bounces), sessions),
    conversion_rate = ratio(sum(channels$conversions), sessions),
    revenue = sum(channels$revenue))
}

# Every dimension and the previous period's channels in one round trip.
acquisition_data <- function(con, range, filters) {
  selects <- c(
    vapply(ACQUISITION_DIMENSIONS, function(d) acquisition_select(range, filters, d), character(1)),
    acquisition_select(previous_period(range), filters, "referrer_class", tag = "previous")
  )
  rows <- db_get(con, paste(selects, collapse = "\n    UNION ALL"))
  by <- lapply(ACQUISITION_DIMENSIONS, function(dimension) acquisition_rows(rows, dimension))
  names(by) <- ACQUISITION_DIMENSIONS
  list(by = by, totals = acquisition_totals(by$referrer_class),
       previous_totals = acquisition_totals(acquisition_rows(rows, "previous")))
}

acquisition_ui <- function(id) {
  ns <- NS(id)
  module_page(
    id,
    uiOutput(ns("kpis")),
    titled_card(
      "Visits by source",
      plotly::plotlyOutput(ns("sources_chart"), height = "300px"),
      DT::DTOutput(ns("sources")),
      control = selectInput(ns("dimension"), NULL, ACQUISITION_DIMENSIONS, selectize = FALSE, width = "14em")
    ),
    tags$p(class = "text-muted small",
           "A visit's source is that of its first event. Channels: direct, search, social,",
           "email, paid, campaign (UTM tags without a referrer), referral, internal.")
  )
}

acquisition_server <- function(id, con, controls, status) {
  moduleServer(id, function(input, output, session) {
    result <- module_result("acquisition", con, controls, status, empty = function(data, ctl) {
      if (data$totals[["sessions"]] == 0) no_data_sentence("visits", ctl)
    })
    module_page_server(input, output, session, result, status)
    currency <- reactive(status()$currency)

    output$kpis <- renderUI({
      data <- result_data(result)
      kpi_boxes(list(
        sessions = kpi("Visits", format_count),
        bounce_rate = kpi("Bounce rate", format_percent, "rate"),
        conversion_rate = kpi("Conversion rate", format_percent, "rate"),
        revenue = kpi("Revenue", function(x) format_money(x, currency()))
      ), data$totals, data$previous_totals, controls()$compare)
    })

    sources <- reactive({
      req(input$dimension %in% ACQUISITION_DIMENSIONS)
      result_data(result)$by[[input$dimension]]
    })

    output$sources_chart <- plotly::renderPlotly({
      top <- utils::head(sources(), 10)
      top$label <- sprintf("%s visits, %s converted", format_count(top$sessions),
                           format_percent(top$conversion_rate))
      chart(plotly::plot_ly(top, type = "bar", orientation = "h", x = ~sessions,
                            y = ~factor(value, levels = rev(value)), text = ~label,
                            hoverinfo = "text+y", textposition = "none",
                            marker = list(color = "#72b7b2")), x_title = "Visits", legend = FALSE)
    })

    output$sources <- render_table({
      data_table(sources(),
                 c(value = names(ACQUISITION_DIMENSIONS)[ACQUISITION_DIMENSIONS == input$dimension],
                   sessions = "Visits", bounce_rate = "Bounce rate",
                   conversion_rate = "Conversion rate", revenue = "Revenue"),
                 counts = "sessions", percents = c("bounce_rate", "conversion_rate"),
                 money = "revenue", currency = currency())
    })
  })
}

# Funnels: visit -> product view -> add to cart -> checkout -> purchase.
# A closed funnel: a stage counts the visits that did it and every earlier step.

FUNNEL_STAGES <- c(sessions = "Visits", product_view = "Viewed a product",
                   add_to_cart = "Added to cart", checkout = "Checked out", purchase = "Purchased")

FUNNEL_COLUMNS <- paste(sprintf("coalesce(sum(%1$s), 0) AS %1$s", names(FUNNEL_STAGES)), collapse = ", ")

funnel_stages <- function(con, range, filters) {
  db_get(con, sprintf("SELECT %s FROM rollup_funnel WHERE %s AND %s",
                      FUNNEL_COLUMNS, range_where(range), rollup_filter_where(filters)))
}

# The stages per device type or per category (a visit counts in every
# category it touched, so categories add up to more than all visits).
funnel_split <- function(con, range, filters, by = c("device_type", "category")) {
  by <- match.arg(by)
  db_get(con, sprintf("
    SELECT %1$s AS segment, %2$s FROM rollup_funnel
    WHERE %3$s AND %4$s
    GROUP BY %1$s ORDER BY sessions DESC, %1$s COLLATE \"C\"",
    by, FUNNEL_COLUMNS, range_where(range), rollup_filter_where(filters, split = by)))
}

# One row per stage: visits there, conversion from the stage before, drop-off.
funnel_table <- function(stages) {
  counts <- unlist(stages[1, names(FUNNEL_STAGES)])
  before <- c(NA, utils::head(counts, -1))
  data.frame(
    stage = unname(FUNNEL_STAGES),
    sessions = unname(counts),
    conversion = ifelse(is.na(before) | before == 0, NA, counts / before),
    drop_off = ifelse(is.na(before), NA, before - counts),
    of_visits = if (counts[[1]] == 0) NA else unname(counts) / counts[[1]]
  )
}

funnel_data <- function(con, range, filters) {
  current <- funnel_stages(con, range, filters)
  previous <- funnel_stages(con, previous_period(range), filters)
  list(
    stages = funnel_table(current),
    overall = ratio(current$purchase, current$sessions),
    previous_overall = ratio(previous$purchase, previous$sessions),
    sessions = current$sessions,
    previous_sessions = previous$sessions,
    purchases = current$purchase,
    previous_purchases = previous$purchase,
    by_device_type = funnel_split(con, range, filters, "device_type"),
    by_category = funnel_split(con, range, filters, "category")
  )
}

funnel_ui <- function(id) {
  ns <- NS(id)
  module_page(
    id,
    uiOutput(ns("kpis")),
    side_by_side(
      titled_card("Visits at each stage", plotly::plotlyOutput(ns("funnel"), height = "320px")),
      titled_card("Stage conversion and drop-off", DT::DTOutput(ns("stages")))
    ),
    titled_card(
      "Split",
      plotly::plotlyOutput(ns("split_chart"), height = "300px"),
      DT::DTOutput(ns("split_table")),
      tags$p(class = "text-muted small mb-0",
             "A visit counts in every category it viewed, added or bought a product of."),
      control = radioButtons(ns("split"), NULL, inline = TRUE,
                             c("By device" = "device_type", "By category" = "category"))
    )
  )
}

funnel_server <- function(id, con, controls, status) {
  moduleServer(id, function(input, output, session) {
    result <- module_result("funnel", con, controls, status, empty = function(data, ctl) {
      if (data$sessions == 0) no_data_sentence("visits", ctl)
    })
    module_page_server(input, output, session, result, status)

    output$kpis <- renderUI({
      data <- result_data(result)
      kpi_boxes(list(
        overall = kpi("Overall conversion", format_percent, "rate", help = "Visits that purchased, of all visits."),
        sessions = kpi("Visits", format_count),
        purchases = kpi("Purchasing visits", format_count)
      ), data, list(overall = data$previous_overall, sessions = data$previous_sessions,
                    purchases = data$previous_purchases), controls()$compare)
    })

    output$funnel <- plotly::renderPlotly({
      stages <- result_data(result)$stages
      chart(plotly::plot_ly(stages, type = "funnel", y = ~factor(stage, levels = stage), x = ~sessions,
                            textinfo = "value+percent initial",
                            marker = list(color = "#4c78a8")), legend = FALSE)
    })

    output$stages <- render_table({
      data_table(result_data(result)$stages,
                 c(stage = "Stage", sessions = "Visits", conversion = "From the stage before",
                   drop_off = "Dropped off", of_visits = "Of all visits"),
                 counts = c("sessions", "drop_off"), percents = c("conversion", "of_visits"))
    })

    split <- reactive({
      req(input$split %in% c("device_type", "category"))
      segments <- result_data(result)[[paste0("by_", input$split)]]
      segments$conversion <- segments$purchase / segments$sessions
      segments
    })

    output$split_chart <- plotly::renderPlotly({
      segments <- split()
      if (nrow(segments) == 0) return(empty_chart("No visit in this range viewed a product."))
      plot <- plotly::plot_ly()
      for (i in seq_len(nrow(segments))) {
        share <- unlist(segments[i, names(FUNNEL_STAGES)]) / segments$sessions[[i]]
        plot <- plotly::add_bars(plot, x = factor(FUNNEL_STAGES, levels = FUNNEL_STAGES), y = unname(share),
                                 name = segments$segment[[i]])
      }
      chart(plotly::layout(plot, barmode = "group", yaxis = list(tickformat = ".0%")),
            y_title = "Share of the segment's visits")
    })

    output$split_table <- render_table({
      data_table(split(),
                 c(segment = if (input$split == "category") "Category" else "Device",
                   sessions = "Visits", product_view = "Viewed", add_to_cart = "Added",
                   checkout = "Checked out", purchase = "Purchased", conversion = "Conversion"),
                 counts = names(FUNNEL_STAGES), percents = "conversion")
    })
  })
}

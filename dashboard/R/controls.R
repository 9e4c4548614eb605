# The global controls: date range (presets in the shop's time zone),
# comparison with the previous period, device / country / category filters.

# `today`: the shop's today; `choices`: filter_choices() or empty lists.
controls_ui <- function(id, today, choices) {
  ns <- NS(id)
  default <- preset_range("last_7", today)
  # A value restored from a shared URL stays selectable even if the
  # warehouse no longer (or not yet) lists it.
  offered <- filter_options(choices, list(country = restoreInput(ns("country"), ALL),
                                          category = restoreInput(ns("category"), ALL)))
  div(
    class = "sbw-controls d-flex flex-wrap gap-3 align-items-end py-2",
    selectInput(ns("preset"), "Dates", range_presets, selected = "last_7", selectize = FALSE, width = "11em"),
    date_range_input(ns("dates"), NULL, start = default$from, end = default$to, max = today,
                   weekstart = 1, width = "16em"),
    checkboxInput(ns("compare"), "Compare with the previous period", TRUE),
    selectInput(ns("device"), "Device",
                c(stats::setNames(ALL, "All devices"), stats::setNames(DEVICE_TYPES, tools::toTitleCase(DEVICE_TYPES))),
                selectize = FALSE, width = "9em"),
    selectInput(ns("country"), "Country", offered$country, selectize = FALSE, width = "13em"),
    selectInput(ns("category"), "Category", offered$category, selectize = FALSE, width = "12em")
  )
}

# The country and category choices: the warehouse's values (filter_choices)
# and the `selected` ones, after "All".
filter_options <- function(choices, selected) {
  values <- function(name) union(choices[[name]], setdiff(selected[[name]], ALL))
  countries <- values("country")
  categories <- values("category")
  list(country = c("All countries" = ALL, stats::setNames(countries, country_name(countries))),
       category = c("All categories" = ALL, stats::setNames(categories, categories)))
}

# A reactive of list(range, filters, compare).
controls_server <- function(id, con, status) {
  moduleServer(id, function(input, output, session) {
    today <- reactive({
      invalidateLater(10 * 60 * 1000)
      shop_today(status()$timezone)
    })

    observeEvent(list(input$preset, today()), {
      range <- preset_range(input$preset, today())
      if (!is.null(range)) {
        updateDateRangeInput(session, "dates", start = range$from, end = range$to, max = today())
      }
    })
    # Picking dates by hand makes the range a custom one.
    observeEvent(input$dates, ignoreInit = TRUE, {
      range <- preset_range(input$preset, today())
      if (!is.null(range) && !identical(as.Date(input$dates), c(range$from, range$to))) {
        updateSelectInput(session, "preset", selected = "custom")
      }
    })

    # Countries and categories that reach the warehouse after the page was
    # built (its first runs) join the filters.
    observeEvent(status()$run_id, ignoreInit = TRUE, {
      choices <- tryCatch(filter_choices(con), sbw_unavailable = function(e) NULL)
      req(choices)
      offered <- filter_options(choices, list(country = input$country, category = input$category))
      updateSelectInput(session, "country", choices = offered$country, selected = input$country)
      updateSelectInput(session, "category", choices = offered$category, selected = input$category)
    })

    reactive({
      range <- preset_range(input$preset, today())
      if (is.null(range)) {
        req(length(input$dates) == 2, !anyNA(input$dates))
        range <- date_range(input$dates[[1]], input$dates[[2]])
      }
      list(range = range, compare = isTRUE(input$compare),
           filters = filters(input$device, input$country, input$category))
    })
  })
}

# What the five modules share: cached data, the sentence shown instead of
# the content when there is nothing to show, the freshness line, KPI boxes.

# Each module's data, computed once per (module, range, filters, run): a new
# ETL run changes `key` and so every entry. `con` is left out of the key.
cached_module_data <- memoise::memoise(
  function(con, module, range, filters, key) {
    match.fun(paste0(module, "_data"))(con, range, filters)
  },
  cache = cachem::cache_mem(max_size = 64 * 1024^2),
  omit_args = "con"
)

# A reactive of list(data) or list(notice = "why there is nothing to show").
# `needs`: the warehouse states the module can show anything in;
# `empty`: a function of (data, controls) giving the sentence for no data.
module_result <- function(module, con, controls, status, empty,
                          needs = "ready", key = function(status) status$run_id) {
  reactive({
    st <- status()
    if (!st$state %in% needs) return(list(notice = st$message))
    ctl <- controls()
    tryCatch({
      data <- cached_module_data(con, module, ctl$range, ctl$filters, key(st))
      why <- empty(data, ctl)
      if (is.null(why)) list(data = data) else list(notice = why)
    }, sbw_unavailable = function(e) list(notice = conditionMessage(e)))
  })
}

# The data of a result for an output; the output waits while there is none.
result_data <- function(result) {
  current <- result()
  req(is.null(current$notice))
  current$data
}

no_data_sentence <- function(what, controls) {
  sprintf("No %s between %s%s.", what, format_range(controls$range),
          describe_filters(controls$filters))
}

# The layout every module shares: the freshness line, then its content or,
# when there is nothing to show, the sentence that says why.
module_page <- function(id, ..., note = NULL) {
  ns <- NS(id)
  tagList(
    div(class = "sbw-freshness text-muted small my-2", textOutput(ns("freshness"), inline = TRUE)),
    note,
    tabsetPanel(
      id = ns("view"), type = "hidden",
      tabPanelBody("content", ...),
      tabPanelBody("notice", div(class = "alert alert-secondary sbw-notice", textOutput(ns("notice"))))
    )
  )
}

module_page_server <- function(input, output, session, result, status) {
  output$freshness <- renderText({
    invalidateLater(60 * 1000)
    # A warehouse that is not ready is already the notice's sentence.
    if (status()$state != "ready" && !is.null(result()$notice)) "" else freshness_sentence(status())
  })
  output$notice <- renderText(result()$notice)
  observe({
    updateTabsetPanel(session, "view", selected = if (is.null(result()$notice)) "content" else "notice")
  })
}

# "Data refreshed …, … ago" for every module.
freshness_sentence <- function(status, now = Sys.time()) {
  if (!identical(status$state, "ready")) return(status$message)
  minutes_since <- function(t) as.numeric(difftime(now, t, units = "mins"))
  at <- function(t) format(t, "%e %b %H:%M %Z", tz = status$timezone)
  refreshed <- sprintf("Data refreshed %s (ETL run %s), %s ago", trimws(at(status$refreshed_at)),
                       status$run_id, format_age(minutes_since(status$refreshed_at)))
  # Only scheduled and manual runs say how complete the data is; a backfill loads a past window.
  if (is.na(status$loaded_through)) return(paste0(refreshed, "; only backfills have run, so how complete it is is unknown."))
  age <- minutes_since(status$loaded_through)
  sprintf("%s; complete up to %s, %s old: %s the %s-minute freshness objective.",
          refreshed, trimws(at(status$loaded_through)), format_age(age),
          if (age <= status$slo_minutes) "within" else "beyond", status$slo_minutes)
}

# A KPI: its value, its change against the previous period when asked,
# or a note instead.
kpi_box <- function(title, value, change = NULL, note = NULL, help = NULL) {
  bslib::value_box(
    title = tags$span(tags$span(class = "sbw-kpi-title", title),
                      if (!is.null(help)) tags$span(class = "sbw-help", title = help, "?")),
    value = tags$span(class = "sbw-kpi-value", value),
    if (!is.null(change)) {
      tags$p(class = "sbw-change mb-0",
             if (change == "–") tags$span(class = "text-muted", "nothing to compare in the previous period")
             else tagList(change, tags$span(class = "text-muted", " vs previous period")))
    },
    if (!is.null(note)) tags$p(class = "sbw-change text-muted mb-0", note),
    theme_color = "light"
  )
}

kpi_row <- function(boxes) {
  bslib::layout_column_wrap(width = 1 / min(length(boxes), 4), heights_equal = "row", !!!boxes)
}

# A card under its title, with `control` (a selector, a download) at the
# header's right when given.
titled_card <- function(title, ..., control = NULL) {
  header <- if (is.null(control)) {
    bslib::card_header(title)
  } else {
    bslib::card_header(class = "d-flex justify-content-between align-items-center", title, control)
  }
  bslib::card(header, ...)
}

# Cards two to a row.
side_by_side <- function(...) bslib::layout_column_wrap(width = 1 / 2, ...)

# How a KPI reads: its title, how its value is formatted, how its change is
# told (format_change's kind) and its help.
kpi <- function(title, format, kind = "relative", help = NULL) {
  list(title = title, format = format, kind = kind, help = help)
}

# A row of KPIs, one a `kpi()` in `specs`, whose values are `current[[name]]`
# and, when comparing, whose changes are told against `previous[[name]]`.
kpi_boxes <- function(specs, current, previous, compare) {
  kpi_row(lapply(names(specs), function(key) {
    spec <- specs[[key]]
    kpi_box(spec$title, spec$format(current[[key]]),
            if (compare) format_change(current[[key]], previous[[key]], spec$kind),
            help = spec$help)
  }))
}

# Each module's server with shiny::testServer: what it shows for the
# fixture, for a range without data, and when the warehouse is out of reach.

module_servers <- list(traffic = traffic_server, funnel = funnel_server, products = products_server,
                       acquisition = acquisition_server, reliability = reliability_server)

controls_for <- function(range, ...) {
  reactiveVal(list(range = range, filters = filters(...), compare = TRUE))
}

# Runs the quoted `expr` in the module's server (where `output`, `result`
# and the module's other reactives are), with the given warehouse, controls
# and inputs; `expr` sees the caller's variables too.
with_module <- function(module, con, controls, expr, status = warehouse_status(con), inputs = list(),
                        env = parent.frame()) {
  code <- rlang::expr({
    if (length(!!inputs) > 0) do.call(session$setInputs, !!inputs)
    session$flushReact()
    !!expr
  })
  args <- list(con = con, controls = controls, status = reactiveVal(status))
  rlang::inject(testServer(module_servers[[module]], args = args, !!rlang::new_quosure(code, env)))
}

html_of <- function(output) as.character(output$html)

# The figure of a plotly output: its traces' points, and the plotly.js it loads.
figure_of <- function(output) {
  widget <- jsonlite::fromJSON(output, simplifyVector = FALSE)
  list(
    points = vapply(widget$x$data, function(trace) max(length(trace$x), length(trace$y)), numeric(1)),
    plotly_js = Filter(function(d) d$name == "plotly-main", widget$deps)
  )
}

rows_of <- function(output) {
  length(jsonlite::fromJSON(output, simplifyVector = FALSE)$x$data[[1]])
}

test_that("Traffic & Engagement shows the fixture's KPIs, trend and pages", {
  skip_without_warehouse()
  with_module("traffic", seeded(), controls_for(days(1, 3)), quote({
    expect_null(result()$notice)
    kpis <- html_of(output$kpis)
    for (shown in c("Visitors", ">6<", "Visits", ">8<", "Pages per visit", "2.50", "2 min 50 s", "12.5 %", "new")) {
      expect_match(kpis, shown, fixed = TRUE)
    }
    trend <- figure_of(output$trend)
    expect_equal(trend$points, c(3, 3, 3))
    expect_equal(trend$plotly_js[[1]]$version, "2.11.1")
    expect_equal(rows_of(output$top_pages), 8)
    expect_equal(rows_of(output$entry_pages), 3)
    expect_match(output$freshness, "^Data refreshed ")
  }))
})

test_that("Funnels shows the stages and the split the user picks", {
  skip_without_warehouse()
  with_module("funnel", seeded(), controls_for(days(1, 3)), inputs = list(split = "category"), quote({
    expect_match(html_of(output$kpis), "37.5 %", fixed = TRUE)
    expect_equal(figure_of(output$funnel)$points, 5)
    expect_equal(rows_of(output$stages), 5)
    expect_equal(split()$segment, c("laptops", "keyboards", "mice-pads", "monitors"))
    expect_equal(figure_of(output$split_chart)$points, rep(5, 4))
    session$setInputs(split = "device_type")
    expect_equal(split()$segment, c("mobile", "desktop", "tablet"))
    expect_equal(rows_of(output$split_table), 3)
  }))
})

test_that("Product Performance shows revenue in VND, best sellers and a CSV of the table", {
  skip_without_warehouse()
  with_module("products", seeded(), controls_for(days(1, 3)), quote({
    kpis <- html_of(output$kpis)
    expect_match(kpis, "42,650,000 ₫", fixed = TRUE)
    expect_match(kpis, "28.6 %", fixed = TRUE)
    expect_equal(figure_of(output$best_sellers)$points, 4)
    expect_equal(rows_of(output$products), 5)
    expect_equal(rows_of(output$categories), 5)
    expect_equal(rows_of(output$least_viewed), 5)
    csv <- utils::read.csv(output$products_csv)
    expect_equal(nrow(csv), 5)
    expect_equal(csv$revenue[csv$product_id == "lap-apple-mba13-m3"], 27490000)
    expect_true(all(c("impressions", "clicks", "ctr", "views", "add_to_cart_rate", "units") %in% names(csv)))
  }))
})

test_that("Acquisition shows the dimension the user picks", {
  skip_without_warehouse()
  with_module("acquisition", seeded(), controls_for(days(1, 3)), inputs = list(dimension = "utm_campaign"), quote({
    expect_match(html_of(output$kpis), "42,650,000 ₫", fixed = TRUE)
    expect_equal(sources()$value, c("(none)", "back-to-school", "weekly-deals"))
    expect_equal(figure_of(output$sources_chart)$points, 3)
    session$setInputs(dimension = "referrer_class")
    expect_equal(rows_of(output$sources), 7)
  }))
})

test_that("Reliability shows the runs, freshness, dead letters and the ingest error rate", {
  skip_without_warehouse()
  since_fixture <- date_range(day(3) + 1, shop_today(fixture$timezone))
  with_module("reliability", seeded(), controls_for(since_fixture, device = "mobile"), quote({
    kpis <- html_of(output$kpis)
    expect_match(kpis, "within the 90-minute objective", fixed = TRUE)
    expect_match(kpis, "oldest 15 min 00 s", fixed = TRUE)
    expect_match(kpis, "6.7 %", fixed = TRUE)
    expect_match(kpis, "8 of 120 requests, last 60 min", fixed = TRUE)
    expect_equal(rows_of(output$runs), 1)
    expect_gt(sum(figure_of(output$runs_chart)$points), 0)
    expect_gt(sum(figure_of(output$ops_chart)$points), 0)
  }))
})

test_that("a range without data is a sentence that says so, in every module", {
  skip_without_warehouse()
  range <- empty_range()
  expected <- c(
    traffic = "No visits between", funnel = "No visits between", acquisition = "No visits between",
    products = "No product activity between", reliability = "No ETL run started between"
  )
  for (module in names(module_servers)) {
    with_module(module, seeded(), controls_for(range, device = "mobile"), quote({
      expect_equal(output$notice, result()$notice)
      expect_match(output$notice, paste0("^", expected[[module]], " ", format_range(range)))
      expect_error(output$kpis, class = "shiny.silent.error")
    }))
  }
  with_module("traffic", seeded(), controls_for(range, device = "mobile"), quote({
    expect_equal(output$notice, sprintf("No visits between %s (mobile devices).", format_range(range)))
  }))
})

test_that("no warehouse, no run, no schema: each module says why", {
  skip_without_warehouse()
  cases <- list(
    list(con = unreachable(), says = "^The warehouse cannot be reached: could not connect"),
    list(con = warehouse_named("SBW_DASHBOARD_MIGRATED_DB"), says = "^No ETL run has loaded the warehouse yet\\."),
    list(con = warehouse_named("SBW_DASHBOARD_EMPTY_DB"), says = "^The warehouse is empty: no ETL run has reached it yet\\.")
  )
  for (case in cases) {
    for (module in setdiff(names(module_servers), "reliability")) {
      with_module(module, case$con, controls_for(days(1, 3)), quote({
        expect_match(output$notice, case$says)
        expect_error(output$kpis, class = "shiny.silent.error")
      }))
    }
  }
  # Reliability shows the runs of a warehouse that has none succeeded yet.
  with_module("reliability", warehouse_named("SBW_DASHBOARD_MIGRATED_DB"), controls_for(days(1, 3)), quote({
    expect_equal(output$notice, sprintf("No ETL run started between %s.", format_range(days(1, 3))))
  }))
})

test_that("a warehouse lost after the status was read is a sentence too", {
  skip_without_warehouse()
  # Days 1-2: a range no other test asked for, so nothing is cached for it.
  for (module in names(module_servers)) {
    with_module(module, unreachable(), controls_for(days(1, 2)), status = warehouse_status(seeded()), quote({
      expect_match(output$notice, "^The warehouse cannot be reached: ")
    }))
  }
})

test_that("the controls turn presets into ranges in the shop's time zone", {
  status <- reactiveVal(list(state = "ready", timezone = "Asia/Ho_Chi_Minh"))
  testServer(controls_server, args = list(con = unreachable(), status = status), {
    today <- shop_today("Asia/Ho_Chi_Minh")
    session$setInputs(preset = "last_7", dates = c(today - 6, today), compare = TRUE,
                      device = "mobile", country = "VN", category = "*")
    chosen <- session$getReturned()()
    expect_equal(chosen$range, date_range(today - 6, today))
    expect_equal(chosen$filters, filters("mobile", "VN", "*"))
    expect_true(chosen$compare)
    session$setInputs(preset = "month_to_date")
    expect_equal(session$getReturned()()$range, date_range(lubridate::floor_date(today, "month"), today))
    session$setInputs(preset = "custom", dates = c(as.Date("2026-10-01"), as.Date("2026-10-15")), compare = FALSE)
    chosen <- session$getReturned()()
    expect_equal(chosen$range, date_range("2026-10-01", "2026-10-15"))
    expect_false(chosen$compare)
  })
})

test_that("the filters offer the warehouse's values and keep the selected ones", {
  options <- filter_options(list(country = c("SG", "VN"), category = "laptops"),
                            list(country = "JP", category = ALL))
  expect_equal(unname(options$country), c(ALL, "SG", "VN", "JP"))
  expect_equal(names(options$country)[1], "All countries")
  expect_equal(unname(options$category), c(ALL, "laptops"))
  expect_equal(filter_options(list(), list(country = ALL, category = ALL)),
               list(country = c("All countries" = ALL), category = c("All categories" = ALL)))
})

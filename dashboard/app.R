# The shop owner's dashboard: five modules on the warehouse's rollups.
# Run: Rscript -e 'shiny::runApp("dashboard", port = 3838)' with the libpq
# variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE) of
# the read-only role sbw_dashboard. The files in R/ are sourced by Shiny.
library(shiny)

if (!nzchar(Sys.getenv("TZ"))) Sys.setenv(TZ = "UTC")
options(sbw.dashboard_dir = getwd())

con <- warehouse()
onStop(function() db_disconnect(con))

MODULES <- list(
  list(id = "traffic", title = "Traffic & Engagement", ui = traffic_ui, server = traffic_server),
  list(id = "funnel", title = "Funnels", ui = funnel_ui, server = funnel_server),
  list(id = "products", title = "Product Performance", ui = products_ui, server = products_server),
  list(id = "acquisition", title = "Acquisition", ui = acquisition_ui, server = acquisition_server),
  list(id = "reliability", title = "Reliability", ui = reliability_ui, server = reliability_server)
)

ui <- function(request) {
  if (identical(request$PATH_INFO, "/healthz")) return(health_response(con))
  status <- warehouse_status(con)
  choices <- if (status$state == "ready") {
    tryCatch(filter_choices(con), sbw_unavailable = function(e) list())
  }
  tabs <- lapply(MODULES, function(m) bslib::nav(m$title, m$ui(m$id), value = m$id))
  bslib::page_navbar(
    title = "Shop analytics", id = "module", window_title = "SBW dashboard",
    # Bootstrap's own colours: bslib ships them compiled, a custom theme compiles Sass per process.
    theme = bslib::bs_theme(version = 5),
    header = tagList(
      tags$head(tags$link(rel = "stylesheet", href = "sbw.css"), tags$link(rel = "icon", href = "data:,")),
      # With the page, not with the first chart: the browser loads it while the session starts.
      plotly_js(),
      div(class = "container-fluid", controls_ui("controls", shop_today(status$timezone), choices))
    ),
    !!!tabs
  )
}

server <- function(input, output, session) {
  # Read again when a run starts or ends: a new run id also renews the cache keys.
  status <- reactivePoll(30 * 1000, session,
                         checkFunc = function() runs_fingerprint(con),
                         valueFunc = function() warehouse_status(con))
  controls <- controls_server("controls", con, status)
  for (m in MODULES) m$server(m$id, con, controls, status)
  bookmark_in_url(input, session)
}

# The first page of a process loads plotly, DT and the connection (seconds
# on a small instance): build one before the first visitor does.
invisible(ui(list(PATH_INFO = "/")))

shinyApp(ui, server, enableBookmarking = "url", uiPattern = "^/(healthz)?$")

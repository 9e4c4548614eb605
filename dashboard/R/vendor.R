# Browser files Debian's R packages get wrong, and what the app does instead.
# Replaced by the copies vendored in www/vendor (tools/vendor-js.sh):
#
# - plotly.js: r-cran-plotly 4.10.1 bundles plotly.js 1.31, but its R code
#   writes figures for plotly.js 2.11.1; with the bundled file charts stay blank.
# - bootstrap-datepicker: r-cran-shiny 1.7.4 links Debian's 1.3.1 in place
#   of 1.9.0, which throws at every page load once Shiny takes it over.
#
# Left out:
#
# - r-cran-plotly's typedarray.min.js is another library of that name (it
#   needs a GLOBAL object): it throws, and with it the scripts loaded after
#   it. It is a polyfill for browsers without typed arrays, which none are now.
# - r-cran-dt lacks DT's own dataTables.bootstrap4.extra.css (a 404 per page).

vendored <- function(name, version, dir, script, head = NULL) {
  htmltools::htmlDependency(
    name = name, version = version, src = c(file = file.path(dashboard_dir(), "www", "vendor", dir)),
    script = script, head = head, all_files = FALSE
  )
}

# `dependencies` with the one named `name` replaced by `replacement(old)`.
replace_dependency <- function(dependencies, name, replacement) {
  lapply(dependencies, function(dependency) {
    if (inherits(dependency, "html_dependency") && identical(dependency$name, name)) replacement(dependency) else dependency
  })
}

plotly_js <- function() vendored("plotly-main", "2.11.1", "plotly", "plotly.min.js")

use_vendored_plotly <- function(plot) {
  dependencies <- Filter(function(d) !identical(d$name, "typedarray"), plot$dependencies)
  plot$dependencies <- replace_dependency(dependencies, "plotly-main", function(old) plotly_js())
  plot
}

without_missing_stylesheets <- function(table) {
  table$dependencies <- replace_dependency(table$dependencies, "dt-core-bootstrap4", function(old) {
    old$stylesheet <- Filter(function(file) file.exists(file.path(old$src$file, file)), old$stylesheet)
    old
  })
  table
}

# shiny::dateRangeInput() with the vendored datepicker (and Shiny's own
# snippet that renames it, so it keeps out of other libraries' way).
date_range_input <- function(...) {
  input <- dateRangeInput(...)
  htmltools::htmlDependencies(input) <- replace_dependency(
    htmltools::htmlDependencies(input), "bootstrap-datepicker-js", function(old) {
      vendored(old$name, "1.9.0", "bootstrap-datepicker", "bootstrap-datepicker.min.js", head = old$head)
    }
  )
  input
}

# Small helpers the other files share.

`%||%` <- function(x, y) if (is.null(x)) y else x

# A share of a whole; none of nothing.
ratio <- function(part, whole) if (whole == 0) NA_real_ else part / whole

# The app's directory: where runApp ran it, or what the tests point at.
dashboard_dir <- function() getOption("sbw.dashboard_dir", getwd())

# How numbers, money, changes and countries read on the page.

format_count <- function(x, digits = 0) {
  ifelse(is.na(x), "–", formatC(round(x, digits), format = "f", digits = digits, big.mark = ","))
}

format_percent <- function(ratio, digits = 1) {
  ifelse(is.na(ratio), "–", paste0(formatC(100 * ratio, format = "f", digits = digits), " %"))
}

# The shop's currency conventions; others get two decimals and their code.
CURRENCIES <- list(
  VND = list(digits = 0, prefix = "", suffix = " ₫"),
  USD = list(digits = 2, prefix = "$", suffix = ""),
  EUR = list(digits = 2, prefix = "", suffix = " €")
)

currency_convention <- function(currency) {
  if (is.na(currency)) return(list(digits = 2, prefix = "", suffix = ""))
  CURRENCIES[[currency]] %||% list(digits = 2, prefix = "", suffix = paste0(" ", currency))
}

format_money <- function(x, currency) {
  convention <- currency_convention(currency)
  paste0(convention$prefix, format_count(x, convention$digits), convention$suffix)
}

format_duration <- function(seconds) {
  if (is.na(seconds)) return("–")
  if (seconds < 10) return(sprintf("%.1f s", seconds))
  seconds <- round(seconds)
  if (seconds < 60) return(sprintf("%d s", seconds))
  if (seconds < 3600) return(sprintf("%d min %02d s", seconds %/% 60, seconds %% 60))
  sprintf("%d h %02d min", seconds %/% 3600, (seconds %% 3600) %/% 60)
}

# Minutes as the age of something: "4 min", "2 h 05 min", "3 days".
format_age <- function(minutes) {
  if (is.na(minutes)) return("–")
  if (minutes < 60) return(sprintf("%d min", round(minutes)))
  if (minutes < 48 * 60) return(sprintf("%d h %02d min", minutes %/% 60, round(minutes %% 60)))
  sprintf("%d days", round(minutes / 1440))
}

# The change of a figure against the previous period: relative for counts
# and amounts, in percentage points for rates (`kind = "rate"`).
format_change <- function(current, previous, kind = c("relative", "rate")) {
  kind <- match.arg(kind)
  if (is.na(current) || is.na(previous)) return("–")
  sign <- function(x) if (x > 0) "+" else if (x < 0) "−" else "±"
  if (kind == "rate") {
    points <- 100 * (current - previous)
    return(paste0(sign(points), formatC(abs(points), format = "f", digits = 1), " pp"))
  }
  if (previous == 0) return(if (current == 0) "±0 %" else "new")
  change <- 100 * (current - previous) / previous
  paste0(sign(change), formatC(abs(change), format = "f", digits = 1), " %")
}

# ISO 3166 names from Debian's iso-codes when installed; the code otherwise.
country_names <- local({
  table <- NULL
  function() {
    if (is.null(table)) {
      file <- "/usr/share/iso-codes/json/iso_3166-1.json"
      table <<- if (file.exists(file)) {
        entries <- jsonlite::fromJSON(file)[["3166-1"]]
        common <- if ("common_name" %in% names(entries)) entries$common_name else NA
        stats::setNames(ifelse(is.na(common), entries$name, common), entries$alpha_2)
      } else {
        character()
      }
    }
    table
  }
})

country_name <- function(code) {
  known <- country_names()[code]
  ifelse(code == "unknown", "Unknown",
         ifelse(is.na(known), code, paste0(known, " (", code, ")")))
}

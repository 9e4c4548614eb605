# Date ranges: local days of the shop, both ends included.

date_range <- function(from, to) {
  from <- as.Date(from)
  to <- as.Date(to)
  stopifnot(length(from) == 1, length(to) == 1, !is.na(from), !is.na(to))
  if (from > to) list(from = to, to = from) else list(from = from, to = to)
}

range_days <- function(range) as.integer(range$to - range$from) + 1L

# The period of the same length just before `range`.
previous_period <- function(range) {
  date_range(range$from - range_days(range), range$from - 1)
}

# The `days` days ending with the last day of `range` (WAU: 7, MAU: 30).
trailing_window <- function(range, days) date_range(range$to - days + 1, range$to)

range_presets <- c(
  "Today" = "today",
  "Last 7 days" = "last_7",
  "Last 30 days" = "last_30",
  "Last 90 days" = "last_90",
  "Month to date" = "month_to_date",
  "Custom" = "custom"
)

# The range a preset means on `today`; NULL for "custom".
preset_range <- function(preset, today) {
  today <- as.Date(today)
  switch(preset,
    today = date_range(today, today),
    last_7 = date_range(today - 6, today),
    last_30 = date_range(today - 29, today),
    last_90 = date_range(today - 89, today),
    month_to_date = date_range(lubridate::floor_date(today, "month"), today),
    custom = NULL,
    stop("unknown date range preset: ", preset)
  )
}

# Today in the shop's time zone.
shop_today <- function(timezone, now = Sys.time()) {
  as.Date(format(now, "%Y-%m-%d", tz = timezone))
}

# How a range is read from the rollups: its whole calendar months from the
# month rows, the days left at either end from the day rows. A 365-day range
# is then about 12 month rows and at most about 60 day rows per key.
range_split <- function(range) {
  first_whole <- lubridate::ceiling_date(range$from, "month", change_on_boundary = FALSE)
  after_last_whole <- lubridate::floor_date(range$to + 1, "month")
  if (first_whole >= after_last_whole) {
    return(list(months = as.Date(character()), days = list(range)))
  }
  ends <- list(
    if (range$from < first_whole) date_range(range$from, first_whole - 1),
    if (after_last_whole <= range$to) date_range(after_last_whole, range$to)
  )
  list(
    months = seq(first_whole, after_last_whole - 1, by = "month"),
    days = Filter(Negate(is.null), ends)
  )
}

# The WHERE condition that selects `range` from any rollup (`grain`, `day`).
range_where <- function(range, alias = "") {
  col <- function(name) paste0(alias, name)
  split <- range_split(range)
  parts <- vapply(split$days, function(r) {
    sprintf("(%s = 'day' AND %s BETWEEN %s AND %s)",
            col("grain"), col("day"), sql_date(r$from), sql_date(r$to))
  }, character(1))
  if (length(split$months) > 0) {
    parts <- c(parts, sprintf("(%s = 'month' AND %s BETWEEN %s AND %s)",
                              col("grain"), col("day"),
                              sql_date(min(split$months)), sql_date(max(split$months))))
  }
  paste0("(", paste(parts, collapse = " OR "), ")")
}

# Day rows only: for what is drawn day by day.
days_where <- function(range, alias = "") {
  sprintf("(%sgrain = 'day' AND %sday BETWEEN %s AND %s)",
          alias, alias, sql_date(range$from), sql_date(range$to))
}

format_range <- function(range) {
  label <- function(day, year = TRUE) {
    paste(as.integer(format(day, "%d")), format(day, if (year) "%b %Y" else "%b"))
  }
  if (range$from == range$to) return(label(range$from))
  same_year <- format(range$from, "%Y") == format(range$to, "%Y")
  paste(label(range$from, year = !same_year), "–", label(range$to))
}

# The device / country / category filters. Rollups hold '*' on the rows
# that sum every value of a filter, so each filter is one equality.

ALL <- "*"
DEVICE_TYPES <- c("mobile", "desktop", "tablet")

filters <- function(device = ALL, country = ALL, category = ALL) {
  list(device = device, country = country, category = category)
}

FILTER_COLUMNS <- c(device_type = "device", country = "country", category = "category")

# The filter condition on a rollup's `columns`. `split` names a column to
# spread over its values instead ("device_type", "country" or "category"):
# its '*' rows are left out, unless a filter picks one value.
rollup_filter_where <- function(filters, alias = "", split = NULL, columns = names(FILTER_COLUMNS)) {
  conditions <- vapply(columns, function(column) {
    value <- filters[[FILTER_COLUMNS[[column]]]]
    if (identical(column, split) && value == ALL) {
      sprintf("%s%s <> '*'", alias, column)
    } else {
      sprintf("%s%s = %s", alias, column, sql_string(value))
    }
  }, character(1))
  paste(conditions, collapse = " AND ")
}

# The values the country and category filters offer: those the month rows
# hold (every day's values reach its month).
filter_choices <- function(con) {
  values <- function(column) {
    db_get(con, sprintf(
      "SELECT DISTINCT %1$s COLLATE \"C\" AS value FROM rollup_traffic WHERE grain = 'month' AND %1$s <> '*' ORDER BY value",
      column))$value
  }
  list(country = values("country"), category = values("category"))
}

describe_filters <- function(filters) {
  parts <- c(
    if (filters$device != ALL) paste(filters$device, "devices"),
    if (filters$country != ALL) country_name(filters$country),
    if (filters$category != ALL) paste("category", filters$category)
  )
  if (length(parts) == 0) "" else paste0(" (", paste(parts, collapse = ", "), ")")
}

# Tables: sortable and searchable, numbers kept as numbers (so they sort as
# numbers) and formatted in the browser.

# `columns`: names are the data's columns in display order, values their
# headings. `counts`, `percents`, `money`: columns to format as such.
data_table <- function(data, columns, counts = character(), percents = character(),
                       money = character(), currency = NA, page_length = 10) {
  data <- data[names(columns)]
  table <- DT::datatable(
    data, colnames = unname(columns), rownames = FALSE, selection = "none", style = "bootstrap4",
    options = list(pageLength = page_length, lengthChange = FALSE, autoWidth = FALSE,
                   dom = if (nrow(data) > page_length) "ftip" else "ft",
                   language = list(emptyTable = "Nothing in this range."))
  )
  if (length(counts) > 0) table <- DT::formatRound(table, counts, digits = 0, mark = ",")
  if (length(percents) > 0) table <- DT::formatPercentage(table, percents, digits = 1)
  if (length(money) > 0) {
    convention <- currency_convention(currency)
    before <- nzchar(convention$prefix)
    table <- DT::formatCurrency(table, money, currency = if (before) convention$prefix else convention$suffix,
                                before = before, digits = convention$digits, mark = ",")
  }
  without_missing_stylesheets(table)
}

# A CSV download of `data()` named `<name>-<from>-<to>.csv`.
csv_download <- function(name, data, range) {
  downloadHandler(
    filename = function() sprintf("%s-%s-%s.csv", name, range()$from, range()$to),
    content = function(file) utils::write.csv(data(), file, row.names = FALSE, na = ""),
    contentType = "text/csv"
  )
}

# The tables are small (a row per product at most): the browser gets them
# whole and sorts, searches and pages them itself.
render_table <- function(expr, env = parent.frame()) {
  DT::renderDT(substitute(expr), server = FALSE, env = env, quoted = TRUE)
}

# Charts: one look for all, and all of them on the vendored plotly.js.

# `y2_title`: the title of a second y axis on the right, for traces with yaxis = "y2".
chart <- function(plot, y_title = NULL, x_title = NULL, legend = TRUE, y2_title = NULL) {
  plot <- plotly::layout(
    plot,
    xaxis = list(title = x_title %||% ""), yaxis = list(title = y_title %||% "", rangemode = "tozero"),
    showlegend = legend, legend = list(orientation = "h", y = -0.2),
    margin = list(l = 10, r = if (is.null(y2_title)) 10 else 60, t = 10, b = 10),
    font = list(family = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif")
  )
  if (!is.null(y2_title)) {
    plot <- plotly::layout(plot, yaxis2 = list(title = y2_title, overlaying = "y", side = "right", rangemode = "tozero"))
  }
  use_vendored_plotly(plotly::config(plot, displayModeBar = FALSE))
}

# A chart with nothing to draw says so instead of staying blank.
empty_chart <- function(sentence) {
  plot <- plotly::layout(
    plotly::plot_ly(type = "scatter", mode = "markers"),
    xaxis = list(visible = FALSE), yaxis = list(visible = FALSE),
    annotations = list(list(text = sentence, showarrow = FALSE, xref = "paper", yref = "paper",
                            x = 0.5, y = 0.5, font = list(size = 14, color = "#6c757d")))
  )
  use_vendored_plotly(plotly::config(plot, displayModeBar = FALSE))
}

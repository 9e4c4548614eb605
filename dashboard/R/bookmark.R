# The view lives in the URL (Shiny's URL bookmarking), so a link shares it:
# the open module, the controls and each module's own choices. Everything
# else (table pages, chart events) stays out of it.

BOOKMARKED_INPUTS <- c(
  "module", "controls-preset", "controls-dates", "controls-compare",
  "controls-device", "controls-country", "controls-category",
  "funnel-split", "acquisition-dimension"
)

bookmark_in_url <- function(input, session) {
  observe({
    for (id in BOOKMARKED_INPUTS) input[[id]]
    setBookmarkExclude(setdiff(isolate(names(input)), BOOKMARKED_INPUTS))
    session$doBookmark()
  })
  onBookmarked(updateQueryString)
}

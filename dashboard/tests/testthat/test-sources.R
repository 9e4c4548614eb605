# Shiny sources every file of R/ into one environment: a name defined twice
# is silently the later file's, so each top-level name is defined once.

# The top-level names `file` assigns, named by the file.
defined_in <- function(file) {
  names <- vapply(parse(file), function(e) {
    assigned <- is.call(e) && as.character(e[[1]]) %in% c("<-", "=") && is.name(e[[2]])
    if (assigned) as.character(e[[2]]) else NA_character_
  }, "")
  names <- names[!is.na(names)]
  stats::setNames(names, rep(basename(file), length(names)))
}

test_that("each top-level name of the app is defined in one place", {
  files <- list.files(file.path(app_dir, "R"), pattern = "\\.R$", full.names = TRUE)
  defined <- unlist(lapply(files, defined_in))
  expect_gt(length(defined), 50)
  twice <- defined[defined %in% defined[duplicated(defined)]]
  expect(length(twice) == 0, paste("defined more than once:", paste(names(twice), twice, collapse = ", ")))
})

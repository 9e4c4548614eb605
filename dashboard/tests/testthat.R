# The dashboard's testthat suite: Rscript dashboard/tests/testthat.R
# (scripts/test-dashboard.sh seeds the warehouse and runs it). Fails on a
# failed or a skipped test: a skip means the warehouse was not there.
Sys.setenv(TESTTHAT_EDITION = "3")
this_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
results <- as.data.frame(testthat::test_dir(file.path(dirname(this_file), "testthat"), stop_on_failure = TRUE))
if (any(results$skipped)) {
  stop("skipped: ", paste(results$test[results$skipped], collapse = "; "), call. = FALSE)
}

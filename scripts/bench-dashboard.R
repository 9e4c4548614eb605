# The timing half of scripts/bench-dashboard.sh: every module's data function
# against the warehouse the libpq variables name, as the dashboard calls it.
# Prints p50/p95 in milliseconds per module, range and filters, uncached and
# cached, next to the SELECT 1 floor; exits 1 when a module misses the target.

TARGET_P95_MS <- 100
REPEATS <- 25L
MODULES <- c("traffic", "funnel", "products", "acquisition", "reliability")

for (file in sort(list.files("dashboard/R", pattern = "[.]R$", full.names = TRUE))) {
  source(file)
}
con <- warehouse()
status <- warehouse_status(con)
if (status$state != "ready") stop(status$message)

elapsed_ms <- function(f) {
  started <- Sys.time()
  f()
  as.numeric(difftime(Sys.time(), started, units = "secs")) * 1000
}
timings <- function(f) vapply(seq_len(REPEATS), function(i) elapsed_ms(f), numeric(1))
quantiles <- function(ms) stats::quantile(ms, c(0.5, 0.95), names = FALSE, type = 7)

today <- shop_today(status$timezone)
ranges <- list("30 days" = date_range(today - 29, today), "365 days" = date_range(today - 364, today))
busiest <- db_get(con, "
  SELECT category FROM rollup_traffic
  WHERE grain = 'month' AND category <> '*' AND device_type = '*' AND country = '*'
  GROUP BY category ORDER BY sum(sessions) DESC LIMIT 1")$category
filter_sets <- list(
  "none" = filters(),
  "mobile, VN, top category" = filters(device = "mobile", country = "VN", category = busiest)
)

floor_ms <- quantiles(timings(function() db_get(con, "SELECT 1")))
cat(sprintf("floor: SELECT 1 round trip p50 %.2f ms, p95 %.2f ms (%d runs)\n\n",
            floor_ms[1], floor_ms[2], REPEATS))

rows <- list()
for (module in MODULES) {
  data_function <- match.fun(paste0(module, "_data"))
  for (range_name in names(ranges)) {
    for (filter_name in names(filter_sets)) {
      range <- ranges[[range_name]]
      chosen <- filter_sets[[filter_name]]
      first <- elapsed_ms(function() data_function(con, range, chosen))
      uncached <- quantiles(timings(function() data_function(con, range, chosen)))
      memoise::forget(cached_module_data)
      cached <- quantiles(timings(function() {
        cached_module_data(con, module, range, chosen, status$run_id)
      }))
      rows[[length(rows) + 1]] <- data.frame(
        module = module, range = range_name, filters = filter_name,
        first_ms = first, p50_ms = uncached[1], p95_ms = uncached[2],
        p95_x_floor = uncached[2] / floor_ms[2],
        cached_p50_ms = cached[1], cached_p95_ms = cached[2]
      )
    }
  }
}
results <- do.call(rbind, rows)
print(format(results, digits = 3), row.names = FALSE)

worst <- results[which.max(results$p95_ms), ]
cat(sprintf("\nslowest: %s, %s, filters %s: p95 %.1f ms (target < %d ms)\n",
            worst$module, worst$range, worst$filters, worst$p95_ms, TARGET_P95_MS))
if (any(results$p95_ms >= TARGET_P95_MS)) {
  cat("MISSED: some module's queries are at or over the target\n")
  quit(status = 1)
}
cat("every module's queries are under the target\n")

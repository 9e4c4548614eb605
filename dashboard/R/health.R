# GET /healthz: 200 "ok" when the dashboard's role can run a query, 503 with
# the reason otherwise. nginx and the load balancer probe it, so it answers
# for Shiny and the warehouse at once.
health_response <- function(con) {
  problem <- tryCatch({
    db_get(con, "SELECT 1 AS ok")
    NULL
  }, sbw_unavailable = conditionMessage)
  if (is.null(problem)) {
    httpResponse(200, "text/plain; charset=UTF-8", "ok\n")
  } else {
    httpResponse(503, "text/plain; charset=UTF-8", paste0(problem, "\n"))
  }
}

-- The rebuild step: sessions of etl_dirty_sessions, then every rollup row of
-- etl_dirty_days, then both queues emptied. Run in one transaction after the
-- batches of a run committed; a run killed before it leaves the queues for the next.

-- The days the dirty sessions started on before this rebuild.
INSERT INTO etl_dirty_days
SELECT DISTINCT (s.started_at AT TIME ZONE 'UTC')::date
FROM fact_sessions s JOIN etl_dirty_sessions USING (session_id)
ON CONFLICT DO NOTHING;

DELETE FROM fact_sessions s USING etl_dirty_sessions d WHERE s.session_id = d.session_id;

-- A session is the SDK's session_id split wherever 30 minutes pass without an
-- event; attributes of the visit are those of its first event.
-- One sort serves every window: the split, the first event, the exit page.
WITH ordered AS (
    SELECT e.session_id, e.ts, e.event_id, e.event_type, e.anonymous_id_hash, e.user_id_hash,
           e.page_path, e.device_type, e.browser, e.os, e.country, e.referrer_class, e.referrer,
           e.utm_source, e.utm_medium, e.utm_campaign, e.price, e.qty,
           CASE WHEN e.ts - lag(e.ts) OVER by_time > interval '30 minutes' THEN 1 ELSE 0 END AS gap
    FROM fact_events e JOIN etl_dirty_sessions USING (session_id)
    WHERE NOT e.is_bot
    WINDOW by_time AS (PARTITION BY e.session_id ORDER BY e.ts, e.event_id)
), split AS (
    SELECT *, sum(gap) OVER (PARTITION BY session_id ORDER BY ts, event_id) AS session_seq
    FROM ordered
), ranked AS (
    SELECT *,
           row_number() OVER visit AS from_start,
           last_value(page_path) OVER (visit ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS exit_page
    FROM split
    WINDOW visit AS (PARTITION BY session_id, session_seq ORDER BY ts, event_id)
)
INSERT INTO fact_sessions
SELECT session_id,
       session_seq,
       min(anonymous_id_hash) FILTER (WHERE from_start = 1),
       (array_agg(user_id_hash ORDER BY ts, event_id) FILTER (WHERE user_id_hash IS NOT NULL))[1],
       min(ts),
       max(ts),
       round(extract(epoch FROM max(ts) - min(ts))::numeric, 3),
       count(*),
       count(*) FILTER (WHERE event_type = 'page_view'),
       count(*) FILTER (WHERE event_type = 'page_view') = 1,
       min(page_path) FILTER (WHERE from_start = 1),
       min(exit_page),
       min(device_type) FILTER (WHERE from_start = 1),
       min(browser) FILTER (WHERE from_start = 1),
       min(os) FILTER (WHERE from_start = 1),
       min(country) FILTER (WHERE from_start = 1),
       min(referrer_class) FILTER (WHERE from_start = 1),
       min(referrer) FILTER (WHERE from_start = 1),
       min(utm_source) FILTER (WHERE from_start = 1),
       min(utm_medium) FILTER (WHERE from_start = 1),
       min(utm_campaign) FILTER (WHERE from_start = 1),
       count(*) FILTER (WHERE event_type = 'view'),
       count(*) FILTER (WHERE event_type = 'add_to_cart'),
       count(*) FILTER (WHERE event_type = 'checkout'),
       count(*) FILTER (WHERE event_type = 'purchase'),
       bool_or(event_type = 'purchase'),
       coalesce(sum(price * coalesce(qty, 1)) FILTER (WHERE event_type = 'purchase'), 0)
FROM ranked
GROUP BY session_id, session_seq;

-- The days they start on now.
INSERT INTO etl_dirty_days
SELECT DISTINCT (s.started_at AT TIME ZONE 'UTC')::date
FROM fact_sessions s JOIN etl_dirty_sessions USING (session_id)
ON CONFLICT DO NOTHING;

CREATE TEMPORARY TABLE rebuild_days ON COMMIT DROP AS
SELECT day,
       day::timestamp AT TIME ZONE 'UTC' AS day_start,
       (day + 1)::timestamp AT TIME ZONE 'UTC' AS day_end
FROM etl_dirty_days;

DELETE FROM rollup_traffic_daily r USING rebuild_days d WHERE r.day = d.day;
INSERT INTO rollup_traffic_daily
SELECT d.day, s.device_type, s.country,
       count(*), count(DISTINCT s.anonymous_id_hash), count(*) FILTER (WHERE s.user_id_hash IS NOT NULL),
       sum(s.page_views), sum(s.events), count(*) FILTER (WHERE s.bounce), sum(s.duration_seconds)
FROM rebuild_days d JOIN fact_sessions s ON s.started_at >= d.day_start AND s.started_at < d.day_end
GROUP BY d.day, s.device_type, s.country;

DELETE FROM rollup_funnel_daily r USING rebuild_days d WHERE r.day = d.day;
INSERT INTO rollup_funnel_daily
SELECT d.day, s.device_type, s.country,
       count(*),
       count(*) FILTER (WHERE s.product_views > 0),
       count(*) FILTER (WHERE s.add_to_carts > 0),
       count(*) FILTER (WHERE s.checkouts > 0),
       count(*) FILTER (WHERE s.purchases > 0)
FROM rebuild_days d JOIN fact_sessions s ON s.started_at >= d.day_start AND s.started_at < d.day_end
GROUP BY d.day, s.device_type, s.country;

DELETE FROM rollup_acquisition_daily r USING rebuild_days d WHERE r.day = d.day;
INSERT INTO rollup_acquisition_daily
SELECT d.day, s.referrer_class, s.utm_source, s.utm_medium, s.utm_campaign, s.device_type, s.country,
       count(*), count(*) FILTER (WHERE s.bounce), count(*) FILTER (WHERE s.converted), sum(s.revenue)
FROM rebuild_days d JOIN fact_sessions s ON s.started_at >= d.day_start AND s.started_at < d.day_end
GROUP BY d.day, s.referrer_class, s.utm_source, s.utm_medium, s.utm_campaign, s.device_type, s.country;

DELETE FROM rollup_product_daily r USING rebuild_days d WHERE r.day = d.day;
INSERT INTO rollup_product_daily
SELECT d.day, e.product_id,
       count(*) FILTER (WHERE e.event_type = 'view'),
       count(*) FILTER (WHERE e.event_type = 'add_to_cart'),
       count(*) FILTER (WHERE e.event_type = 'purchase'),
       coalesce(sum(coalesce(e.qty, 1)) FILTER (WHERE e.event_type = 'purchase'), 0),
       coalesce(sum(e.price * coalesce(e.qty, 1)) FILTER (WHERE e.event_type = 'purchase'), 0)
FROM rebuild_days d JOIN fact_events e ON e.ts >= d.day_start AND e.ts < d.day_end
WHERE e.product_id IS NOT NULL AND NOT e.is_bot
GROUP BY d.day, e.product_id;

DELETE FROM etl_dirty_sessions;
DELETE FROM etl_dirty_days;

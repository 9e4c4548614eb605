-- The rebuild step: sessions of etl_dirty_sessions, then every rollup row of
-- etl_dirty_days, then both queues emptied. Run in one transaction after the
-- batches of a run committed; a run killed before it leaves the queues for the next.
--
-- The connection's TimeZone is the shop's (the ETL sets it): `::date` of a
-- timestamptz is a local day and `day::timestamptz` a local midnight.

-- The days the dirty sessions started on before this rebuild.
INSERT INTO etl_dirty_days
SELECT DISTINCT s.started_at::date
FROM fact_sessions s JOIN etl_dirty_sessions USING (session_id)
ON CONFLICT DO NOTHING;

DELETE FROM fact_sessions s USING etl_dirty_sessions d WHERE s.session_id = d.session_id;
DELETE FROM fact_session_categories c USING etl_dirty_sessions d WHERE c.session_id = d.session_id;

-- The events of the dirty sessions, each with its visit: the SDK's session_id
-- split wherever 30 minutes pass without an event. One sort serves every
-- window: the split, the first event, the exit page.
CREATE TEMPORARY TABLE rebuilt_events ON COMMIT DROP AS
WITH ordered AS (
    SELECT e.session_id, e.ts, e.event_id, e.event_type, e.anonymous_id_hash, e.user_id_hash,
           e.page_path, e.device_type, e.browser, e.os, e.country, e.referrer_class, e.referrer,
           e.utm_source, e.utm_medium, e.utm_campaign, e.product_id, e.category, e.price, e.qty,
           CASE WHEN e.ts - lag(e.ts) OVER by_time > interval '30 minutes' THEN 1 ELSE 0 END AS gap
    FROM fact_events e JOIN etl_dirty_sessions USING (session_id)
    WHERE NOT e.is_bot
    WINDOW by_time AS (PARTITION BY e.session_id ORDER BY e.ts, e.event_id)
), split AS (
    SELECT *, sum(gap) OVER (PARTITION BY session_id ORDER BY ts, event_id) AS session_seq
    FROM ordered
)
SELECT *,
       row_number() OVER visit AS from_start,
       last_value(page_path) OVER (visit ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS exit_page
FROM split
WINDOW visit AS (PARTITION BY session_id, session_seq ORDER BY ts, event_id);

-- Attributes of a visit are those of its first event.
INSERT INTO fact_sessions (
    session_id, session_seq, anonymous_id_hash, user_id_hash, started_at, ended_at,
    duration_seconds, events, page_views, bounce, entry_page, exit_page, device_type, browser,
    os, country, referrer_class, referrer, referrer_host, utm_source, utm_medium, utm_campaign,
    product_views, add_to_carts, checkouts, purchases, converted, revenue)
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
       min(lower(substring(referrer FROM '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)'))) FILTER (WHERE from_start = 1),
       min(utm_source) FILTER (WHERE from_start = 1),
       min(utm_medium) FILTER (WHERE from_start = 1),
       min(utm_campaign) FILTER (WHERE from_start = 1),
       count(*) FILTER (WHERE event_type = 'view'),
       count(*) FILTER (WHERE event_type = 'add_to_cart'),
       count(*) FILTER (WHERE event_type = 'checkout'),
       count(*) FILTER (WHERE event_type = 'purchase'),
       bool_or(event_type = 'purchase'),
       coalesce(sum(price * coalesce(qty, 1)) FILTER (WHERE event_type = 'purchase'), 0)
FROM rebuilt_events
GROUP BY session_id, session_seq;

-- A product's category is the one its event carries, else the catalogue's.
INSERT INTO fact_session_categories
SELECT e.session_id, e.session_seq, coalesce(e.category, p.category),
       count(*) FILTER (WHERE e.event_type = 'view'),
       count(*) FILTER (WHERE e.event_type = 'add_to_cart'),
       count(*) FILTER (WHERE e.event_type = 'purchase'),
       coalesce(sum(e.price * coalesce(e.qty, 1)) FILTER (WHERE e.event_type = 'purchase'), 0)
FROM rebuilt_events e LEFT JOIN dim_product p USING (product_id)
WHERE e.event_type IN ('view', 'add_to_cart', 'purchase')
  AND coalesce(e.category, p.category) IS NOT NULL
GROUP BY 1, 2, 3;

-- The days they start on now.
INSERT INTO etl_dirty_days
SELECT DISTINCT s.started_at::date
FROM fact_sessions s JOIN etl_dirty_sessions USING (session_id)
ON CONFLICT DO NOTHING;

CREATE TEMPORARY TABLE rebuild_days ON COMMIT DROP AS
SELECT day, day::timestamptz AS day_start, (day + 1)::timestamptz AS day_end
FROM etl_dirty_days;

CREATE TEMPORARY TABLE rebuild_months ON COMMIT DROP AS
SELECT DISTINCT date_trunc('month', day)::date AS month FROM rebuild_days;

-- Every visit of the rebuilt days once per category scope: '*' (the whole
-- visit) and each category it touched, with the funnel stages it reached there.
CREATE TEMPORARY TABLE rebuild_visits ON COMMIT DROP AS
SELECT d.day, s.session_id, s.session_seq, s.started_at, s.ended_at,
       s.device_type, coalesce(s.country, 'unknown') AS country, '*' AS category,
       s.anonymous_id_hash, s.user_id_hash, s.page_views, s.events, s.bounce, s.duration_seconds,
       s.entry_page, s.referrer_class, s.referrer_host, s.utm_source, s.utm_medium, s.utm_campaign,
       s.product_views > 0 AS viewed,
       s.add_to_carts > 0 AS carted,
       s.checkouts > 0 AS checked_out,
       s.purchases > 0 AS purchased,
       s.revenue
FROM rebuild_days d JOIN fact_sessions s ON s.started_at >= d.day_start AND s.started_at < d.day_end
UNION ALL
SELECT d.day, s.session_id, s.session_seq, s.started_at, s.ended_at,
       s.device_type, coalesce(s.country, 'unknown'), c.category,
       s.anonymous_id_hash, s.user_id_hash, s.page_views, s.events, s.bounce, s.duration_seconds,
       s.entry_page, s.referrer_class, s.referrer_host, s.utm_source, s.utm_medium, s.utm_campaign,
       c.product_views > 0,
       c.add_to_carts > 0,
       s.checkouts > 0 AND c.add_to_carts > 0,
       c.purchases > 0,
       c.revenue
FROM rebuild_days d
JOIN fact_sessions s ON s.started_at >= d.day_start AND s.started_at < d.day_end
JOIN fact_session_categories c USING (session_id, session_seq);

-- Daily rows: every device and country combination, '*' for "all of them".

DELETE FROM rollup_traffic r USING rebuild_days d WHERE r.grain = 'day' AND r.day = d.day;
INSERT INTO rollup_traffic
SELECT 'day', day,
       CASE WHEN grouping(device_type) = 1 THEN '*' ELSE device_type END,
       CASE WHEN grouping(country) = 1 THEN '*' ELSE country END,
       category,
       count(*), hll_add_agg(hll_hash_text(anonymous_id_hash), 12),
       count(*) FILTER (WHERE user_id_hash IS NOT NULL),
       sum(page_views), sum(events), count(*) FILTER (WHERE bounce), sum(duration_seconds)
FROM rebuild_visits
GROUP BY day, category, CUBE (device_type, country);

DELETE FROM rollup_funnel r USING rebuild_days d WHERE r.grain = 'day' AND r.day = d.day;
INSERT INTO rollup_funnel
SELECT 'day', day,
       CASE WHEN grouping(device_type) = 1 THEN '*' ELSE device_type END,
       CASE WHEN grouping(country) = 1 THEN '*' ELSE country END,
       category,
       count(*),
       count(*) FILTER (WHERE viewed),
       count(*) FILTER (WHERE viewed AND carted),
       count(*) FILTER (WHERE viewed AND carted AND checked_out),
       count(*) FILTER (WHERE viewed AND carted AND checked_out AND purchased)
FROM rebuild_visits
GROUP BY day, category, CUBE (device_type, country);

DELETE FROM rollup_acquisition r USING rebuild_days d WHERE r.grain = 'day' AND r.day = d.day;
INSERT INTO rollup_acquisition
SELECT 'day', day,
       CASE WHEN grouping(device_type) = 1 THEN '*' ELSE device_type END,
       CASE WHEN grouping(country) = 1 THEN '*' ELSE country END,
       category, referrer_class, referrer_host, utm_source, utm_medium, utm_campaign,
       count(*), count(*) FILTER (WHERE bounce), count(*) FILTER (WHERE purchased), sum(revenue)
FROM rebuild_visits
GROUP BY day, category, referrer_class, referrer_host, utm_source, utm_medium, utm_campaign,
         CUBE (device_type, country);

-- Page views by the visit they belong to (its day, device, country, scopes).
DELETE FROM rollup_pages r USING rebuild_days d WHERE r.grain = 'day' AND r.day = d.day;
INSERT INTO rollup_pages
WITH views AS (
    SELECT v.day, v.device_type, v.country, v.category, e.page_path,
           count(*) AS page_views, 0 AS entries, 0 AS entry_bounces
    FROM rebuild_visits v
    JOIN fact_events e ON e.session_id = v.session_id
                      AND e.ts >= v.started_at AND e.ts <= v.ended_at
    WHERE e.event_type = 'page_view' AND NOT e.is_bot
      AND e.ts >= (SELECT min(day_start) FROM rebuild_days)
    GROUP BY 1, 2, 3, 4, 5
    UNION ALL
    SELECT day, device_type, country, category, entry_page,
           0, count(*), count(*) FILTER (WHERE bounce)
    FROM rebuild_visits
    GROUP BY 1, 2, 3, 4, 5
)
SELECT 'day', day,
       CASE WHEN grouping(device_type) = 1 THEN '*' ELSE device_type END,
       CASE WHEN grouping(country) = 1 THEN '*' ELSE country END,
       category, page_path, sum(page_views), sum(entries), sum(entry_bounces)
FROM views
GROUP BY day, category, page_path, CUBE (device_type, country);

DELETE FROM rollup_products r USING rebuild_days d WHERE r.grain = 'day' AND r.day = d.day;
INSERT INTO rollup_products
SELECT 'day', d.day,
       CASE WHEN grouping(e.device_type) = 1 THEN '*' ELSE e.device_type END,
       CASE WHEN grouping(coalesce(e.country, 'unknown')) = 1 THEN '*' ELSE coalesce(e.country, 'unknown') END,
       e.product_id, coalesce(p.category, 'unknown'),
       count(*) FILTER (WHERE e.event_type = 'impression'),
       count(*) FILTER (WHERE e.event_type = 'click'),
       count(*) FILTER (WHERE e.event_type = 'view'),
       count(*) FILTER (WHERE e.event_type = 'add_to_cart'),
       count(*) FILTER (WHERE e.event_type = 'purchase'),
       coalesce(sum(coalesce(e.qty, 1)) FILTER (WHERE e.event_type = 'purchase'), 0),
       coalesce(sum(e.price * coalesce(e.qty, 1)) FILTER (WHERE e.event_type = 'purchase'), 0)
FROM rebuild_days d
JOIN fact_events e ON e.ts >= d.day_start AND e.ts < d.day_end
LEFT JOIN dim_product p ON p.product_id = e.product_id
WHERE e.product_id IS NOT NULL AND NOT e.is_bot
GROUP BY d.day, e.product_id, coalesce(p.category, 'unknown'),
         CUBE (e.device_type, coalesce(e.country, 'unknown'));

-- Monthly rows: the sums of the daily rows of every month a rebuilt day is in.

DELETE FROM rollup_traffic r USING rebuild_months m WHERE r.grain = 'month' AND r.day = m.month;
INSERT INTO rollup_traffic
SELECT 'month', m.month, r.device_type, r.country, r.category,
       sum(r.sessions), hll_union_agg(r.visitors), sum(r.signed_in), sum(r.page_views),
       sum(r.events), sum(r.bounces), sum(r.duration_seconds)
FROM rebuild_months m
JOIN rollup_traffic r ON r.grain = 'day' AND r.day >= m.month AND r.day < m.month + interval '1 month'
GROUP BY m.month, r.device_type, r.country, r.category;

DELETE FROM rollup_funnel r USING rebuild_months m WHERE r.grain = 'month' AND r.day = m.month;
INSERT INTO rollup_funnel
SELECT 'month', m.month, r.device_type, r.country, r.category,
       sum(r.sessions), sum(r.product_view), sum(r.add_to_cart), sum(r.checkout), sum(r.purchase)
FROM rebuild_months m
JOIN rollup_funnel r ON r.grain = 'day' AND r.day >= m.month AND r.day < m.month + interval '1 month'
GROUP BY m.month, r.device_type, r.country, r.category;

DELETE FROM rollup_acquisition r USING rebuild_months m WHERE r.grain = 'month' AND r.day = m.month;
INSERT INTO rollup_acquisition
SELECT 'month', m.month, r.device_type, r.country, r.category, r.referrer_class, r.referrer_host,
       r.utm_source, r.utm_medium, r.utm_campaign,
       sum(r.sessions), sum(r.bounces), sum(r.conversions), sum(r.revenue)
FROM rebuild_months m
JOIN rollup_acquisition r ON r.grain = 'day' AND r.day >= m.month AND r.day < m.month + interval '1 month'
GROUP BY m.month, r.device_type, r.country, r.category, r.referrer_class, r.referrer_host,
         r.utm_source, r.utm_medium, r.utm_campaign;

DELETE FROM rollup_pages r USING rebuild_months m WHERE r.grain = 'month' AND r.day = m.month;
INSERT INTO rollup_pages
SELECT 'month', m.month, r.device_type, r.country, r.category, r.page_path,
       sum(r.page_views), sum(r.entries), sum(r.entry_bounces)
FROM rebuild_months m
JOIN rollup_pages r ON r.grain = 'day' AND r.day >= m.month AND r.day < m.month + interval '1 month'
GROUP BY m.month, r.device_type, r.country, r.category, r.page_path;

DELETE FROM rollup_products r USING rebuild_months m WHERE r.grain = 'month' AND r.day = m.month;
INSERT INTO rollup_products
SELECT 'month', m.month, r.device_type, r.country, r.product_id, min(r.category),
       sum(r.impressions), sum(r.clicks), sum(r.views), sum(r.add_to_carts), sum(r.purchases),
       sum(r.units), sum(r.revenue)
FROM rebuild_months m
JOIN rollup_products r ON r.grain = 'day' AND r.day >= m.month AND r.day < m.month + interval '1 month'
GROUP BY m.month, r.device_type, r.country, r.product_id;

DELETE FROM etl_dirty_sessions;
DELETE FROM etl_dirty_days;

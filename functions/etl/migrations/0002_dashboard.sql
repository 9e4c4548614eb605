-- What the dashboard reads: rollups by the shop's local day and month, one
-- row set per filter combination, distinct visitors as HyperLogLog sketches,
-- product impressions and clicks, and the operational figures of the ingest
-- side. The rollups of 0001 are replaced; every session and day is queued for
-- the rebuild, which the next run works off.

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'hll') THEN
    RAISE EXCEPTION 'the hll extension is missing in database %', current_database()
      USING HINT = 'As a superuser: CREATE EXTENSION hll; in this database '
                   '(Debian and Ubuntu package it as postgresql-NN-hll).';
  END IF;
END $$;

-- The shop's time zone the rollups were built in (one row). The ETL compares
-- it with its own setting at every run and rebuilds every rollup on a change.
CREATE TABLE warehouse_settings (
    only_row             boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    timezone             text NOT NULL,
    -- The freshness objective the dashboard measures against (minutes).
    freshness_slo_minutes integer NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE fact_sessions ADD COLUMN referrer_host text;

-- What each visit did with each product category: the category filter of
-- the session-based rollups ("visits that looked at laptops").
CREATE TABLE fact_session_categories (
    session_id    uuid NOT NULL,
    session_seq   integer NOT NULL,
    category      text NOT NULL,
    product_views integer NOT NULL,
    add_to_carts  integer NOT NULL,
    purchases     integer NOT NULL,
    revenue       numeric(18, 4) NOT NULL,
    PRIMARY KEY (session_id, session_seq, category)
);

-- The operational snapshots (`_ops/snapshot.json`) the runs found: ingest
-- answers over the trailing window and the dead letters waiting.
CREATE TABLE ops_snapshots (
    taken_at                   timestamptz PRIMARY KEY,
    source                     text NOT NULL CHECK (source IN ('aws', 'local')),
    window_minutes             integer NOT NULL,
    ingest_requests            bigint NOT NULL,
    ingest_client_errors       bigint NOT NULL,
    ingest_server_errors       bigint NOT NULL,
    dead_letters               bigint NOT NULL,
    dead_letter_oldest_seconds bigint,
    run_id                     bigint NOT NULL REFERENCES etl_runs
);

DROP TABLE rollup_traffic_daily, rollup_funnel_daily, rollup_product_daily, rollup_acquisition_daily;

-- Rollups ----------------------------------------------------------------------
--
-- grain 'day': `day` is a local day of the shop; grain 'month': `day` is the
-- first day of a local month and the row sums that month's days. A range is
-- read as its whole months plus the days at either end.
--
-- device_type, country and category hold '*' on the rows that sum every
-- value of that filter, so any combination of filters is one equality lookup.
-- An unknown country is 'unknown'. Session-based rollups count a session on
-- the local day it started; category '*' counts every session, category X
-- the sessions that viewed, added or bought a product of X.

CREATE TABLE rollup_traffic (
    grain            text NOT NULL CHECK (grain IN ('day', 'month')),
    day              date NOT NULL,
    device_type      text NOT NULL,
    country          text NOT NULL,
    category         text NOT NULL,
    sessions         integer NOT NULL,
    visitors         hll NOT NULL,
    signed_in        integer NOT NULL,
    page_views       bigint NOT NULL,
    events           bigint NOT NULL,
    bounces          integer NOT NULL,
    duration_seconds numeric(18, 3) NOT NULL,
    PRIMARY KEY (grain, device_type, country, category, day)
);

-- Page views of a page, and the visits that entered on it (and left at once).
CREATE TABLE rollup_pages (
    grain         text NOT NULL CHECK (grain IN ('day', 'month')),
    day           date NOT NULL,
    device_type   text NOT NULL,
    country       text NOT NULL,
    category      text NOT NULL,
    page_path     text NOT NULL,
    page_views    bigint NOT NULL,
    entries       integer NOT NULL,
    entry_bounces integer NOT NULL,
    PRIMARY KEY (grain, device_type, country, category, day, page_path)
);

-- A closed funnel: a visit reaches a stage when it did that step and every
-- earlier one (view -> add to cart -> checkout -> purchase).
CREATE TABLE rollup_funnel (
    grain        text NOT NULL CHECK (grain IN ('day', 'month')),
    day          date NOT NULL,
    device_type  text NOT NULL,
    country      text NOT NULL,
    category     text NOT NULL,
    sessions     integer NOT NULL,
    product_view integer NOT NULL,
    add_to_cart  integer NOT NULL,
    checkout     integer NOT NULL,
    purchase     integer NOT NULL,
    PRIMARY KEY (grain, device_type, country, category, day)
);

CREATE TABLE rollup_acquisition (
    grain          text NOT NULL CHECK (grain IN ('day', 'month')),
    day            date NOT NULL,
    device_type    text NOT NULL,
    country        text NOT NULL,
    category       text NOT NULL,
    referrer_class text NOT NULL,
    referrer_host  text,
    utm_source     text,
    utm_medium     text,
    utm_campaign   text,
    sessions       integer NOT NULL,
    bounces        integer NOT NULL,
    conversions    integer NOT NULL,
    revenue        numeric(18, 4) NOT NULL
);
CREATE INDEX rollup_acquisition_lookup ON rollup_acquisition (grain, device_type, country, category, day);

-- Per product, by the local day of the events; `category` is the product's
-- (dim_product), so the category filter is a plain condition here.
CREATE TABLE rollup_products (
    grain        text NOT NULL CHECK (grain IN ('day', 'month')),
    day          date NOT NULL,
    device_type  text NOT NULL,
    country      text NOT NULL,
    product_id   text NOT NULL,
    category     text NOT NULL,
    impressions  bigint NOT NULL,
    clicks       bigint NOT NULL,
    views        bigint NOT NULL,
    add_to_carts bigint NOT NULL,
    purchases    bigint NOT NULL,
    units        bigint NOT NULL,
    revenue      numeric(18, 4) NOT NULL,
    PRIMARY KEY (grain, device_type, country, day, product_id)
);

-- Every session again (for its categories and referrer host); the first run
-- after this finds no warehouse_settings row and queues every day as well.
INSERT INTO etl_dirty_sessions SELECT DISTINCT session_id FROM fact_sessions ON CONFLICT DO NOTHING;

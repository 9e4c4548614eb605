-- The warehouse: facts, dimensions, dashboard rollups and the ETL's own books.
-- Applied by the ETL before every run (and by `sbwctl etl migrate`) as the
-- database owner `sbw_etl`, which is not a superuser; the dashboard role reads
-- through the default privileges the warehouse bootstrap grants it.

-- ETL bookkeeping -----------------------------------------------------------

CREATE TABLE etl_runs (
    run_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger             text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'backfill')),
    status              text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'abandoned')),
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    -- The receive hours listed: [listed_from, listed_to).
    listed_from         timestamptz,
    listed_to           timestamptz,
    objects_listed      integer NOT NULL DEFAULT 0,
    objects_loaded      integer NOT NULL DEFAULT 0,
    objects_quarantined integer NOT NULL DEFAULT 0,
    events_loaded       bigint NOT NULL DEFAULT 0,
    duplicates          bigint NOT NULL DEFAULT 0,
    rejected_lines      bigint NOT NULL DEFAULT 0,
    sessions_rebuilt    bigint NOT NULL DEFAULT 0,
    newest_received_at  timestamptz,
    error               text
);

-- Every raw object the warehouse holds, committed with its rows: the
-- exactly-once manifest. A quarantined object is recorded too, so a bad
-- object never blocks later runs (a new etag is loaded again).
CREATE TABLE etl_objects (
    object_key  text PRIMARY KEY,
    etag        text NOT NULL,
    size_bytes  bigint NOT NULL,
    status      text NOT NULL CHECK (status IN ('loaded', 'quarantined')),
    records     integer NOT NULL,
    duplicates  integer NOT NULL,
    rejected    integer NOT NULL,
    run_id      bigint NOT NULL REFERENCES etl_runs,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX etl_objects_run ON etl_objects (run_id);

-- Lines (line_number set) and whole objects (line_number null) the ETL refused.
CREATE TABLE etl_rejects (
    reject_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES etl_runs,
    object_key  text NOT NULL,
    line_number integer,
    reason      text NOT NULL,
    excerpt     text,
    rejected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX etl_rejects_object ON etl_rejects (object_key);

-- Work left by committed batches for the rebuild step; emptied when the
-- sessions and rollups are rebuilt, in the same transaction.
CREATE TABLE etl_dirty_sessions (session_id uuid PRIMARY KEY);
CREATE TABLE etl_dirty_days (day date PRIMARY KEY);

-- Facts ----------------------------------------------------------------------

-- One row per event. PostgreSQL enforces uniqueness across partitions only on
-- keys that contain the partition key, so `event_keys` is the global unique
-- index of event ids and records which partition (ts) holds each one.
CREATE TABLE fact_events (
    event_id          uuid NOT NULL,
    ts                timestamptz NOT NULL,
    event_type        text NOT NULL,
    client_ts         timestamptz NOT NULL,
    received_at       timestamptz NOT NULL,
    clock_skew_ms     bigint,
    session_id        uuid NOT NULL,
    anonymous_id_hash text NOT NULL,
    user_id_hash      text,
    page_url          text NOT NULL,
    page_path         text NOT NULL,
    referrer          text,
    referrer_class    text NOT NULL,
    utm_source        text,
    utm_medium        text,
    utm_campaign      text,
    device_type       text NOT NULL,
    browser           text,
    os                text,
    device_family     text,
    is_bot            boolean NOT NULL,
    country           text,
    city              text,
    product_id        text,
    category          text,
    currency          text,
    price             numeric(14, 4),
    qty               integer,
    props             jsonb,
    request_id        text NOT NULL,
    PRIMARY KEY (event_id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX fact_events_session ON fact_events (session_id);
CREATE INDEX fact_events_ts ON fact_events USING brin (ts);
CREATE INDEX fact_events_product ON fact_events (product_id, ts) WHERE product_id IS NOT NULL;

CREATE TABLE event_keys (
    event_id uuid PRIMARY KEY,
    ts       timestamptz NOT NULL
);

-- Visits: the SDK's session_id, split again after 30 minutes of inactivity
-- (session_seq counts the splits). Bot traffic is left out.
CREATE TABLE fact_sessions (
    session_id        uuid NOT NULL,
    session_seq       integer NOT NULL,
    anonymous_id_hash text NOT NULL,
    user_id_hash      text,
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz NOT NULL,
    duration_seconds  numeric(12, 3) NOT NULL,
    events            integer NOT NULL,
    page_views        integer NOT NULL,
    bounce            boolean NOT NULL,
    entry_page        text NOT NULL,
    exit_page         text NOT NULL,
    device_type       text NOT NULL,
    browser           text,
    os                text,
    country           text,
    referrer_class    text NOT NULL,
    referrer          text,
    utm_source        text,
    utm_medium        text,
    utm_campaign      text,
    product_views     integer NOT NULL,
    add_to_carts      integer NOT NULL,
    checkouts         integer NOT NULL,
    purchases         integer NOT NULL,
    converted         boolean NOT NULL,
    revenue           numeric(18, 4) NOT NULL,
    PRIMARY KEY (session_id, session_seq)
);
CREATE INDEX fact_sessions_started ON fact_sessions (started_at);

-- Dimensions -----------------------------------------------------------------

CREATE TABLE dim_date (
    day         date PRIMARY KEY,
    year        smallint NOT NULL,
    quarter     smallint NOT NULL,
    month       smallint NOT NULL,
    month_name  text NOT NULL,
    iso_week    smallint NOT NULL,
    day_of_week smallint NOT NULL, -- ISO: 1 = Monday
    day_name    text NOT NULL,
    is_weekend  boolean NOT NULL
);
INSERT INTO dim_date
SELECT d::date,
       extract(year FROM d), extract(quarter FROM d), extract(month FROM d),
       trim(to_char(d, 'Month')), extract(week FROM d), extract(isodow FROM d),
       trim(to_char(d, 'Day')), extract(isodow FROM d) >= 6
FROM generate_series('2020-01-01'::date, '2045-12-31'::date, interval '1 day') AS d;

-- The latest category and price seen for each product (ties: the larger event_id).
CREATE TABLE dim_product (
    product_id       text PRIMARY KEY,
    category         text,
    category_seen_at timestamptz,
    category_event   uuid,
    price            numeric(14, 4),
    currency         text,
    price_seen_at    timestamptz,
    price_event      uuid,
    first_seen_at    timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL
);

-- Rollups: one set of rows per UTC day, rebuilt whole for the days a run touched.
-- Session-based rollups count a session on the day it started.

CREATE TABLE rollup_traffic_daily (
    day              date NOT NULL REFERENCES dim_date,
    device_type      text NOT NULL,
    country          text,
    sessions         integer NOT NULL,
    visitors         integer NOT NULL,
    signed_in        integer NOT NULL,
    page_views       bigint NOT NULL,
    events           bigint NOT NULL,
    bounces          integer NOT NULL,
    duration_seconds numeric(18, 3) NOT NULL
);
CREATE INDEX rollup_traffic_daily_day ON rollup_traffic_daily (day);

-- Sessions that reached each stage (an open funnel: a stage does not require the previous one).
CREATE TABLE rollup_funnel_daily (
    day           date NOT NULL REFERENCES dim_date,
    device_type   text NOT NULL,
    country       text,
    sessions      integer NOT NULL,
    product_view  integer NOT NULL,
    add_to_cart   integer NOT NULL,
    checkout      integer NOT NULL,
    purchase      integer NOT NULL
);
CREATE INDEX rollup_funnel_daily_day ON rollup_funnel_daily (day);

-- Per product and event day (event time, not session start).
CREATE TABLE rollup_product_daily (
    day          date NOT NULL REFERENCES dim_date,
    product_id   text NOT NULL,
    views        integer NOT NULL,
    add_to_carts integer NOT NULL,
    purchases    integer NOT NULL,
    units        bigint NOT NULL,
    revenue      numeric(18, 4) NOT NULL
);
CREATE INDEX rollup_product_daily_day ON rollup_product_daily (day);

CREATE TABLE rollup_acquisition_daily (
    day            date NOT NULL REFERENCES dim_date,
    referrer_class text NOT NULL,
    utm_source     text,
    utm_medium     text,
    utm_campaign   text,
    device_type    text NOT NULL,
    country        text,
    sessions       integer NOT NULL,
    bounces        integer NOT NULL,
    conversions    integer NOT NULL,
    revenue        numeric(18, 4) NOT NULL
);
CREATE INDEX rollup_acquisition_daily_day ON rollup_acquisition_daily (day);

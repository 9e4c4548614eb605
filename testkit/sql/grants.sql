-- Run in a new warehouse database (owned by sbw_etl) as a superuser, as the
-- warehouse bootstrap does: the extension the non-superuser ETL cannot create
-- (HyperLogLog sketches of distinct visitors), and the dashboard's read
-- access to every table the ETL creates. CONNECT comes from PUBLIC.
CREATE EXTENSION IF NOT EXISTS hll;
GRANT USAGE ON SCHEMA public TO sbw_dashboard;
ALTER DEFAULT PRIVILEGES FOR ROLE sbw_etl IN SCHEMA public GRANT SELECT ON TABLES TO sbw_dashboard;

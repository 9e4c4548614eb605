-- Run in a new warehouse database (owned by sbw_etl) as a superuser: the
-- dashboard reads every table the ETL creates. CONNECT comes from PUBLIC.
GRANT USAGE ON SCHEMA public TO sbw_dashboard;
ALTER DEFAULT PRIVILEGES FOR ROLE sbw_etl IN SCHEMA public GRANT SELECT ON TABLES TO sbw_dashboard;

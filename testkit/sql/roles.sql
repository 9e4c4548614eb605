-- The warehouse roles as the warehouse bootstrap creates them (without passwords:
-- the test server trusts local connections). Safe to run again.
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sbw_etl') THEN
    CREATE ROLE sbw_etl LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sbw_dashboard') THEN
    CREATE ROLE sbw_dashboard LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    ALTER ROLE sbw_dashboard SET default_transaction_read_only = on;
  END IF;
END $$;

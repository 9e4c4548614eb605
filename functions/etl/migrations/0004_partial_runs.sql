-- A run that stopped at its time budget with receive hours left to list:
-- what it loaded is committed and its watermark (listed_to) recorded; the
-- next run goes on from there. It is not 'succeeded', so the freshness
-- (every event received before the latest succeeded run's start is loaded)
-- keeps its age until a run lists through its current hour.
ALTER TABLE etl_runs DROP CONSTRAINT etl_runs_status_check;
ALTER TABLE etl_runs ADD CONSTRAINT etl_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'abandoned'));

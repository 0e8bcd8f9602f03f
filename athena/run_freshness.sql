CREATE OR REPLACE VIEW run_freshness AS
-- The newest run, one row: when it finished, how long ago, and whether a run succeeded in
-- the last 26 hours. Only a successful run writes a manifest, so a failed run shows as
-- an older finished_at here (and as an alarm in CloudWatch).
WITH ranked AS (
    SELECT
        r.*,
        row_number() OVER (ORDER BY r.run_date DESC, r.finished_at DESC) AS pick,
        count(*) OVER () AS runs_recorded
    FROM runs AS r
),
clock AS (
    SELECT CAST(current_timestamp AT TIME ZONE 'UTC' AS timestamp) AS now_utc
)
SELECT
    run_date AS latest_run_date,
    run_id,
    as_of,
    timezone,
    started_at,
    finished_at,
    duration_ms,
    round(date_diff('second', finished_at, clock.now_utc) / 3600.0, 2) AS hours_since_finished,
    date_diff('second', finished_at, clock.now_utc) <= 26 * 3600 AS succeeded_in_last_26_hours,
    events_open,
    events_holding,
    events_recent_closed,
    changes_total,
    notes,
    program_version,
    runs_recorded
FROM ranked
CROSS JOIN clock
WHERE pick = 1

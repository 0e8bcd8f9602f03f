CREATE OR REPLACE VIEW overdue_by_facility AS
-- Open events and the overdue ones among them, per facility, as of the newest snapshot
-- date. Each event counts once, with its row of the day's later pull (as current_events).
WITH latest AS (
    SELECT max(snapshot_date) AS snapshot_date
    FROM snapshots
),
ranked AS (
    SELECT
        s.*,
        row_number() OVER (
            PARTITION BY s.event_id
            ORDER BY
                s.snapshot_at DESC,
                CASE s.event_type WHEN 'recent_closed' THEN 3 WHEN 'holding' THEN 2 ELSE 1 END DESC
        ) AS pick
    FROM snapshots AS s
    JOIN latest AS l ON s.snapshot_date = l.snapshot_date
),
open_events AS (
    SELECT *
    FROM ranked
    WHERE pick = 1 AND status = 'open'
)
SELECT
    snapshot_date,
    facility_id,
    facility_name,
    count(*) AS open_events,
    count_if(is_overdue) AS overdue_events,
    CAST(count_if(is_overdue) AS double) / count(*) AS overdue_share,
    min(CASE WHEN is_overdue THEN due_date END) AS oldest_overdue_due_date,
    max(
        CASE
            WHEN is_overdue THEN date_diff('day', due_date, snapshot_date)
        END
    ) AS max_days_overdue
FROM open_events
GROUP BY snapshot_date, facility_id, facility_name

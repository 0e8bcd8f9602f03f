CREATE OR REPLACE VIEW current_events AS
-- Every event as of the newest snapshot date, one row an event, with its lifecycle status.
-- An event listed twice that day (it moved between two pulls) keeps the row of the later
-- pull; the lists are pulled in the order open, holding, recent_closed.
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
)
SELECT
    snapshot_date,
    snapshot_at,
    event_id,
    status,
    event_type AS listed_in,
    facility_id,
    facility_name,
    area_id,
    area_name,
    type_id,
    type_name,
    assignment_id,
    assignment_name,
    event_activity,
    event_description,
    event_parent_type,
    event_parent_id,
    due_date,
    close_date,
    is_closed,
    is_overdue,
    is_regulatory,
    requires_attachment,
    CASE
        WHEN status <> 'closed' AND due_date < snapshot_date
            THEN date_diff('day', due_date, snapshot_date)
    END AS days_past_due
FROM ranked
WHERE pick = 1

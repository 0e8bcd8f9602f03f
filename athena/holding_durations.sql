CREATE OR REPLACE VIEW holding_durations AS
-- Time each approved event spent in the holding table, one row an approval.
-- submitted_on is the vendor's close_date (the submission date); approved_seen_on is the
-- first run that saw the event closed, and approved_after the run before it, so the
-- approval happened after approved_after and by approved_seen_on. days_in_holding counts
-- from submitted_on to approved_seen_on: at most one run interval more than the truth.
-- holding_seen_on is the run that first saw the event in holding (null when no run did:
-- it was submitted and approved between two runs, kind `closed`).
WITH ordered AS (
    SELECT
        c.*,
        c.change_date AS seen_on,
        lag(c.change_date) OVER (
            PARTITION BY c.event_id ORDER BY c.change_date
        ) AS previous_seen_on,
        lag(c.to_status) OVER (
            PARTITION BY c.event_id ORDER BY c.change_date
        ) AS previous_to_status
    FROM changes AS c
)
SELECT
    event_id,
    kind,
    to_close_date AS submitted_on,
    CASE WHEN previous_to_status = 'holding' THEN previous_seen_on END AS holding_seen_on,
    baseline_date AS approved_after,
    seen_on AS approved_seen_on,
    date_diff('day', to_close_date, seen_on) AS days_in_holding,
    facility_id,
    facility_name,
    area_id,
    area_name,
    type_id,
    type_name,
    assignment_id,
    assignment_name,
    event_activity,
    due_date
FROM ordered
WHERE kind IN ('approved', 'closed')
    AND to_status = 'closed'
    AND to_close_date IS NOT NULL

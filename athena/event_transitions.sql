CREATE OR REPLACE VIEW event_transitions AS
-- Every change of an event's status or close date, one row a change, from the change log.
-- The change happened after baseline_date (the previous run) and by change_date.
SELECT
    change_date,
    baseline_date,
    date_diff('day', baseline_date, change_date) AS days_since_baseline,
    detected_at,
    change_id,
    run_id,
    event_id,
    kind,
    from_status,
    to_status,
    from_is_closed,
    to_is_closed,
    from_close_date,
    to_close_date,
    facility_id,
    facility_name,
    area_id,
    area_name,
    type_id,
    type_name,
    assignment_id,
    assignment_name,
    event_activity,
    due_date,
    is_overdue
FROM changes

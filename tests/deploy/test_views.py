"""The views of athena/, transpiled from Athena's dialect to DuckDB's with sqlglot, run over the
simulated lake (read with the Glue columns of template.yaml), and compared with answers this
file computes on its own in plain Python from the same files."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlglot import exp

from athena_local import parse_view, tables_read, view_names

VIEWS = view_names()
# The lists in the order a run pulls them: of two rows of an event on one day, the later
# pull's row describes it.
PULL_ORDER = {"open": 1, "holding": 2, "recent_closed": 3}
SCALAR_TYPES = ("VARCHAR", "BIGINT", "INTEGER", "HUGEINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP")


def create_view(duck, name: str) -> list[dict]:
    """Creates the view in DuckDB over the tables it reads; returns all its rows."""
    duck.create_view(name)
    return [normalise(row) for row in duck.query(f"SELECT * FROM {name}")]


def normalise(row: dict) -> dict:
    """DuckDB's values in the JSON files' notation: dates and timestamps as text."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dt.datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        out[key] = value
    return out


def days(start: str | None, end: str | None) -> int | None:
    if start is None or end is None:
        return None
    return (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days


def same_rows(actual: list[dict], expected: list[dict]) -> None:
    assert expected, "the expected answer is empty: the test would pass vacuously"
    assert [set(r) for r in actual[:1]] == [set(r) for r in expected[:1]], "columns differ"

    def key(row):
        return json.dumps(row, sort_keys=True, default=str)

    actual, expected = sorted(actual, key=key), sorted(expected, key=key)
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        assert got == want


def current_rows(lake, tables) -> tuple[str, dict[int, tuple[dict, dict]]]:
    """The newest snapshot date, and per event its row of the later pull that day."""
    lines = lake.lines(tables["snapshots"])
    latest = max(values["snapshot_date"] for values, _ in lines)
    picked: dict[int, tuple[tuple, dict, dict]] = {}
    for values, line in lines:
        if values["snapshot_date"] != latest:
            continue
        rank = (line["snapshot_at"], PULL_ORDER[values["event_type"]])
        held = picked.get(line["event_id"])
        if held is None or rank > held[0]:
            picked[line["event_id"]] = (rank, values, line)
    return latest, {event_id: (values, line) for event_id, (_, values, line) in picked.items()}


def with_view_columns(view_rows: list[dict], line: dict, derived: dict) -> dict:
    """A view row as expected: the view's columns taken from the line, then the derived ones.
    A view column that is neither raises, so a new column needs its expectation here."""
    columns = list(view_rows[0]) if view_rows else list(derived)
    row = {}
    for column in columns:
        if column in derived:
            row[column] = derived[column]
        elif column in line:
            row[column] = line[column]
        else:
            raise AssertionError(f"the test has no expectation for the view column `{column}`")
    return row


@pytest.mark.parametrize("name", VIEWS)
def test_each_view_file_creates_the_view_it_is_named_after(name, tables):
    statement = parse_view(name)
    assert isinstance(statement, exp.Create) and statement.kind == "VIEW", name
    assert statement.args.get("replace"), f"{name}: CREATE OR REPLACE, so it can be run again"
    assert statement.this.name == name
    unknown = tables_read(statement) - set(tables)
    assert not unknown, f"{name} reads tables template.yaml does not define: {unknown}"


@pytest.mark.parametrize("name", VIEWS)
def test_each_view_has_scalar_columns_only(name, duck):
    create_view(duck, name)
    for column in duck.query(f"DESCRIBE {name}"):
        assert column["column_type"] in SCALAR_TYPES, f"{name}.{column['column_name']}: {column['column_type']}"


def test_current_events_lists_each_event_once_with_its_latest_status(duck, lake, tables):
    view = create_view(duck, "current_events")
    latest, picked = current_rows(lake, tables)
    expected = []
    for values, line in picked.values():
        due = line["due_date"]
        overdue_days = days(due, latest) if line["status"] != "closed" and due and due < latest else None
        expected.append(with_view_columns(view, line, {
            "snapshot_date": latest,
            "listed_in": values["event_type"],
            "days_past_due": overdue_days,
        }))
    same_rows(view, expected)
    assert {row["status"] for row in expected} >= {"open", "holding"}
    assert any(row["days_past_due"] for row in expected), "no overdue event in the data set"


def test_overdue_by_facility_counts_open_and_overdue_events(duck, lake, tables):
    view = create_view(duck, "overdue_by_facility")
    latest, picked = current_rows(lake, tables)
    groups = defaultdict(list)
    for _, line in picked.values():
        if line["status"] == "open":
            groups[(line["facility_id"], line["facility_name"])].append(line)
    expected = []
    for (facility_id, facility_name), lines in groups.items():
        overdue = [line for line in lines if line["is_overdue"]]
        expected.append({
            "snapshot_date": latest,
            "facility_id": facility_id,
            "facility_name": facility_name,
            "open_events": len(lines),
            "overdue_events": len(overdue),
            "overdue_share": len(overdue) / len(lines),
            "oldest_overdue_due_date": min((l["due_date"] for l in overdue), default=None),
            "max_days_overdue": max((days(l["due_date"], latest) for l in overdue), default=None),
        })
    for row in view:
        row["overdue_share"] = round(row["overdue_share"], 12)
    for row in expected:
        row["overdue_share"] = round(row["overdue_share"], 12)
    same_rows(view, expected)
    assert any(row["overdue_events"] for row in expected), "no overdue open event in the data set"


def test_event_transitions_show_every_change(duck, lake, tables):
    view = create_view(duck, "event_transitions")
    expected = [
        with_view_columns(view, line, {
            "change_date": values["change_date"],
            "days_since_baseline": days(line["baseline_date"], values["change_date"]),
        })
        for values, line in lake.lines(tables["changes"])
    ]
    same_rows(view, expected)
    kinds = {row["kind"] for row in expected}
    assert {"appeared", "submitted", "approved"} <= kinds, kinds


def test_holding_durations_measure_submission_to_approval(duck, lake, tables):
    view = create_view(duck, "holding_durations")
    by_event = defaultdict(list)
    for values, line in lake.lines(tables["changes"]):
        by_event[line["event_id"]].append((values["change_date"], line))
    expected = []
    for changes in by_event.values():
        changes.sort(key=lambda item: item[0])
        for index, (seen_on, line) in enumerate(changes):
            if line["kind"] not in ("approved", "closed") or line["to_status"] != "closed":
                continue
            if line["to_close_date"] is None:
                continue
            previous = changes[index - 1] if index else None
            held = previous[0] if previous and previous[1]["to_status"] == "holding" else None
            expected.append(with_view_columns(view, line, {
                "submitted_on": line["to_close_date"],
                "holding_seen_on": held,
                "approved_after": line["baseline_date"],
                "approved_seen_on": seen_on,
                "days_in_holding": days(line["to_close_date"], seen_on),
            }))
    same_rows(view, expected)
    assert any(row["holding_seen_on"] for row in expected), "no approval of an event seen in holding"


def test_run_freshness_reports_the_newest_run(duck, lake, tables):
    view = create_view(duck, "run_freshness")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    manifests = lake.lines(tables["runs"])
    values, newest = max(manifests, key=lambda item: (item[0]["run_date"], item[1]["finished_at"]))
    finished = dt.datetime.fromisoformat(newest["finished_at"])
    hours = (now - finished).total_seconds() / 3600
    (row,) = view
    assert math.isclose(row.pop("hours_since_finished"), hours, abs_tol=0.02)
    expected = with_view_columns([row], newest, {
        "latest_run_date": values["run_date"],
        "succeeded_in_last_26_hours": hours <= 26,
        "runs_recorded": len(manifests),
    })
    assert row == expected
    assert row["latest_run_date"] == lake.run_dates[-1]
    assert row["succeeded_in_last_26_hours"] is True

"""The Glue tables of template.yaml against what the binary writes over several simulated days:
each file where its table's location template points, with partition values the projection
produces, and each line with exactly the table's columns, in order, with values of the
column's type. Columns and locations are read from template.yaml, never restated here."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

import pytest

TABLES = ["snapshots", "changes", "state", "runs", "rejects"]
# Datasets every run writes; the rejects file exists only on days with unreadable results.
DAILY = {"snapshots", "changes", "state", "runs"}

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?")
INTEGER_RANGES = {"smallint": 2**15, "int": 2**31, "bigint": 2**63}


def value_fits(glue_type: str, value) -> bool:
    """Whether Athena reads this JSON value as a column of this type (null always fits)."""
    if value is None:
        return True
    if glue_type == "string":
        return isinstance(value, str)
    if glue_type == "boolean":
        return isinstance(value, bool)
    if glue_type in INTEGER_RANGES:
        bound = INTEGER_RANGES[glue_type]
        return isinstance(value, int) and not isinstance(value, bool) and -bound <= value < bound
    if glue_type == "double":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if glue_type == "date":
        if not (isinstance(value, str) and DATE.fullmatch(value)):
            return False
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if glue_type == "timestamp":
        if not (isinstance(value, str) and TIMESTAMP.fullmatch(value)):
            return False
        dt.datetime.fromisoformat(value[:26])
        return True
    raise AssertionError(f"the tests do not know the Glue type `{glue_type}`")


def projected(table, key: str, value: str, today: dt.date) -> bool:
    """Whether partition projection produces this folder value."""
    params = table.parameters
    kind = params[f"projection.{key}.type"]
    if kind == "enum":
        return value in params[f"projection.{key}.values"].split(",")
    assert kind == "date" and params[f"projection.{key}.format"] == "yyyy-MM-dd"
    if not DATE.fullmatch(value):
        return False
    start, end = params[f"projection.{key}.range"].split(",")
    end_date = today + dt.timedelta(days=1 if end == "NOW+1DAYS" else 0)
    assert end in ("NOW", "NOW+1DAYS"), end
    return dt.date.fromisoformat(start) <= dt.date.fromisoformat(value) <= end_date


@pytest.mark.parametrize("name", TABLES)
def test_every_file_is_in_a_partition_the_table_projects(name, lake, tables):
    table = tables[name]
    today = dt.datetime.now(dt.timezone.utc).date()
    found = lake.partitions(table)
    folders = Counter(path.parent for _, path in found)
    crowded = [str(folder) for folder, count in folders.items() if count > 1]
    assert not crowded, f"folders read twice by Athena (more than one file): {crowded}"
    for values, path in found:
        for key, value in values.items():
            assert projected(table, key, value, today), f"{path}: {key}={value} is not projected"

    # Every run wrote every partition of the dataset for its date.
    date_key = next(key for key, _ in table.partition_keys if key != "event_type")
    by_date = defaultdict(set)
    for values, _ in found:
        by_date[values[date_key]].add(values.get("event_type"))
    if name in DAILY:
        assert sorted(by_date) == lake.run_dates
    else:
        assert set(by_date) <= set(lake.run_dates)
    if any(key == "event_type" for key, _ in table.partition_keys):
        lists = set(table.parameters["projection.event_type.values"].split(","))
        assert all(kinds == lists for kinds in by_date.values()), dict(by_date)


@pytest.mark.parametrize("name", TABLES)
def test_every_line_has_the_table_columns_in_order(name, lake, tables):
    table = tables[name]
    columns = [column for column, _ in table.columns]
    partition_keys = {key for key, _ in table.partition_keys}
    for values, line in lake.lines(table):
        keys = [key for key in line if key not in partition_keys]
        missing = [c for c in columns if c not in line]
        unread = [k for k in keys if k not in columns]
        assert not unread, f"{name}: written but not a column, so Athena never shows it: {unread}"
        assert not missing, f"{name}: a column the binary does not write: {missing}"
        assert keys == columns, f"{name}: columns out of the order the binary writes them"
        # A partition key repeated in the line (the SerDe ignores it) agrees with its folder.
        for key in partition_keys & line.keys():
            assert line[key] == values[key], f"{name}: {key} {line[key]} in folder {values[key]}"


@pytest.mark.parametrize("name", TABLES)
def test_every_value_has_its_column_type(name, lake, tables):
    table = tables[name]
    types = dict(table.columns)
    seen_non_null = set()
    lines = lake.lines(table)
    for _, line in lines:
        for column, value in line.items():
            if column not in types:
                continue
            assert not isinstance(value, (list, dict)), f"{name}.{column}: nested value {value!r}"
            assert value_fits(types[column], value), (
                f"{name}.{column} is `{types[column]}` but a line has {value!r}"
            )
            if value is not None:
                seen_non_null.add(column)
    # Most columns must have been checked against a real value; the simulator leaves only
    # a few optional fields always empty.
    never = sorted(set(types) - seen_non_null)
    assert len(never) <= max(2, len(types) // 5), (
        f"{name}: {len(lines)} lines never give a value for {never}: the data set is too thin"
    )

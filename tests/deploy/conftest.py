"""Shared fixtures of the deployment tests.

- `template`, `stack`, `tables`: template.yaml, resolved for a test deployment that creates its
  bucket and secret, and its Glue tables as that deployment would define them;
- `lake`: the output of the real binary (`target/debug/plantrak-sync`, local mode) run against
  the simulator over several simulated days, into a local directory laid out as the bucket;
- `duck`: a DuckDB database with one view per Glue table over the lake, read with exactly the
  columns and types template.yaml gives.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import cfn
from local_stack import ROOT, Simulator, binary

BUCKET = "plantrak-lake-test"
SECRET_ARN = f"arn:aws:secretsmanager:{cfn.REGION}:{cfn.ACCOUNT}:secret:plantrak-api-token-AbCdEf"
TOPIC_ARN = f"arn:aws:sns:{cfn.REGION}:{cfn.ACCOUNT}:plantrak-test-AlertTopic-1A2B3C"
LOG_GROUP = "plantrak-test-SyncLogGroup-1A2B3C"
REFS = {
    "DataBucket": BUCKET,
    "DataBucket.Arn": f"arn:aws:s3:::{BUCKET}",
    "ApiTokenSecret": SECRET_ARN,
    "AlertTopic": TOPIC_ARN,
    "SyncLogGroup": LOG_GROUP,
    "SyncLogGroup.Arn": f"arn:aws:logs:{cfn.REGION}:{cfn.ACCOUNT}:log-group:{LOG_GROUP}:*",
    "GlueDatabase": "plantrak",
    "AthenaWorkGroup": "plantrak-test",
    "SyncFunction": "plantrak-test-SyncFunction-1A2B3C",
}

# The simulated history: days before today that have a run. Day 5 has none, so one run
# sees a two-day gap; day 4 is written without compression, the rest with gzip.
RUN_OFFSETS = (10, 9, 8, 7, 6, 4, 3, 2, 1, 0)
UNCOMPRESSED_OFFSET = 4
SIM_EVENTS = 800
SIM_SEED = 11
TOKEN = "deploy-test-token-7c1e"

GLUE_TO_DUCKDB = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "boolean": "BOOLEAN",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "build: runs `sam build` (a release build of the bootstrap)")


@pytest.fixture(scope="session")
def template() -> dict:
    return cfn.load()


@pytest.fixture(scope="session")
def stack(template) -> cfn.Stack:
    return cfn.Stack(template, refs=REFS)


@pytest.fixture(scope="session")
def tables(stack) -> dict[str, cfn.GlueTable]:
    return cfn.glue_tables(stack)


@pytest.fixture(scope="session")
def destination(stack) -> str:
    """PLANTRAK_DESTINATION of the deployed function."""
    variables = stack.resolve(stack.resource("SyncFunction")["Properties"]["Environment"])
    return variables["Variables"]["PLANTRAK_DESTINATION"]


@dataclass
class Lake:
    """A local directory holding what the function writes under its destination."""

    root: Path
    destination: str
    run_dates: list[str]

    def local(self, location: str) -> str:
        """A table location (`s3://bucket/prefix/...`) as a path under `root`."""
        prefix = self.destination.rstrip("/") + "/"
        assert location.startswith(prefix), (
            f"`{location}` is not under the function's destination `{self.destination}`"
        )
        return str(self.root) + "/" + location[len(prefix):]

    def partitions(self, table: cfn.GlueTable) -> list[tuple[dict, Path]]:
        """Every file of the table's dataset, with the partition values its folders give.
        Fails when the binary wrote nothing there."""
        template = self.local(table.location_template)
        pattern = re.escape(template)
        for key, _ in table.partition_keys:
            pattern = pattern.replace(re.escape("${" + key + "}"), f"(?P<{key}>[^/]+)")
        found = []
        base = Path(self.local(table.location))
        for path in sorted(base.rglob("*")) if base.exists() else []:
            if path.is_file():
                match = re.fullmatch(pattern + r"[^/]+", str(path))
                assert match, f"{path} is under {table.location} but not where the location template points"
                found.append((match.groupdict(), path))
        assert found, (
            f"no files under {base.relative_to(self.root)}/: this build of plantrak-sync does not "
            f"write the `{table.name}` dataset yet"
        )
        return found

    def lines(self, table: cfn.GlueTable) -> list[tuple[dict, dict]]:
        """Every JSON line of the table's files, with its partition values."""
        rows = []
        for values, path in self.partitions(table):
            data = path.read_bytes()
            if path.name.endswith(".gz"):
                data = gzip.decompress(data)
            for number, line in enumerate(data.decode().splitlines(), 1):
                try:
                    rows.append((values, json.loads(line, object_pairs_hook=_ordered_pairs)))
                except ValueError as err:
                    raise AssertionError(f"{path}:{number} is not one JSON object: {err}") from None
        return rows


def _ordered_pairs(pairs):
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a JSON line repeats a key: {keys}"
    return dict(pairs)


def _run_dates() -> list[str]:
    today = dt.datetime.now(dt.timezone.utc).date()
    return [str(today - dt.timedelta(days=offset)) for offset in RUN_OFFSETS]


@pytest.fixture(scope="session")
def lake(tmp_path_factory, destination) -> Lake:
    """Runs the binary once per simulated day, as the daily schedule would."""
    root = tmp_path_factory.mktemp("lake")
    dates = _run_dates()
    uncompressed = _run_dates()[RUN_OFFSETS.index(UNCOMPRESSED_OFFSET)]
    with Simulator(TOKEN, SIM_EVENTS, SIM_SEED, dates[0]) as sim:
        for date in dates:
            sim.set_date(date)
            env = {
                "PATH": os.environ.get("PATH", ""),
                "PLANTRAK_TOKEN": TOKEN,
                "PLANTRAK_API_URL": sim.api_url,
                "PLANTRAK_DESTINATION": str(root),
                "PLANTRAK_COMPRESSION": "none" if date == uncompressed else "gzip",
                "RUST_LOG": "warn",
            }
            done = subprocess.run(
                [str(binary("plantrak-sync")), "run", "--as-of", date],
                env=env, capture_output=True, text=True, timeout=300,
            )
            assert done.returncode == 0, f"run for {date} failed:\n{done.stderr}"
    return Lake(root=root, destination=destination, run_dates=dates)


class Duck:
    """DuckDB over the lake, with a view per Glue table read with the Glue columns."""

    def __init__(self, lake: Lake, tables: dict[str, cfn.GlueTable]):
        import duckdb

        self.db = duckdb.connect()
        self.db.execute("SET TimeZone = 'UTC'")
        self.lake = lake
        self.tables = tables
        self.created: set[str] = set()

    def require(self, *names: str) -> None:
        """Creates the views of these tables; fails if the lake has no files for one."""
        for name in names:
            if name in self.created:
                continue
            table = self.tables[name]
            self.lake.partitions(table)
            glob = self.lake.local(table.location_template)
            for key, _ in table.partition_keys:
                glob = glob.replace("${" + key + "}", "*")
            columns = ", ".join(f"'{c}': '{GLUE_TO_DUCKDB[t]}'" for c, t in table.columns)
            hive_types = ", ".join(f"'{c}': '{GLUE_TO_DUCKDB[t]}'" for c, t in table.partition_keys)
            self.db.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_json('{glob}*', "
                f"format = 'newline_delimited', columns = {{{columns}}}, "
                f"hive_partitioning = true, hive_types = {{{hive_types}}})"
            )
            self.created.add(name)

    def query(self, sql: str) -> list[dict]:
        cursor = self.db.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


@pytest.fixture(scope="session")
def duck(lake, tables) -> Duck:
    return Duck(lake, tables)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT

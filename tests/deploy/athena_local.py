"""The Athena side of template.yaml played locally: its Glue tables as DuckDB views over a
local copy of the output tree, read with exactly the columns and types the template gives,
and the views of athena/ transpiled from Athena's dialect (Trino) to DuckDB's with sqlglot.

The tests use it over a simulated lake; run as a script, it prints each view over a local
lake (`make demo` does this for demo-output/lake).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

import cfn

ROOT = cfn.ROOT
ATHENA = ROOT / "athena"

# Glue (Hive DDL) types to DuckDB's.
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

# What `Ref` gives for the stack's own resources in a test deployment.
BUCKET = "plantrak-lake-test"
REFS = {
    "DataBucket": BUCKET,
    "DataBucket.Arn": f"arn:aws:s3:::{BUCKET}",
    "ApiTokenSecret": f"arn:aws:secretsmanager:{cfn.REGION}:{cfn.ACCOUNT}:secret:plantrak-api-token-AbCdEf",
    "AlertTopic": f"arn:aws:sns:{cfn.REGION}:{cfn.ACCOUNT}:plantrak-test-AlertTopic-1A2B3C",
    "SyncLogGroup": "plantrak-test-SyncLogGroup-1A2B3C",
    "SyncLogGroup.Arn": (
        f"arn:aws:logs:{cfn.REGION}:{cfn.ACCOUNT}:log-group:plantrak-test-SyncLogGroup-1A2B3C:*"
    ),
    "GlueDatabase": "plantrak",
    "AthenaWorkGroup": "plantrak-test",
    "SyncFunction": "plantrak-test-SyncFunction-1A2B3C",
}


def function_destination(stack: cfn.Stack) -> str:
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
        Fails when nothing was written there."""
        pattern = re.escape(self.local(table.location_template))
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
                    rows.append((values, json.loads(line, object_pairs_hook=_unique_keys)))
                except ValueError as err:
                    raise AssertionError(f"{path}:{number} is not one JSON object: {err}") from None
        return rows


def _unique_keys(pairs):
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a JSON line repeats a key: {keys}"
    return dict(pairs)


def view_names() -> list[str]:
    return sorted(path.stem for path in ATHENA.glob("*.sql"))


def parse_view(name: str) -> exp.Expression:
    (statement,) = sqlglot.parse((ATHENA / f"{name}.sql").read_text(), read="athena")
    return statement


def tables_read(statement: exp.Expression) -> set[str]:
    """The tables a view reads (its CTEs and its own name aside)."""
    ctes = {cte.alias for cte in statement.find_all(exp.CTE)}
    return {table.name for table in statement.find_all(exp.Table)} - ctes - {statement.this.name}


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

    def create_view(self, name: str) -> None:
        """Creates a view of athena/ over the tables it reads."""
        self.require(*sorted(tables_read(parse_view(name))))
        text = (ATHENA / f"{name}.sql").read_text()
        (sql,) = sqlglot.transpile(text, read="athena", write="duckdb")
        self.db.execute(sql)

    def query(self, sql: str) -> list[dict]:
        cursor = self.db.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Print the Athena views over a local lake.")
    parser.add_argument("lake", type=Path, help="a local destination, e.g. demo-output/lake")
    parser.add_argument("--rows", type=int, default=5, help="rows to print per view")
    args = parser.parse_args(argv)

    stack = cfn.Stack(cfn.load(), refs=REFS)
    lake = Lake(args.lake.resolve(), function_destination(stack), [])
    duck = Duck(lake, cfn.glue_tables(stack))
    for name in view_names():
        duck.create_view(name)
        (count,) = duck.db.execute(f"SELECT count(*) FROM {name}").fetchone()
        print(f"\n== {name} ({count} rows; athena/{name}.sql run by DuckDB)")
        result = duck.db.execute(f"SELECT * FROM {name} LIMIT {args.rows}")
        names = [d[0] for d in result.description]
        for row in result.fetchall():
            print("  " + ", ".join(f"{k}={v}" for k, v in zip(names, row) if v is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Shared fixtures of the deployment tests.

- `template`, `stack`, `tables`: template.yaml, resolved for a test deployment that creates its
  bucket and secret, and its Glue tables as that deployment defines them;
- `lake`: what the real binary (`target/debug/plantrak-sync`, local mode) writes when run
  against the simulator once per simulated day, in a local directory laid out as the bucket;
- `duck`: DuckDB with one view per Glue table over the lake (see athena_local.py).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest

import cfn
from athena_local import REFS, Duck, Lake, function_destination
from local_stack import Simulator, binary

# The simulated history: days before today that have a run. Day 5 has none, so one run
# sees a two-day gap; day 4 is written without compression, the rest with gzip; on day 2 the
# API sends unreadable results, which the run sets aside in a rejects file.
RUN_OFFSETS = (10, 9, 8, 7, 6, 4, 3, 2, 1, 0)
UNCOMPRESSED_OFFSET = 4
BAD_RECORDS_OFFSET = 2
BAD_RECORDS = [
    {"list": "open", "times": 1, "fault": {"kind": "bad_record", "record": "bad_date"}},
    {"list": "holding", "times": 1, "fault": {"kind": "bad_record", "record": "string_event_id"}},
]
SIM_EVENTS = 800
SIM_SEED = 11
TOKEN = "deploy-test-token-7c1e"


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
def lake(tmp_path_factory, stack) -> Lake:
    """Runs the binary once per simulated day, as the daily schedule would."""
    root = tmp_path_factory.mktemp("lake")
    today = dt.datetime.now(dt.timezone.utc).date()
    dates = [str(today - dt.timedelta(days=offset)) for offset in RUN_OFFSETS]
    uncompressed = dates[RUN_OFFSETS.index(UNCOMPRESSED_OFFSET)]
    bad_records = dates[RUN_OFFSETS.index(BAD_RECORDS_OFFSET)]
    with Simulator(TOKEN, SIM_EVENTS, SIM_SEED, dates[0]) as sim:
        for date in dates:
            sim.set_date(date)
            if date == bad_records:
                sim.control("POST", "/_sim/faults", {"faults": BAD_RECORDS})
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
    return Lake(root=root, destination=function_destination(stack), run_dates=dates)


@pytest.fixture(scope="session")
def duck(lake, tables) -> Duck:
    return Duck(lake, tables)

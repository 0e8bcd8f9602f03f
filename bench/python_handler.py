"""The comparison Python Lambda handler: the straightforward requests + boto3 + json way.

It writes what plantrak-sync writes for a list and a day, with the same keys and the same
line format (README, "A snapshot line"), gzip-compressed:

    raw/event_type={list}/snapshot_date={date}/response.json.gz
    snapshots/event_type={list}/snapshot_date={date}/events.jsonl.gz

It has none of plantrak-sync's retries, secret handling, change log or ledger: it is the
baseline a team would write first. Run as a script, it calls the handler once, as Lambda would:

    PLANTRAK_API_URL=... PLANTRAK_TOKEN=... PLANTRAK_DESTINATION=s3://bucket/prefix \
        python bench/python_handler.py --as-of 2026-12-03 --past-days 180
"""

import argparse
import datetime
import gzip
import json
import os
import pathlib
import sys

import boto3
import requests

DOCUMENTED_FIELDS = [
    "area_id", "area_name", "assignment_id", "assignment_name", "citation", "citation_link",
    "close_date", "comments", "due_date", "event_activity", "event_description", "event_id",
    "event_info", "event_parent_id", "event_parent_type", "event_recommendation", "facility_id",
    "facility_name", "is_closed", "is_overdue", "is_regulatory", "required_checklist_id",
    "required_checklist_name", "requires_attachment", "type_id", "type_name",
]
DOCUMENTED = set(DOCUMENTED_FIELDS)


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def status_of(event):
    if event.get("is_closed") is True:
        return "closed"
    return "holding" if event.get("close_date") else "open"


def snapshot_line(event, snapshot_at):
    line = {}
    for name in DOCUMENTED_FIELDS:
        value = event.get(name)
        line[name] = compact(value) if isinstance(value, (list, dict)) else value
    line["status"] = status_of(event)
    extra = {name: value for name, value in event.items() if name not in DOCUMENTED}
    line["extra"] = compact(extra) if extra else None
    line["snapshot_at"] = snapshot_at
    return compact(line)


def gzipped(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


class Destination:
    """An S3 bucket and prefix, or a local directory."""

    def __init__(self, url):
        if url.startswith("s3://"):
            bucket, _, prefix = url[len("s3://"):].partition("/")
            self.s3 = boto3.client("s3")
            self.bucket = bucket
            self.prefix = prefix.strip("/")
        else:
            self.s3 = None
            self.root = pathlib.Path(url)
            self.prefix = ""

    def put(self, key, body):
        if self.prefix:
            key = f"{self.prefix}/{key}"
        if self.s3 is not None:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        else:
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)


def lambda_handler(event, context):
    api_url = os.environ["PLANTRAK_API_URL"]
    token = os.environ["PLANTRAK_TOKEN"]
    destination = Destination(os.environ["PLANTRAK_DESTINATION"])
    as_of = event.get("as_of") or datetime.date.today().isoformat()
    past_days = int(event.get("past_days", 3))

    lists = {
        "open": {"type": "open"},
        "holding": {"type": "holding"},
        "recent_closed": {"type": "recent_closed", "past_days": past_days},
    }
    pulled = {}
    for name, params in lists.items():
        response = requests.get(
            api_url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        if body.get("type") != name or body.get("count") != len(body["results"]):
            raise ValueError(f"unexpected {name} response")
        at = datetime.datetime.now(datetime.timezone.utc)
        snapshot_at = at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}"
        pulled[name] = (response.content, body["results"], snapshot_at)

    summary = {}
    for name, (raw, results, snapshot_at) in pulled.items():
        folder = f"event_type={name}/snapshot_date={as_of}"
        destination.put(f"raw/{folder}/response.json.gz", gzipped(raw))
        lines = "".join(snapshot_line(e, snapshot_at) + "\n" for e in results)
        destination.put(f"snapshots/{folder}/events.jsonl.gz", gzipped(lines.encode()))
        summary[name] = {"events": len(results), "response_bytes": len(raw)}
    return {"as_of": as_of, "past_days": past_days, "lists": summary}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the handler once, as Lambda would.")
    parser.add_argument("--as-of")
    parser.add_argument("--past-days", type=int, default=3)
    args = parser.parse_args()
    result = lambda_handler({"as_of": args.as_of, "past_days": args.past_days}, None)
    json.dump(result, sys.stdout)
    print()

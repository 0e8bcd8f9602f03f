"""The comparison dlt pipeline: dlt's REST API source and filesystem destination, in JSONL.

The three lists are three resources of one source, with bearer authentication and no
pagination (the API has none); dlt's defaults otherwise: it infers a schema, unnests arrays
such as `comments` into child tables and writes gzip-compressed JSONL, plus its own load and
state tables, under `{bucket_url}/{dataset}/`.

    PLANTRAK_API_URL=... PLANTRAK_TOKEN=... PLANTRAK_DESTINATION=/tmp/lake \
        python bench/dlt_pipeline.py --past-days 180 --pipelines-dir /tmp/dlt-state

For `s3://` destinations it reads AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
and AWS_REGION.
"""

import argparse
import json
import os
import pathlib
import sys

import dlt
from dlt.sources.rest_api import rest_api_source


def source(api_url, token, past_days):
    base, _, path = api_url.rpartition("/")
    lists = {
        "open": {"type": "open"},
        "holding": {"type": "holding"},
        "recent_closed": {"type": "recent_closed", "past_days": past_days},
    }
    return rest_api_source(
        {
            "client": {
                "base_url": base + "/",
                "auth": {"type": "bearer", "token": token},
                "paginator": "single_page",
            },
            "resource_defaults": {
                "write_disposition": "append",
                "endpoint": {"data_selector": "results"},
            },
            "resources": [
                {"name": name, "endpoint": {"path": path, "params": params}}
                for name, params in lists.items()
            ],
        }
    )


def destination(url):
    if not url.startswith("s3://"):
        return dlt.destinations.filesystem(bucket_url=pathlib.Path(url).resolve().as_uri())
    return dlt.destinations.filesystem(
        bucket_url=url,
        credentials={
            "aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"],
            "region_name": os.environ.get("AWS_REGION", "us-east-1"),
            "endpoint_url": os.environ["AWS_ENDPOINT_URL"],
        },
    )


def main():
    parser = argparse.ArgumentParser(description="Load the three lists once with dlt.")
    parser.add_argument("--past-days", type=int, default=3)
    parser.add_argument("--pipelines-dir", required=True, help="dlt's local working state")
    args = parser.parse_args()

    pipeline = dlt.pipeline(
        pipeline_name="plantrak_bench",
        destination=destination(os.environ["PLANTRAK_DESTINATION"]),
        dataset_name="plantrak",
        pipelines_dir=args.pipelines_dir,
    )
    source_ = source(os.environ["PLANTRAK_API_URL"], os.environ["PLANTRAK_TOKEN"], args.past_days)
    info = pipeline.run(source_, loader_file_format="jsonl")
    rows = pipeline.last_trace.last_normalize_info.row_counts
    json.dump({"loads": len(info.loads_ids), "rows": rows}, sys.stdout)
    print()


if __name__ == "__main__":
    main()

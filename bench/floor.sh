#!/usr/bin/env bash
# The transfer floor: one `curl` downloads the three responses over one connection, then the
# same bytes, unchanged and uncompressed, go to the destination with one plain write per file:
# `cp` for a local directory, one signed PUT per object (a single `curl --aws-sigv4`) for S3.
#
#   floor.sh API_URL WORKDIR DESTINATION        (token in PLANTRAK_TOKEN)
#
# For `s3://bucket/prefix` it reads AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# and AWS_REGION.
set -euo pipefail

api_url=$1 work=$2 dest=$3
lists=(open holding recent_closed)
mkdir -p "$work"

curl -sS --fail -H "Authorization: Bearer $PLANTRAK_TOKEN" \
    -o "$work/open.json" "$api_url?type=open" \
    -o "$work/holding.json" "$api_url?type=holding" \
    -o "$work/recent_closed.json" "$api_url?type=recent_closed&past_days=${PAST_DAYS:-180}"

if [[ $dest == s3://* ]]; then
    uploads=()
    for list in "${lists[@]}"; do
        uploads+=(-T "$work/$list.json" "$AWS_ENDPOINT_URL/${dest#s3://}/raw/event_type=$list/response.json")
    done
    curl -sS --fail -o /dev/null --aws-sigv4 "aws:amz:${AWS_REGION:-us-east-1}:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "${uploads[@]}"
else
    mkdir -p "${lists[@]/#/$dest/raw/event_type=}"
    for list in "${lists[@]}"; do
        cp "$work/$list.json" "$dest/raw/event_type=$list/response.json"
    done
fi

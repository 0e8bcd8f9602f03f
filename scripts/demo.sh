#!/usr/bin/env bash
# The demo: the PlanTRAK simulator on loopback and plantrak-sync writing to a local
# directory, over the last few simulated days. No AWS account is needed.
set -euo pipefail

days=${DEMO_DAYS:-4}
out=${DEMO_OUTPUT:-demo-output}
bin=${CARGO_TARGET_DIR:-target}/debug
token="demo-token-$RANDOM$RANDOM"

rm -rf "$out"
mkdir -p "$out"
start=$(date -u -d "-$((days - 1)) days" +%F)

"$bin/plantrak-simulator" --token "$token" --events 2000 --seed 42 --start-date "$start" \
    --port-file "$out/.simulator-port" > /dev/null 2> "$out/.simulator.log" &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$out/.simulator-port" ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat "$out/.simulator-port")"

export PLANTRAK_API_URL="$base/api/v1/analytics/events"
export PLANTRAK_TOKEN="$token"
export PLANTRAK_DESTINATION="$out/lake"

for offset in $(seq $((days - 1)) -1 0); do
    day=$(date -u -d "-$offset days" +%F)
    python3 -c 'import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/_sim/date", data=json.dumps({"date": sys.argv[2]}).encode(),
                             headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(req).read()' "$base" "$day"
    echo "== plantrak-sync run --as-of $day"
    "$bin/plantrak-sync" run --as-of "$day"
done

echo
echo "== files written under $out/lake"
(cd "$out/lake" && find . -type f | sort | sed 's|^\./||')

#!/usr/bin/env bash
# Runs a command with moto's server (S3 and Secrets Manager) listening on a free loopback
# port, given to the command as PLANTRAK_TEST_MOTO, and stops the server afterwards.
set -euo pipefail

venv=${VENV:-.venv}
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    sleep 0.1
done

PLANTRAK_TEST_MOTO="http://127.0.0.1:$port" "$@"

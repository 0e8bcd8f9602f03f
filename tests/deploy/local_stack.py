"""The function's peers on loopback, for the deployment tests and `make invoke-local`.

- `Simulator`: the PlanTRAK simulator (`target/debug/plantrak-simulator`);
- `Moto`: moto's server, playing S3 and Secrets Manager;
- `RuntimeEmulator`: cargo-lambda's Lambda runtime API emulator (`cargo lambda watch
  --only-lambda-apis`), with `Function`, a Lambda bootstrap serving it, and `invoke`.

Each listens on a free 127.0.0.1 port and stops when its `with` block ends. Run as a script,
the module is the Docker-free `make invoke-local`: it starts all of them and invokes the
bootstrap once with an event file.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
VENV_BIN = ROOT / ".venv" / "bin"
# cargo-lambda from the project's venv (`make venv`), else from PATH.
CARGO_LAMBDA = (
    [str(VENV_BIN / "cargo-lambda"), "lambda"] if (VENV_BIN / "cargo-lambda").exists() else ["cargo", "lambda"]
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def binary(name: str) -> Path:
    path = TARGET / "debug" / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: build the workspace first (`make cargo-build`)")
    return path


class _Process:
    """A child process stopped when the `with` block ends."""

    process: subprocess.Popen | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Simulator(_Process):
    """The PlanTRAK simulator, serving the documented API with a bearer token."""

    def __init__(self, token: str, events: int, seed: int, start_date: str, *extra: str):
        self.token = token
        self.process = subprocess.Popen(
            [str(binary("plantrak-simulator")), "--token", token, "--events", str(events),
             "--seed", str(seed), "--start-date", start_date, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.base = line.removeprefix("listening on ")

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v1/analytics/events"

    def control(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def set_date(self, date: str) -> None:
        self.control("POST", "/_sim/date", {"date": date})


class Moto(_Process):
    """moto's server with S3 and Secrets Manager; `aws_env` points an AWS SDK at it."""

    def __init__(self, log: Path | None = None):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        out = open(log, "w") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out, stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, "moto")

    def aws_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str):
        import boto3

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )


class RuntimeEmulator(_Process):
    """`cargo lambda watch --only-lambda-apis`: the Lambda runtime API, no function build."""

    def __init__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            [*CARGO_LAMBDA, "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )
        wait_for_port(self.port, "the runtime API emulator", timeout=60)

    def invoke(self, payload_file: Path) -> tuple[bool, str]:
        """Invokes the function once; returns (success, the response or error text)."""
        done = subprocess.run(
            [*CARGO_LAMBDA, "invoke", "-A", "127.0.0.1", "-P", str(self.port),
             "--output-format", "json", "--data-file", str(payload_file), "_"],
            capture_output=True, text=True, cwd=ROOT, timeout=600,
        )
        return done.returncode == 0, (done.stdout + done.stderr).strip()


class Function(_Process):
    """A Lambda bootstrap serving the emulator, with only the variables given (and PATH)."""

    def __init__(self, bootstrap: Path, emulator: RuntimeEmulator, env: dict[str, str], log: Path):
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{emulator.port}/.rt",
            "AWS_LAMBDA_FUNCTION_NAME": "_",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": "INFO",
            **env,
        }
        self.log = log
        out = open(log, "w")
        self.process = subprocess.Popen([str(bootstrap)], env=environment, stdout=out, stderr=subprocess.STDOUT)


def invoke_local(event: Path, bootstrap: Path, env_file: Path) -> int:
    """The Docker-free `make invoke-local`: simulator + moto + emulator, one invocation."""
    settings = json.loads(env_file.read_text())["SyncFunction"]
    token = "local-token-" + os.urandom(6).hex()
    bucket = "plantrak-local"
    field = settings.get("PLANTRAK_SECRET_FIELD") or "token"
    work = TARGET / "invoke-local"
    work.mkdir(parents=True, exist_ok=True)

    with Simulator(token, 400, 42, time.strftime("%Y-%m-%d", time.gmtime())) as sim, \
            Moto(work / "moto.log") as moto, RuntimeEmulator() as emulator:
        moto.client("s3").create_bucket(Bucket=bucket)
        secret = moto.client("secretsmanager").create_secret(
            Name="plantrak-local/api-token", SecretString=json.dumps({field: token}))["ARN"]
        # The settings of events/env.json, with the API, the secret and the bucket local.
        env = {key: value for key, value in settings.items() if value != ""}
        env.update(moto.aws_env())
        env.update({
            "PLANTRAK_API_URL": sim.api_url,
            "PLANTRAK_SECRET_ID": secret,
            "PLANTRAK_DESTINATION": f"s3://{bucket}/plantrak",
        })
        with Function(bootstrap, emulator, env, work / "function.log"):
            ok, response = emulator.invoke(event)
        print(response)
        print(f"\n== objects in s3://{bucket} (moto); function log: {work / 'function.log'}")
        listing = moto.client("s3").list_objects_v2(Bucket=bucket)
        for item in listing.get("Contents", []):
            print(f"{item['Size']:>10}  {item['Key']}")
        return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=invoke_local.__doc__)
    parser.add_argument("event", type=Path, help="the payload file, e.g. events/scheduled-event.json")
    parser.add_argument("--bootstrap", type=Path, default=TARGET / "lambda" / "plantrak-sync" / "bootstrap")
    parser.add_argument("--env-vars", type=Path, default=ROOT / "events" / "env.json")
    args = parser.parse_args(argv)
    if not args.bootstrap.exists():
        parser.error(f"{args.bootstrap} is missing: run `make lambda-build` first")
    return invoke_local(args.event, args.bootstrap, args.env_vars)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make bench`: plantrak-sync against a Python handler, dlt and the transfer floor.

For each size the simulator (release build) serves about that many events; every tool pulls
the same three responses (`open`, `holding`, `recent_closed&past_days=180`) and writes to a
fresh local directory and a fresh prefix in moto's S3, several times, in an order that rotates
with each repetition. Per run it records the wall time, the peak RSS of the process tree
(`ru_maxrss` from `wait4`, which covers the tool's own children), the response bytes read and
the bytes of the objects written. It also measures the Lambda cold start (process start to
the first `GET /2018-06-01/runtime/invocation/next` on a fake runtime API) and the zipped
size of `bootstrap`, then rewrites the results section of docs/benchmarks.md.

Run it under scripts/with-moto.sh, which exports PLANTRAK_TEST_MOTO:

    scripts/with-moto.sh .venv/bin/python bench/run.py --sizes 1000,10000 --reps 3
"""

import argparse
import datetime
import http.server
import io
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "target" / "bench" / "results.json"
# The binaries under test; the environment can point at builds elsewhere.
SIMULATOR = pathlib.Path(os.environ.get(
    "BENCH_SIMULATOR", ROOT / "target" / "release" / "plantrak-simulator"))
BOOTSTRAP = pathlib.Path(os.environ.get(
    "BENCH_BOOTSTRAP", ROOT / "target" / "lambda" / "plantrak-sync" / "bootstrap"))
CARGO_RELEASE = pathlib.Path(os.environ.get(
    "BENCH_CARGO_BINARY", ROOT / "target" / "release" / "plantrak-sync"))
PYTHON = ROOT / ".venv" / "bin" / "python"
PAST_DAYS = 180
BUCKET = "plantrak-bench"
TOKEN = "bench-token"
BEGIN = "<!-- bench:results:begin -->"
END = "<!-- bench:results:end -->"

# The tools, in the order of the table. `lambda` is the binary that ships.
TOOLS = {
    "floor": "transfer floor (curl + cp / PUT)",
    "plantrak-sync": "plantrak-sync (`cargo lambda build`)",
    "plantrak-sync-cargo": "plantrak-sync (`cargo build`)",
    "python": "Python handler (requests + boto3)",
    "dlt": "dlt 1.31.0 (rest_api → filesystem)",
}


def aws_env(endpoint):
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def measured(command, env, log):
    """Runs `command`; returns (exit status, wall seconds, peak RSS of the tree in bytes).

    The peak RSS comes from GNU time (`%M`, the `ru_maxrss` of the tool and the children it
    waited for): a child forked straight from this Python process would start its count at
    this process's own size.
    """
    rss_file = f"{log}.rss"
    start = time.perf_counter()
    with open(log, "wb") as out, open(f"{log}.err", "wb") as err:
        status = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, *command],
                                env=env, stdout=out, stderr=err).returncode
    wall = time.perf_counter() - start
    rss_kib = int(pathlib.Path(rss_file).read_text().split()[-1])
    return status, wall, rss_kib * 1024


class Simulator:
    """The release simulator on a free loopback port, stopped by its PID."""

    def __init__(self, events, date, workdir):
        port_file = workdir / f"simulator-{events}.port"
        port_file.unlink(missing_ok=True)
        self.log = open(workdir / f"simulator-{events}.log", "wb")
        self.process = subprocess.Popen(
            [str(SIMULATOR), "--token", TOKEN, "--events", str(events), "--seed", "1",
             "--start-date", date, "--port-file", str(port_file)],
            stdout=subprocess.DEVNULL, stderr=self.log,
        )
        for _ in range(1200):
            if port_file.exists() and port_file.read_text():
                break
            if self.process.poll() is not None:
                raise RuntimeError("the simulator exited at start")
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("the simulator did not start within 60 s")
        self.api_url = f"http://127.0.0.1:{port_file.read_text()}/api/v1/analytics/events"

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()


class Destinations:
    """Fresh local directories and S3 prefixes; measures and removes what a run wrote."""

    def __init__(self, workdir, moto):
        self.workdir = workdir
        self.moto = moto
        self.s3 = None
        if moto:
            self.s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1",
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
            self.s3.create_bucket(Bucket=BUCKET)
        self.serial = 0

    def fresh(self, kind):
        self.serial += 1
        if kind == "s3":
            return f"s3://{BUCKET}/run-{self.serial}"
        path = self.workdir / f"lake-{self.serial}"
        path.mkdir()
        return str(path)

    def written_and_clear(self, url):
        """(object count, bytes) under `url`, then removes them."""
        if url.startswith("s3://"):
            prefix = url.split("/", 3)[3] + "/"
            objects = []
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=BUCKET, Prefix=prefix):
                objects.extend(page.get("Contents", []))
            for start in range(0, len(objects), 1000):
                batch = [{"Key": o["Key"]} for o in objects[start:start + 1000]]
                self.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": batch})
            return len(objects), sum(o["Size"] for o in objects)
        files = [p for p in pathlib.Path(url).rglob("*") if p.is_file()]
        written = len(files), sum(p.stat().st_size for p in files)
        shutil.rmtree(url)
        return written


def command_for(tool, date, api_url, dest, workdir, serial):
    if tool == "floor":
        return [str(BENCH / "floor.sh"), api_url, str(workdir / f"floor-{serial}"), dest]
    if tool in ("plantrak-sync", "plantrak-sync-cargo"):
        binary = BOOTSTRAP if tool == "plantrak-sync" else CARGO_RELEASE
        return [str(binary), "run", "--as-of", date, "--past-days", str(PAST_DAYS)]
    if tool == "python":
        return [str(PYTHON), str(BENCH / "python_handler.py"), "--as-of", date,
                "--past-days", str(PAST_DAYS)]
    if tool == "dlt":
        return [str(PYTHON), str(BENCH / "dlt_pipeline.py"), "--past-days", str(PAST_DAYS),
                "--pipelines-dir", str(workdir / f"dlt-state-{serial}")]
    raise ValueError(tool)


def bytes_read(stdout):
    """The response bytes of a run's JSON summary; None when it reports none (dlt)."""
    try:
        summary = json.loads(stdout[stdout.index("{"):stdout.rindex("}") + 1])
        return sum(entry["response_bytes"] for entry in summary["lists"].values())
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def run_size(events, reps, args, date, destinations, workdir, moto):
    simulator = Simulator(events, date, workdir)
    runs = []
    try:
        tools = [t for t in TOOLS if t in args.tools]
        for rep in range(reps):
            for kind in args.destinations:
                if kind == "s3" and not moto:
                    continue
                shift = rep % len(tools)
                for tool in tools[shift:] + tools[:shift]:
                    if tool == "plantrak-sync-cargo" and not CARGO_RELEASE.exists():
                        continue
                    dest = destinations.fresh(kind)
                    env = dict(os.environ, PLANTRAK_TOKEN=TOKEN,
                               PLANTRAK_API_URL=simulator.api_url, PLANTRAK_DESTINATION=dest,
                               RUST_LOG="warn", RUNTIME__DLTHUB_TELEMETRY="false",
                               PAST_DAYS=str(PAST_DAYS))
                    if moto:
                        env.update(aws_env(moto))
                    serial = destinations.serial
                    log = workdir / f"{tool}-{events}-{kind}-{rep}.log"
                    command = command_for(tool, date, simulator.api_url, dest, workdir, serial)
                    status, wall, rss = measured(command, env, log)
                    text = log.read_text(errors="replace")
                    if status != 0:
                        errors = pathlib.Path(f"{log}.err").read_text(errors="replace")
                        raise RuntimeError(f"{tool} failed ({status}) at {events} events, "
                                           f"{kind}:\n{text[-1000:]}\n{errors[-3000:]}")
                    floor_bytes = None
                    if tool == "floor":
                        floor_dir = workdir / f"floor-{serial}"
                        floor_bytes = sum(p.stat().st_size for p in floor_dir.iterdir())
                        shutil.rmtree(floor_dir)
                    objects, written = destinations.written_and_clear(dest)
                    shutil.rmtree(workdir / f"dlt-state-{serial}", ignore_errors=True)
                    runs.append({"events": events, "destination": kind, "tool": tool,
                                 "rep": rep, "wall_s": wall, "rss_bytes": rss,
                                 "read_bytes": floor_bytes if tool == "floor"
                                 else bytes_read(text),
                                 "objects": objects, "written_bytes": written})
                    print(f"  {events:>7} {kind:5} {tool:20} rep {rep}: {wall:7.3f} s "
                          f"{rss / 1e6:7.1f} MB", flush=True)
    finally:
        simulator.stop()
    return runs


class RuntimeApi(http.server.ThreadingHTTPServer):
    """A fake Lambda runtime API that notes when the first `next` request arrives."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the killed process leaves a broken pipe behind; nothing to report

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self.first_next = None
        self.arrived = threading.Event()
        self.release = threading.Event()


class RuntimeApiHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/2018-06-01/runtime/invocation/next" and not self.server.arrived.is_set():
            self.server.first_next = time.perf_counter()
            self.server.arrived.set()
        # Hold the request, as Lambda does until an invocation arrives; the harness then
        # kills the process.
        self.server.release.wait(10)
        self.send_error(503)

    def log_message(self, *args):
        pass


def cold_start(times, workdir):
    """Milliseconds from spawning `bootstrap` to its first `next` request, one per run."""
    results = []
    for _ in range(times):
        api = RuntimeApi()
        thread = threading.Thread(target=api.serve_forever, daemon=True)
        thread.start()
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir),
               "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
               "AWS_LAMBDA_FUNCTION_NAME": "plantrak-sync", "AWS_LAMBDA_FUNCTION_VERSION": "1",
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_LOG_FORMAT": "JSON",
               "PLANTRAK_SECRET_ID": "plantrak/api-token",
               "PLANTRAK_DESTINATION": f"s3://{BUCKET}/cold", **aws_env("http://127.0.0.1:9")}
        start = time.perf_counter()
        child = subprocess.Popen([str(BOOTSTRAP)], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        arrived = api.arrived.wait(10)
        child.kill()
        child.wait()
        api.release.set()
        api.shutdown()
        api.server_close()
        if not arrived:
            raise RuntimeError("bootstrap made no `next` request within 10 s")
        results.append((api.first_next - start) * 1000)
    return results


def zipped_size(path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.write(path, "bootstrap")
    return len(buffer.getvalue())


def machine():
    meminfo = pathlib.Path("/proc/meminfo").read_text().split()
    memory_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20
    model = next((line.split(":", 1)[1].strip()
                  for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(memory_gib, 1),
            "kernel": platform.release(), "load": os.getloadavg()}


def median(runs, field):
    return statistics.median(run[field] for run in runs)


def mb(value):
    return f"{value / 1e6:,.1f}"


def render(results):
    """The Markdown of the results section."""
    m = results["machine"]
    out = [
        f"Measured {results['date']} on {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB memory, Linux {m['kernel']}; load average at start "
        f"{m['load'][0]:.2f}. Each cell is the median of "
        + ", ".join(f"{n} runs at {int(e):,} events" for e, n in results["reps"].items()) + ".",
        "",
        f"Reproduce with: `{results['command']}`",
        "",
        "Wall time in seconds, peak RSS of the process (with its children) in MB, response "
        "bytes read and bytes of objects written in MB (10^6 bytes); × floor is the wall "
        "time over the floor's for the same size and destination.",
        "",
        "| events | destination | tool | wall s | × floor | peak RSS MB | read MB "
        "| written MB | objects |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    cells = {}
    for run in results["runs"]:
        cells.setdefault((run["events"], run["destination"], run["tool"]), []).append(run)
    sizes = sorted({key[0] for key in cells})
    for events in sizes:
        for kind in ("local", "s3"):
            floor = cells.get((events, kind, "floor"))
            for tool, label in TOOLS.items():
                runs = cells.get((events, kind, tool))
                if not runs:
                    continue
                wall = median(runs, "wall_s")
                ratio = f"{wall / median(floor, 'wall_s'):.2f}" if floor else "–"
                read = [r["read_bytes"] for r in runs if r["read_bytes"] is not None]
                out.append(
                    f"| {events:,} | {kind} | {label} | {wall:.3f} | {ratio} | "
                    f"{mb(median(runs, 'rss_bytes'))} | "
                    f"{mb(statistics.median(read)) if read else '(same)'} | "
                    f"{mb(median(runs, 'written_bytes'))} | {runs[0]['objects']} |")
    out += ["", "plantrak-sync (`cargo lambda build`) against each alternative, same size and "
            "destination: how many times faster, and its peak RSS as a fraction of theirs.", "",
            "| events | destination | vs floor (wall ×) | faster than Python | "
            "faster than dlt | RSS / Python | RSS / dlt |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    for events in sizes:
        for kind in ("local", "s3"):
            ours = cells.get((events, kind, "plantrak-sync"))
            if not ours:
                continue
            wall, rss = median(ours, "wall_s"), median(ours, "rss_bytes")

            def versus(tool, fmt):
                theirs = cells.get((events, kind, tool))
                if not theirs:
                    return "–"
                return fmt(median(theirs, "wall_s"), median(theirs, "rss_bytes"))

            out.append(
                f"| {events:,} | {kind} | {versus('floor', lambda w, r: f'{wall / w:.2f}')} | "
                f"{versus('python', lambda w, r: f'{w / wall:.1f}×')} | "
                f"{versus('dlt', lambda w, r: f'{w / wall:.1f}×')} | "
                f"{versus('python', lambda w, r: f'{rss / r:.2f}')} | "
                f"{versus('dlt', lambda w, r: f'{rss / r:.2f}')} |")
    out += ["", *targets(cells, sizes, results.get("cold_start_ms"))]
    cold = results.get("cold_start_ms")
    if cold:
        out += ["", f"Cold start (spawn of `bootstrap` to its first "
                f"`GET /2018-06-01/runtime/invocation/next`, {len(cold)} runs): median "
                f"{statistics.median(cold):.1f} ms, min {min(cold):.1f} ms, "
                f"max {max(cold):.1f} ms."]
    sizes_info = results.get("binaries", {})
    if sizes_info:
        out += ["", "| binary | bytes | zipped (deflate, level 9) |", "|---|---:|---:|"]
        for name, info in sizes_info.items():
            zipped = f"{info['zipped']:,}" if info.get("zipped") else "–"
            out.append(f"| {name} | {info['bytes']:,} | {zipped} |")
    return "\n".join(out)


def targets(cells, sizes, cold):
    """The targets table: each target, the figure it is judged on, met or not."""
    rows = ["| target | measured (worst cell) | met |", "|---|---|---|"]

    def row(target, value, met):
        rows.append(f"| {target} | {value} | {'yes' if met else '**no**'} |")

    def ours(events, kind):
        return cells.get((events, kind, "plantrak-sync"))

    largest = sizes[-1]
    peak = max((median(ours(largest, k), "rss_bytes"), k)
               for k in ("local", "s3") if ours(largest, k))
    row(f"peak RSS ≤ 100 MB at 500,000 events (largest run: {largest:,})",
        f"{mb(peak[0])} MB ({peak[1]})", peak[0] <= 100e6)

    worst = max((median(ours(e, k), "wall_s") / median(cells[(e, k, "floor")], "wall_s"), e, k)
                for e in sizes for k in ("local", "s3")
                if ours(e, k) and (e, k, "floor") in cells)
    row("wall ≤ 1.5 × floor", f"{worst[0]:.2f} × ({worst[1]:,}, {worst[2]})", worst[0] <= 1.5)

    big = [e for e in sizes if e >= 100_000]
    for tool, name, speed in (("python", "the Python handler", 5), ("dlt", "dlt", 20)):
        pairs = [(e, k) for e in big for k in ("local", "s3")
                 if ours(e, k) and (e, k, tool) in cells]
        if not pairs:
            rows.append(f"| ≥ {speed}× faster than {name} at ≥ 100,000 events | not run | – |")
            continue
        slowest = min((median(cells[(e, k, tool)], "wall_s") / median(ours(e, k), "wall_s"),
                       e, k) for e, k in pairs)
        row(f"≥ {speed}× faster than {name} at ≥ 100,000 events",
            f"{slowest[0]:.1f}× ({slowest[1]:,}, {slowest[2]})", slowest[0] >= speed)
        fattest = max((median(ours(e, k), "rss_bytes") / median(cells[(e, k, tool)], "rss_bytes"),
                       e, k) for e, k in pairs)
        row(f"peak RSS ≤ ¼ of {name}'s at ≥ 100,000 events",
            f"{fattest[0]:.2f} ({fattest[1]:,}, {fattest[2]})", fattest[0] <= 0.25)
    if cold:
        row("cold start ≤ 30 ms (median)", f"{statistics.median(cold):.1f} ms",
            statistics.median(cold) <= 30)
    return rows


def write_doc(results):
    section = f"{BEGIN}\n{render(results)}\n{END}"
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(head + section + tail)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,500000")
    parser.add_argument("--reps", default="3",
                        help="runs per cell: one number, or one per size (`3,3,3,1`)")
    parser.add_argument("--destinations", default="local,s3")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--cold-starts", type=int, default=30)
    parser.add_argument("--no-doc", action="store_true", help="print, do not rewrite the doc")
    args = parser.parse_args()
    args.destinations = args.destinations.split(",")
    args.tools = args.tools.split(",")
    sizes = [int(size) for size in args.sizes.split(",")]
    reps = [int(n) for n in args.reps.split(",")]
    if len(reps) == 1:
        reps *= len(sizes)
    if len(reps) != len(sizes) or min(reps) < 1:
        sys.exit("--reps takes one number, or one per size")
    moto = os.environ.get("PLANTRAK_TEST_MOTO")
    if "s3" in args.destinations and not moto:
        sys.exit("PLANTRAK_TEST_MOTO is not set: run under scripts/with-moto.sh")

    date = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "machine": machine(), "reps": dict(zip(sizes, reps)),
               "command": "make bench" + (f" BENCH_ARGS='{' '.join(sys.argv[1:])}'"
                                          if sys.argv[1:] else ""),
               "runs": []}
    with tempfile.TemporaryDirectory(prefix="plantrak-bench-") as tmp:
        workdir = pathlib.Path(tmp)
        destinations = Destinations(workdir, moto if "s3" in args.destinations else None)
        for events, n in zip(sizes, reps):
            print(f"== {events} events", flush=True)
            results["runs"] += run_size(events, n, args, date, destinations, workdir, moto)
        if args.cold_starts:
            results["cold_start_ms"] = cold_start(args.cold_starts, workdir)
    results["binaries"] = {
        "`bootstrap` (`cargo lambda build --release`)":
            {"bytes": BOOTSTRAP.stat().st_size, "zipped": zipped_size(BOOTSTRAP)}}
    if CARGO_RELEASE.exists():
        results["binaries"]["`plantrak-sync` (`cargo build --release`)"] = {
            "bytes": CARGO_RELEASE.stat().st_size, "zipped": zipped_size(CARGO_RELEASE)}

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    if args.no_doc:
        print(render(results))
    else:
        write_doc(results)
        print(f"results in {RESULTS.relative_to(ROOT)}; table in {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Cost of the parser sandbox in `tollgate serve`: per-file latency and throughput, sandboxed and in process.

    /usr/bin/python3 bench/sandbox_overhead.py --tollgate build-rel/tollgate --corpus build-rel/corpus
        [--workers 2] [--repeat 15] [--seconds 20] [--rules DIR]

Starts two servers on 127.0.0.1 with the same rules and the same --max-concurrent W: one parses in W
sandboxed workers (--workers W), the other in process (--no-sandbox). Then:
- latency: every corpus file is sent (unary Scan, one call at a time) 2 times to warm up and then
  --repeat times to each server, in alternating batches, so background load hits both modes alike;
  per file, the median client-side wall time of each mode and their difference (the overhead);
- throughput: W client threads send the corpus round robin for --seconds per mode (split into two
  slices in the order sandboxed, in-process, in-process, sandboxed), bounded by MAX_REQUESTS;
- both modes must give every file the same verdict and findings: mismatches are printed and the
  exit status is 1, so a broken scan cannot pass for a fast one.
Prints a Markdown summary and writes the figures to bench/results/sandbox-overhead-*.json.
Needs Debian's python3-grpcio (hence /usr/bin/python3), protoc and grpc_python_plugin.
"""
import argparse
import concurrent.futures
import datetime
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import grpc

from harness.serve import Server, import_stubs

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODES = ("sandboxed", "in-process")
BATCH = 5  # calls to one server before switching to the other
CALL_TIMEOUT = 60  # seconds; the servers' own per-file limit is 60 s as well
MAX_REQUESTS = 20000  # per mode in the throughput phase, so a fast machine still ends
TARGET_MS, TARGET_RATIO = 2.0, 0.9  # the issue: median overhead under 2 ms, throughput within 10 %


def quantile(values, q):
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def git_head(folder):
    result = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or None


def measure_latency(calls, files, repeat):
    """Per mode and file: the timed call durations (s) and the set of (verdict, findings) seen."""
    times = {mode: {name: [] for name in files} for mode in MODES}
    outcomes = {mode: {name: set() for name in files} for mode in MODES}
    for index, name in enumerate(files):
        order = list(MODES) if index % 2 == 0 else list(reversed(MODES))
        for mode in order:
            for _ in range(2):
                outcomes[mode][name].add(calls[mode](name)[1])
        while any(len(times[mode][name]) < repeat for mode in MODES):
            for mode in order:
                for _ in range(min(BATCH, repeat - len(times[mode][name]))):
                    seconds, outcome = calls[mode](name)
                    times[mode][name].append(seconds)
                    outcomes[mode][name].add(outcome)
            order.reverse()
    return times, outcomes


def measure_throughput(call, names, threads, seconds, max_requests):
    """(requests done, elapsed s) with `threads` clients sending the corpus round robin."""
    lock = threading.Lock()
    sent = [0]
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    return
                index = sent[0]
                sent[0] += 1
            call(names[index % len(names)])

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(client) for _ in range(threads)]:
            future.result()  # re-raises a failed call
    return sent[0], time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tollgate", required=True)
    parser.add_argument("--corpus", required=True, type=pathlib.Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rules", help="rule bundle folder for both servers (default: the shipped rules)")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    tollgate = str(pathlib.Path(args.tollgate).resolve())
    paths = sorted(p for p in args.corpus.rglob("*") if p.is_file())
    if not paths:
        sys.exit(f"no files under {args.corpus}")
    files = {str(p.relative_to(args.corpus)): p.read_bytes() for p in paths}
    # Unary Scan takes the whole file in one message: let the largest one through.
    common = ["--max-concurrent", args.workers,
              "--max-message-mb", min(1024, max(4, math.ceil(max(map(len, files.values())) / 2**20) + 1))]
    common += ["--rules", args.rules] if args.rules else []

    with tempfile.TemporaryDirectory(prefix="tollgate-overhead-") as temp:
        pb2, pb2_grpc = import_stubs(temp)
        servers, channels, calls = {}, [], {}
        try:
            servers["sandboxed"] = Server(tollgate, *common, "--workers", args.workers)
            servers["in-process"] = Server(tollgate, *common, "--no-sandbox")
            for mode, server in servers.items():
                port = server.wait_for("listening", timeout=120)["port"]
                server.wait_for("serving", timeout=300)
                channels.append(grpc.insecure_channel(f"127.0.0.1:{port}"))
                stub = pb2_grpc.ScannerStub(channels[-1])

                def call(name, stub=stub):
                    request = pb2.ScanRequest(filename=os.path.basename(name), content=files[name])
                    started = time.perf_counter()
                    response = stub.Scan(request, timeout=CALL_TIMEOUT)
                    findings = tuple(sorted((f.engine, f.rule, f.object) for f in response.findings))
                    return time.perf_counter() - started, (pb2.Verdict.Name(response.verdict), findings)
                calls[mode] = call

            times, outcomes = measure_latency(calls, files, args.repeat)
            done = {mode: [0, 0.0] for mode in MODES}
            for mode in MODES + tuple(reversed(MODES)):
                requests, elapsed = measure_throughput(calls[mode], list(files), args.workers, args.seconds / 2,
                                                       MAX_REQUESTS // 2)
                done[mode][0] += requests
                done[mode][1] += elapsed
        finally:
            for channel in channels:
                channel.close()
            for server in servers.values():
                server.stop()

    mismatches = [(name, {mode: sorted(outcomes[mode][name]) for mode in MODES}) for name in files
                  if len(outcomes["sandboxed"][name] | outcomes["in-process"][name]) != 1]
    per_file = {name: {mode: statistics.median(times[mode][name]) * 1000 for mode in MODES} for name in files}
    for row in per_file.values():
        row["overhead"] = row["sandboxed"] - row["in-process"]
    overheads = [row["overhead"] for row in per_file.values()]
    worst = max(per_file, key=lambda name: per_file[name]["overhead"])
    rate = {mode: done[mode][0] / done[mode][1] for mode in MODES}
    summary = {
        "median_overhead_ms": statistics.median(overheads),
        "p90_overhead_ms": quantile(overheads, 0.9),
        "worst_file": worst, "worst_overhead_ms": per_file[worst]["overhead"],
        "median_ms": {mode: statistics.median(t for ts in times[mode].values() for t in ts) * 1000 for mode in MODES},
        "files_per_s": rate, "throughput_ratio": rate["sandboxed"] / rate["in-process"],
        "throughput_requests": {mode: done[mode][0] for mode in MODES},
    }

    s = summary
    print(f"\n{len(files)} files, {args.repeat} timed calls per file and mode, {args.workers} workers / "
          f"max-concurrent {args.workers}\n")
    print("| mode | median latency, all calls (ms) | throughput (files/s) |\n|---|---|---|")
    for mode in MODES:
        print(f"| {mode} | {s['median_ms'][mode]:.2f} | {rate[mode]:.1f} |")
    print(f"\n| per-file overhead (sandboxed - in-process) | ms |\n|---|---|\n"
          f"| median over files | {s['median_overhead_ms']:.2f} |\n| p90 over files | {s['p90_overhead_ms']:.2f} |\n"
          f"| worst: {worst} | {s['worst_overhead_ms']:.2f} |\n")
    print(f"median overhead {s['median_overhead_ms']:.2f} ms (target < {TARGET_MS} ms): "
          f"{'met' if s['median_overhead_ms'] < TARGET_MS else 'MISSED'}; throughput ratio "
          f"{s['throughput_ratio']:.3f} (target >= {TARGET_RATIO}): "
          f"{'met' if s['throughput_ratio'] >= TARGET_RATIO else 'MISSED'}")
    for name, seen in mismatches:
        print(f"MISMATCH {name}: {seen}")

    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.processor())
    results = ROOT / "bench/results"
    results.mkdir(parents=True, exist_ok=True)
    output = results / f"sandbox-overhead-{started:%Y%m%d-%H%M%S}.json"
    output.write_text(json.dumps({
        "date": started.isoformat(timespec="seconds"), "tollgate": tollgate,
        # The checkout around the binary may have moved on since it was linked: its mtime tells.
        "tollgate_checkout_head": git_head(pathlib.Path(tollgate).parent), "harness_commit": git_head(ROOT),
        "tollgate_mtime": datetime.datetime.fromtimestamp(os.path.getmtime(tollgate), datetime.timezone.utc)
        .isoformat(timespec="seconds"),
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        "corpus": str(args.corpus.resolve()), "files": len(files), "repeat": args.repeat, "workers": args.workers,
        "seconds_per_mode": args.seconds, "rules": args.rules, "summary": summary, "per_file_ms": per_file,
        "mismatches": [{"file": name, "outcomes": {m: [list(o) for o in v] for m, v in seen.items()}}
                       for name, seen in mismatches],
    }, indent=1))
    print(f"wrote {output}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()

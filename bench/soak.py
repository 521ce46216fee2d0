#!/usr/bin/python3
"""Soaks `tollgate serve` on 127.0.0.1: REQUESTS unary Scan calls (100,000 by default) over the corpus'
small files, every one scanned (--no-cache), while the server's resident memory is sampled. Answers
whether it levels off: the spread of the samples of the last half, against their smallest.

    bench/soak.py                          # build/tollgate, build/corpus, 100,000 scans
    bench/soak.py --requests 20000 --json out.json

Bounded: it stops after REQUESTS calls or --max-seconds, whichever comes first, and stops the server.
Needs python3-grpcio (Debian's, for /usr/bin/python3) and protoc with grpc_python_plugin for the stubs.
"""
import argparse
import concurrent.futures
import json
import os
import sys
import tempfile
import threading
import time

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from harness.serve import Server, import_stubs  # noqa: E402


def documents(folder, largest):
    found = []
    for directory, _, names in os.walk(folder):
        for name in sorted(names):
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) <= largest:
                with open(path, "rb") as f:
                    found.append((name, f.read()))
    if not found:
        raise SystemExit(f"no file of at most {largest} bytes under {folder}")
    return found


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tollgate", default=os.path.join(ROOT, "build", "tollgate"))
    parser.add_argument("--corpus", default=os.path.join(ROOT, "build", "corpus"))
    parser.add_argument("--rules", default=os.path.join(ROOT, "rules", "default"))
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--largest-kb", type=int, default=256, help="files larger than this are left out")
    parser.add_argument("--samples", type=int, default=40, help="RSS samples over the run")
    parser.add_argument("--max-seconds", type=float, default=3600)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    files = documents(args.corpus, args.largest_kb << 10)
    stubs_dir = tempfile.TemporaryDirectory()
    scanner_pb2, scanner_pb2_grpc = import_stubs(stubs_dir.name)
    requests = [scanner_pb2.ScanRequest(filename=name, content=content) for name, content in files]
    server = Server(args.tollgate, "--rules", args.rules, "--no-cache", "--max-concurrent", args.concurrency)
    try:
        port = server.wait_for("listening", 120)["port"]
        server.wait_for("serving", 120)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        scan = scanner_pb2_grpc.ScannerStub(channel).Scan
        lock = threading.Lock()
        done, failed, samples = 0, {}, []
        every = max(1, args.requests // args.samples)
        deadline = time.monotonic() + args.max_seconds
        started = time.monotonic()

        def one(i):
            nonlocal done
            if time.monotonic() > deadline:
                return
            try:
                scan(requests[i % len(requests)], timeout=60)
            except grpc.RpcError as error:
                with lock:
                    failed[error.code().name] = failed.get(error.code().name, 0) + 1
            with lock:
                done += 1
                if done % every == 0:
                    samples.append({"scans": done, "seconds": round(time.monotonic() - started, 1),
                                    "rss_kib": rss_kib(server.process.pid)})

        with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
            for _ in pool.map(one, range(args.requests)):
                pass
        seconds = time.monotonic() - started
        channel.close()
    finally:
        server.stop()

    last_half = [s["rss_kib"] for s in samples[len(samples) // 2:]]
    spread = (max(last_half) - min(last_half)) / min(last_half) if last_half else None
    result = {"scans": done, "failed": failed, "seconds": round(seconds, 1), "files": len(requests),
              "concurrency": args.concurrency, "samples": samples,
              "last_half_spread": spread, "level": spread is not None and spread <= 0.05}
    print(f"{done} scans in {seconds:.0f} s ({done / seconds:.0f}/s) over {len(requests)} files, failed: {failed or 0}")
    print("server RSS (MiB) by scans: " + ", ".join(f"{s['scans']}: {s['rss_kib'] / 1024:.1f}" for s in samples))
    if spread is not None:
        print(f"last half: {min(last_half) / 1024:.1f} to {max(last_half) / 1024:.1f} MiB, spread {spread:.1%} "
              f"({'level' if result['level'] else 'NOT level'} within 5%)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if result["level"] and not failed else 1


if __name__ == "__main__":
    sys.exit(main())

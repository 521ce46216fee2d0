#!/usr/bin/env python3
"""Hot reload of a large rule bundle in a running `tollgate serve --rules-store`: reload latency and memory.

    bench/reload_bench.py --tollgate build/tollgate [--yara 10000] [--patterns 50000] [--hashes 100000]
                          [--reload-mode auto|overlap|drain] [--work DIR]

Generates two versions of a large bundle (rules/updater/tools/make_large_bundle.py; version 2 adds one
YARA rule and its sample), publishes version 1, starts a server on 127.0.0.1 and keeps a client
scanning the new rule's sample while version 2 is published. Reports:
- reload latency: `tollgate rules update` returns -> the first verdict carrying version 2;
- the server's RSS in steady state, its peak during the reload (RSS sampled every 5 ms, and VmHWM,
  which the reloader resets just before it builds) and the ratio between them;
- what the server logged about the reload (drained or overlapped, build time).
Bounded: every wait has a timeout; the server is stopped at the end.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

from harness.serve import Server

ROOT = pathlib.Path(__file__).resolve().parent.parent


def status_kib(pid, field):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def run(*args, timeout=600):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def scan_version(tollgate, port, sample):
    """(rules_version, verdict) of one remote scan."""
    result = subprocess.run([tollgate, "scan", "--json", "--remote", f"127.0.0.1:{port}", str(sample)],
                            capture_output=True, text=True, timeout=60)
    if not result.stdout:
        sys.exit(f"remote scan failed: {result.stderr}")
    report = json.loads(result.stdout.splitlines()[0])
    return report["rules_version"], report["verdict"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tollgate", default=str(ROOT / "build/tollgate"))
    parser.add_argument("--yara", type=int, default=10000)
    parser.add_argument("--patterns", type=int, default=50000)
    parser.add_argument("--hashes", type=int, default=100000)
    parser.add_argument("--reload-mode", default="auto", choices=["auto", "overlap", "drain"])
    parser.add_argument("--work", type=pathlib.Path, help="keep the bundles and store here (default: a temp dir)")
    args = parser.parse_args()
    tollgate = str(pathlib.Path(args.tollgate).resolve())

    with tempfile.TemporaryDirectory(prefix="tollgate-reload-") as temp:
        work = args.work or pathlib.Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        store = work / "store"
        run(tollgate, "rules", "keygen", "--private", work / "key.pem", "--public", work / "key.pub")
        for version, extra in (("1", []), ("2", ["--marker", "ReloadMarker"])):
            bundle = work / f"bundle-{version}"
            run(sys.executable, ROOT / "rules/updater/tools/make_large_bundle.py", bundle, "--yara", args.yara,
                "--patterns", args.patterns, "--hashes", args.hashes, *extra)
            run(tollgate, "rules", "sign", bundle, "--key", work / "key.pem", "--version", version)
        # The generated rules replace the shipped ones, so the project corpus comparison does not apply.
        update = [tollgate, "rules", "update", "--pubkey", work / "key.pub", "--store", store, "--no-corpus", "--from"]
        started = time.monotonic()
        run(*update, work / "bundle-1")
        print(f"update to version 1 (verify, compile, self-test, publish): {time.monotonic() - started:.1f} s")

        server = Server(tollgate, "--rules-store", store, "--reload-mode", args.reload_mode)
        try:
            port = server.wait_for("listening")["port"]
            serving = server.wait_for("serving")
            sample = work / "sample.txt"
            sample.write_text("payload: ReloadMarker\n")
            first_version, verdict = scan_version(tollgate, port, sample)
            for _ in range(20):  # warm: allocator arenas and caches settle
                scan_version(tollgate, port, sample)
            steady_kib = status_kib(server.process.pid, "VmRSS")

            latest = {"version": first_version, "verdict": verdict, "at": None}
            stop = threading.Event()

            def keep_scanning():
                while not stop.is_set():
                    version, verdict = scan_version(tollgate, port, sample)
                    if version != latest["version"] and latest["at"] is None:
                        latest.update(version=version, verdict=verdict, at=time.monotonic())

            sampled = {"max_kib": steady_kib}

            def sample_rss():  # VmHWM alone misses the moments before the reloader resets it
                while not stop.is_set():
                    sampled["max_kib"] = max(sampled["max_kib"], status_kib(server.process.pid, "VmRSS"))
                    time.sleep(0.005)

            scanner = threading.Thread(target=keep_scanning, daemon=True)
            scanner.start()
            sampler = threading.Thread(target=sample_rss, daemon=True)
            sampler.start()
            started = time.monotonic()
            run(*update, work / "bundle-2")
            returned = time.monotonic()
            reloaded = server.wait_for("rules_reloaded")
            deadline = time.monotonic() + 120
            while latest["at"] is None and time.monotonic() < deadline:
                time.sleep(0.01)
            stop.set()
            scanner.join(timeout=60)
            sampler.join(timeout=60)
            peak_kib = max(sampled["max_kib"], status_kib(server.process.pid, "VmHWM"))
            after_kib = status_kib(server.process.pid, "VmRSS")
        finally:
            server.stop()

    if latest["at"] is None:
        sys.exit("no verdict with the new version within 120 s")
    print(f"rules: {args.yara} YARA rules, {args.patterns} Hyperscan patterns, {args.hashes} ClamAV hashes; "
          f"reload mode {args.reload_mode}")
    print(f"initial load in the server: {serving['rules_load_seconds']:.1f} s")
    print(f"update to version 2 returned after {returned - started:.1f} s")
    print(f"reload latency (update returned -> first verdict with {latest['version']}, {latest['verdict']}): "
          f"{latest['at'] - returned:.2f} s")
    print(f"server build of version 2: {reloaded['rules_load_seconds']:.1f} s, drained: {reloaded['drained']}")
    print(f"server RSS: steady {steady_kib / 1024:.0f} MiB, peak during reload {peak_kib / 1024:.0f} MiB "
          f"({peak_kib / steady_kib:.2f}x steady), after {after_kib / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

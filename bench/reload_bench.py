#!/usr/bin/env python3
"""Hot reload of a large rule bundle in a running `tollgate serve --rules-store`: reload latency and memory.

    bench/reload_bench.py --tollgate build/tollgate [--yara 10000] [--patterns 50000] [--hashes 100000]
                          [--rulesets ../shared/rulesets] [--reload-mode auto|overlap|drain] [--work DIR]

Generates two versions of a large bundle (rules/updater/tools/make_large_bundle.py; version 2 adds one
YARA rule and its sample), publishes version 1, starts a server on 127.0.0.1 and keeps a client
scanning the new rule's sample while version 2 is published. With --rulesets the bundle holds the
public rule sets (signature-base, ditekshen) and --hashes generated ClamAV hashes instead of generated
YARA rules and patterns: the realistic set of bench/run. Reports:
- the rules load time at start (the server's `serving` event);
- reload latency: `tollgate rules update` returns -> the first verdict carrying version 2;
- the service's memory in steady state, its peak during the reload and the ratio between them: the
  proportional set size (PSS) of the server and every process it started (the sandbox's zygotes and
  workers hold the compiled rules), sampled every 5 ms;
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


def service_kib(pid):
    """PSS of `pid` and all its descendants, KiB: shared pages (the rules a zygote's workers inherit)
    count once."""
    children = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in pathlib.Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        pending += children.get(current, [])
    return total


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
    parser.add_argument("--rulesets", type=pathlib.Path,
                        help="use these public rule sets (signature-base, ditekshen) instead of generated YARA rules "
                             "and patterns")
    parser.add_argument("--reload-mode", default="auto", choices=["auto", "overlap", "drain"])
    parser.add_argument("--work", type=pathlib.Path, help="keep the bundles and store here (default: a temp dir)")
    args = parser.parse_args()
    tollgate = str(pathlib.Path(args.tollgate).resolve())

    with tempfile.TemporaryDirectory(prefix="tollgate-reload-") as temp:
        work = args.work or pathlib.Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        store = work / "store"
        run(tollgate, "rules", "keygen", "--private", work / "key.pem", "--public", work / "key.pub")
        rules = (["--yara", 0, "--patterns", 0, "--hashes", args.hashes,
                  *(a for name in ("signature-base", "ditekshen-detection")
                    for a in ("--with-ruleset", args.rulesets.resolve() / name))] if args.rulesets else
                 ["--yara", args.yara, "--patterns", args.patterns, "--hashes", args.hashes])
        for version, extra in (("1", []), ("2", ["--marker", "ReloadMarker"])):
            bundle = work / f"bundle-{version}"
            run(sys.executable, ROOT / "rules/updater/tools/make_large_bundle.py", bundle, *rules, *extra)
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
            steady_kib = service_kib(server.process.pid)

            latest = {"version": first_version, "verdict": verdict, "at": None}
            stop = threading.Event()

            def keep_scanning():
                while not stop.is_set():
                    version, verdict = scan_version(tollgate, port, sample)
                    if version != latest["version"] and latest["at"] is None:
                        latest.update(version=version, verdict=verdict, at=time.monotonic())

            sampled = {"max_kib": steady_kib}

            def sample_rss():
                while not stop.is_set():
                    sampled["max_kib"] = max(sampled["max_kib"], service_kib(server.process.pid))
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
            peak_kib = sampled["max_kib"]
            after_kib = service_kib(server.process.pid)
        finally:
            server.stop()

    if latest["at"] is None:
        sys.exit("no verdict with the new version within 120 s")
    print(f"rules: {'the public rule sets of ' + str(args.rulesets) if args.rulesets else f'{args.yara} YARA rules, {args.patterns} Hyperscan patterns'}, "
          f"{args.hashes} ClamAV hashes; reload mode {args.reload_mode}")
    print(f"initial load in the server: {serving['rules_load_seconds']:.1f} s")
    print(f"update to version 2 returned after {returned - started:.1f} s")
    print(f"reload latency (update returned -> first verdict with {latest['version']}, {latest['verdict']}): "
          f"{latest['at'] - returned:.2f} s")
    print(f"server build of version 2: {reloaded['rules_load_seconds']:.1f} s, drained: {reloaded['drained']}")
    print(f"service memory (PSS of the server and its sandbox): steady {steady_kib / 1024:.0f} MiB, peak during "
          f"reload {peak_kib / 1024:.0f} MiB ({peak_kib / steady_kib:.2f}x steady), after {after_kib / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

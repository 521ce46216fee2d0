#!/usr/bin/python3
"""Scans one folder with `tollgate scan` and with `clamscan` (same ClamAV signatures, every
heuristic alert on), in one run, and prints a markdown table of per-file results followed by
each tool's files/s and MB/s.

Usage: bench/compare_with_clamscan.py [--tollgate build/tollgate] [--rules rules/default] [--jobs 2] FOLDER
"""
import argparse
import json
import os
import subprocess
import time

CLAMSCAN_HEURISTICS = [
    "--heuristic-alerts=yes", "--alert-broken=yes", "--alert-broken-media=yes", "--alert-encrypted=yes",
    "--alert-encrypted-archive=yes", "--alert-encrypted-doc=yes", "--alert-macros=yes", "--alert-exceeds-max=yes",
    "--alert-phishing-ssl=yes", "--alert-phishing-cloak=yes", "--alert-partition-intersection=yes", "--allmatch=yes",
]


def timed(command):
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, errors="replace")
    return result, time.monotonic() - started


def clamav_databases(rules):
    folder = os.path.join(rules, "clamav")
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))] if os.path.isdir(folder) else []


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--tollgate", default="build/tollgate")
    parser.add_argument("--rules", default="rules/default")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    files = sorted(os.path.join(root, name) for root, _, names in os.walk(args.folder) for name in names)
    total_bytes = sum(os.path.getsize(path) for path in files)

    tollgate, tollgate_seconds = timed([args.tollgate, "scan", "--json", "--jobs", str(args.jobs),
                                        "--rules", args.rules, args.folder])
    verdicts = {}
    for line in tollgate.stdout.splitlines():
        report = json.loads(line)
        if "path" in report:
            deciding = sorted({f["rule"] for f in report.get("findings", []) if f.get("deciding")})
            verdicts[report["path"]] = (report.get("verdict", "error"), deciding)

    databases = [arg for db in clamav_databases(args.rules) for arg in ("-d", db)]
    clamscan, clamscan_seconds = timed(["clamscan", "--recursive", "--no-summary", *CLAMSCAN_HEURISTICS,
                                        *databases, args.folder])
    clam_results = {}
    for line in clamscan.stdout.splitlines():
        path, _, result = line.rpartition(": ")
        if path:
            clam_results.setdefault(path, []).append(result)

    print("| sample | Tollgate verdict | Tollgate deciding findings | clamscan |")
    print("|---|---|---|---|")
    for path in files:
        verdict, deciding = verdicts.get(path, ("missing", []))
        clam = "; ".join(clam_results.get(path, ["(no line)"]))
        print(f"| {os.path.relpath(path, args.folder)} | {verdict} | {', '.join(deciding)} | {clam} |")
    megabytes = total_bytes / 1e6
    print()
    print(f"{len(files)} files, {megabytes:.2f} MB")
    print(f"tollgate scan --jobs {args.jobs}: {tollgate_seconds:.2f} s, {len(files) / tollgate_seconds:.1f} files/s, "
          f"{megabytes / tollgate_seconds:.2f} MB/s (exit {tollgate.returncode})")
    print(f"clamscan (1 process): {clamscan_seconds:.2f} s, {len(files) / clamscan_seconds:.1f} files/s, "
          f"{megabytes / clamscan_seconds:.2f} MB/s (exit {clamscan.returncode})")


if __name__ == "__main__":
    main()

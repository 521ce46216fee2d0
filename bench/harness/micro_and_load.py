"""Runs the micro benchmarks (tollgate-bench-micro) and the load generator (tollgate-load: gRPC and
the clamd protocol) and reads their figures."""
import json
import os
import re
import subprocess


def micro(binary, rulesets, pdf, quick, output, timeout):
    """Returns (memory read GB/s, [benchmark rows]); quick runs are shorter and skip the 50k sets and
    the 50 MiB document."""
    command = [binary, f"--rulesets={rulesets}", f"--pdf={pdf}", "--benchmark_format=json",
               f"--benchmark_out={output}", "--benchmark_out_format=json",
               f"--benchmark_min_time={0.05 if quick else 0.5}"]
    if quick:
        command.append("--benchmark_filter=-(patterns:50000|kib:51200)")
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    with open(output) as f:
        data = json.load(f)
    rows = []
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            rows.append({"name": b["name"], "error": b.get("error_message", "")})
            continue
        rows.append({"name": b["name"].replace("/real_time", ""), "time": b["real_time"], "unit": b["time_unit"],
                     "gb_per_s": b.get("bytes_per_second", 0) / 1e9, "of_mem_bw": b.get("of_mem_bw"),
                     "compile_s": b.get("compile_s"), "label": b.get("label", "")})
    return float(data["context"]["memory_read_GBps"]), rows


ROW = re.compile(r"^\s*(\d+)\s+(in-process|grpc|clamd)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$")


def load(binary, bundle, files, quick, timeout):
    """gRPC ScanStream and clamd INSTREAM throughput and latency at concurrency 1, 2, 4, 8, next to
    in-process scans."""
    command = [binary, "--rules", bundle, "--files", files, "--rpc", "stream", "--concurrency", "1,2,4,8",
               "--warmup", "2", "--requests", "200" if quick else "400", "--duration", "4" if quick else "10"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    rows = []
    for line in run.stdout.splitlines():
        match = ROW.match(line)
        if match:
            c, mode, requests, errors, rps, mbps, p50, p99 = match.groups()
            rows.append({"concurrency": int(c), "mode": mode, "requests": int(requests), "errors": int(errors),
                         "requests_per_s": float(rps), "mb_per_s": float(mbps), "p50_ms": float(p50),
                         "p99_ms": float(p99)})
    if not rows:
        raise RuntimeError(f"tollgate-load printed no results (exit {run.returncode}): {run.stderr.strip()[-300:]}")
    return rows


def largest_pdf(files, below):
    pdfs = [f for f in files if f.endswith(".pdf") and os.path.getsize(f) < below]
    return max(pdfs, key=os.path.getsize)

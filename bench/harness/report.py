"""Writes a run's results as markdown, JSON and a PNG chart under bench/results/."""
import json

PEERS = ["clamscan", "clamd", "clamd warm", "yara", "clamd + yara"]
# The target of the benchmark issue: Tollgate at least this much faster than clamd + yara.
TARGET_VS_DIY = 1.2


def add_rates(run, files, megabytes):
    run["files_per_s"] = files / run["seconds"] if run["seconds"] > 0 else None
    run["mb_per_s"] = megabytes / run["seconds"] if run["seconds"] > 0 else None


def ratios(runs):
    """Tollgate files/s over each peer's at the same signature set and worker count."""
    out = []
    measured = [r for r in runs if r.get("files_per_s")]
    for t in (r for r in measured if r["tool"] == "tollgate scan"):
        for peer in (r for r in measured if r["tool"] in PEERS and r["set"] == t["set"] and r["workers"] == t["workers"]):
            out.append({"set": t["set"], "workers": t["workers"], "peer": peer["tool"],
                        "ratio": t["files_per_s"] / peer["files_per_s"]})
    return out


def fmt(value, digits=1):
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown(report):
    c = report["corpus"]
    lines = [f"# Tollgate benchmark ({report['mode']}, {report['started']})", "",
             f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, single-core memory read "
             f"{fmt(report['machine']['memory_read_gbps'], 2)} GB/s. Corpus: {c['files']} benign files, "
             f"{c['megabytes']:.1f} MB ({c['kinds']}).", ""]
    for s in report["signature_sets"]:
        lines.append(f"- **{s['name']}** signatures: {json.dumps(s['counts'])}; {s['note']}.")
    lines.append(f"- yarac compile time: " + ", ".join(f"{k} {v:.2f} s" for k, v in report["yarac_seconds"].items()))
    lines += ["", "Scan time excludes loading the rules (reported apart). 1 worker = pinned to one core (taskset).", "",
              "| set | tool | workers | files/s | MB/s | scan s | rules load s | peak RSS MB | flagged | Tollgate/peer |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    by_key = {(r["set"], r["workers"], r["peer"]): r["ratio"] for r in report["ratios"]}
    for r in report["runs"]:
        if "error" in r:
            lines.append(f"| {r['set']} | {r['tool']} | {r['workers']} | error: {r['error']} ||||||| |")
            continue
        ratio = by_key.get((r["set"], r["workers"], r["tool"]))
        note = f" ({r['note']})" if r.get("note") else ""
        lines.append(f"| {r['set']} | {r['tool']}{note} | {r['workers']} | {fmt(r['files_per_s'])} | "
                     f"{fmt(r['mb_per_s'])} | {fmt(r['seconds'], 2)} | {fmt(r['load_seconds'], 2)} | "
                     f"{fmt(r['rss_mb'], 0)} | {'–' if r['flagged'] is None else r['flagged']} | "
                     f"{'' if ratio is None else f'{ratio:.2f}x'} |")
    lines += stage_tables(report)
    if report.get("cache"):
        c = report["cache"]
        lines += ["", f"Verdict cache through `tollgate serve` (realistic signatures, {c['files']} files scanned twice with "
                  f"`tollgate scan --remote --jobs 2`): first pass {c['first_seconds']:.2f} s, second pass "
                  f"{c['second_seconds']:.2f} s, {fmt(c['speedup'])}x faster; every second-pass report cached: "
                  f"{'yes' if c['second_all_cached'] else 'NO'}; same verdicts and findings: "
                  f"{'yes' if c['same_verdicts'] else 'NO'}."]
    lines += ["", "Targets:", ""]
    for t in report["targets"]:
        lines.append(f"- {t['what']}: {t['value']} → {'met' if t['met'] else 'MISSED'}")
    if report.get("load"):
        lines += ["", "Load (gRPC ScanStream and clamd INSTREAM over loopback TCP, corpus files, realistic signatures; "
                  "clamd/gRPC: the clamd row's req/s and p99 over the gRPC row's):", "",
                  "| concurrency | mode | requests | errors | req/s | MB/s | p50 ms | p99 ms | clamd/gRPC req/s | clamd/gRPC p99 |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        grpc = {r["concurrency"]: r for r in report["load"] if r["mode"] == "grpc"}
        for r in report["load"]:
            ratios = "| | |"
            peer = grpc.get(r["concurrency"])
            if r["mode"] == "clamd" and peer:
                ratios = (f"| {fmt(r['requests_per_s'] / peer['requests_per_s'] if peer['requests_per_s'] else None, 2)} | "
                          f"{fmt(r['p99_ms'] / peer['p99_ms'] if peer['p99_ms'] else None, 2)} |")
            lines.append(f"| {r['concurrency']} | {r['mode']} | {r['requests']} | {r['errors']} | "
                         f"{r['requests_per_s']:.1f} | {r['mb_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} {ratios}")
    if report.get("micro"):
        lines += ["", "Micro benchmarks (time per iteration: CPU time, the multi-threaded pipeline wall time; "
                  "of mem bw = throughput / single-core memory read bandwidth):", "",
                  "| benchmark | time | GB/s | of mem bw | compile s | note |", "|---|---|---|---|---|---|"]
        for m in report["micro"]:
            if "error" in m:
                lines.append(f"| {m['name']} | error: {m['error']} |||||")
                continue
            lines.append(f"| {m['name']} | {m['time']:.3f} {m['unit']} | {m['gb_per_s']:.3f} | "
                         f"{fmt(m['of_mem_bw'], 3)} | {fmt(m['compile_s'], 2)} | {m['label']} |")
    lines += ["", f"Whole run: {report['elapsed_seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


def stage_tables(report):
    """Where Tollgate's time went in each run, and whether the benign corpus stayed clean."""
    lines = []
    for r in report["runs"]:
        if r["tool"] != "tollgate scan" or "stages" not in r:
            continue
        files = report["corpus"]["files"]
        flagged = sorted(path for path, (verdict, findings) in r["verdicts"].items() if verdict != "clean" or findings)
        total = sum(s["ms"] for s in r["stages"]) / 1000
        lines += ["", f"Tollgate's stages ({r['set']} signatures, {r['workers']} worker(s)): {r['layers']} layers, "
                  f"{r['layers'] / files:.1f} per file; stage times are summed over layers and files "
                  f"({total:.2f} s in all, against {r['seconds']:.2f} s of scanning). Benign corpus without any "
                  f"finding: {'yes' if not flagged else 'NO: ' + ', '.join(flagged[:10])}.", "",
                  "| stage | s | share | calls | MB in |", "|---|---|---|---|---|"]
        for s in sorted(r["stages"], key=lambda s: -s["ms"]):
            lines.append(f"| {s['stage']} | {s['ms'] / 1000:.3f} | {100 * s['ms'] / 1000 / total:.1f}% | "
                         f"{s['calls']:,} | {s['bytes'] / 1e6:.1f} |")
    return lines


def chart(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [s["name"] for s in report["signature_sets"]]
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4.5), squeeze=False)
    for ax, name in zip(axes[0], sets):
        runs = [r for r in report["runs"] if r["set"] == name and r.get("files_per_s")]
        tools = list(dict.fromkeys(r["tool"] for r in runs))
        for offset, workers in ((-0.2, 1), (0.2, 2)):
            values = [next((r["files_per_s"] for r in runs if r["tool"] == t and r["workers"] == workers), 0)
                      for t in tools]
            ax.bar([i + offset for i in range(len(tools))], values, width=0.4, label=f"{workers} worker(s)")
        ax.set_xticks(range(len(tools)), tools, rotation=30, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel("files/s (scan, rules loaded; log scale)")
        ax.set_title(f"{name} signatures")
        ax.legend()
    fig.suptitle(f"Throughput by tool and worker count ({report['mode']}, {report['corpus']['files']} files)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

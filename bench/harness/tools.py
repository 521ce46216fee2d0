"""Runs each tool on the corpus and measures it: wall time, peak RSS (the child's, from wait4, or
clamd's VmHWM), rules load time and files flagged. One-worker runs of every tool are pinned to one
CPU with taskset, so "1 worker" means one core for all of them."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

from compare_with_clamscan import CLAMSCAN_HEURISTICS
from harness.serve import Server
from harness.signatures import YARA_EXTERNALS

# clamd.conf twins of clamscan's heuristic options (CLAMSCAN_HEURISTICS), so both do the same work.
CLAMD_HEURISTICS = ["HeuristicAlerts", "AlertBrokenExecutables", "AlertBrokenMedia", "AlertEncrypted",
                    "AlertEncryptedArchive", "AlertEncryptedDoc", "AlertOLE2Macros", "AlertExceedsMax",
                    "AlertPhishingSSLMismatch", "AlertPhishingCloak", "AlertPartitionIntersection"]


class Measured:
    def __init__(self, seconds, rss_mb, exit_code, stdout):
        self.seconds, self.rss_mb, self.exit_code, self.stdout = seconds, rss_mb, exit_code, stdout


def pinned(command, workers):
    return ["taskset", "-c", "0", *command] if workers == 1 else command


def measure(command, timeout):
    """Runs `command`, its output in a temporary file; the child's own peak RSS comes from wait4."""
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, start_new_session=True)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                os.wait4(process.pid, 0)
                raise TimeoutError(f"{command[0]} ran past {timeout} s")
            time.sleep(0.005)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return Measured(seconds, usage.ru_maxrss / 1024, process.returncode, out.read().decode(errors="replace"))


def result(tool, workers, seconds, load_seconds, rss_mb, flagged, note=""):
    return {"tool": tool, "workers": workers, "seconds": seconds, "load_seconds": load_seconds, "rss_mb": rss_mb,
            "flagged": flagged, "note": note}


def empty_file(work):
    path = os.path.join(work, "empty.txt")
    open(path, "w").close()
    return path


def tollgate(binary, bundle, corpus, workers, timeout):
    """Scan time is the one `tollgate scan` reports itself (its summary); the rest of the wall time is
    loading and compiling the rules. The verdict cache is off: every file is scanned, as the peers do.
    Also keeps where the time went (the summary's stages), the layers and each file's verdict."""
    run = measure(pinned([binary, "scan", "--json", "--no-cache", "--jobs", str(workers), "--rules", bundle, corpus],
                         workers), timeout)
    if run.exit_code not in (0, 1):
        raise RuntimeError(f"tollgate scan exited {run.exit_code}")
    lines = [json.loads(line) for line in run.stdout.strip().splitlines()]
    summary = lines[-1]["summary"]
    measured = result("tollgate scan", workers, summary["seconds"], run.seconds - summary["seconds"], run.rss_mb,
                      summary["blocked"])
    measured["stages"] = summary["stages"]
    measured["layers"] = summary["layers"]
    measured["verdicts"] = {line["path"]: [line["verdict"], sorted({(f["engine"], f["rule"]) for f in line["findings"]})]
                            for line in lines[:-1] if "verdict" in line}
    return measured


def serve_cache(binary, bundle, corpus, timeout):
    """The verdict cache through `tollgate serve`: the same folder scanned twice over gRPC (`tollgate scan
    --remote`, 2 at a time); the second pass is answered from the cache."""
    server = Server(binary, "--rules", bundle, "--max-concurrent", "4", "--workers", "2")
    try:
        port = server.wait_for("listening", timeout)["port"]
        server.wait_for("serving", timeout)
        passes = []
        for _ in range(2):
            run = measure([binary, "scan", "--json", "--jobs", "2", "--remote", f"127.0.0.1:{port}", corpus], timeout)
            if run.exit_code not in (0, 1):
                raise RuntimeError(f"tollgate scan --remote exited {run.exit_code}")
            passes.append([json.loads(line) for line in run.stdout.strip().splitlines()])
    finally:
        server.stop()
    first, second = ({line["path"]: line for line in p[:-1]} for p in passes)
    seconds = [p[-1]["summary"]["seconds"] for p in passes]
    return {"files": len(first), "first_seconds": seconds[0], "second_seconds": seconds[1],
            "speedup": seconds[0] / seconds[1] if seconds[1] > 0 else None,
            "second_all_cached": all(line.get("cached") for line in second.values()),
            "same_verdicts": all(first[p]["verdict"] == second[p]["verdict"] and
                                 first[p]["findings"] == second[p]["findings"] for p in first)}


def flagged_paths(output, marker=" FOUND"):
    return len({line.rpartition(": ")[0] for line in output.splitlines() if line.endswith(marker)})


def clamscan(database_dir, corpus, work, timeout):
    load = measure(["taskset", "-c", "0", "clamscan", "--no-summary", "-d", database_dir, empty_file(work)], timeout)
    run = measure(["taskset", "-c", "0", "clamscan", "--recursive", "--no-summary", *CLAMSCAN_HEURISTICS,
                   "-d", database_dir, corpus], timeout)
    if run.exit_code not in (0, 1):
        raise RuntimeError(f"clamscan exited {run.exit_code}")
    return result("clamscan", 1, run.seconds - load.seconds, load.seconds, run.rss_mb, flagged_paths(run.stdout))


class Clamd:
    """clamd on a Unix socket in a private temporary folder with its own clamd.conf. With one worker
    clamdscan sends CONTSCAN (one thread scans the files in turn); with more, MULTISCAN, whose
    dispatching thread counts against MaxThreads, hence one thread more than workers."""

    def __init__(self, database_dir, workers, cache, timeout):
        self.workers = workers
        self.folder = tempfile.mkdtemp(prefix="tollgate-bench-clamd-")
        self.socket = os.path.join(self.folder, "clamd.sock")
        self.conf = os.path.join(self.folder, "clamd.conf")
        lines = [f"LocalSocket {self.socket}", f"DatabaseDirectory {database_dir}", f"TemporaryDirectory {self.folder}",
                 f"LogFile {self.folder}/clamd.log", "Foreground yes", f"MaxThreads {workers + 1 if workers > 1 else 1}", "SelfCheck 0",
                 f"DisableCache {'no' if cache else 'yes'}", *(f"{option} yes" for option in CLAMD_HEURISTICS)]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        started = time.monotonic()
        self.process = subprocess.Popen(pinned(["clamd", "-c", self.conf], workers), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"clamd did not start (log: {self.folder}/clamd.log)")
            time.sleep(0.05)
        self.load_seconds = time.monotonic() - started

    def ping(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1)
                s.connect(self.socket)
                s.sendall(b"zPING\0")
                return s.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def peak_rss_mb(self):
        # taskset execs clamd, so the pid is clamd's.
        with open(f"/proc/{self.process.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024

    def scan(self, corpus, timeout):
        multiscan = ["--multiscan"] if self.workers > 1 else []
        run = measure(["clamdscan", "-c", self.conf, *multiscan, "--allmatch", "--no-summary", corpus], timeout)
        if run.exit_code not in (0, 1):
            raise RuntimeError(f"clamdscan exited {run.exit_code}")
        return run.seconds, flagged_paths(run.stdout)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        subprocess.run(["rm", "-rf", self.folder], check=False)


def clamd(database_dir, corpus, workers, timeout, warm=True):
    """A cold pass (clean-file cache off) and, if `warm`, a warm one (cache on, second pass over the
    same files)."""
    results = []
    for cache in (False, True) if warm else (False,):
        daemon = Clamd(database_dir, workers, cache, timeout)
        try:
            seconds, flagged = daemon.scan(corpus, timeout)
            if cache:
                seconds, flagged = daemon.scan(corpus, timeout)
            command = "MULTISCAN" if workers > 1 else "CONTSCAN"
            results.append(result("clamd warm" if cache else "clamd", workers, seconds, daemon.load_seconds,
                                  daemon.peak_rss_mb(), flagged,
                                  f"{command}, cache on, 2nd pass" if cache else f"{command}, cache off"))
        finally:
            daemon.stop()
    return results


def yara_compile(yara_files, output, timeout):
    """yarac with every file in its own namespace and the external variables Tollgate defines."""
    command = ["yarac", "-w", *(a for name in YARA_EXTERNALS for a in ("-d", f"{name}=")),
               *(f"n{i}:{path}" for i, path in enumerate(yara_files)), output]
    run = measure(command, timeout)
    if run.exit_code != 0:
        raise RuntimeError("yarac failed")
    return run.seconds


def yara(compiled, corpus, workers, work, timeout):
    load = measure(pinned(["yara", "-w", "-C", compiled, empty_file(work)], workers), timeout)
    run = measure(pinned(["yara", "-w", "-C", "-r", "-p", str(workers), compiled, corpus], workers), timeout)
    if run.exit_code != 0:
        raise RuntimeError(f"yara exited {run.exit_code}")
    matched = {line.split(" ", 1)[1] for line in run.stdout.splitlines() if " " in line}
    return result("yara", workers, run.seconds - load.seconds, load.seconds, run.rss_mb, len(matched))


def combined(clamd_result, yara_result):
    """clamd then yara on the same files: the do-it-yourself pair a user would otherwise run."""
    return result("clamd + yara", clamd_result["workers"], clamd_result["seconds"] + yara_result["seconds"],
                  clamd_result["load_seconds"] + yara_result["load_seconds"],
                  clamd_result["rss_mb"] + yara_result["rss_mb"], None, "one after the other")

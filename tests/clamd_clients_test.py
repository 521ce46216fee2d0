#!/usr/bin/python3
"""Drives the clamd drop-in of `tollgate serve` with the real clients upload services use: Debian's
clamdscan (INSTREAM with --stream, FILDES with --fdpass, CONTSCAN on paths, MULTISCAN and IDSESSION
with -m, PING, VERSION, a TCP socket) and the npm `clamscan` package (tests/clamd_clients: scanStream,
isInfected, scanDir, getVersion over the unix socket only). Every corpus file must come back exactly as
`tollgate scan` decides it: "OK" when allowed, "RULE FOUND" with the first deciding finding's rule when
blocked. Streams and passed descriptors carry no file name, so their expectations come from scanning
the same bytes under the name the server gives them ("stream"). Also checks that a path outside every
--clamd-scan-root, reached through a symbolic link, is an ERROR and that a symbolic link inside a root is
not followed, and that SIGTERM stops the server cleanly.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from serve_process import Server

# Plain text that only its name makes dangerous: a script Windows runs by its extension, and a
# tab-separated sheet (libmagic calls it text) whose formula Excel runs.
KNOWN_BY_NAME = {"threats/scripts/invoice.js", "threats/csv/hyperlink.tsv"}

ARGS = None
INSTALL_HINT = "run tools/install-deps.sh"
# One clamdscan or node run; generous because the server is slow under AddressSanitizer.
CLIENT_TIMEOUT = 240
LINE = re.compile(r"^(?P<path>.*?): (?:(?P<ok>OK)|(?P<rule>\S+) FOUND|(?P<error>.*) ERROR)$")


def regular_files(root):
    """Relative paths of the regular files under `root` (symbolic links not followed), sorted."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                found.append(os.path.relpath(path, root))
    return sorted(found)


def tollgate_decisions(folder):
    """`tollgate scan --json --no-cache FOLDER`: {relative path: ("allow", None) | ("block", rule)}."""
    scan = subprocess.run([ARGS.tollgate, "scan", "--json", "--no-cache", folder],
                          capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
    assert scan.returncode in (0, 1), "tollgate scan exited %d:\n%s" % (scan.returncode, scan.stderr)
    lines = [json.loads(line) for line in scan.stdout.splitlines() if line.strip()]
    assert lines and "summary" in lines[-1], "no summary line from tollgate scan:\n" + scan.stdout[-2000:]
    decisions = {}
    for entry in lines[:-1]:
        relative = os.path.relpath(entry["path"], folder)
        if entry["action"] == "allow":
            decisions[relative] = ("allow", None)
            continue
        assert entry["action"] == "block", entry
        deciding = [finding["rule"] for finding in entry["findings"] if finding.get("deciding")]
        # The server names a block with no deciding finding after its verdict (clamd_protocol.h).
        decisions[relative] = ("block", deciding[0] if deciding else "Tollgate.Blocked." + entry["verdict"])
    return decisions


class ClamdClients(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.server = None
        cls.temp = None
        missing = []
        if shutil.which("clamdscan") is None:
            missing.append("clamdscan (Debian package clamdscan) is not on PATH")
        if shutil.which("node") is None:
            missing.append("node (Debian package nodejs) is not on PATH")
        modules = pathlib.Path(ARGS.node_client).resolve().parent / "node_modules"
        package = modules / "clamscan" / "package.json"
        if not package.is_file():
            missing.append("%s is missing (npm ci --prefix %s)" % (package, modules.parent))
        elif json.loads(package.read_text()).get("version") != "2.4.0":
            missing.append("%s is not clamscan 2.4.0, as package-lock.json pins it" % package)
        if missing:
            raise AssertionError("clamd client test prerequisites missing: %s; %s"
                                 % ("; ".join(missing), INSTALL_HINT))

        # clamdscan resolves the paths it sends and prints, so the corpus is used by its real path.
        cls.corpus = os.path.realpath(ARGS.corpus)
        cls.files = regular_files(cls.corpus)
        assert cls.files, "no files in the corpus " + cls.corpus
        cls.temp = tempfile.TemporaryDirectory()
        cls.tmp = os.path.realpath(cls.temp.name)

        # Expected decisions: under the file's own name (path commands: SCAN, CONTSCAN, MULTISCAN), and
        # for the bare bytes (INSTREAM, FILDES), which the server scans under the name "stream".
        cls.named = tollgate_decisions(cls.corpus)
        assert sorted(cls.named) == cls.files, ("tollgate scan did not report every corpus file",
                                                sorted(cls.named), cls.files)
        nameless = os.path.join(cls.tmp, "nameless")
        for index, relative in enumerate(cls.files):
            os.makedirs(os.path.join(nameless, "%03d" % index))
            shutil.copyfile(os.path.join(cls.corpus, relative), os.path.join(nameless, "%03d" % index, "stream"))
        by_index = tollgate_decisions(nameless)
        cls.unnamed = {relative: by_index[os.path.join("%03d" % index, "stream")]
                       for index, relative in enumerate(cls.files)}
        assert any(action == "block" for action, _ in cls.named.values()), "the corpus has no blocked file"
        assert any(action == "allow" for action, _ in cls.named.values()), "the corpus has no allowed file"

        # A second scan root holding symbolic links out of it, to a copy of a blocked file.
        blocked = next(relative for relative in cls.files if cls.named[relative][0] == "block")
        cls.outside = os.path.join(cls.tmp, "outside")
        os.makedirs(cls.outside)
        shutil.copyfile(os.path.join(cls.corpus, blocked), os.path.join(cls.outside, "blocked.bin"))
        cls.root = os.path.join(cls.tmp, "root")
        os.makedirs(cls.root)
        pathlib.Path(cls.root, "plain.txt").write_text("hello clean world\n")
        os.symlink(cls.outside, os.path.join(cls.root, "escape"))
        os.symlink(os.path.join(cls.outside, "blocked.bin"), os.path.join(cls.root, "link.bin"))

        # npm clamscan's scanDir runs ten isInfected at once: past --max-concurrent (the number of
        # cores by default) they wait for a slot as clamd queues them, so the defaults serve it.
        cls.socket = os.path.join(cls.tmp, "t.sock")
        cls.server = Server(ARGS.tollgate, ["--listen", "none", "--clamd-listen", "unix:" + cls.socket,
                                            "--clamd-listen", "tcp:127.0.0.1:0", "--clamd-scan-root", cls.corpus,
                                            "--clamd-scan-root", cls.root])
        listening = cls.server.wait_for("listening", timeout=120)
        assert listening, "no listening line:\n" + cls.server.log()
        addresses = listening.get("clamd", [])
        assert "unix:" + cls.socket in addresses, addresses
        tcp = [address for address in addresses if address.startswith("tcp:127.0.0.1:")]
        assert len(tcp) == 1, addresses
        cls.port = int(tcp[0].rsplit(":", 1)[1])
        assert cls.server.wait_for("serving", timeout=120), "the server is not serving:\n" + cls.server.log()

        cls.conf = os.path.join(cls.tmp, "clamd.conf")
        pathlib.Path(cls.conf).write_text("LocalSocket %s\n" % cls.socket)
        cls.tcp_conf = os.path.join(cls.tmp, "clamd-tcp.conf")
        pathlib.Path(cls.tcp_conf).write_text("TCPSocket %d\nTCPAddr 127.0.0.1\n" % cls.port)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server is not None and cls.server.process.poll() is None:
                cls.server.process.send_signal(signal.SIGTERM)
                try:
                    code = cls.server.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    cls.server.process.kill()
                    cls.server.process.wait()
                    raise AssertionError("tollgate serve did not stop within 30 s of SIGTERM:\n" + cls.server.log())
                assert code == 0, "tollgate serve exited %d after SIGTERM:\n%s" % (code, cls.server.log())
        finally:
            if cls.temp is not None:
                cls.temp.cleanup()

    # --- helpers -------------------------------------------------------------------------------

    def clamdscan(self, *args, conf=None):
        run = subprocess.run(["clamdscan", "--config-file=" + (conf or self.conf), "--no-summary"] + list(args),
                             capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
        return run.returncode, run.stdout, run.stderr

    def parse(self, stdout):
        """clamdscan's lines as {corpus-relative path: ("OK",) | ("FOUND", rule) | ("ERROR", message)}."""
        results = {}
        for line in stdout.splitlines():
            match = LINE.match(line)
            self.assertIsNotNone(match, "unexpected clamdscan line %r in:\n%s" % (line, stdout))
            path = match["path"]
            if path.startswith(self.corpus + "/"):
                path = path[len(self.corpus) + 1:]
            self.assertNotIn(path, results, "%s reported twice:\n%s" % (path, stdout))
            if match["ok"]:
                results[path] = ("OK",)
            elif match["rule"]:
                results[path] = ("FOUND", match["rule"])
            else:
                results[path] = ("ERROR", match["error"])
        return results

    @staticmethod
    def lines_for(decisions, files, with_ok):
        """What clamdscan prints for `files`: a FOUND line per blocked file, and OK lines if `with_ok`."""
        expected = {}
        for relative in files:
            action, rule = decisions[relative]
            if action == "block":
                expected[relative] = ("FOUND", rule)
            elif with_ok:
                expected[relative] = ("OK",)
        return expected

    def check_clamdscan(self, mode, decisions):
        absolute = [os.path.join(self.corpus, relative) for relative in self.files]
        # The corpus folder: clamdscan prints only the FOUND lines of the files inside it.
        code, stdout, stderr = self.clamdscan(*mode, self.corpus)
        self.assertEqual(self.parse(stdout), self.lines_for(decisions, self.files, False),
                         "clamdscan %s on the corpus folder; stderr:\n%s" % (" ".join(mode), stderr))
        self.assertEqual(code, 1, stderr)
        # Every file named on the command line: each gets its own line, OK included.
        code, stdout, stderr = self.clamdscan(*mode, *absolute)
        self.assertEqual(self.parse(stdout), self.lines_for(decisions, self.files, True),
                         "clamdscan %s on every corpus file; stderr:\n%s" % (" ".join(mode), stderr))
        self.assertEqual(code, 1, stderr)

    # --- a. clamdscan scans ---------------------------------------------------------------------

    def test_clamdscan_stream(self):
        self.check_clamdscan(["--stream"], self.unnamed)

    def test_clamdscan_fdpass(self):
        self.check_clamdscan(["--fdpass"], self.unnamed)

    def test_clamdscan_path_contscan(self):
        self.check_clamdscan([], self.named)

    def test_clamdscan_multiscan_and_idsession(self):
        # -m: MULTISCAN for paths; one IDSESSION with pipelined INSTREAMs or FILDES for the others.
        self.check_clamdscan(["-m"], self.named)
        self.check_clamdscan(["-m", "--stream"], self.unnamed)
        self.check_clamdscan(["-m", "--fdpass"], self.unnamed)

    def test_clamdscan_stream_over_tcp(self):
        blocked = next(relative for relative in self.files if self.unnamed[relative][0] == "block")
        allowed = next(relative for relative in self.files if self.unnamed[relative][0] == "allow")
        code, stdout, stderr = self.clamdscan("--stream", os.path.join(self.corpus, blocked),
                                              os.path.join(self.corpus, allowed), conf=self.tcp_conf)
        self.assertEqual(self.parse(stdout), {blocked: ("FOUND", self.unnamed[blocked][1]), allowed: ("OK",)},
                         stderr)
        self.assertEqual(code, 1, stderr)

    def test_stream_scans_decide_like_named_ones(self):
        # A stream carries no name, so a name-based rule may not be the one named; the action must not
        # change, except for the samples only their name gives away (README "Replacing clamd").
        def actions(decisions):
            return {relative: action for relative, (action, _) in decisions.items() if relative not in KNOWN_BY_NAME}
        self.assertEqual(actions(self.unnamed), actions(self.named))
        self.assertTrue(KNOWN_BY_NAME <= set(self.named), KNOWN_BY_NAME - set(self.named))

    # --- b. PING and VERSION --------------------------------------------------------------------

    def test_clamdscan_ping(self):
        code, stdout, stderr = self.clamdscan("--ping", "1")
        self.assertEqual((code, stdout), (0, "PONG\n"), stderr)

    def test_clamdscan_version(self):
        code, stdout, stderr = self.clamdscan("--version")
        self.assertEqual(code, 0, stderr)
        self.assertEqual(len(stdout.splitlines()), 1, stdout)
        self.assertTrue(stdout.startswith("Tollgate "), stdout)

    # --- c. npm clamscan ------------------------------------------------------------------------

    def test_npm_clamscan(self):
        run = subprocess.run(["node", ARGS.node_client, self.socket, self.corpus],
                             capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
        self.assertEqual(run.returncode, 0, run.stderr)
        result = json.loads(run.stdout)

        self.assertIsInstance(result["version"], str, result["version"])
        self.assertTrue(result["version"].startswith("Tollgate "), result["version"])

        def verdicts(decisions):
            return {relative: {"isInfected": action == "block", "viruses": [rule] if action == "block" else []}
                    for relative, (action, rule) in decisions.items()}
        # scanStream sends INSTREAM; isInfected sends the legacy, unterminated "MULTISCAN /path".
        self.assertEqual(result["stream"], verdicts(self.unnamed), "scanStream")
        self.assertEqual(result["isInfected"], verdicts(self.named), "isInfected")

        # The promise form of scanDir lists the files itself and runs isInfected on each, ten at a
        # time; viruses is every distinct rule named, in the order the files came back.
        scan_dir = result["scanDir"]
        self.assertNotIn("error", scan_dir)
        self.assertEqual(scan_dir["errors"], {})
        self.assertEqual(scan_dir["badFiles"], sorted(f for f, (action, _) in self.named.items() if action == "block"))
        self.assertEqual(scan_dir["goodFiles"], sorted(f for f, (action, _) in self.named.items() if action == "allow"))
        self.assertEqual(len(scan_dir["viruses"]), len(set(scan_dir["viruses"])), scan_dir["viruses"])
        self.assertEqual(sorted(scan_dir["viruses"]),
                         sorted({rule for action, rule in self.named.values() if action == "block"}))

    # --- d. paths out of the scan roots ---------------------------------------------------------

    def test_symbolic_link_out_of_a_scan_root_is_an_error(self):
        # clamdscan resolves the link and sends the file it leads to, outside every root.
        code, stdout, stderr = self.clamdscan(os.path.join(self.root, "escape", "blocked.bin"))
        target = os.path.join(self.outside, "blocked.bin")
        self.assertEqual(list(self.parse(stdout)), [target], stdout)
        self.assertRegex(stdout, r"^%s: .*outside every --clamd-scan-root.*\. ERROR\n$" % re.escape(target))
        self.assertEqual(code, 2, stderr)

    def test_a_folder_outside_every_scan_root_is_an_error(self):
        code, stdout, stderr = self.clamdscan(self.tmp)
        self.assertRegex(stdout, r"^%s: .*outside every --clamd-scan-root.*\. ERROR\n$" % re.escape(self.tmp))
        self.assertEqual(code, 2, stderr)

    def test_symbolic_links_inside_a_scan_root_are_not_followed(self):
        # CONTSCAN of the root: both links lead to a blocked file and are skipped, as clamd skips them.
        code, stdout, stderr = self.clamdscan(self.root)
        self.assertEqual(stdout, "%s: OK\n" % self.root, stderr)
        self.assertEqual(code, 0, stderr)
        code, stdout, stderr = self.clamdscan(os.path.join(self.root, "plain.txt"))
        self.assertEqual(stdout, "%s: OK\n" % os.path.join(self.root, "plain.txt"), stderr)
        self.assertEqual(code, 0, stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for option in ("--tollgate", "--corpus", "--node-client"):
        parser.add_argument(option, required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)

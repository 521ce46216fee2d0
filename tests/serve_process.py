"""`tollgate serve` for the Python tests: started with the arguments given, its JSON log lines
collected on a thread so a test can wait for an event."""
import json
import subprocess
import threading


class Server:
    def __init__(self, tollgate, args):
        self.process = subprocess.Popen([tollgate, "serve"] + args, stdin=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def log(self):
        with self.changed:
            return "".join(self.lines)

    def wait_for(self, event, timeout=60):
        """The first log line of `event`, or None when the server ended or `timeout` passed first."""
        def find():
            for line in self.lines:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("event") == event:
                    return entry
            return None
        with self.changed:
            self.changed.wait_for(lambda: find() is not None or self.process.poll() is not None, timeout)
            return find()

"""`tollgate serve` on 127.0.0.1 for the Python benchmarks, and the gRPC stubs they call it with."""
import json
import pathlib
import subprocess
import sys
import threading
import time

PROTO_DIR = pathlib.Path(__file__).resolve().parents[2] / "proto"


class Server:
    """`tollgate serve --listen 127.0.0.1:0 ARGS...` with its JSON log read on a thread."""

    def __init__(self, tollgate, *args):
        self.events = []
        self.ended = False
        self.changed = threading.Condition()
        self.process = subprocess.Popen([tollgate, "serve", "--listen", "127.0.0.1:0", *map(str, args)],
                                        stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {"text": line.rstrip()}  # e.g. a refused option, kept for the error message
            with self.changed:
                self.events.append(event)
                self.changed.notify_all()
        with self.changed:  # the server ended: no event is coming, wake the waiters now
            self.ended = True
            self.changed.notify_all()

    def wait_for(self, name, timeout=600):
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for event in self.events:
                    if event.get("event") == name:
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    sys.exit(f"the server logged no {name!r}: {self.events}")
                self.changed.wait(left)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def import_stubs(out_dir):
    """Generates the tollgate.v1 Python stubs into out_dir (protoc + grpc_python_plugin) and imports them;
    needs Debian's python3-grpcio, so run the benchmark with /usr/bin/python3."""
    subprocess.run(["protoc", "-I", PROTO_DIR, "--python_out", out_dir, "--grpc_out", out_dir,
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    PROTO_DIR / "tollgate/v1/scanner.proto"], check=True, timeout=120)
    sys.path.insert(0, str(out_dir))
    from tollgate.v1 import scanner_pb2, scanner_pb2_grpc
    return scanner_pb2, scanner_pb2_grpc

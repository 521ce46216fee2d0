#!/usr/bin/python3
"""Drives `tollgate serve` from Python the way an upload service would: stubs generated at test
time with protoc + grpc_python_plugin, python3-grpcio, a bearer token. Checks every corpus sample's
verdict and findings against corpus/expectations.json, over Scan and ScanStream, plus the health
service, server reflection, a refused token and a clean SIGTERM shutdown.
"""
import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import unittest

import grpc

from serve_process import Server

ARGS = None
TOKEN = "tok-python-0123456789abcdef"


def generate_stubs(out_dir):
    subprocess.run([ARGS.protoc, "-I", ARGS.proto_dir, "--python_out", out_dir, "--grpc_out", out_dir,
                    "--plugin=protoc-gen-grpc=" + ARGS.grpc_python_plugin,
                    os.path.join(ARGS.proto_dir, "tollgate/v1/scanner.proto")], check=True)
    sys.path.insert(0, out_dir)


class ScanServiceFromPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.temp = tempfile.TemporaryDirectory()
        generate_stubs(cls.temp.name)
        global scanner_pb2, scanner_pb2_grpc
        from tollgate.v1 import scanner_pb2, scanner_pb2_grpc
        tokens = pathlib.Path(cls.temp.name) / "tokens"
        tokens.write_text("# token tenant\n%s python-tests\n" % TOKEN)
        cls.server = Server(ARGS.tollgate, ["--listen", "127.0.0.1:0", "--token-file", str(tokens)])
        listening = cls.server.wait_for("listening")
        assert listening, "".join(cls.server.lines)
        assert cls.server.wait_for("serving"), "".join(cls.server.lines)
        cls.channel = grpc.insecure_channel("127.0.0.1:%d" % listening["port"])
        cls.stub = scanner_pb2_grpc.ScannerStub(cls.channel)
        cls.auth = [("authorization", "Bearer " + TOKEN)]
        with open(ARGS.expectations) as f:
            cls.expectations = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        if cls.server.process.poll() is None:
            cls.server.process.kill()
            cls.server.process.wait()
        cls.temp.cleanup()

    def check(self, sample, expected, response):
        verdict = scanner_pb2.Verdict.Name(response.verdict)
        self.assertEqual(verdict, "VERDICT_" + expected["verdict"].upper(), sample)
        self.assertEqual(scanner_pb2.Action.Name(response.action),
                         "ACTION_ALLOW" if expected["verdict"] == "clean" else "ACTION_BLOCK", sample)
        found = sorted((f.engine, f.rule, f.object) for f in response.findings)
        self.assertEqual(found, sorted(tuple(f) for f in expected["findings"]), sample)
        self.assertEqual(len(response.sha256), 64)

    def test_corpus_verdicts_over_scan_and_scan_stream(self):
        for sample, expected in self.expectations.items():
            content = (pathlib.Path(ARGS.corpus) / sample).read_bytes()
            name = pathlib.Path(sample).name
            response = self.stub.Scan(scanner_pb2.ScanRequest(filename=name, content=content),
                                      metadata=self.auth, timeout=30)
            self.check(sample, expected, response)

            def chunks():
                yield scanner_pb2.ScanChunk(metadata=scanner_pb2.ScanMetadata(filename=name, size=len(content)))
                for offset in range(0, len(content), 100):
                    yield scanner_pb2.ScanChunk(data=content[offset:offset + 100])
            self.check(sample, expected, self.stub.ScanStream(chunks(), metadata=self.auth, timeout=30))

    def test_a_wrong_token_is_unauthenticated(self):
        with self.assertRaises(grpc.RpcError) as refused:
            self.stub.Scan(scanner_pb2.ScanRequest(filename="a.txt", content=b"hello"),
                           metadata=[("authorization", "Bearer not-the-token-at-all")], timeout=10)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_health_says_serving(self):
        # grpc.health.v1 stubs would shadow the grpc package; the messages are simple enough to
        # encode by hand: HealthCheckRequest{service} and HealthCheckResponse{status=1 SERVING}.
        check = self.channel.unary_unary("/grpc.health.v1.Health/Check")
        service = b"tollgate.v1.Scanner"
        self.assertEqual(check(b"\x0a" + bytes([len(service)]) + service, timeout=10), b"\x08\x01")
        self.assertEqual(check(b"", timeout=10), b"\x08\x01")

    def test_reflection_lists_the_services(self):
        reflection = self.channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        # ServerReflectionRequest{list_services: ""} is field 7.
        replies = list(reflection(iter([b"\x3a\x00"]), timeout=10))
        self.assertEqual(len(replies), 1)
        self.assertIn(b"tollgate.v1.Scanner", replies[0])
        self.assertIn(b"grpc.health.v1.Health", replies[0])

    def test_zz_sigterm_shuts_down_cleanly(self):
        self.server.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.server.process.wait(timeout=30), 0)
        self.assertIsNotNone(self.server.wait_for("stopped", timeout=5))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for option in ("--tollgate", "--proto-dir", "--corpus", "--expectations", "--grpc-python-plugin", "--protoc"):
        parser.add_argument(option, required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)

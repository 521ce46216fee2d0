#!/usr/bin/env python3
"""Writes a large, unsigned rule bundle for measuring reload time and memory (not for shipping).

    make_large_bundle.py OUT [--yara 10000] [--patterns 50000] [--hashes 100000]
                         [--with-ruleset DIR]... [--marker NAME]

Generated rules: YARA rules with two distinct text strings each, Hyperscan literal-with-class patterns,
ClamAV MD5 hash signatures (.hdb). --with-ruleset copies a public rule set's yara/ and clamav/ folders
in (e.g. ../shared/rulesets/signature-base). --marker adds one more YARA rule matching the text NAME,
with a self-test sample: version N+1 of a bundle that detects something new. The self-test checks one
rule of each engine. Sign the result with `tollgate rules sign OUT --key KEY --version V`.
"""
import argparse
import hashlib
import json
import pathlib
import random
import shutil


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--yara", type=int, default=10000)
    parser.add_argument("--patterns", type=int, default=50000)
    parser.add_argument("--hashes", type=int, default=100000)
    parser.add_argument("--with-ruleset", type=pathlib.Path, action="append", default=[])
    parser.add_argument("--marker")
    args = parser.parse_args()

    rng = random.Random(20251128)
    out = args.out
    for folder in ("yara", "hyperscan", "clamav", "selftest/samples"):
        (out / folder).mkdir(parents=True, exist_ok=True)

    with open(out / "yara/generated.yar", "w") as f:
        for i in range(args.yara):
            f.write(f'rule Gen_Yara_{i:05d} {{ meta: severity = "high" strings: '
                    f'$a = "gen-yara-{i:05d}-{rng.getrandbits(32):08x}" $b = "gen-alt-{rng.getrandbits(48):012x}" '
                    f'condition: any of them }}\n')
    with open(out / "hyperscan/generated.pat", "w") as f:
        for i in range(args.patterns):
            f.write(f"Gen.Pattern.{i:05d} high /gen-pat-{i:05d}-{rng.getrandbits(32):08x}[0-9a-f]{{4}}/\n")

    hash_sample = b"tollgate generated hash sample\n"
    with open(out / "clamav/generated.hdb", "w") as f:
        f.write(f"{hashlib.md5(hash_sample).hexdigest()}:{len(hash_sample)}:Gen.Hash.Sample\n")
        for i in range(args.hashes - 1):
            f.write(f"{rng.getrandbits(128):032x}:{rng.randint(100, 10_000_000)}:Gen.Hash.{i:06d}\n")

    for ruleset in args.with_ruleset:
        for engine in ("yara", "clamav"):
            if (ruleset / engine).is_dir():
                shutil.copytree(ruleset / engine, out / engine / ruleset.name, dirs_exist_ok=True)

    # One known hit per engine: the first YARA rule's string, the first pattern, the hash sample.
    yara_line = (out / "yara/generated.yar").open().readline()
    yara_text = yara_line.split('$a = "')[1].split('"')[0] if args.yara else ""
    pattern_line = (out / "hyperscan/generated.pat").open().readline()
    pattern_text = pattern_line.split("/")[1].split("[")[0] + "beef" if args.patterns else ""
    samples = {"samples/hash.bin": (hash_sample, "Gen.Hash.Sample.UNOFFICIAL")}
    if yara_text:
        samples["samples/yara.txt"] = (f"x {yara_text} x\n".encode(), "Gen_Yara_00000")
    if pattern_text:
        samples["samples/pattern.txt"] = (f"x {pattern_text} x\n".encode(), "Gen.Pattern.00000")
    if args.marker:
        (out / "yara/marker.yar").write_text(
            f'rule Marker_{args.marker} {{ meta: severity = "high" strings: $a = "{args.marker}" condition: $a }}\n')
        samples["samples/marker.txt"] = (f"payload {args.marker}\n".encode(), f"Marker_{args.marker}")
    samples["samples/clean.txt"] = (b"Dear team, the meeting moves to Tuesday.\n", None)
    expected = {}
    for name, (content, rule) in samples.items():
        (out / "selftest" / name).write_bytes(content)
        expected[name] = {"verdict": "malicious", "rules": [rule]} if rule else {"verdict": "clean"}
    (out / "selftest/expected.json").write_text(json.dumps(expected, indent=2) + "\n")


if __name__ == "__main__":
    main()

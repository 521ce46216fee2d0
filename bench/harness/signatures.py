"""The two signature sets every tool gets, written as Tollgate rule bundles (yara/, hyperscan/,
clamav/); clamscan and clamd load the same clamav/ folder and yarac the same YARA files.

- generated: ClamAV MD5 hash and body signatures, YARA rules and Hyperscan patterns, derived from
  fixed seeds, so every run and machine measures the same rules.
- realistic: the public rule sets beside the checkout (symbolic links into ../shared/rulesets,
  never copies), the shipped bundle rules/default, and generated hash signatures.
"""
import os
import random
import shutil

YARA_EXTERNALS = ["filename", "filepath", "extension", "filetype", "owner"]
WORDS = ["invoice", "payment", "report", "order", "account", "delivery", "contract", "budget", "meeting", "total"]


def token(rng, length, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"):
    return "".join(rng.choice(alphabet) for _ in range(length))


def write_hashes(path, count, rng):
    with open(path, "w") as f:
        for i in range(count):
            f.write(f"{rng.getrandbits(128):032x}:{rng.randint(1_000, 10_000_000)}:Bench.Hash.{i:06d}\n")


def write_body_signatures(path, count, rng):
    """Hex body signatures: most plain, a fifth with a one-byte wildcard, a tenth with a bounded gap."""
    with open(path, "w") as f:
        for i in range(count):
            left, right = rng.randbytes(8).hex(), rng.randbytes(8).hex()
            body = left + ("??" if i % 5 == 1 else "{0-16}" if i % 10 == 2 else "") + right
            f.write(f"Bench.Body.{i:05d}:0:*:{body}\n")


def write_yara(path, count, rng):
    with open(path, "w") as f:
        for i in range(count):
            hex_string = " ".join(f"{b:02X}" for b in rng.randbytes(8))
            extra = f' $c = "{token(rng, 10, "abcdefghijklmnopqrstuvwxyz")}" nocase wide' if i % 8 == 0 else ""
            f.write(f'rule Bench_Yara_{i:05d} {{ meta: severity = "high" strings: $a = "bench-{token(rng, 6)}-'
                    f'{token(rng, 8)}" $b = {{ {hex_string} }}{extra} condition: any of them }}\n')


def write_patterns(path, count, rng):
    """Half literals (a third of those starting with a common word), half regexes with classes,
    bounded repeats and gaps."""
    with open(path, "w") as f:
        for i in range(count):
            t, s = token(rng, 5, "abcdefghijklmnopqrstuvwxyz"), token(rng, 4, "abcdefghijklmnopqrstuvwxyz")
            regex = [f"{rng.choice(WORDS)}-{token(rng, 6)}", token(rng, 12), f"{t}[0-9a-f]{{4,8}}\\.(exe|dll|scr)",
                     f"{t}\\s*=\\s*\"[^\"\\n]{{2,20}}\"", f"\\b{t}\\w{{0,10}}{s}", f"{t}[^\\n]{{0,32}}{s}"][i % 6]
            f.write(f"Bench.Pattern.{i:05d} high /{regex}/\n")


def link_tree(source_files, source_root, target_dir):
    """Symbolic links to each file, keeping its path below `source_root` (names stay unique)."""
    for path in source_files:
        link = os.path.join(target_dir, os.path.relpath(path, source_root))
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.abspath(path), link)


def files_under(folder, extensions, parent_name=None):
    found = []
    for root, _, names in os.walk(folder):
        if parent_name is None or os.path.basename(root) == parent_name:
            found += [os.path.join(root, n) for n in names if n.endswith(extensions)]
    return sorted(found)


def fresh_bundle(work, name):
    bundle = os.path.join(work, "signatures", name)
    shutil.rmtree(bundle, ignore_errors=True)
    for engine in ("yara", "hyperscan", "clamav"):
        os.makedirs(os.path.join(bundle, engine))
    return bundle


def describe(name, bundle, counts, note):
    yara_files = files_under(os.path.join(bundle, "yara"), (".yar", ".yara"))
    return {"name": name, "bundle": bundle, "clamav_dir": os.path.join(bundle, "clamav"), "yara_files": yara_files,
            "counts": counts, "note": note}


def generated_set(work, counts):
    bundle = fresh_bundle(work, "generated")
    rng = random.Random(20240607)
    write_hashes(os.path.join(bundle, "clamav", "bench.hdb"), counts["clamav_hashes"], rng)
    write_body_signatures(os.path.join(bundle, "clamav", "bench.ndb"), counts["clamav_body"], rng)
    write_yara(os.path.join(bundle, "yara", "bench.yar"), counts["yara_rules"], rng)
    write_patterns(os.path.join(bundle, "hyperscan", "bench.pat"), counts["hyperscan_patterns"], rng)
    return describe("generated", bundle, counts, "derived deterministically (fixed seeds)")


def realistic_set(work, rulesets, default_rules, hash_count):
    if not os.path.isdir(rulesets):
        raise SystemExit(f"public rule sets not found at {rulesets} (give --rulesets DIR)")
    bundle = fresh_bundle(work, "realistic")
    public_yara = files_under(rulesets, (".yar", ".yara"))
    public_clamav = files_under(rulesets, (".ldb", ".ndb", ".hdb", ".hsb", ".cdb"), parent_name="clamav")
    link_tree(public_yara, rulesets, os.path.join(bundle, "yara", "public"))
    for engine, extensions in (("yara", (".yar",)), ("hyperscan", (".pat",))):
        link_tree(files_under(os.path.join(default_rules, engine), extensions), default_rules, bundle)
    # clamd loads the databases of one folder, not of its subfolders: clamav/ stays flat.
    shipped_clamav = files_under(os.path.join(default_rules, "clamav"), (".ldb", ".ndb", ".hdb"))
    for path in public_clamav + shipped_clamav:
        source = os.path.basename(os.path.dirname(os.path.dirname(path)))
        os.symlink(os.path.abspath(path), os.path.join(bundle, "clamav", f"{source}-{os.path.basename(path)}"))
    write_hashes(os.path.join(bundle, "clamav", "bench.hdb"), hash_count, random.Random(20240608))
    counts = {"yara_files": len(public_yara), "clamav_public_files": len(public_clamav), "clamav_hashes": hash_count,
              "shipped_bundle": "rules/default (YARA, Hyperscan, ClamAV)"}
    return describe("realistic", bundle, counts, f"public rule sets from {rulesets} (linked, not copied), "
                    "the shipped bundle and generated hashes")

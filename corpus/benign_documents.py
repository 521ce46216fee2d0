"""Benign documents made by real tools: LibreOffice (headless) writes Word, Excel, PowerPoint,
OpenDocument, RTF and PDF files from plain sources, and Debian's documentation packages supply
PDFs written by other tool chains. A scanner must allow every one of them.
"""
import os
import shutil
import subprocess
import tempfile

DEBIAN_PDFS = {
    "benign/libtasn1-manual.pdf": "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
    "benign/shared-mime-info-spec.pdf": "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
}

LETTER_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Invoice 2024-117</title></head>
<body>
<h1>Invoice 2024-117</h1>
<p>Dear Ms. Example,</p>
<p>please find below the services delivered in November. Payment is due within 30 days.
Our terms are published at <a href="https://example.com/terms">https://example.com/terms</a>.</p>
<table border="1">
<tr><th>Item</th><th>Hours</th><th>Rate</th></tr>
<tr><td>Consulting</td><td>12</td><td>95.00</td></tr>
<tr><td>Travel</td><td>3</td><td>40.00</td></tr>
</table>
<p>Kind regards,<br>Accounts team</p>
</body></html>
"""

BUDGET_CSV = """Quarter,Revenue,Costs,Margin
Q1,120000,80000,=B2-C2
Q2,135000,82000,=B3-C3
Q3,128000,79000,=B4-C4
Q4,150000,90000,=B5-C5
"""

# A flat OpenDocument presentation: two slides with a title and a line of text each.
SLIDES_FODP = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.presentation">
 <office:body><office:presentation>
  <draw:page draw:name="Overview">
   <draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">
    <draw:text-box><text:p>Quarterly review</text:p></draw:text-box></draw:frame>
   <draw:frame svg:x="2cm" svg:y="6cm" svg:width="20cm" svg:height="8cm">
    <draw:text-box><text:p>Revenue grew in every quarter.</text:p></draw:text-box></draw:frame>
  </draw:page>
  <draw:page draw:name="Next steps">
   <draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">
    <draw:text-box><text:p>Next steps</text:p></draw:text-box></draw:frame>
  </draw:page>
 </office:presentation></office:body>
</office:document>
"""

CONVERSIONS = [
    ("letter.html", LETTER_HTML, ["docx:MS Word 2007 XML", "doc:MS Word 97", "odt:writer8", "rtf:Rich Text Format",
                                  "pdf:writer_pdf_Export"]),
    ("budget.csv", BUDGET_CSV, ["xlsx:Calc MS Excel 2007 XML", "xls:MS Excel 97", "ods:calc8", "pdf:calc_pdf_Export"]),
    ("slides.fodp", SLIDES_FODP, ["pptx:Impress MS PowerPoint 2007 XML", "ppt:MS PowerPoint 97", "odp:impress8",
                                  "pdf:impress_pdf_Export"]),
]


def soffice_convert(work, source, target):
    """Runs LibreOffice once per target format; a private profile keeps runs independent."""
    profile = "file://" + os.path.join(work, "profile")
    out = os.path.join(work, "out", target.split(":")[0])
    os.makedirs(out, exist_ok=True)
    subprocess.run(["soffice", "-env:UserInstallation=" + profile, "--headless", "--norestore", "--convert-to",
                    target, "--outdir", out, source], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=120)
    stem = os.path.splitext(os.path.basename(source))[0]
    with open(os.path.join(out, stem + "." + target.split(":")[0]), "rb") as produced:
        return produced.read()


def samples():
    if shutil.which("soffice") is None:
        raise SystemExit("LibreOffice (soffice) is needed for the benign corpus: run tools/install-deps.sh")
    result = {}
    with tempfile.TemporaryDirectory(prefix="tollgate-corpus-") as work:
        for name, text, targets in CONVERSIONS:
            source = os.path.join(work, name)
            with open(source, "w", encoding="utf-8") as out:
                out.write(text)
            stem = os.path.splitext(name)[0]
            for target in targets:
                extension = target.split(":")[0]
                result[f"benign/{stem}.{extension}"] = soffice_convert(work, source, target)
    for name, path in DEBIAN_PDFS.items():
        with open(path, "rb") as pdf:
            result[name] = pdf.read()
    return result

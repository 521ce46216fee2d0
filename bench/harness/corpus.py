"""The benign corpus: PDFs and Office documents from Debian documentation packages (fetched once
with `apt-get download` and cached under the build folder, so reruns never fetch), the documents
LibreOffice wrote for the sample corpus (build/corpus/benign, made by corpus/generate.py), and ZIP
archives bundling some of them, as uploads often are. LibreOffice (headless) also turns pages of the
Octave HTML manual into Word (DOCX and 97-2003) and PDF documents. The corpus folder is flat because
tollgate-load reads one folder.
"""
import gzip
import hashlib
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import zipfile

# Documentation packages whose PDFs (and one DOCX template) come from different tool chains:
# pdfTeX, LaTeX via dblatex, texinfo, Sphinx, ReportLab, python-docx.
DEB_PACKAGES = ["python-reportlab-doc", "asymptote-doc", "gnuplot-doc", "dblatex-doc", "debian-policy",
                "python3-docx", "octave-doc", "r-doc-pdf"]
DOCUMENT_EXTENSIONS = (".pdf", ".docx", ".xlsx", ".pptx", ".doc", ".xls", ".ppt", ".odt", ".ods", ".odp", ".rtf")
# (extension, LibreOffice filter, how many HTML pages): each page is converted to one format.
LIBREOFFICE_TARGETS = [("docx", "MS Word 2007 XML", 30), ("doc", "MS Word 97", 20), ("pdf", "writer_pdf_Export", 20)]
# --quick leaves out documents above this size (the largest manuals), which take most of the time.
QUICK_MAX_BYTES = 700_000
# The load test sends these documents, small enough that a level of 48 requests ends in seconds.
LOAD_MAX_BYTES = 100_000


def fetch_debs(cache):
    """Downloads the packages not yet in `cache`; returns the .deb paths."""
    os.makedirs(cache, exist_ok=True)
    missing = [p for p in DEB_PACKAGES if not any(n.startswith(p + "_") for n in os.listdir(cache))]
    if missing:
        print(f"corpus: apt-get download {' '.join(missing)} (once; cached in {cache})", flush=True)
        subprocess.run(["apt-get", "download", "-q", *missing], cwd=cache, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {p: os.path.join(cache, next(n for n in sorted(os.listdir(cache)) if n.startswith(p + "_")))
            for p in DEB_PACKAGES}


def documents_in_deb(deb):
    """(base name, bytes) of every document in the package; gzipped ones are unpacked."""
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True, stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar:
            name = os.path.basename(member.name)
            plain = name[:-3] if name.endswith(".gz") else name
            if member.isfile() and member.size > 0 and plain.lower().endswith(DOCUMENT_EXTENSIONS):
                content = tar.extractfile(member).read()
                yield plain, gzip.decompress(content) if name.endswith(".gz") else content


def html_pages(deb):
    """Pages of the Octave manual between 20 and 150 KB, by name."""
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True, stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        pages = {os.path.basename(m.name): tar.extractfile(m).read() for m in tar
                 if m.isfile() and m.name.endswith(".html") and 20_000 <= m.size <= 150_000}
    return [(name, pages[name]) for name in sorted(pages)]


def soffice_batch(tmp, target, out, sources):
    """Converts up to ten pages in one soffice run. A page LibreOffice hangs on costs its batch, not
    the run: the batch is killed after a minute and its pages are left out."""
    process = subprocess.Popen(["soffice", f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore",
                                "--convert-to", target, "--outdir", out, *sources], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        print(f"corpus: LibreOffice hung on a batch of {len(sources)} pages; left out", flush=True)


def libreoffice_documents(deb, cache):
    """Pages converted ten at a time with a private profile, as corpus/benign_documents.py does; the
    documents are kept in `cache` for later runs."""
    if not os.path.isdir(cache):
        shutil.rmtree(cache + ".tmp", ignore_errors=True)
        print("corpus: LibreOffice converts Octave manual pages to DOCX, DOC and PDF (once)", flush=True)
        pages = html_pages(deb)
        start = 0
        with tempfile.TemporaryDirectory(prefix="tollgate-bench-soffice-") as tmp:
            for extension, export_filter, count in LIBREOFFICE_TARGETS:
                for batch in range(start, start + count, 10):
                    sources = []
                    for name, content in pages[batch:min(batch + 10, start + count)]:
                        sources.append(os.path.join(tmp, name))
                        with open(sources[-1], "wb") as f:
                            f.write(content)
                    soffice_batch(tmp, f"{extension}:{export_filter}", cache + ".tmp", sources)
                start += count
        os.rename(cache + ".tmp", cache)
    documents = {}
    # A killed batch may leave LibreOffice's lock and temporary files behind.
    for name in sorted(n for n in os.listdir(cache) if n.lower().endswith(DOCUMENT_EXTENSIONS)):
        with open(os.path.join(cache, name), "rb") as f:
            documents[f"libreoffice-{name}"] = f.read()
    return documents


def bundle_zips(documents):
    """Four deterministic ZIP archives of three small documents each."""
    small = sorted((name, content) for name, content in documents.items() if len(content) < 400_000)
    archives = {}
    for i in range(4):
        members = small[i * 3:i * 3 + 3]
        if len(members) < 3:
            break
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in members:
                archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content,
                                 compress_type=zipfile.ZIP_DEFLATED)
        archives[f"upload-{i + 1}.zip"] = buffer.getvalue()
    return archives


def build(work, sample_corpus, quick):
    """Writes the corpus to work/corpus-{quick,full} (once) and returns (folder, files, bytes)."""
    folder = os.path.join(work, "corpus-quick" if quick else "corpus-full")
    if not os.path.isdir(folder):
        documents = {}
        debs = fetch_debs(os.path.join(work, "debs"))
        for package, deb in debs.items():
            for name, content in documents_in_deb(deb):
                documents[f"{package}-{name}"] = content
        documents.update(libreoffice_documents(debs["octave-doc"], os.path.join(work, "libreoffice")))
        benign = os.path.join(sample_corpus, "benign")
        if not os.path.isdir(benign):
            raise SystemExit(f"{benign} is missing: run tools/setup.sh (it generates the sample corpus)")
        for name in sorted(os.listdir(benign)):
            with open(os.path.join(benign, name), "rb") as f:
                documents[f"sample-corpus-{name}"] = f.read()
        # The same document twice (r-doc-pdf ships the reference manual as refman.pdf and fullrefman.pdf,
        # differing only in their IDs) would be cheap for tools that cache verdicts and not for others.
        unique, seen = {}, set()
        for name in sorted(documents):
            content = documents[name]
            digest = len(content) if len(content) > 100_000 else hashlib.sha256(content).digest()
            if digest not in seen and (not quick or len(documents[name]) <= QUICK_MAX_BYTES):
                seen.add(digest)
                unique[name] = documents[name]
        unique.update(bundle_zips(unique))
        shutil.rmtree(folder + ".tmp", ignore_errors=True)
        os.makedirs(folder + ".tmp")
        for name, content in unique.items():
            with open(os.path.join(folder + ".tmp", name), "wb") as f:
                f.write(content)
        os.rename(folder + ".tmp", folder)
    files = sorted(os.path.join(folder, n) for n in os.listdir(folder))
    return folder, files, sum(os.path.getsize(f) for f in files)


def load_documents(work, files):
    """A folder of links to the corpus documents the load test sends."""
    folder = os.path.join(work, "load-documents")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for path in files:
        if os.path.getsize(path) <= LOAD_MAX_BYTES:
            os.symlink(path, os.path.join(folder, os.path.basename(path)))
    return folder

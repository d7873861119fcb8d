"""Factories for the authoring, upload and file-route tests (each adds and flushes)."""

from __future__ import annotations

import hashlib
import io
import secrets
from pathlib import Path

from flask import current_app
from PIL import Image

from lms.courses import uploads
from lms.courses.models import Attachment, Course, Lesson
from lms.extensions import db
from lms.org.models import OrgUnit

PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")


def make_course(unit: OrgUnit | None, title: str = "低保审核实务", *, source: str = "browser",
                retired: bool = False, post_types: str = "") -> Course:
    token = secrets.token_hex(4)
    course = Course(slug=f"t-{token}", code=f"T-{token}", title=title, source=source,
                    org_unit_id=unit.id if unit else None, is_retired=retired,
                    post_types=post_types)
    db.session.add(course)
    db.session.flush()
    return course


def make_lesson(course: Course, title: str = "第一课", position: int = 1, *,
                retired: bool = False, body: str = "正文") -> Lesson:
    lesson = Lesson(course_id=course.id, slug=f"l-{secrets.token_hex(4)}", position=position,
                    title=title, minutes=10, body=body, is_retired=retired)
    db.session.add(lesson)
    db.session.flush()
    return lesson


def folder() -> Path:
    return uploads.folder_of(current_app.config["UPLOAD_DIR"])


def make_attachment(course: Course, lesson: Lesson | None = None, *, data: bytes = PDF,
                    kind: str = "pdf", content_type: str = "application/pdf",
                    name: str = "讲义.pdf", write: bool = True) -> Attachment:
    stored = secrets.token_urlsafe(24)
    if write:
        folder().mkdir(parents=True, exist_ok=True)
        (folder() / stored).write_bytes(data)
    att = Attachment(course_id=course.id, lesson_id=lesson.id if lesson else None, kind=kind,
                     original_name=name, stored_name=stored, content_type=content_type,
                     size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    db.session.add(att)
    db.session.flush()
    return att


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (16, 12), *, exif: bool = False,
                mode: str = "RGB") -> bytes:
    img = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    out = io.BytesIO()
    kw = {}
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "SecretCam"  # Make
        ex[0x8298] = "GPS-HOME-ADDRESS"  # Copyright
        kw["exif"] = ex.tobytes()
    img.save(out, fmt, **kw)
    return out.getvalue()


def files_under(path: Path) -> list[str]:
    """Every file below *path* (relative names), for "nothing left on disk" checks."""
    if not path.exists():
        return []
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())

"""Security figure F3: the bad-upload corpus (``corpus_upload.corpus``, 48 files built in code)
on every upload route, as a user allowed to use it.

Upload routes (every form with a ``FileField``; ``test_every_upload_form_is_in_the_corpus_run``
fails when a new one appears): course file, lesson file, video poster, training evidence (staff
entry and the person's own), unit import, people import, question-bank import — 8 routes.

Per file and route: no 5xx; on a refusal, no new row and no new file in the upload folder (row
counts and a directory listing before and after); a media route stores only the files marked
``neutralise`` and then only under a generated name outside the web root, served with an
allowlisted media type, ``nosniff``, a ``Content-Disposition`` and, for images, re-encoded bytes
without the appended script; an import route writes no row at the upload step, keeps the file
only for a real preview, and its page (which shows the file name and cell contents) passes the
F4 parser check. After the run: nothing new under ``lms/static``, no ``/tmp/pwn-corpus.pdf``.

Measured (SQLite): 48 files × 8 routes = 384 uploads in CI (no reduced count); media routes
refused 44 of 48 per route outright and neutralised the polyglot JPEG, the PNG with an appended
script, the PDF with a spoofed Content-Type and the real WebP with a script-looking name (the
evidence route also takes them; the poster route, images only, refuses the PDF); import routes
refused or previewed every file with 0 rows written; 0 files left in the web root; 0 executable
responses.
"""

from __future__ import annotations

import ast
import functools
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from lms.extensions import db
from tests.conftest import Client
from tests.security.corpus_upload import HTML_NAME, BadFile, corpus
from tests.security.corpus_xss import dangers, new_dangers

LMS = Path(__file__).resolve().parents[2] / "lms"
CAP = 256 * 1024
MEDIA_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/webp", "video/mp4",
               "video/webm"}
STORED_NAME = re.compile(r"^[A-Za-z0-9_-]{32}$")
ACTIVE_BYTES = (b"<script", b"<?php", b"<html", b"<svg", b"onerror", b"onload")


@functools.cache
def files() -> tuple[BadFile, ...]:
    return tuple(corpus(oversize_bytes=CAP + 1))


def test_corpus_size():
    assert len(files()) >= 30
    assert len({f.name for f in files()}) == len(files())


def test_every_upload_form_is_in_the_corpus_run():
    """Every form class with a FileField (and no raw request.files) is one of the routes below."""
    found = set()
    for path in LMS.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "request.files" not in text, f"{path}: uploads go through a form's FileField"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(st, ast.Assign) and isinstance(st.value, ast.Call)
                    and getattr(st.value.func, "id", None) in ("FileField", "MultipleFileField")
                    for st in node.body):
                found.add(f"{path.relative_to(LMS).as_posix()}:{node.name}")
    assert found == {
        "courses/author_forms.py:UploadForm", "courses/author_forms.py:PosterForm",
        "training/record_forms.py:ExternalForm", "training/record_forms.py:OwnExternalForm",
        "org/views/imports.py:UploadForm", "exams/question_forms.py:ImportForm",
    }, "a new upload form: add its route to ROUTES in this file"


# ---------------------------------------------------------------- routes


@dataclass
class Route:
    name: str
    user: str
    url: str
    field: str
    kind: str  # "media" or "import"
    models: list
    folder: str
    extra: dict = field(default_factory=dict)
    #: Media routes: how to fetch what was stored (new rows → URL of the file).
    serve: Callable[[list[int]], list[str]] | None = None
    images_only: bool = False
    #: The staff entry may be saved without its file (the paper original was seen).
    optional_file: bool = False


def _routes(world) -> list[Route]:
    from lms.courses.models import Attachment
    from lms.exams.models import Question, QuestionVersion
    from lms.org.models import OrgUnit, Person
    from lms.training.models import ExternalTraining
    from tests.courses.author_factories import make_attachment, make_course, make_lesson
    from tests.exams.factories import make_bank

    course = make_course(world.town_a)
    lesson = make_lesson(course)
    video = make_attachment(course, lesson, data=b"\x00\x00\x00\x18ftypisom" + b"\x00" * 40,
                            kind="video", content_type="video/mp4", name="课.mp4")
    bank = make_bank(world.county_a)
    db.session.commit()
    person = world.person_a.id
    evidence = {"title": "社会救助政策专题", "provider": "山东省民政厅", "credit_hours": "6",
                "completed_on": "2025-09-01"}

    def files_of(ids: list[int]) -> list[str]:
        return [f"/courses/files/{i}" for i in ids]

    def evidence_of(user_path: str) -> Callable[[list[int]], list[str]]:
        return lambda ids: [f"{user_path}?entry={i}" for i in ids]

    return [
        Route("course file", "a_admin", f"/courses/manage/{course.id}/attachments", "file",
              "media", [Attachment], "attachments", serve=files_of),
        Route("lesson file", "a_admin", f"/courses/manage/lessons/{lesson.id}/attachments",
              "file", "media", [Attachment], "attachments", serve=files_of),
        Route("video poster", "a_admin", f"/courses/manage/attachments/{video.id}/poster",
              "poster", "media", [Attachment], "attachments", serve=files_of, images_only=True),
        Route("evidence (staff entry)", "a_hr", f"/training/people/{person}/external/new",
              "evidence", "media", [ExternalTraining], "evidence", extra=evidence,
              serve=evidence_of(f"/training/people/{person}/evidence"), optional_file=True),
        Route("evidence (own entry)", "13800000001", "/training/my-record/external/new",
              "evidence", "media", [ExternalTraining], "evidence", extra=evidence,
              serve=evidence_of("/training/my-record/evidence")),
        Route("unit import", "a_admin", "/org/import/units", "file", "import",
              [OrgUnit, Person], "imports"),
        Route("people import", "a_admin", "/org/import/people", "file", "import",
              [OrgUnit, Person], "imports"),
        Route("question-bank import", "a_admin", f"/exams/banks/{bank.id}/import", "file",
              "import", [Question, QuestionVersion], "imports", extra={"format": "auto"}),
    ]


def _counts(models: list) -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in models}


def _ids(model) -> set[int]:
    return set(db.session.scalars(select(model.id)))


def _listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} \
        if root.exists() else set()


@pytest.fixture
def upload_app(app, tmp_path):
    app.config.update(UPLOAD_DIR=str(tmp_path / "uploads"), UPLOAD_MAX_IMAGE_BYTES=CAP,
                      UPLOAD_MAX_PDF_BYTES=CAP, UPLOAD_MAX_VIDEO_BYTES=CAP, MAX_IMPORT_BYTES=CAP)
    return app


def _check_served(c: Client, url: str, bad: BadFile) -> None:
    resp = c.get(url)
    assert resp.status_code == 200, url
    ctype = resp.mimetype
    assert ctype in MEDIA_TYPES, f"{bad.name!r} served as {ctype}"
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert "Content-Disposition" in resp.headers
    body = resp.get_data()
    lowered = body.lower()
    assert not any(m in lowered for m in ACTIVE_BYTES), f"{bad.name!r}: active bytes served"
    if ctype.startswith("image/"):
        assert body != bad.data, f"{bad.name!r}: image stored as uploaded, not re-encoded"
        with Image.open(io.BytesIO(body)) as img:
            img.verify()
        assert "sandbox" in resp.headers.get("Content-Security-Policy", "") \
            or url.startswith("/training/")
    resp.close()


def test_bad_upload_corpus_on_every_upload_route(upload_app, world):
    static_before = _listing(LMS / "static")
    upload_root = Path(upload_app.config["UPLOAD_DIR"])
    assert LMS / "static" not in upload_root.parents and upload_root != LMS / "static"
    routes = _routes(world)
    clients: dict[str, Client] = {}
    tally: dict[str, dict[str, int]] = {}
    for route in routes:
        if route.user not in clients:
            clients[route.user] = Client(upload_app)
            clients[route.user].login(route.user)
        c = clients[route.user]
        page = c.get(route.url)
        base = dangers(page.get_data(as_text=True)) if page.status_code == 200 else None
        token = c.csrf()
        outcome = tally.setdefault(route.name, {"refused": 0, "stored": 0, "previewed": 0})
        row_model = route.models[0]
        for bad in files():
            before, ids_before = _counts(route.models), _ids(row_model)
            folder = upload_root / route.folder
            listing = _listing(folder)
            resp = c.post(route.url, {**route.extra, "csrf_token": token,
                                      route.field: (io.BytesIO(bad.data), bad.name,
                                                    bad.content_type)})
            where = f"{route.name} ← {bad.name[:60]!r} ({bad.why})"
            assert resp.status_code < 500, f"{where}: {resp.status_code}"
            html = resp.get_data(as_text=True) if resp.mimetype == "text/html" else ""
            if html and base is not None:
                assert new_dangers(html, base) == [], where
            after, new_files = _counts(route.models), _listing(folder) - listing
            if route.kind == "import":
                assert after == before, f"{where}: rows written at the upload step"
                if new_files:  # kept for a confirmation: only behind a real preview
                    assert 'name="token"' in html, f"{where}: file kept without a preview"
                    outcome["previewed"] += 1
                else:
                    outcome["refused"] += 1
                continue
            if not new_files:
                if after != before:  # saved without the file (a name the client could not send)
                    assert route.optional_file, f"{where}: rows written without the file"
                    new = [db.session.get(row_model, i) for i in _ids(row_model) - ids_before]
                    assert all(e.evidence_name is None for e in new), where
                    outcome["saved without file"] = outcome.get("saved without file", 0) + 1
                else:
                    outcome["refused"] += 1
                continue
            assert bad.media == "neutralise" and not (route.images_only
                                                      and not bad.name.endswith(
                                                          (".jpg", ".png", ".webp"))), \
                f"{where}: stored ({resp.status_code})"
            assert resp.status_code == 302, where
            assert all(STORED_NAME.match(Path(n).name) for n in new_files), new_files
            new_ids = sorted(_ids(row_model) - ids_before)
            assert len(new_ids) == 1 and len(new_files) == 1, where
            for url in route.serve(new_ids):
                _check_served(c, url, bad)
            outcome["stored"] += 1
    assert _listing(LMS / "static") == static_before, "files appeared in the web root"
    assert not Path("/tmp/pwn-corpus.pdf").exists()  # noqa: S108 - R33: nothing ran the name
    # at least the stored names are random: the uploader's name appears nowhere on disk
    for name in _listing(upload_root):
        assert HTML_NAME not in name and ".php" not in name.lower()
    print(f"\nF3: {len(files())} files × {len(routes)} routes = {len(files()) * len(routes)} "
          f"uploads: {tally}")
    refused_everywhere = {b.name for b in files() if b.media == "reject"}
    for route in routes:
        assert tally[route.name]["stored"] <= len(files()) - len(refused_everywhere)

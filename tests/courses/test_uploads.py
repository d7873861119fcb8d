"""Attachment uploads: a corpus of hostile files is refused through the upload route with a
Chinese message next to the field and nothing left on disk; good files are stored under random
names, images re-encoded (no EXIF, no appended data); per-route body limits."""

from __future__ import annotations

import io
import re
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.courses import uploads
from lms.courses.models import Attachment
from lms.extensions import db
from tests.courses.author_factories import PDF, files_under, image_bytes, make_course, make_lesson
from tests.factories import make_user

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"This program"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01" + b"\x00" * 20
BMP = b"BM" + (70).to_bytes(4, "little") + b"\x00" * 64
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 60
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)">'
       b"<script>alert(1)</script></svg>")
HTML = (b"<!doctype html><html><body><script>fetch('/auth/logout',{method:'POST'})</script>"
        b"</body></html>")
PHP = b"<?php system($_GET['c']); ?>"
MP4_HEAD = (24).to_bytes(4, "big") + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomavc1"
QUICKTIME = (20).to_bytes(4, "big") + b"ftypqt  " + b"\x00\x00\x02\x00" + b"qt  " + b"\x00" * 40
MATROSKA = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska" + b"\x00" * 40
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 60
PDF_JS = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (alert(1)) >> >> endobj\n%%EOF"
PDF_HEX_JS = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /J#61vaScript /JS (x) >> >> endobj\n%%EOF"
PDF_LAUNCH = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /Launch /F (cmd.exe) >> >> endobj\n%%EOF"
PDF_EMBED = b"%PDF-1.4\n1 0 obj << /Names << /EmbeddedFiles 2 0 R >> >> endobj\n%%EOF"


def _jpeg() -> bytes:
    return image_bytes("JPEG")


HOSTILE = [
    ("evil.php", PHP),
    ("shell.phtml", PHP),
    ("x.php.jpg", PHP),
    ("x.jpg.php", image_bytes("JPEG")),
    ("page.html", HTML),
    ("page.htm", HTML),
    ("page.pdf", HTML),
    ("drawing.svg", SVG),
    ("drawing.png", SVG),
    ("app.js", b"alert(document.domain)"),
    ("report.docm", ZIP),
    ("report.doc", OLE),
    ("table.xlsx", ZIP),
    ("bundle.zip", ZIP),
    ("movie.mp4", ZIP),
    ("setup.mp4", EXE),
    ("setup.pdf", EXE),
    ("setup.exe", EXE),
    ("eicar.pdf", EICAR),
    ("anim.gif", GIF),
    ("anim.png", GIF),
    ("gifar.jpg", GIF + ZIP),
    ("bitmap.bmp", BMP),
    ("bitmap.jpg", BMP),
    ("empty.pdf", b""),
    ("empty.png", b""),
    ("empty.mp4", b""),
    ("../../app.py", b"import os"),
    ("../../lesson.pdf", PDF),
    ("a/b.pdf", PDF),
    ("..\\..\\win.pdf", PDF),
    ("%2e%2e%2fetc.pdf", PDF),
    ("x.pdf\x00.png", PDF),
    ("report\u202egpj.pdf", PDF),
    ("long" * 60 + ".pdf", PDF),
    ("README", PDF),
    ("trailing.pdf.", PDF),
    (".pdf", PDF),
    ("broken.jpg", b"\xff\xd8\xff\xe0" + HTML),
    ("pdf-script.pdf", PDF_JS),
    ("pdf-hex-script.pdf", PDF_HEX_JS),
    ("pdf-launch.pdf", PDF_LAUNCH),
    ("pdf-embedded.pdf", PDF_EMBED),
    ("quicktime.mp4", QUICKTIME),
    ("matroska.webm", MATROSKA),
    ("webm-as.mp4", WEBM),
    ("png-as.jpg", image_bytes("PNG")),
]


@pytest.fixture
def upload_dir(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


@pytest.fixture
def setup(app, world, upload_dir, client):
    trainer = make_user("trainer_a", world.county_a, [("trainer", world.county_a)])
    course = make_course(world.town_a)
    lesson = make_lesson(course)
    db.session.commit()
    client.login(trainer.username)
    return course, lesson


def _post_file(client, url, name, data, content_type="application/octet-stream", field="file"):
    return client.post(url, {field: (io.BytesIO(data), name, content_type)},
                       content_type="multipart/form-data")


def _field_error(resp) -> str:
    match = re.search(r'<p class="error" id="file-err">([^<]+)</p>', resp.get_data(as_text=True))
    assert match, "the refusal is shown next to the file field"
    return match.group(1)


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(("name", "data"), HOSTILE, ids=[repr(n)[:40] for n, _ in HOSTILE])
def test_hostile_file_is_refused_and_nothing_is_left(setup, client, upload_dir, name, data):
    course, lesson = setup
    before = files_under(upload_dir)
    url = f"/courses/manage/lessons/{lesson.id}/attachments"
    resp = _post_file(client, url, name, data, content_type="image/png")  # spoofed type
    assert resp.status_code == 422
    assert _cjk(_field_error(resp))
    assert files_under(upload_dir) == before
    assert db.session.execute(select(func.count(Attachment.id))).scalar() == 0
    assert db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "attachment.reject")).scalar() is not None


@pytest.mark.parametrize(("kind", "name", "data"), [
    ("pdf", "big.pdf", PDF + b"0" * 200),
    ("image", "big.png", image_bytes("PNG", (64, 64))),
    ("video", "big.mp4", MP4_HEAD + b"\x00" * 300),
])
def test_oversize_file_is_refused(app, setup, client, upload_dir, kind, name, data):
    course, _lesson = setup
    app.config[f"UPLOAD_MAX_{kind.upper()}_BYTES"] = 100
    resp = _post_file(client, f"/courses/manage/{course.id}/attachments", name, data)
    assert resp.status_code == 422
    assert "文件太大" in _field_error(resp)
    assert files_under(upload_dir) == []


def test_decompression_bomb_is_refused_before_decoding(app, setup, client, upload_dir):
    course, _lesson = setup
    app.config["UPLOAD_MAX_IMAGE_PIXELS"] = 100
    resp = _post_file(client, f"/courses/manage/{course.id}/attachments", "bomb.png",
                      image_bytes("PNG", (200, 200)))
    assert resp.status_code == 422
    assert "百万像素" in _field_error(resp)
    assert files_under(upload_dir) == []


def test_png_bomb_header_is_refused(tmp_path):
    """A PNG that claims 60000 × 60000 pixels is refused from its header, not decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (len(body).to_bytes(4, "big") + kind + body
                + zlib.crc32(kind + body).to_bytes(4, "big"))

    ihdr = (60000).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
           + chunk(b"IEND", b""))
    with pytest.raises(uploads.UploadRejected, match="百万像素"):
        uploads.store(io.BytesIO(png), "bomb.png", folder=tmp_path, limits=_limits())
    assert files_under(tmp_path) == []


# ---------------------------------------------------------------- the storing module itself


def _limits(**kw) -> uploads.Limits:
    base = {"image_bytes": 10 << 20, "pdf_bytes": 50 << 20, "video_bytes": 500 << 20,
            "image_pixels": 40_000_000}
    return uploads.Limits(**{**base, **kw})


def test_pdf_is_stored_under_a_random_name(tmp_path):
    stored = uploads.store(io.BytesIO(PDF), "第1课 讲义.pdf", folder=tmp_path, limits=_limits())
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", stored.stored_name)
    assert files_under(tmp_path) == [stored.stored_name]
    assert (tmp_path / stored.stored_name).read_bytes() == PDF
    assert (stored.kind, stored.content_type, stored.size_bytes) == ("pdf", "application/pdf",
                                                                      len(PDF))
    assert stored.display_name == "第1课 讲义.pdf"


def test_video_larger_than_one_chunk_is_streamed_intact(tmp_path):
    import hashlib

    data = MP4_HEAD + bytes(range(256)) * (10 * 1024 + 7)  # about 2.5 MB
    stored = uploads.store(io.BytesIO(data), "课程.MP4", folder=tmp_path, limits=_limits())
    assert stored.content_type == "video/mp4"
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (tmp_path / stored.stored_name).read_bytes() == data


def test_webm_is_accepted(tmp_path):
    stored = uploads.store(io.BytesIO(WEBM), "a.webm", folder=tmp_path, limits=_limits())
    assert stored.content_type == "video/webm"


def test_size_cap_is_inclusive(tmp_path):
    exact = PDF + b"%" * 100
    assert uploads.store(io.BytesIO(exact), "a.pdf", folder=tmp_path,
                         limits=_limits(pdf_bytes=len(exact))).size_bytes == len(exact)
    with pytest.raises(uploads.UploadRejected):
        uploads.store(io.BytesIO(exact + b"%"), "b.pdf", folder=tmp_path,
                      limits=_limits(pdf_bytes=len(exact)))
    assert len(files_under(tmp_path)) == 1


def test_polyglot_jpeg_is_reencoded_without_the_html_or_exif(tmp_path):
    data = image_bytes("JPEG", (32, 32), exif=True) + HTML
    assert b"<script" in data and b"SecretCam" in data
    stored = uploads.store(io.BytesIO(data), "photo.jpg", folder=tmp_path, limits=_limits())
    out = (tmp_path / stored.stored_name).read_bytes()
    assert b"<script" not in out and b"SecretCam" not in out and b"GPS-HOME" not in out
    assert out.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(out)) as img:
        assert img.size == (32, 32) and not img.getexif()


def test_png_text_chunks_are_dropped(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    buf = io.BytesIO()
    Image.new("RGBA", (8, 8)).save(buf, "PNG", pnginfo=info)
    stored = uploads.store(io.BytesIO(buf.getvalue()), "a.png", folder=tmp_path, limits=_limits())
    assert b"<script" not in (tmp_path / stored.stored_name).read_bytes()


def test_webp_and_palette_images_are_reencoded(tmp_path):
    webp = uploads.store(io.BytesIO(image_bytes("WEBP")), "a.webp", folder=tmp_path,
                         limits=_limits())
    assert webp.content_type == "image/webp"
    buf = io.BytesIO()
    Image.new("P", (8, 8)).save(buf, "PNG", transparency=0)
    assert uploads.store(io.BytesIO(buf.getvalue()), "p.png", folder=tmp_path,
                         limits=_limits()).kind == "image"


def test_double_extension_with_real_content_is_stored_by_content_under_a_random_name(tmp_path):
    stored = uploads.store(io.BytesIO(_jpeg()), "x.php.jpg", folder=tmp_path, limits=_limits())
    assert stored.content_type == "image/jpeg"
    assert stored.display_name == "x.php.jpg"
    assert "." not in stored.stored_name and "php" not in stored.stored_name.lower()
    assert files_under(tmp_path) == [stored.stored_name]


def test_windows_path_from_old_browsers_keeps_only_the_name(tmp_path):
    stored = uploads.store(io.BytesIO(PDF), "C:\\fakepath\\讲义.pdf", folder=tmp_path,
                           limits=_limits())
    assert stored.display_name == "讲义.pdf"


def test_shell_metacharacters_in_a_name_are_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "a;touch${IFS}pwn;$(touch pwn2)`touch pwn3`.pdf"
    stored = uploads.store(io.BytesIO(PDF), name, folder=tmp_path / "up", limits=_limits())
    assert stored.display_name == name
    assert files_under(tmp_path) == [f"up/{stored.stored_name}"]


def test_poster_upload_accepts_images_only(tmp_path):
    with pytest.raises(uploads.UploadRejected, match="图片"):
        uploads.store(io.BytesIO(PDF), "a.pdf", folder=tmp_path, limits=_limits(),
                      kinds=frozenset({"image"}))


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(src, dst):  # noqa: ARG001
        raise OSError("disk full")

    monkeypatch.setattr(uploads.os, "replace", broken)
    with pytest.raises(uploads.UploadRejected, match="保存失败"):
        uploads.store(io.BytesIO(PDF), "a.pdf", folder=tmp_path, limits=_limits())
    assert files_under(tmp_path) == []


def test_active_pdf_content_across_a_chunk_boundary_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "CHUNK", 64)
    data = PDF + b" " * (64 * 3 - len(PDF) - 5) + b"/JavaScript (x)" + b" " * 100
    with pytest.raises(uploads.UploadRejected, match="脚本"):
        uploads.store(io.BytesIO(data), "a.pdf", folder=tmp_path, limits=_limits())
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(("ext", "head", "ok"), [
    (".pdf", PDF, True), (".pdf", b" %PDF-1.4", False),
    (".png", image_bytes("PNG"), True), (".png", b"\x89PNX\r\n\x1a\n", False),
    (".jpeg", _jpeg(), True), (".webp", image_bytes("WEBP"), True),
    (".webp", b"RIFF\x00\x00\x00\x00WAVEfmt ", False),
    (".mp4", MP4_HEAD, True), (".mp4", QUICKTIME, False),
    (".mp4", (9999).to_bytes(4, "big") + b"ftypisom" + b"\x00" * 8, False),
    (".webm", WEBM, True), (".webm", MATROSKA, False), (".gif", GIF, False),
])
def test_magic_bytes(ext, head, ok):
    assert uploads.content_matches(ext, head[:uploads.HEAD_BYTES]) is ok


def test_stored_paths_accept_only_generated_names(tmp_path):
    assert uploads.path_of(tmp_path, "../../etc/passwd") is None
    assert uploads.path_of(tmp_path, "a" * 32) == tmp_path / ("a" * 32)


# ---------------------------------------------------------------- body limits per route


def test_only_the_upload_route_accepts_bodies_above_the_form_limit(app, world, setup, client):
    course, lesson = setup
    app.config["MAX_CONTENT_LENGTH"] = 4096
    video = MP4_HEAD + b"\x00" * 20_000
    resp = _post_file(client, f"/courses/manage/{course.id}/attachments", "v.mp4", video)
    assert resp.status_code == 302
    assert db.session.execute(select(Attachment.size_bytes)).scalar() == len(video)
    big_text = {"title": "x", "minutes": "1", "body": "字" * 5000}
    assert client.post(f"/courses/manage/lessons/{lesson.id}/edit", big_text).status_code == 413
    assert client.post(f"/courses/manage/{course.id}/preview", big_text).status_code == 413


def test_users_who_cannot_upload_keep_the_small_body_limit(app, world, upload_dir, client):
    course = make_course(world.town_a)
    db.session.commit()
    app.config["MAX_CONTENT_LENGTH"] = 4096
    client.login(world.trainee.username)
    resp = _post_file(client, f"/courses/manage/{course.id}/attachments", "v.mp4",
                      MP4_HEAD + b"\x00" * 20_000)
    assert resp.status_code == 413
    assert files_under(upload_dir) == []

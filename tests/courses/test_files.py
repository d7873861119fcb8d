"""The file route: who may open an attachment (else 404), the response headers, byte ranges for
video, and stored names that never come from the uploader's file name."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from lms.courses.models import Attachment
from lms.courses.views.files import ascii_fallback
from lms.extensions import db
from tests.courses.author_factories import (
    PDF,
    files_under,
    folder,
    image_bytes,
    make_attachment,
    make_course,
    make_lesson,
)
from tests.factories import make_person, make_user

VIDEO = (24).to_bytes(4, "big") + b"ftypisom\x00\x00\x02\x00isomavc1" + bytes(range(256)) * 40


@pytest.fixture
def files(app, world, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    course = make_course(world.town_a)
    lesson = make_lesson(course)
    made = {
        "pdf": make_attachment(course, lesson, name="第1课 讲义.pdf"),
        "video": make_attachment(course, lesson, data=VIDEO, kind="video",
                                 content_type="video/mp4", name="入户调查.mp4"),
        "image": make_attachment(course, None, data=image_bytes("PNG"), kind="image",
                                 content_type="image/png", name="流程图.png"),
    }
    db.session.commit()
    return made


def _url(att: Attachment, query: str = "") -> str:
    return f"/courses/files/{att.id}{query}"


def _fetch(client, url: str, **kw):
    """GET, read the body and close the response (the served file is closed with it)."""
    resp = client.get(url, **kw)
    resp.get_data()
    resp.close()
    return resp


def test_pdf_headers(world, files, client):
    client.login(world.trainee.username)
    resp = _fetch(client, _url(files["pdf"]))
    assert resp.status_code == 200 and resp.data == PDF
    h = resp.headers
    assert h["Content-Type"] == "application/pdf"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Content-Disposition"] == (
        "inline; filename=\"1.pdf\"; filename*=UTF-8''%E7%AC%AC1%E8%AF%BE%20%E8%AE%B2%E4%B9%89.pdf")
    assert "no-store" in h["Cache-Control"]
    assert "sandbox" not in h["Content-Security-Policy"]  # Chrome's PDF viewer refuses a sandbox
    assert "script-src 'self'" in h["Content-Security-Policy"]


def test_image_and_video_are_sandboxed(world, files, client):
    client.login(world.trainee.username)
    for kind, ctype in (("image", "image/png"), ("video", "video/mp4")):
        resp = _fetch(client, _url(files[kind]))
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == ctype
        assert resp.headers["Content-Security-Policy"] == "sandbox"
        assert resp.headers["Content-Disposition"].startswith("inline; ")


def test_download_parameter_gives_an_attachment(world, files, client):
    client.login(world.trainee.username)
    resp = _fetch(client, _url(files["pdf"], "?download=1"))
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    assert resp.headers["Content-Security-Policy"] == "sandbox"


def test_video_range_request_returns_206_with_the_right_bytes(world, files, client):
    client.login(world.trainee.username)
    resp = _fetch(client, _url(files["video"]), headers={"Range": "bytes=100-199"})
    assert resp.status_code == 206
    assert resp.data == VIDEO[100:200]
    assert resp.headers["Content-Range"] == f"bytes 100-199/{len(VIDEO)}"
    assert resp.headers["Accept-Ranges"] == "bytes"
    tail = _fetch(client, _url(files["video"]), headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == VIDEO[-10:]
    bad = _fetch(client, _url(files["video"]), headers={"Range": f"bytes={len(VIDEO) + 5}-"})
    assert bad.status_code == 416


def test_trainee_of_another_county_gets_404(world, files, client):
    make_user("13800000002", world.village_b, person=world.person_b, phone="13800000002")
    db.session.commit()
    client.login("13800000002")
    for att in files.values():
        assert _fetch(client, _url(att)).status_code == 404


def test_trainer_of_another_county_gets_404(world, files, client):
    make_user("trainer_b", world.county_b, [("trainer", world.county_b)])
    db.session.commit()
    client.login("trainer_b")
    assert _fetch(client, _url(files["pdf"])).status_code == 404


def test_anonymous_is_sent_to_login(files, client):
    resp = _fetch(client, _url(files["pdf"]))
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_courses_of_units_above_and_the_library_are_visible(world):
    city = make_attachment(make_course(world.city), write=False)
    library = make_attachment(make_course(None, source="file"), write=False)
    town_b = make_attachment(make_course(world.town_b), write=False)
    db.session.commit()
    from lms.courses.access import attachment_for

    for att, seen in ((city, True), (library, True), (town_b, False)):
        assert (attachment_for(world.trainee, att.id) is not None) is seen
    assert attachment_for(world.trainee, 2**40) is None
    assert attachment_for(None, city.id) is None


def test_staff_without_a_person_record_see_courses_above_their_home_unit(world, files):
    from lms.courses.access import attachment_for

    assert attachment_for(world.a_hr, files["pdf"].id) is None  # owned by a unit below
    city = make_attachment(make_course(world.city), write=False)
    assert attachment_for(world.a_hr, city.id) is not None


def test_retired_course_or_lesson_is_404_for_learners_but_not_for_its_managers(world, files,
                                                                                client):
    files["pdf"].lesson.is_retired = True
    db.session.commit()
    client.login(world.trainee.username)
    assert _fetch(client, _url(files["pdf"])).status_code == 404
    assert _fetch(client, _url(files["image"])).status_code == 200
    files["image"].course.is_retired = True
    db.session.commit()
    assert _fetch(client, _url(files["image"])).status_code == 404
    client.logout()
    client.login(world.town_a_admin.username)  # unit admin: manages courses of the township
    assert _fetch(client, _url(files["pdf"])).status_code == 200
    assert _fetch(client, _url(files["image"])).status_code == 200


def test_missing_file_on_disk_and_unknown_ids_are_404(world, files, client):
    (folder() / files["pdf"].stored_name).unlink()
    client.login(world.trainee.username)
    assert _fetch(client, _url(files["pdf"])).status_code == 404
    assert client.get("/courses/files/0").status_code == 404
    assert client.get("/courses/files/99999999999999999999").status_code == 404


def test_a_person_moved_to_another_county_loses_access(world, files, client):
    person = make_person(world.village_b, "赵六")
    make_user("zhao", world.village_b, person=person)
    db.session.commit()
    client.login("zhao")
    assert _fetch(client, _url(files["pdf"])).status_code == 404


def test_stored_name_never_comes_from_the_upload_name(world, app, tmp_path, client):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    make_user("trainer_a", world.county_a, [("trainer", world.county_a)])
    course = make_course(world.town_a)
    db.session.commit()
    client.login("trainer_a")
    names = ["x.php.jpg", "index.html.png", "讲义.pdf"]
    bodies = [image_bytes("JPEG"), image_bytes("PNG"), PDF]
    for name, body in zip(names, bodies, strict=True):
        resp = client.post(f"/courses/manage/{course.id}/attachments",
                           {"file": (io.BytesIO(body), name)}, content_type="multipart/form-data")
        assert resp.status_code == 302
    stored = db.session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
    assert [a.original_name for a in stored] == names
    on_disk = files_under(tmp_path / "uploads")
    assert sorted(f"attachments/{a.stored_name}" for a in stored) == on_disk
    for att in stored:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", att.stored_name)
        assert "." not in att.stored_name and "php" not in att.stored_name
    served = _fetch(client, f"/courses/files/{stored[0].id}")
    assert served.headers["Content-Type"] == "image/jpeg"
    assert 'filename="x.php.jpg"' in served.headers["Content-Disposition"]


@pytest.mark.parametrize(("name", "ctype", "expected"), [
    ("讲义.pdf", "application/pdf", "attachment-7.pdf"),
    ('a"b;c\\d.pdf', "application/pdf", "a_b_c_d.pdf"),
    ("Café menu.png", "image/png", "Cafe menu.png"),
    ("x.php.jpg", "image/jpeg", "x.php.jpg"),
    ("noext", "video/mp4", "noext.mp4"),
])
def test_ascii_fallback_names(name, ctype, expected):
    assert ascii_fallback(name, 7, ctype) == expected

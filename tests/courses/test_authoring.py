"""Trainer authoring: course and lesson services (scope, audit, read-only file courses), order,
the editor pages with the live preview, attachments (upload, poster, delete), and XSS payloads
in lesson Markdown never reaching a page as executable HTML."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry, verify_chain
from lms.courses import authoring
from lms.courses.authoring import CourseData, LessonData
from lms.courses.models import Attachment, Course
from lms.errors import InvalidState, NotAllowed, ValidationFailed
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
from tests.factories import make_user

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[点我](javascript:alert(1))",
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="javascript:alert(1)">a</a>',
    "<svg onload=alert(1)></svg>",
    "<iframe src=\"https://evil.example/\"></iframe>",
    '<object data="x.swf"></object>',
    "[a](JaVaScRiPt:alert(1))",
    '<div style="background:url(javascript:alert(1))" onclick="alert(1)">x</div>',
    "{: onclick=\"alert(1)\" }\n段落",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


@pytest.fixture
def trainer(app, world, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    user = make_user("trainer_a", world.county_a, [("trainer", world.county_a)])
    db.session.commit()
    return user


@pytest.fixture
def course(world, trainer) -> Course:
    c = authoring.create_course(world.town_a, CourseData("低保审核实务", summary="入户调查"),
                                actor=trainer, now=NOW)
    for title in ("申请受理", "入户调查", "民主评议"):
        authoring.add_lesson(c, LessonData(title, 20, f"# {title}\n\n正文"), actor=trainer, now=NOW)
    db.session.commit()
    return c


def _titles(course: Course) -> list[str]:
    db.session.refresh(course)
    return [le.title for le in sorted(course.lessons, key=lambda le: le.position)]


# ---------------------------------------------------------------- services


def test_create_course_in_scope_is_audited(world, trainer, course):
    assert course.source == "browser" and course.org_unit_id == world.town_a.id
    assert course.code.startswith("WEB-") and course.slug.startswith("web-")
    entry = _actions("course.create")[0]
    assert entry.org_unit_id == world.town_a.id and entry.actor_id == trainer.id
    assert [le.position for le in course.lessons] == [1, 2, 3]
    assert len(_actions("lesson.create")) == 3
    assert _actions("lesson.create")[0].org_unit_id == world.town_a.id
    assert verify_chain() is None


def test_create_course_outside_scope_or_at_a_village_is_refused(world, trainer):
    with pytest.raises(NotAllowed):
        authoring.create_course(world.town_b, CourseData("x"), actor=trainer, now=NOW)
    with pytest.raises(ValidationFailed) as exc:
        authoring.create_course(world.village_a, CourseData("x"), actor=trainer, now=NOW)
    assert exc.value.field == "unit"


def test_course_fields_are_validated(world, trainer, course):
    with pytest.raises(ValidationFailed) as exc:
        authoring.create_course(world.town_a, CourseData("y", code=course.code.lower()),
                                actor=trainer, now=NOW)
    assert exc.value.field == "code"
    bad_data = [(CourseData(" "), "title"),
                (CourseData("x", post_types=("boss",)), "post_types"),
                (CourseData("x", credit_hours=Decimal("-1")), "credit_hours")]
    for bad, field in bad_data:
        with pytest.raises(ValidationFailed) as exc:
            authoring.update_course(course, bad, actor=trainer, now=NOW)
        assert exc.value.field == field


def test_update_course_keeps_the_code_when_left_empty(trainer, course):
    code = course.code
    authoring.update_course(course, CourseData("新名称", post_types=("village_assistant",),
                                               credit_hours=Decimal("1.5")),
                            actor=trainer, now=NOW)
    assert (course.code, course.title, course.post_types) == (code, "新名称", "village_assistant")
    assert _actions("course.update")[0].details["before"]["title"] == "低保审核实务"


def test_file_courses_are_read_only(world, trainer):
    library = make_course(None, source="file")
    with pytest.raises(InvalidState):
        authoring.update_course(library, CourseData("x"), actor=None, now=NOW)
    with pytest.raises(InvalidState):
        authoring.add_lesson(library, LessonData("x"), actor=trainer, now=NOW)


def test_trainer_of_another_county_cannot_change_the_course(world, course):
    other = make_user("trainer_b", world.county_b, [("trainer", world.county_b)])
    with pytest.raises(NotAllowed):
        authoring.add_lesson(course, LessonData("x"), actor=other, now=NOW)


def test_update_lesson_audits_changes_only(trainer, course):
    lesson = course.lessons[0]
    for _ in range(2):
        authoring.update_lesson(lesson, LessonData(lesson.title, 25, "新的正文"), actor=trainer,
                                now=NOW)
    assert len(_actions("lesson.update")) == 1
    assert lesson.body == "新的正文" and lesson.minutes == 25
    with pytest.raises(ValidationFailed) as exc:
        authoring.update_lesson(lesson, LessonData("x", 601), actor=trainer, now=NOW)
    assert exc.value.field == "minutes"


def test_retire_and_restore_a_lesson(trainer, course):
    lesson = course.lessons[1]
    authoring.set_lesson_retired(lesson, True, actor=trainer, now=NOW)
    authoring.set_lesson_retired(lesson, True, actor=trainer, now=NOW)
    authoring.set_lesson_retired(lesson, False, actor=trainer, now=NOW)
    assert [len(_actions(a)) for a in ("lesson.retire", "lesson.restore")] == [1, 1]
    assert not lesson.is_retired


def test_reorder_lessons(trainer, course):
    ids = [le.id for le in course.lessons]
    authoring.reorder_lessons(course, [ids[2], ids[0], ids[1]], actor=trainer, now=NOW)
    assert _titles(course) == ["民主评议", "申请受理", "入户调查"]
    assert _actions("lesson.reorder")[0].details["order"] == [ids[2], ids[0], ids[1]]


@pytest.mark.parametrize("order", [[1], [], "dup", "foreign"])
def test_reorder_refuses_an_incomplete_or_foreign_list(world, trainer, course, order):
    ids = [le.id for le in course.lessons]
    other = make_lesson(make_course(world.town_a))
    lists = {"dup": [ids[0], ids[0], ids[1], ids[2]], "foreign": [*ids, other.id]}
    with pytest.raises(ValidationFailed):
        authoring.reorder_lessons(course, lists.get(order, order) if isinstance(order, str)
                                  else [ids[i - 1] for i in order], actor=trainer, now=NOW)


def test_retired_lessons_may_be_left_out_and_go_last(trainer, course):
    first, second, third = sorted(course.lessons, key=lambda le: le.position)
    authoring.set_lesson_retired(first, True, actor=trainer, now=NOW)
    authoring.reorder_lessons(course, [third.id, second.id], actor=trainer, now=NOW)
    assert _titles(course) == ["民主评议", "入户调查", "申请受理"]


def test_move_lesson_up_and_down(trainer, course):
    first, second, _third = sorted(course.lessons, key=lambda le: le.position)
    authoring.move_lesson(first, -1, actor=trainer, now=NOW)  # already first: nothing
    assert not _actions("lesson.reorder")
    authoring.move_lesson(second, -1, actor=trainer, now=NOW)
    assert _titles(course) == ["入户调查", "申请受理", "民主评议"]


# ---------------------------------------------------------------- pages


def test_nav_and_course_list_show_own_subtree_and_the_library(world, trainer, course, client):
    make_course(world.town_b, "罗庄区课程")
    make_course(None, "课程库课程", source="file")
    db.session.commit()
    client.login(trainer.username)
    html = client.get("/courses/manage/").get_data(as_text=True)
    assert 'href="/courses/manage/"' in html
    assert "低保审核实务" in html and "课程库课程" in html and "罗庄区课程" not in html
    assert "低保" in client.get("/courses/manage/?q=低保").get_data(as_text=True)
    assert "低保审核实务" not in client.get("/courses/manage/?q=无此课").get_data(as_text=True)
    client.logout()
    client.login(world.trainee.username)
    assert 'href="/courses/manage/"' not in client.get("/").get_data(as_text=True)
    assert client.get("/courses/manage/").status_code == 403


def test_create_course_through_the_form(world, trainer, client):
    client.login(trainer.username)
    page = client.get("/courses/manage/new").get_data(as_text=True)
    assert "兰山街道" in page and "罗庄街道" not in page
    resp = client.post("/courses/manage/new", {
        "unit": str(world.town_a.id), "title": "特困供养", "code": "tk-01",
        "post_types": ["village_assistant", "township_staff"], "credit_hours": "1.5"})
    assert resp.status_code == 302
    course = db.session.execute(select(Course).where(Course.code == "TK-01")).scalar_one()
    assert course.post_types == "township_staff,village_assistant"
    bad = client.post("/courses/manage/new", {"unit": str(world.town_b.id), "title": "x"})
    assert bad.status_code == 200 and "请从列表中选择单位" in bad.get_data(as_text=True)
    empty = client.post("/courses/manage/new", {"unit": str(world.town_a.id), "title": ""})
    assert "请填写课程名称" in empty.get_data(as_text=True)


def test_other_county_and_library_courses_are_404_for_editing(world, trainer, client):
    other = make_course(world.town_b)
    library = make_course(None, "课程库课程", source="file")
    db.session.commit()
    client.login(trainer.username)
    for url in (f"/courses/manage/{other.id}", f"/courses/manage/{library.id}/edit",
                f"/courses/manage/{library.id}/lessons/new"):
        assert client.get(url).status_code == 404
    resp = client.get(f"/courses/manage/library/{library.slug}")
    assert resp.status_code == 200 and "只能查看" in resp.get_data(as_text=True)
    assert client.get("/courses/manage/library/no-such-course").status_code == 404


def test_lesson_editor_saves_and_previews_without_javascript(trainer, course, client):
    client.login(trainer.username)
    lesson = course.lessons[0]
    page = client.get(f"/courses/manage/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert 'data-preview-url="/courses/manage/' in page and "js/editor.js" in page
    resp = client.post(f"/courses/manage/lessons/{lesson.id}/edit", {
        "title": "申请受理", "minutes": "30", "body": "**要点**", "action": "preview"})
    assert resp.status_code == 200 and "<strong>要点</strong>" in resp.get_data(as_text=True)
    db.session.refresh(lesson)
    assert lesson.minutes == 20  # a preview saves nothing
    resp = client.post(f"/courses/manage/lessons/{lesson.id}/edit", {
        "title": "申请受理", "minutes": "30", "body": "**要点**", "action": "save"})
    assert resp.status_code == 302
    db.session.refresh(lesson)
    assert (lesson.minutes, lesson.body) == (30, "**要点**")
    bad = client.post(f"/courses/manage/lessons/{lesson.id}/edit", {"title": "", "minutes": "x"})
    assert "请填写课时标题" in bad.get_data(as_text=True)
    assert "学习时长应为整数分钟" in bad.get_data(as_text=True)


def test_new_lesson_through_the_form(trainer, course, client):
    client.login(trainer.username)
    resp = client.post(f"/courses/manage/{course.id}/lessons/new",
                       {"title": "救助标准", "minutes": "15", "body": "内容"})
    assert resp.status_code == 302
    assert _titles(course)[-1] == "救助标准"


def test_live_preview_endpoint(world, trainer, course, client):
    client.login(trainer.username)
    token = client.csrf()
    url = f"/courses/manage/{course.id}/preview"
    client._fresh_g()
    resp = client.http.post(url, data={"body": "# 标题\n<script>alert(1)</script>"},
                            headers={"X-CSRFToken": token})
    assert resp.status_code == 200 and resp.is_json
    html = resp.get_json()["html"]
    assert "<h1>标题</h1>" in html and "<script" not in html
    client._fresh_g()
    assert client.http.post(url, data={"body": "x"}).status_code == 400  # no CSRF header
    other = make_course(world.town_b)
    db.session.commit()
    client._fresh_g()
    assert client.http.post(f"/courses/manage/{other.id}/preview", data={"body": "x"},
                            headers={"X-CSRFToken": token}).status_code == 404


def test_reorder_with_buttons_and_drag_and_drop(trainer, course, client):
    client.login(trainer.username)
    first, second, third = sorted(course.lessons, key=lambda le: le.position)
    resp = client.post(f"/courses/manage/lessons/{third.id}/move", {"direction": "up"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#lessons")
    assert _titles(course) == ["申请受理", "民主评议", "入户调查"]
    assert client.post(f"/courses/manage/lessons/{third.id}/move",
                       {"direction": "sideways"}).status_code == 400
    client.post(f"/courses/manage/{course.id}/reorder",
                {"order": [str(second.id), str(third.id), str(first.id)]})
    assert _titles(course) == ["入户调查", "民主评议", "申请受理"]
    client.post(f"/courses/manage/{course.id}/reorder", {"order": ["abc", str(first.id)]})
    assert _titles(course) == ["入户调查", "民主评议", "申请受理"]


def test_retire_lesson_and_course_through_the_pages(trainer, course, client):
    client.login(trainer.username)
    lesson = course.lessons[0]
    client.post(f"/courses/manage/lessons/{lesson.id}/retire", {"retired": "1"})
    client.post(f"/courses/manage/{course.id}/retire", {"retired": "1"})
    db.session.refresh(lesson)
    db.session.refresh(course)
    assert lesson.is_retired and course.is_retired
    page = client.get(f"/courses/manage/{course.id}").get_data(as_text=True)
    assert "恢复使用" in page and "已停用" in page


# ---------------------------------------------------------------- attachments


def _upload(client, url, name, data, field="file"):
    return client.post(url, {field: (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_upload_poster_and_delete(trainer, course, client):
    client.login(trainer.username)
    lesson = course.lessons[0]
    video = (24).to_bytes(4, "big") + b"ftypisom\x00\x00\x02\x00isomavc1" + b"\x00" * 100
    resp = _upload(client, f"/courses/manage/lessons/{lesson.id}/attachments", "第一课.mp4", video)
    assert resp.status_code == 302
    att = db.session.execute(select(Attachment)).scalar_one()
    assert (att.lesson_id, att.kind, att.original_name) == (lesson.id, "video", "第一课.mp4")
    assert _actions("attachment.upload")[0].details["sha256"] == att.sha256
    page = client.get(f"/courses/manage/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert "第一课.mp4" in page and "还没有封面" in page and "H.264 视频、AAC 音频" in page

    for _ in range(2):  # the second poster replaces the first
        resp = _upload(client, f"/courses/manage/attachments/{att.id}/poster", "封面.png",
                       image_bytes("PNG"), field="poster")
        assert resp.status_code == 302
    db.session.refresh(att)
    assert att.poster is not None and att.poster.kind == "image"
    assert len(files_under(folder())) == 2
    bad = _upload(client, f"/courses/manage/attachments/{att.id}/poster", "x.pdf", PDF,
                  field="poster")
    assert bad.status_code == 302 and len(files_under(folder())) == 2

    resp = client.post(f"/courses/manage/attachments/{att.id}/delete")
    assert resp.status_code == 302
    assert db.session.execute(select(Attachment)).scalars().all() == []
    assert files_under(folder()) == []
    assert len(_actions("attachment.delete")) == 3  # video, current poster, replaced poster


def test_upload_to_the_course_and_list_with_size_and_type(trainer, course, client):
    client.login(trainer.username)
    resp = _upload(client, f"/courses/manage/{course.id}/attachments", "政策汇编.pdf", PDF)
    assert resp.status_code == 302
    page = client.get(f"/courses/manage/{course.id}").get_data(as_text=True)
    assert "政策汇编.pdf" in page and "PDF 文件（PDF）" in page and f"{len(PDF)} 字节" in page
    assert "整门课程" in page and "data-confirm" in page


def test_file_course_attachments_cannot_be_deleted(world, trainer, client):
    library = make_course(None, source="file")
    att = make_attachment(library)
    db.session.commit()
    client.login(trainer.username)
    assert client.post(f"/courses/manage/attachments/{att.id}/delete").status_code == 404
    with pytest.raises(InvalidState):
        authoring.delete_attachment(att, actor=None, now=NOW)


# ---------------------------------------------------------------- XSS in lesson Markdown


class _Executable(HTMLParser):
    """Collects anything that would run: script elements with content or a foreign source,
    event-handler attributes, javascript:/data: URLs, embedding elements."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        if tag in ("iframe", "object", "embed", "svg", "math", "base"):
            self.found.append(tag)
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/js/"):
                self.found.append(f"script src={src!r}")
            self._in_script = True
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            if name in ("href", "src", "action", "data") and value and \
                    value.strip().lower().replace("\t", "").startswith(("javascript:", "data:")):
                self.found.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):  # noqa: ANN001, ANN201
        if self._in_script and data.strip():
            self.found.append("inline script")


def _executable(html: str) -> list[str]:
    parser = _Executable()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("payload", XSS)
def test_xss_in_lesson_markdown_never_reaches_a_page_as_html(world, trainer, client, payload):
    course = authoring.create_course(world.town_a, CourseData("XSS"), actor=trainer, now=NOW)
    lesson = authoring.add_lesson(course, LessonData("课", 5, payload), actor=trainer, now=NOW)
    library = make_course(None, "课程库", source="file")
    make_lesson(library, body=payload)
    db.session.commit()
    client.login(trainer.username)
    pages = [f"/courses/manage/lessons/{lesson.id}/edit", f"/courses/manage/library/{library.slug}"]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert _executable(html) == [], url
    token = client.csrf()
    client._fresh_g()
    preview = client.http.post(f"/courses/manage/{course.id}/preview", data={"body": payload},
                               headers={"X-CSRFToken": token}).get_json()["html"]
    assert _executable(preview) == []
    assert json.dumps(preview)  # plain JSON string

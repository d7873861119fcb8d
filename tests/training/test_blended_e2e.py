"""A blended program end to end through the pages: a county trainer creates it, attaches a
course, opens it, auto-enrols, schedules a session and opens sign-in; a township staff member
learns both lessons and signs in with the code; the trainer issues certificates; the trainee's
PDF names them in Chinese and the public verification page finds it."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask import current_app, url_for
from pypdf import PdfReader
from sqlalchemy import select

from lms.courses.models import Course, Lesson
from lms.db import utcnow
from lms.extensions import db
from lms.org.models import PostType
from lms.training.enrolment import TZ
from lms.training.models import Completion, Enrollment, Program, TrainingSession
from tests.factories import make_person, make_user

TITLE = "2026年兰山区乡镇民政工作人员轮训班"
NAME = "王堃"


def _path(endpoint: str, **values: object) -> str:
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def _ok(response) -> None:  # noqa: ANN001
    assert response.status_code in (200, 302), response.status_code
    assert "error" not in response.headers.get("Location", "")


def _course(world) -> Course:  # noqa: ANN001
    course = Course(slug="lanshan-jiuzhu", code="LS-JZ-01", title="社会救助实务",
                    source="browser", org_unit_id=world.county_a.id)
    course.lessons = [Lesson(slug=f"0{i}-lesson", position=i, title=title, minutes=45,
                             body="依据《社会救助暂行办法》。")
                      for i, title in enumerate(["低保审核确认", "临时救助"], start=1)]
    db.session.add(course)
    db.session.commit()
    return course


def _local(moment) -> str:  # noqa: ANN001
    return moment.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def _trainer_sets_up(client, world, course: Course) -> Program:  # noqa: ANN001
    today = utcnow().astimezone(TZ).date()
    _ok(client.post(_path("training.new_program"), {
        "unit": world.county_a.id, "title": TITLE, "kind": "rotation",
        "audience_post_type": PostType.TOWNSHIP_STAFF.value, "mode": "blended",
        "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        "credit_hours": "12", "attendance_threshold_pct": "80", "description": ""}))
    program = db.session.execute(select(Program).where(Program.title == TITLE)).scalar_one()
    _ok(client.post(_path("training.attach_course", program_id=program.id),
                    {"course": course.id}))
    _ok(client.post(_path("training.change_status", program_id=program.id), {"action": "open"}))
    _ok(client.post(_path("training.auto_enrol", program_id=program.id)))
    now = utcnow()
    _ok(client.post(_path("training.new_session", program_id=program.id), {
        "title": "第一讲 低保政策解读", "location": "区民政局三楼会议室",
        "starts_at": _local(now - timedelta(minutes=5)),
        "ends_at": _local(now + timedelta(hours=2)), "credit_hours": "3"}))
    session = db.session.execute(select(TrainingSession).where(
        TrainingSession.program_id == program.id)).scalar_one()
    _ok(client.post(_path("training.open_signin", session_id=session.id), {"minutes": "30"}))
    db.session.expire_all()
    assert db.session.get(Program, program.id).status == "open"
    assert [c.course_id for c in db.session.get(Program, program.id).courses] == [course.id]
    return program


def _pdf_text(data: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[\s\x00]", "", text)


def test_blended_program_end_to_end(app, client, world):  # noqa: ANN001
    course = _course(world)
    make_user("trainer_a", world.county_a, [("trainer", world.county_a)])
    person = make_person(world.town_a, NAME, post_type=PostType.TOWNSHIP_STAFF.value)
    make_user("wangkun", world.town_a, person=person)
    db.session.commit()

    client.login("trainer_a")
    program = _trainer_sets_up(client, world, course)
    enrolment = db.session.execute(select(Enrollment).where(
        Enrollment.program_id == program.id, Enrollment.person_id == person.id)).scalar_one()
    assert enrolment.status == "enrolled"
    code = db.session.execute(select(TrainingSession.signin_code).where(
        TrainingSession.program_id == program.id)).scalar_one()
    assert code
    client.logout()

    client.login("wangkun")
    home = client.get("/").get_data(as_text=True)
    assert TITLE in home and f'href="{_path("training.signin")}">去签到' in home
    for lesson in course.lessons:
        assert client.get(_path("courses.lesson_page", lesson=lesson.id)).status_code == 200
        _ok(client.post(_path("courses.complete_lesson", lesson=lesson.id)))
    signed = client.post(_path("training.signin"), {"code": code}, follow_redirects=True)
    assert "签到成功" in signed.get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "已学 2 / 2 课 · 100.0%" in home and "去签到" not in home
    client.logout()

    client.login("trainer_a")
    issued = client.post(_path("training.issue_certificates", program_id=program.id),
                         follow_redirects=True).get_data(as_text=True)
    assert "已颁发 1 份结业证书" in issued
    done = db.session.execute(select(Completion).where(
        Completion.person_id == person.id, Completion.program_id == program.id)).scalar_one()
    client.logout()

    client.login("wangkun")
    mine = client.get(_path("training.my_certificates")).get_data(as_text=True)
    pdf_url = _path("training.my_certificate_pdf", serial_no=done.serial_no)
    assert pdf_url in mine and TITLE in mine
    pdf = client.get(pdf_url)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    assert NAME in text and done.verify_code in text
    home = client.get("/").get_data(as_text=True)
    assert "已结业" in home and _path("training.my_certificates") in home
    client.logout()

    found = client.get(_path("training.verify", code=done.verify_code)).get_data(as_text=True)
    assert NAME in found and TITLE in found

"""Video lessons resume where the trainee stopped: the position endpoint and ``data-resume``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from lms.courses.models import Attachment, Course, Lesson, LessonProgress
from lms.courses.sync import sync_from_disk
from lms.extensions import db
from lms.org.models import PostType
from tests.courses import write_course
from tests.factories import make_person, make_user

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def va_course(app, world, tmp_path) -> Course:
    write_course(tmp_path)
    sync_from_disk(tmp_path, actor=None, now=NOW)
    db.session.commit()
    return db.session.execute(select(Course).where(Course.code == "ONB-VA")).scalar_one()


@pytest.fixture
def video(app, va_course) -> Attachment:
    if "courses.attachment_file" not in app.view_functions:
        pytest.skip("the attachment route is not in this build")
    lesson = va_course.lessons[0]
    row = Attachment(course_id=va_course.id, lesson_id=lesson.id, kind="video",
                     original_name="讲解.mp4", stored_name="stored-讲解.mp4",
                     content_type="video/mp4", size_bytes=10, sha256="0" * 64)
    db.session.add(row)
    db.session.commit()
    return row


def _url(lesson: Lesson) -> str:
    return f"/courses/learn/lesson/{lesson.id}/position"


def _rows() -> list[LessonProgress]:
    return list(db.session.execute(select(LessonProgress).order_by(LessonProgress.id)).scalars())


def test_a_saved_position_is_rendered_as_data_resume(app, client, world, va_course, video):
    lesson = va_course.lessons[0]
    client.login("13800000001")
    page = client.get(f"/courses/learn/lesson/{lesson.id}").get_data(as_text=True)
    assert 'data-lesson-video' in page and 'data-resume="0"' in page
    assert f'data-position-url="{_url(lesson)}"' in page
    assert f'<source src="/courses/files/{video.id}" type="video/mp4">' in page

    assert client.post(_url(lesson), {"position": "125"}).status_code == 204
    db.session.expire_all()
    (row,) = _rows()
    assert (row.person_id, row.lesson_id, row.position_s) == (world.person_a.id, lesson.id, 125)
    page = client.get(f"/courses/learn/lesson/{lesson.id}").get_data(as_text=True)
    assert 'data-resume="125"' in page

    assert client.post(_url(lesson), {"position": "0"}).status_code == 204
    assert client.post(_url(lesson), {"position": "86400"}).status_code == 204
    db.session.expire_all()
    assert _rows()[0].position_s == 86400
    assert 'data-resume="86400"' in client.get(
        f"/courses/learn/lesson/{lesson.id}").get_data(as_text=True)


@pytest.mark.parametrize("value", ["", "-5", "86401", "1e3", "12.5", "abc", "０１", "9999999",
                                   " 12", "0x10"])
def test_bad_positions_are_refused_and_nothing_changes(app, client, world, va_course, value):
    lesson = va_course.lessons[0]
    client.login("13800000001")
    assert client.post(_url(lesson), {"position": "40"}).status_code == 204
    assert client.post(_url(lesson), {"position": value}).status_code == 400
    assert client.post(_url(lesson), {}).status_code == 400
    db.session.expire_all()
    assert [r.position_s for r in _rows()] == [40]


def test_a_missing_csrf_token_is_refused(app, client, world, va_course):
    lesson = va_course.lessons[0]
    client.login("13800000001")
    assert client.post(_url(lesson), {"position": "40"}, csrf=False).status_code == 400
    assert _rows() == []


def test_another_persons_progress_is_not_touched(app, client, world, va_course, video):
    lesson = va_course.lessons[0]
    # A second village assistant in the same village sees the same course.

    other = make_person(world.village_a, "钱七", post_type=PostType.VILLAGE_ASSISTANT.value)
    make_user("13800000009", world.village_a, person=other)
    db.session.add(LessonProgress(person_id=other.id, lesson_id=lesson.id,
                                  org_unit_id=other.org_unit_id, started_at=NOW, updated_at=NOW,
                                  seconds_spent=30, position_s=77))
    db.session.commit()

    client.login("13800000001")
    assert client.post(_url(lesson), {"position": "300"}).status_code == 204
    db.session.expire_all()
    positions = {r.person_id: r.position_s for r in _rows()}
    assert positions == {other.id: 77, world.person_a.id: 300}
    client.logout()

    client.login("13800000009")
    page = client.get(f"/courses/learn/lesson/{lesson.id}").get_data(as_text=True)
    assert 'data-resume="77"' in page and 'data-resume="300"' not in page


def test_an_out_of_scope_lesson_is_404_and_nothing_is_stored(app, client, world, va_course):
    foreign = Course(slug="b-county", code="B-COUNTY", title="课程B", source="browser",
                     org_unit_id=world.county_b.id, post_types=PostType.VILLAGE_ASSISTANT.value)
    foreign.lessons = [Lesson(slug="l1", position=1, title="B 第1课", minutes=45, body="正文。")]
    db.session.add(foreign)
    db.session.commit()
    client.login("13800000001")
    for lesson_id in (foreign.lessons[0].id, 999999, 99999999999999):
        assert client.post(f"/courses/learn/lesson/{lesson_id}/position",
                           {"position": "10"}).status_code == 404, lesson_id
    assert db.session.execute(select(func.count(LessonProgress.id))).scalar_one() == 0


def test_saving_a_position_keeps_the_reading_time_clock(app, client, world, va_course):
    lesson = va_course.lessons[0]
    db.session.add(LessonProgress(person_id=world.person_a.id, lesson_id=lesson.id,
                                  org_unit_id=world.person_a.org_unit_id, started_at=NOW,
                                  updated_at=NOW, seconds_spent=5, position_s=0))
    db.session.commit()
    client.login("13800000001")
    assert client.post(_url(lesson), {"position": "12"}).status_code == 204
    db.session.expire_all()
    (row,) = _rows()
    assert row.position_s == 12 and row.seconds_spent == 5 and row.updated_at == NOW

"""Regression: a lesson's unit (a correlated subquery) survives a join with its course."""

from __future__ import annotations

from sqlalchemy import select

from lms.courses.models import Attachment, Course, Lesson
from lms.extensions import db


def test_lessons_and_attachments_load_joined_to_their_course(app, world):
    course = Course(slug="c1", code="C1", title="课程", org_unit_id=world.county_a.id)
    course.lessons.append(Lesson(slug="l1", title="第一课", position=1))
    db.session.add(course)
    db.session.commit()
    rows = db.session.execute(
        select(Lesson, Course).join(Course, Lesson.course_id == Course.id)).all()
    assert [(lesson.org_unit_id, c.code) for lesson, c in rows] == [(world.county_a.id, "C1")]
    assert db.session.execute(
        select(Attachment).join(Course, Attachment.course_id == Course.id)).all() == []

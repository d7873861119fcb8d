"""Trainee pages: 我的课程, a course with its lessons and progress, a lesson, "学完本课".

Access: these routes are ``@login_only`` and load every course and lesson through
``lms.courses.learning`` (``course_for`` / ``lesson_for``), which checks that the current user is
a learner allowed to see it (a library course, or a course owned by an ancestor-or-self unit of
the person's unit; for one of the person's post types; not retired) and answers 404 otherwise.
``@requires(..., x_id=Model)`` cannot do this (a lesson has no unit of its own and a trainee holds
no permission), so the URL arguments are named ``course`` and ``lesson`` — without the ``_id``
suffix that ``create_app`` reserves for scope-loaded ids — and must only ever be loaded through
those checked services.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import MAX_ID, login_only
from lms.courses import learning
from lms.courses.content import render_markdown
from lms.courses.models import Course, Lesson
from lms.courses.views import bp
from lms.db import utcnow
from lms.extensions import db
from lms.i18n import _

#: The attachment route (trainer authoring and files area); attachments are listed only when
#: the application has it.
FILE_ENDPOINT = "courses.attachment_file"


def _learner() -> learning.Learner:
    learner = learning.learner_for(current_user.person_id)
    if learner is None:
        abort(404)
    return learner


def _course(learner: learning.Learner, course: int) -> Course:
    try:
        if not 0 < course <= MAX_ID:
            raise learning.NotVisible(course)
        return learning.course_for(learner, course)
    except learning.NotVisible:
        abort(404)


def _lesson(learner: learning.Learner, lesson: int) -> Lesson:
    try:
        if not 0 < lesson <= MAX_ID:
            raise learning.NotVisible(lesson)
        return learning.lesson_for(learner, lesson)
    except learning.NotVisible:
        abort(404)


@bp.get("/learn/")
@login_only
def my_courses() -> str:
    return render_template("courses/learn_courses.html",
                           home=learning.trainee_home(current_user.person_id))


@bp.get("/learn/course/<int:course>")
@login_only
def course_page(course: int) -> str:
    learner = _learner()
    found = _course(learner, course)
    return render_template("courses/learn_course.html", course=found,
                           progress=learning.course_progress(learner, found))


@bp.get("/learn/lesson/<int:lesson>")
@login_only
def lesson_page(lesson: int) -> str:
    learner = _learner()
    found = _lesson(learner, lesson)
    progress = learning.course_progress(learner, found.course)
    prev, nxt = progress.neighbours(found.id)
    has_files = FILE_ENDPOINT in current_app.view_functions
    return render_template("courses/learn_lesson.html", lesson=found, course=found.course,
                           progress=progress, step=progress.step(found.id), prev=prev, next=nxt,
                           body=render_markdown(found.body), file_endpoint=FILE_ENDPOINT,
                           attachments=learning.lesson_attachments(found) if has_files else [],
                           resume=learning.resume_position(learner.person, found))


@bp.post("/learn/lesson/<int:lesson>/complete")
@login_only
def complete_lesson(lesson: int) -> Response:
    learner = _learner()
    found = _lesson(learner, lesson)
    learning.mark_lesson_complete(learner.person, found, now=utcnow(), actor=current_user)
    db.session.commit()
    progress = learning.course_progress(learner, found.course)
    _prev, nxt = progress.neighbours(found.id)
    if progress.is_done:
        flash(_("恭喜！您已学完本课程的全部 %(n)s 课。", n=progress.total), "success")
        return redirect(url_for("courses.course_page", course=found.course_id))
    flash(_("已学完《%(title)s》。", title=found.title), "success")
    if nxt is not None:
        return redirect(url_for("courses.lesson_page", lesson=nxt.id))
    return redirect(url_for("courses.course_page", course=found.course_id))


@bp.post("/learn/lesson/<int:lesson>/time")
@login_only
def record_time(lesson: int) -> tuple[str, int]:
    learner = _learner()
    found = _lesson(learner, lesson)
    seconds = request.form.get("seconds", "")
    if not seconds.isascii() or not seconds.isdigit() or len(seconds) > 6:
        abort(400)
    learning.record_time(learner.person, found, int(seconds), now=utcnow())
    db.session.commit()
    return "", 204


@bp.post("/learn/lesson/<int:lesson>/position")
@login_only
def record_position(lesson: int) -> tuple[str, int]:
    """Where the trainee stopped the lesson's video: whole seconds, ``0..MAX_POSITION_S``."""
    learner = _learner()
    found = _lesson(learner, lesson)
    value = request.form.get("position", "")
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        abort(400)
    position = int(value)
    if position > learning.MAX_POSITION_S:
        abort(400)
    learning.record_position(learner.person, found, position, now=utcnow())
    db.session.commit()
    return "", 204

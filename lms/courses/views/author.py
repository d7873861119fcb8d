"""Trainer pages: courses of the trainer's subtree, the read-only library, the course form, the
lesson editor (Markdown left, live preview right), lesson order and retirement.

Uploads, posters and deleting files are in ``author_files.py``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.courses import author_queries as queries
from lms.courses import authoring
from lms.courses.author_forms import (
    CourseForm,
    LessonForm,
    NewCourseForm,
    PosterForm,
    UploadForm,
    fill_course,
)
from lms.courses.content import render_markdown
from lms.courses.models import Course, Lesson
from lms.courses.views import bp
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit
from lms.org.people_forms import opt_int, unit_choices
from lms.org.queries import unit_choices as unit_rows
from lms.web.actions import commit_or_flash

MAX_PAGE = 10_000


def refuse(form: Any, exc: DomainError, default_field: str) -> None:
    """Undo what the service flushed and show its message next to its field."""
    db.session.rollback()
    field = getattr(form, getattr(exc, "field", None) or default_field, None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def _page() -> int:
    try:
        return min(max(int(request.args.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1


def to_course(course: Course, anchor: str | None = None) -> Response:
    return redirect(url_for("courses.author_course", course_id=course.id, _anchor=anchor))


def to_lesson(lesson: Lesson) -> Response:
    return redirect(url_for("courses.author_edit_lesson", lesson_id=lesson.id))


def render_course(course: Course, *, upload: UploadForm | None = None,
                  status: int = 200) -> tuple[str, int]:
    """The course page; also re-rendered with a refused upload's message."""
    lessons = sorted(course.lessons, key=lambda le: (le.position, le.id))
    return render_template(
        "courses/author_course.html", course=course, lessons=lessons,
        attachments=queries.attachments_of(course), upload=upload or UploadForm(),
        poster_form=PosterForm(),
        upload_url=url_for("courses.author_upload_course_file", course_id=course.id)), status


def render_lesson(course: Course, lesson: Lesson | None, form: LessonForm, *,
                  preview: Any = None, upload: UploadForm | None = None,
                  status: int = 200) -> tuple[str, int]:
    """The lesson editor (new or existing lesson), with its files when it exists."""
    attachments = queries.attachments_of(course, lesson) if lesson is not None else []
    upload_url = (url_for("courses.author_upload_lesson_file", lesson_id=lesson.id)
                  if lesson is not None else None)
    return render_template(
        "courses/author_lesson.html", course=course, lesson=lesson, form=form,
        preview=preview if preview is not None else render_markdown(form.body.data or ""),
        attachments=attachments, upload=upload or UploadForm(), poster_form=PosterForm(),
        upload_url=upload_url), status


# ---------------------------------------------------------------- courses


@bp.get("/manage/")
@requires(Perm.COURSE_MANAGE)
def author_list() -> str:
    q = request.args.get("q", "")
    page = _page()
    size = current_app.config["PAGE_SIZE"]
    return render_template("courses/author_list.html", q=q, page=page, size=size,
                           mine=queries.managed_courses(g.scope, q=q, page=page, size=size),
                           library=queries.library_courses(q=q))


@bp.get("/manage/library/<slug>")
@requires(Perm.COURSE_MANAGE)
def author_library_course(slug: str) -> str:
    course = queries.library_course(slug)
    if course is None:
        abort(404)
    lessons = [le for le in sorted(course.lessons, key=lambda le: le.position) if not le.is_retired]
    return render_template("courses/author_library.html", course=course, lessons=lessons,
                           render_markdown=render_markdown)


def _owner_choices() -> list[SelectChoice]:
    rows = unit_rows(scope=g.scope, levels=authoring.OWNER_LEVELS)
    return unit_choices(rows, _("请选择"))


@bp.route("/manage/new", methods=["GET", "POST"])
@requires(Perm.COURSE_MANAGE)
def author_new_course() -> Response | str:
    form = NewCourseForm()
    form.unit.choices = _owner_choices()
    if request.method == "GET" and current_user.org_unit_id is not None:
        form.unit.data = current_user.org_unit_id
    if form.validate_on_submit():
        unit = db.session.get(OrgUnit, form.unit.data)
        if unit is None or not g.scope.covers(unit):
            abort(404)
        try:
            course = authoring.create_course(unit, form.course_data(), actor=current_user,
                                             now=utcnow())
        except DomainError as exc:
            refuse(form, exc, "title")
        else:
            db.session.commit()
            flash(_("已新建课程“%(title)s”，现在可以添加课时。", title=course.title), "success")
            return to_course(course)
    return render_template("courses/author_course_form.html", form=form, course=None)


@bp.get("/manage/<int:course_id>")
@requires(Perm.COURSE_MANAGE, course_id=Course)
def author_course(course: Course) -> tuple[str, int]:
    return render_course(course)


@bp.route("/manage/<int:course_id>/edit", methods=["GET", "POST"])
@requires(Perm.COURSE_MANAGE, course_id=Course)
def author_edit_course(course: Course) -> Response | str:
    form = CourseForm()
    if request.method == "GET":
        fill_course(form, course)
    if form.validate_on_submit():
        try:
            authoring.update_course(course, form.course_data(), actor=current_user, now=utcnow())
        except DomainError as exc:
            refuse(form, exc, "title")
        else:
            db.session.commit()
            flash(_("课程信息已保存。"), "success")
            return to_course(course)
    return render_template("courses/author_course_form.html", form=form, course=course)


@bp.post("/manage/<int:course_id>/retire")
@requires(Perm.COURSE_MANAGE, course_id=Course)
def author_retire_course(course: Course) -> Response:
    retire = request.form.get("retired") == "1"
    commit_or_flash(
        lambda: authoring.set_course_retired(course, retire, actor=current_user, now=utcnow()),
        _("课程已停用，学员不再看到它。") if retire else _("课程已恢复使用。"))
    return to_course(course)


# ---------------------------------------------------------------- lessons


@bp.route("/manage/<int:course_id>/lessons/new", methods=["GET", "POST"])
@requires(Perm.COURSE_MANAGE, course_id=Course)
def author_new_lesson(course: Course) -> Response | tuple[str, int]:
    form = LessonForm()
    if form.validate_on_submit() and request.form.get("action") != "preview":
        try:
            lesson = authoring.add_lesson(course, form.lesson_data(), actor=current_user,
                                          now=utcnow())
        except DomainError as exc:
            refuse(form, exc, "body")
        else:
            db.session.commit()
            flash(_("已添加课时“%(title)s”。", title=lesson.title), "success")
            return to_lesson(lesson)
    return render_lesson(course, None, form)


@bp.route("/manage/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@requires(Perm.COURSE_MANAGE, lesson_id=Lesson)
def author_edit_lesson(lesson: Lesson) -> Response | tuple[str, int]:
    form = LessonForm(obj=lesson if request.method == "GET" else None)
    if form.validate_on_submit() and request.form.get("action") != "preview":
        try:
            authoring.update_lesson(lesson, form.lesson_data(), actor=current_user, now=utcnow())
        except DomainError as exc:
            refuse(form, exc, "body")
        else:
            db.session.commit()
            flash(_("课时已保存。"), "success")
            return to_lesson(lesson)
    return render_lesson(lesson.course, lesson, form)


@bp.post("/manage/<int:course_id>/preview")
@requires(Perm.COURSE_MANAGE, course_id=Course)
def author_preview(course: Course) -> Response | tuple[Response, int]:
    """The sanitised HTML of Markdown text, for the editor's live preview (changes nothing)."""
    body = request.form.get("body", "")
    if len(body) > authoring.MAX_BODY:
        return jsonify(error=_("正文太长，无法预览。")), 413
    return jsonify(html=str(render_markdown(body)))


@bp.post("/manage/lessons/<int:lesson_id>/move")
@requires(Perm.COURSE_MANAGE, lesson_id=Lesson)
def author_move_lesson(lesson: Lesson) -> Response:
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    _change_order(lesson.course, lambda: authoring.move_lesson(
        lesson, offset, actor=current_user, now=utcnow()))
    return to_course(lesson.course, "lessons")


@bp.post("/manage/<int:course_id>/reorder")
@requires(Perm.COURSE_MANAGE, course_id=Course)
def author_reorder(course: Course) -> Response:
    """Drag-and-drop order: every lesson id of the course, in the new order."""
    try:
        ids = [opt_int(v) for v in request.form.getlist("order")]
    except ValueError:
        ids = []
    _change_order(course, lambda: authoring.reorder_lessons(
        course, [i for i in ids if i is not None], actor=current_user, now=utcnow()))
    return to_course(course, "lessons")


def _change_order(course: Course, change: Any) -> None:
    commit_or_flash(change, _("课时顺序已保存。"))


@bp.post("/manage/lessons/<int:lesson_id>/retire")
@requires(Perm.COURSE_MANAGE, lesson_id=Lesson)
def author_retire_lesson(lesson: Lesson) -> Response:
    retire = request.form.get("retired") == "1"
    try:
        authoring.set_lesson_retired(lesson, retire, actor=current_user, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("课时已停用，学员不再看到它，已有的学习记录保留。") if retire
              else _("课时已恢复使用。"), "success")
    return to_course(lesson.course, "lessons")

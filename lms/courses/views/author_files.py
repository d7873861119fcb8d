"""Trainer pages for files: upload to a course or a lesson, a video's poster, delete.

Request bodies are capped at ``MAX_CONTENT_LENGTH`` everywhere except the two upload routes,
which accept up to the largest per-type cap, and only from a user who may manage courses: the
limit is raised in a URL value preprocessor, which runs before any hook reads the body (the CSRF
check does). Each file is checked and stored by ``uploads.store`` before its row is written; a
refusal is shown next to the file field (HTTP 422) and audited, with nothing left on disk.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import can, requires
from lms.auth.perms import Perm
from lms.courses import authoring, uploads
from lms.courses.author_forms import LessonForm, PosterForm, UploadForm
from lms.courses.models import Attachment, Course, Lesson
from lms.courses.views import bp
from lms.courses.views.author import render_course, render_lesson, to_course, to_lesson
from lms.courses.virus_scan import scanner_from_config
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _

#: Body allowance above the largest file cap (form fields and multipart framing).
MULTIPART_SLACK = 1024 * 1024
UPLOAD_ENDPOINTS = frozenset({"courses.author_upload_course_file",
                              "courses.author_upload_lesson_file"})


def _limits() -> uploads.Limits:
    return uploads.Limits.from_config(current_app.config)


def _folder() -> Any:
    return uploads.folder_of(current_app.config["UPLOAD_DIR"])


@bp.url_value_preprocessor
def _allow_large_uploads(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST" and current_user.is_authenticated \
            and can(current_user._get_current_object(), Perm.COURSE_MANAGE):
        request.max_content_length = _limits().largest + MULTIPART_SLACK


def _store(course: Course, lesson: Lesson | None, file: Any, field: Any,
           kinds: frozenset[str] | None = None) -> uploads.StoredUpload | None:
    """Check and store the file; on refusal put the message on *field*, audit it, return None."""
    try:
        return uploads.store(file.stream, file.filename, folder=_folder(), limits=_limits(),
                             kinds=kinds, scan=scanner_from_config(current_app.config))
    except uploads.UploadRejected as exc:
        field.errors = [*field.errors, str(exc)]
        authoring.record_rejected_upload(course, lesson, file.filename, str(exc),
                                         actor=current_user, now=utcnow())
        db.session.commit()
        return None


def _commit_or_discard(stored: uploads.StoredUpload, action: Any) -> DomainError | None:
    """Run the service and commit; the stored file is removed if anything fails."""
    try:
        action()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        uploads.discard(_folder(), [stored.stored_name])
        return exc
    except BaseException:
        db.session.rollback()
        uploads.discard(_folder(), [stored.stored_name])
        raise
    return None


def _upload(course: Course, lesson: Lesson | None) -> UploadForm | None:
    """Handle the upload form; returns the form to show again, or None when the file is saved."""
    form = UploadForm()
    if not form.validate_on_submit():
        return form
    stored = _store(course, lesson, form.file.data, form.file)
    if stored is None:
        return form
    error = _commit_or_discard(stored, lambda: authoring.add_attachment(
        course, lesson, stored, actor=current_user, now=utcnow()))
    if error is not None:
        form.file.errors = [*form.file.errors, str(error)]
        return form
    flash(_("已上传“%(name)s”。", name=stored.display_name), "success")
    return None


@bp.post("/manage/<int:course_id>/attachments")
@requires(Perm.COURSE_MANAGE, course_id=Course)
def author_upload_course_file(course: Course) -> Response | tuple[str, int]:
    form = _upload(course, None)
    if form is None:
        return to_course(course, "files")
    return render_course(course, upload=form, status=422)


@bp.post("/manage/lessons/<int:lesson_id>/attachments")
@requires(Perm.COURSE_MANAGE, lesson_id=Lesson)
def author_upload_lesson_file(lesson: Lesson) -> Response | tuple[str, int]:
    form = _upload(lesson.course, lesson)
    if form is None:
        return to_lesson(lesson)
    return render_lesson(lesson.course, lesson, LessonForm(formdata=None, obj=lesson),
                         upload=form, status=422)


def _back(att: Attachment) -> Response:
    if att.lesson_id is not None:
        return redirect(url_for("courses.author_edit_lesson", lesson_id=att.lesson_id,
                                _anchor="files"))
    return to_course(att.course, "files")


@bp.post("/manage/attachments/<int:attachment_id>/poster")
@requires(Perm.COURSE_MANAGE, attachment_id=Attachment)
def author_upload_poster(attachment: Attachment) -> Response:
    form = PosterForm()
    if not form.validate_on_submit():
        for message in form.poster.errors:
            flash(str(message), "error")
        return _back(attachment)
    stored = _store(attachment.course, attachment.lesson, form.poster.data, form.poster,
                    kinds=frozenset({"image"}))
    if stored is None:
        for message in form.poster.errors:
            flash(str(message), "error")
        return _back(attachment)
    old: list[str] = []
    error = _commit_or_discard(stored, lambda: old.extend(authoring.set_poster(
        attachment, stored, actor=current_user, now=utcnow())))
    if error is not None:
        flash(str(error), "error")
    else:
        uploads.discard(_folder(), old)
        flash(_("视频封面已设置。"), "success")
    return _back(attachment)


@bp.post("/manage/attachments/<int:attachment_id>/delete")
@requires(Perm.COURSE_MANAGE, attachment_id=Attachment)
def author_delete_attachment(attachment: Attachment) -> Response:
    back = _back(attachment)
    name = attachment.original_name
    try:
        names = authoring.delete_attachment(attachment, actor=current_user, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    uploads.discard(_folder(), names)
    flash(_("已删除“%(name)s”。", name=name), "success")
    return back

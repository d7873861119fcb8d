"""The program page's closing exams (结业考试): link an exam of the program's unit, or unlink
one nobody has started (both audited)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from lms.auth.access import get_in_scope, requires, scope_for
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.exams.models import Exam
from lms.i18n import _
from lms.org.people_forms import opt_int
from lms.training import exam_link
from lms.training.models import Program
from lms.training.views import bp
from lms.web.actions import commit_or_flash


def _posted_exam() -> Exam | None:
    """The exam named by the form, loaded through the user's EXAM_MANAGE scope (or None)."""
    try:
        exam_id = opt_int(request.form.get("exam", ""))
    except ValueError:
        return None
    if exam_id is None:
        return None
    try:
        return get_in_scope(Exam, exam_id, scope_for(current_user, Perm.EXAM_MANAGE))
    except LookupError:
        return None


def _change(program: Program, action: str) -> Response:
    back = redirect(url_for("training.show_program", program_id=program.id) + "#exams")
    if not FlaskForm().validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
        return back
    exam = _posted_exam()
    if action == "link":
        commit_or_flash(lambda: exam_link.link_exam(program, exam, actor=current_user,
                                                    now=utcnow()),
                        _("已设为本培训班的结业考试。"))
    else:
        commit_or_flash(lambda: exam_link.unlink_exam(program, exam, actor=current_user,
                                                      now=utcnow()),
                        _("已取消结业考试关联。"))
    return back


@bp.post("/programs/<int:program_id>/exams/link")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def link_program_exam(program: Program) -> Response:
    return _change(program, "link")


@bp.post("/programs/<int:program_id>/exams/unlink")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def unlink_program_exam(program: Program) -> Response:
    return _change(program, "unlink")

"""Completion and certificates: the trainer's completion page (who may complete, what is missing,
issuing), certificate PDFs one by one or for a whole program, the trainee's own certificates,
and the public verification page."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import login_only, public, requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _
from lms.training import certificates, completion
from lms.training.certificate_forms import IssueForm, VerifyForm
from lms.training.models import Completion, Program
from lms.training.views import bp


def _verify_url(code: str) -> str:
    return url_for("training.verify", code=code, _external=True)


def _pdf(completions: list[Completion], key: str) -> Response:
    data = certificates.certificates_pdf(certificates.certificates_for(completions, _verify_url))
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=_("结业证书-%(key)s.pdf", key=key))


def _to_completion_page(program: Program) -> Response:
    return redirect(url_for("training.completion_page", program_id=program.id))


@bp.get("/programs/<int:program_id>/completion")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def completion_page(program: Program) -> str:
    rows = completion.completion_overview(program, now=utcnow())
    eligible = sum(1 for r in rows if r.completion is None and r.check.eligible)
    return render_template("training/completion_program.html", program=program, rows=rows,
                           eligible=eligible, issued=sum(1 for r in rows if r.completion),
                           form=IssueForm())


def _issue(program: Program, enrollment_id: int | None) -> list[Completion]:
    actor, now = current_user._get_current_object(), utcnow()
    if enrollment_id is None:
        return completion.complete_all_eligible(program, actor=actor, now=now)
    enrollment = completion.enrollment_in(program, enrollment_id)
    if enrollment is None:
        abort(404)
    return [completion.complete(enrollment, actor=actor, now=now)]


@bp.post("/programs/<int:program_id>/completion")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def issue_certificates(program: Program) -> Response:
    form = IssueForm()
    if not form.validate_on_submit():
        flash(_("请求无效，请刷新页面后重试。"), "error")
        return _to_completion_page(program)
    try:
        issued = _issue(program, form.enrollment.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _to_completion_page(program)
    db.session.commit()
    if issued:
        flash(_("已颁发 %(n)s 份结业证书。", n=len(issued)), "success")
    else:
        flash(_("没有符合结业条件、尚未颁发证书的学员。"), "warning")
    return _to_completion_page(program)


@bp.get("/programs/<int:program_id>/certificates.pdf")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def program_certificates_pdf(program: Program) -> Response:
    """All certificates of the program in one PDF, or one (``?serial=``)."""
    serial = request.args.get("serial")
    found = certificates.program_completions(program, serial)
    if serial is not None and not found:
        abort(404)
    if not found:
        flash(_("该培训班还没有颁发结业证书。"), "warning")
        return _to_completion_page(program)
    return _pdf(found, serial or str(program.id))


@bp.get("/my-certificates")
@login_only
def my_certificates() -> str:
    mine = certificates.person_completions(current_user.person_id)
    return render_template("training/certificates_mine.html", completions=mine,
                           today=completion.local_date(utcnow()))


@bp.get("/my-certificates/<serial_no>.pdf")
@login_only
def my_certificate_pdf(serial_no: str) -> Response:
    found = certificates.own_completion(current_user.person_id, serial_no)
    if found is None:
        abort(404)
    return _pdf([found], found.serial_no)


@bp.get("/verify")
@public
def verify() -> str:
    form = VerifyForm(formdata=request.args)
    searched = "code" in request.args
    found = completion.find_by_code(form.code.data) if searched and form.validate() else None
    state = completion.validity(found, completion.local_date(utcnow())) if found else None
    return render_template("training/verify.html", form=form, searched=searched, found=found,
                           state=state)

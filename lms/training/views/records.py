"""Training record pages: a person's record for their unit (``TRAINING_VIEW``), the trainee's own
record (``/training/my-record``), external training entry (staff and trainee), the approval queue
and decisions (``TRAINING_APPROVE``), and the evidence files.

The trainee routes are ``@login_only`` and only ever load the current user's own person; an entry
id travels as ``?entry=`` or a form field (never an ``*_id`` URL argument) and is only looked up
among the entries of the person the route already loaded through the scope (or of the user)."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from lms.auth.access import can, login_only, requires
from lms.auth.perms import Perm
from lms.courses.learning import credit_hours
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Person
from lms.org.services import breadcrumbs
from lms.training import records
from lms.training.coverage import ROTATION_LABELS
from lms.training.coverage_export import XLSX, queue_workbook
from lms.training.record_forms import DecisionForm, ExternalForm, OwnExternalForm
from lms.training.views import bp
from lms.training.views.coverage import cutoffs, page_arg, today_local

PAGE_SIZE = 50
#: A refused decision per entry id: the message and the note that was typed.
Errors = dict[int, dict[str, str]]
LABELS = {"external": records.EXTERNAL_STATUSES, "kind": records.KINDS, "tier": records.TIERS,
          "rotation": ROTATION_LABELS}


def _store() -> records.EvidenceStore:
    return records.EvidenceStore.from_config(current_app.config)


def _own_person() -> Person:
    person = db.session.get(Person, current_user.person_id) if current_user.person_id else None
    if person is None:
        abort(404)
    return person


def _may_decide(entry: Any) -> bool:
    return entry.submitted_by_id != current_user.id and entry.person_id != current_user.person_id


def _render_record(person: Person, *, own: bool, errors: Errors | None = None,
                   refusal: str | None = None, status: int = 200) -> tuple[str, int]:
    record = records.training_record(person, cut=cutoffs(), lesson_hours=credit_hours(person.id))
    crumbs = [] if own else [u for u in breadcrumbs(person.org_unit) if g.scope.covers(u)]
    approve = not own and can(current_user._get_current_object(), Perm.TRAINING_APPROVE,
                                 person.org_unit)
    return render_template(
        "training/record.html", record=record, person=person, own=own, crumbs=crumbs,
        approve=approve, may_decide=_may_decide, errors=errors or {}, refusal=refusal,
        labels=LABELS, printed_on=today_local()), status


def _send_evidence(entry: Any) -> Response:
    path = _store().path(entry) if entry is not None else None
    if path is None:
        abort(404)
    kind = records.content_type(entry)
    return send_file(path, mimetype=kind, download_name=entry.evidence_original or "evidence",
                     as_attachment=kind == "application/octet-stream")


# ---------------------------------------------------------------- staff: a person's record


@bp.get("/people/<int:person_id>/record")
@requires(Perm.TRAINING_VIEW, person_id=Person)
def person_record(person: Person) -> tuple[str, int]:
    return _render_record(person, own=False)


@bp.get("/people/<int:person_id>/evidence")
@requires(Perm.TRAINING_VIEW, person_id=Person)
def person_evidence(person: Person) -> Response:
    if not request.args.get("entry"):
        return redirect(url_for("training.person_record", person_id=person.id))
    return _send_evidence(records.entry_of(person, request.args.get("entry")))


def _save_external(person: Person, form: ExternalForm, *, self_service: bool) -> bool:
    """Store the entry (and its file) and commit; on a refusal, show it next to its field."""
    store = _store()
    upload = form.evidence.data
    evidence = (upload.stream, upload.filename) if upload else None
    try:
        entry = records.record_external(
            person, form.data_object(), store=store, actor=current_user, now=utcnow(),
            today=today_local(), evidence=evidence, self_service=self_service)
    except DomainError as exc:
        db.session.rollback()
        name = getattr(exc, "field", None)
        field = form.evidence if name == "file" else getattr(form, name or "", None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, str(exc)]
        else:
            form.form_errors.append(str(exc))
        return False
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        store.discard(entry.evidence_name)
        raise
    return True


@bp.route("/people/<int:person_id>/external/new", methods=["GET", "POST"])
@requires(Perm.TRAINING_APPROVE, person_id=Person)
def new_external(person: Person) -> Response | str:
    form = ExternalForm()
    if form.validate_on_submit() and _save_external(person, form, self_service=False):
        flash(_("已录入外部培训，等待本单位其他人员审核。"), "success")
        return redirect(url_for("training.person_record", person_id=person.id))
    return render_template("training/external_form.html", form=form, person=person, own=False,
                           crumbs=[u for u in breadcrumbs(person.org_unit)
                                   if g.scope.covers(u)])


@bp.post("/people/<int:person_id>/external/decide")
@requires(Perm.TRAINING_APPROVE, person_id=Person)
def decide_external(person: Person) -> Response | tuple[str, int]:
    form = DecisionForm()
    entry = records.entry_of(person, form.entry.data)
    back_queue = form.back.data == "queue"
    if entry is None:
        flash(_("这条外部培训不存在或已删除，请刷新页面后重试。"), "error")
    elif not form.validate_on_submit():
        message = next(iter(form.errors.values()), [_("请刷新页面后重试。")])[0]
        return _refused(person, entry, str(message), back_queue)
    else:
        approve = form.decision.data == "approve"
        try:
            records.decide_external(entry, approve, form.note.data or "", actor=current_user,
                                    now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            return _refused(person, entry, str(exc), back_queue)
        db.session.commit()
        flash(_("已认定“%(title)s”%(hours)s 学时。", title=entry.title, hours=entry.credit_hours)
              if approve else _("已退回“%(title)s”。", title=entry.title), "success")
    if back_queue:
        return redirect(url_for("training.external_queue"))
    return redirect(url_for("training.person_record", person_id=person.id))


def _refused(person: Person, entry: Any, message: str, back_queue: bool) -> tuple[str, int]:
    """Show the refusal under the entry's decision form (keeping the note that was typed), or
    above the page when that form is not shown (decided already, or the user's own entry)."""
    if entry.status == records.PENDING and _may_decide(entry):
        errors = {entry.id: {"message": message, "note": (request.form.get("note") or "")[:500]}}
        refusal = None
    else:
        errors, refusal = {}, message
    if back_queue:
        return _render_queue(errors=errors, refusal=refusal, status=422)
    return _render_record(person, own=False, errors=errors, refusal=refusal, status=422)


# ---------------------------------------------------------------- the approval queue


def _render_queue(*, errors: Errors | None = None, refusal: str | None = None,
                  status: int = 200) -> tuple[str, int]:
    stmt = records.pending_select(g.scope)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = page_arg()
    entries = db.session.execute(
        stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars().all()
    return render_template("training/external_queue.html", entries=entries, total=total,
                           page=page, size=PAGE_SIZE, may_decide=_may_decide,
                           errors=errors or {}, refusal=refusal), status


@bp.get("/external")
@requires(Perm.TRAINING_APPROVE)
def external_queue() -> tuple[str, int]:
    return _render_queue()


@bp.get("/external/export.xlsx")
@requires(Perm.TRAINING_APPROVE)
def export_external_queue() -> Response:
    stmt = records.pending_select(g.scope)
    entries = db.session.execute(stmt.execution_options(yield_per=500)).scalars()
    data = queue_workbook(entries)
    name = _("外部培训待审核-%(date)s.xlsx", date=today_local().strftime("%Y%m%d"))
    return send_file(data, as_attachment=True, download_name=name, mimetype=XLSX)


# ---------------------------------------------------------------- the trainee's own record


@bp.get("/my-record")
@login_only
def my_record() -> tuple[str, int]:
    return _render_record(_own_person(), own=True)


@bp.get("/my-record/evidence")
@login_only
def my_evidence() -> Response:
    person = _own_person()
    return _send_evidence(records.entry_of(person, request.args.get("entry")))


@bp.route("/my-record/external/new", methods=["GET", "POST"])
@login_only
def my_new_external() -> Response | str:
    person = _own_person()
    form = OwnExternalForm()
    if form.validate_on_submit() and _save_external(person, form, self_service=True):
        flash(_("已提交外部培训申报，单位审核认定后计入学时。"), "success")
        return redirect(url_for("training.my_record"))
    return render_template("training/external_form.html", form=form, person=person, own=True,
                           crumbs=[])

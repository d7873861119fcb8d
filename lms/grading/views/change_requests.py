"""The county's maker-checker pages (更正申请, security R20): the list of change requests of both
kinds (a score sheet of a confirmed year, a quarterly grade of a confirmed quarter), pending
first, and one request with approve / reject. The proposer never decides their own request:
the view answers 403 before the service is called (the service refuses as well)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased
from werkzeug.wrappers import Response

from lms.auth.access import can, requires, scoped_select
from lms.auth.models import User
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.grading import changes, labels
from lms.grading.models import ChangeRequest, ChangeStatus
from lms.grading.rounds_forms import DecisionForm
from lms.grading.simulate import yuan
from lms.grading.views import bp
from lms.grading.views.rounds import PAGE_SIZE, page
from lms.i18n import _, _l
from lms.org.models import OrgUnit
from lms.web.actions import form_refusal, page_number

KIND_LABELS = {changes.EVALUATION: _l("年度考评"), changes.QUARTER: _l("季度等次")}
FIELD_LABELS = {**labels.COMPONENT_LABELS, "veto": _l("一票否决"),
                "veto_reason": _l("否决事项"), "grade": _l("等次"), "amount_fen": _l("补贴金额"),
                "total": _l("总分"), "new_level": _l("新等级"), "replace": _l("提出撤换")}
SHOWN = ("work", "diligence", "integrity", "satisfaction", "veto", "veto_reason", "grade",
         "amount_fen")


def _value(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key == "grade":
        return str(labels.grade_label(value))
    if key == "amount_fen":
        return _("%(y)s 元", y=yuan(int(value)))
    if key in ("veto", "replace"):
        return str(_("是") if value else _("否"))
    if key == "new_level":
        return str(labels.level_label(int(value)))
    return str(value)


def differences(change: ChangeRequest) -> list[tuple[Any, str, str]]:
    """(label, before, after) for every shown field the request changes."""
    return [(FIELD_LABELS[k], _value(k, change.before.get(k)), _value(k, change.after.get(k)))
            for k in SHOWN if k in change.after and change.before.get(k) != change.after.get(k)]


def _with_people(stmt: Any) -> Any:
    proposer, decider = aliased(User), aliased(User)
    return (stmt.add_columns(proposer.display_name, decider.display_name)
            .outerjoin(proposer, ChangeRequest.proposed_by_id == proposer.id)
            .outerjoin(decider, ChangeRequest.decided_by_id == decider.id))


@bp.get("/changes")
@requires(Perm.EVALUATION_REVIEW)
def list_changes() -> tuple[str, int]:
    stmt = scoped_select(ChangeRequest, g.scope)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    number = page_number()
    village = aliased(OrgUnit)
    rows = db.session.execute(_with_people(
        stmt.add_columns(village.name).join(village, ChangeRequest.org_unit_id == village.id))
        .order_by(case((ChangeRequest.status == ChangeStatus.PROPOSED, 0), else_=1),
                  ChangeRequest.proposed_at.desc(), ChangeRequest.id.desc())
        .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).all()
    return page("grading/change_list.html", rows=rows, total=total, page=number,
                size=PAGE_SIZE, kinds=KIND_LABELS, diff=differences)


def _change_page(change: ChangeRequest, form: DecisionForm | None = None,
                 status: int = 200) -> tuple[str, int]:
    _row, proposer, decider = db.session.execute(_with_people(
        select(ChangeRequest.id).where(ChangeRequest.id == change.id))).one()
    county = db.session.get(OrgUnit, change.county_id)
    return page("grading/change_detail.html", status, change=change, proposer=proposer,
                decider=decider, kinds=KIND_LABELS, diff=differences(change),
                form=form or DecisionForm(formdata=None),
                own=current_user.id == change.proposed_by_id,
                may_decide=change.status == ChangeStatus.PROPOSED
                and can(current_user, Perm.EVALUATION_REVIEW, county))


@bp.get("/changes/<int:change_request_id>")
@requires(Perm.EVALUATION_REVIEW, change_request_id=ChangeRequest)
def show_change(change_request: ChangeRequest) -> tuple[str, int]:
    return _change_page(change_request)


def _decide(change: ChangeRequest, approve: bool) -> Response | tuple[str, int]:
    if current_user.id == change.proposed_by_id:
        abort(403)  # R20: the proposer never decides their own request
    form = DecisionForm()
    if form.validate_on_submit():
        act = changes.approve if approve else changes.reject
        try:
            act(change, form.note.data or "", actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("更正申请已批准，结果已按更正重新计算。") if approve
                  else _("更正申请已驳回。"), "success")
            return redirect(url_for("grading.show_change", change_request_id=change.id))
    return _change_page(change, form, 400)


@bp.post("/changes/<int:change_request_id>/approve")
@requires(Perm.EVALUATION_REVIEW, change_request_id=ChangeRequest)
def approve_change(change_request: ChangeRequest) -> Response | tuple[str, int]:
    return _decide(change_request, approve=True)


@bp.post("/changes/<int:change_request_id>/reject")
@requires(Perm.EVALUATION_REVIEW, change_request_id=ChangeRequest)
def reject_change(change_request: ChangeRequest) -> Response | tuple[str, int]:
    return _decide(change_request, approve=False)

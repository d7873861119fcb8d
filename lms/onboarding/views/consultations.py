"""Director consultations (征求意见): the list, the consultation page with the candidate's profile
and the answers this user may give, and the township's form to open one for a nominated
director."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import Length

from lms.audit import AuditEntry
from lms.auth.access import can, login_only, requires, scope_for
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.i18n import _, _l
from lms.onboarding import consultations as service
from lms.onboarding.models import Consultation
from lms.onboarding.views import bp
from lms.org.models import OrgUnit, Post, PostStatus
from lms.org.people_forms import NoControlChars, strip
from lms.org.services import breadcrumbs
from lms.training.completion import local_date

PAGE_SIZE = 50

bp.add_app_template_global(service.status_word, "consultation_word")
bp.add_app_template_global(service.status_tone, "consultation_tone")


# ---------------------------------------------------------------- forms


def _text_field(label_text: Any) -> TextAreaField:
    return TextAreaField(label_text, filters=[strip], validators=[
        Length(max=service.MAX_TEXT, message=_l("内容不能超过2000个字。")),
        NoControlChars("\r\n\t")])


class OpenForm(FlaskForm):
    reason = _text_field(_l("提名理由"))


DECISIONS = {"concur": _l("同意"), "object": _l("不同意"), "request_info": _l("要求补充材料")}


class ReplyForm(FlaskForm):
    decision = SelectField("", choices=[SelectChoice(k, v) for k, v in DECISIONS.items()],
                           invalid_choice_message=_l("请选择答复意见。"),
                           invalid_value_message=_l("请选择答复意见。"))
    text = _text_field(_l("意见或理由"))


class SupplementForm(FlaskForm):
    supplement = _text_field(_l("补充材料或说明"))


class WithdrawForm(FlaskForm):
    pass


class FilterForm(FlaskForm):
    """The list filters (GET, no CSRF); an unknown value is ignored and flagged."""

    class Meta:
        csrf = False

    status = SelectField(_l("状态"), default="", choices=[
        SelectChoice("", _l("全部")), SelectChoice("open", _l("办理中")),
        *(SelectChoice(s, service.status_word(s)) for s in service.STATUSES)],
        invalid_choice_message=_l("请从列表中选择状态。"),
        invalid_value_message=_l("请从列表中选择状态。"))
    overdue = BooleanField(_l("只看已逾期"))

    def value(self, name: str) -> Any:
        field = self[name]
        return None if field.errors else (field.data or None)


# ---------------------------------------------------------------- helpers


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _crumbs(unit: OrgUnit, perm: Perm) -> list[OrgUnit]:
    scope = scope_for(current_user, perm)
    return [u for u in breadcrumbs(unit) if scope.covers(u)]


def _to_detail(consultation: Consultation) -> Response:
    return redirect(url_for("onboarding.show_consultation", consultation_id=consultation.id))


def _refuse(form: Any, exc: DomainError, default_field: str) -> None:
    db.session.rollback()
    field = getattr(form, getattr(exc, "field", None) or default_field, None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def _refused(consultation: Consultation, exc: DomainError) -> Response:
    """A refusal that is not about what was typed (the consultation moved on meanwhile)."""
    db.session.rollback()
    flash(str(exc), "error")
    return _to_detail(consultation)


# ---------------------------------------------------------------- list


@bp.get("/consultations")
@login_only
def list_consultations() -> str:
    """Consultations of the townships the user answers for (county bureau) or manages
    (township), newest first; open ones past their due date are flagged."""
    scopes = [scope_for(current_user, Perm.APPOINTMENT_REVIEW),
              scope_for(current_user, Perm.PERSON_MANAGE)]
    if all(s.is_empty for s in scopes):
        abort(403)
    unit = aliased(OrgUnit)
    stmt = (select(Consultation).join(unit, unit.id == Consultation.org_unit_id)
            .where(or_(false(), *(s.where(unit.path) for s in scopes if not s.is_empty))))
    form = FilterForm(formdata=request.args)
    form.validate()
    today = local_date(utcnow())
    status = form.value("status")
    if status == "open":
        stmt = stmt.where(Consultation.status.in_(service.OPEN))
    elif status:
        stmt = stmt.where(Consultation.status == status)
    if form.value("overdue"):
        stmt = stmt.where(service.overdue_clause(today))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = _page_number()
    rows = db.session.execute(
        stmt.options(selectinload(Consultation.person), selectinload(Consultation.county_unit),
                     joinedload(Consultation.post))
        .order_by(Consultation.submitted_at.desc(), Consultation.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars().all()
    return render_template("onboarding/consultation_list.html", items=rows, form=form,
                           total=total, page=page, size=PAGE_SIZE, today=today,
                           is_overdue=service.is_overdue)


# ---------------------------------------------------------------- one consultation


def _history(consultation: Consultation) -> list[AuditEntry]:
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "Consultation",
                                 AuditEntry.object_id == consultation.id,
                                 AuditEntry.action.startswith("consultation."))
        .order_by(AuditEntry.id)))


def _render(consultation: Consultation, *, reply_form: ReplyForm | None = None,
            supplement_form: SupplementForm | None = None, status: int = 200) -> Any:
    user = current_user._get_current_object()
    post = db.session.get(Post, consultation.post_id)
    is_open = consultation.status in service.OPEN
    county_may = can(user, Perm.APPOINTMENT_REVIEW, consultation.county_unit)
    township_may = can(user, Perm.PERSON_MANAGE, consultation.org_unit)
    page = render_template(
        "onboarding/consultation_detail.html", c=consultation, post=post, person=post.person,
        profile=service.candidate_profile(consultation), history=_history(consultation),
        today=local_date(utcnow()), overdue=service.is_overdue(consultation,
                                                               local_date(utcnow())),
        crumbs=_crumbs(consultation.org_unit, Perm.APPOINTMENT_REVIEW),
        may_reply=county_may and is_open and post.is_open,
        may_supplement=township_may and consultation.status == service.INFO_REQUESTED,
        may_withdraw=township_may and is_open,
        may_reopen=township_may and service.open_refusal(post) is None,
        may_move=township_may and consultation.status == service.CONCURRED
        and post.status == PostStatus.NOMINATED.value,
        reply_form=reply_form or ReplyForm(formdata=None),
        supplement_form=supplement_form or SupplementForm(formdata=None),
        withdraw_form=WithdrawForm(formdata=None))
    return page, status


@bp.get("/consultations/<int:consultation_id>")
@requires(Perm.APPOINTMENT_REVIEW, consultation_id=Consultation)
def show_consultation(consultation: Consultation) -> Any:
    return _render(consultation)


@bp.post("/consultations/<int:consultation_id>/reply")
@requires(Perm.APPOINTMENT_REVIEW, consultation_id=Consultation)
def reply_consultation(consultation: Consultation) -> Any:
    """The county's answer: concur, object (reasons required) or ask for more material."""
    if not can(current_user, Perm.APPOINTMENT_REVIEW, consultation.county_unit):
        abort(403)  # a township sees its own consultation but may not answer it
    form = ReplyForm()
    if not form.validate_on_submit():
        return _render(consultation, reply_form=form)
    answer = {"concur": service.concur, "object": service.object_,
              "request_info": service.request_info}[form.decision.data]
    try:
        answer(consultation, form.text.data or "", actor=current_user, now=utcnow())
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except ValidationFailed as exc:
        _refuse(form, exc, "text")
        return _render(consultation, reply_form=form)
    except DomainError as exc:
        return _refused(consultation, exc)
    db.session.commit()
    flash({"concur": _("已答复：同意该人选。"), "object": _("已答复：不同意该人选。"),
           "request_info": _("已要求乡镇补充材料。")}[form.decision.data], "success")
    return _to_detail(consultation)


@bp.post("/consultations/<int:consultation_id>/supplement")
@requires(Perm.PERSON_MANAGE, consultation_id=Consultation)
def supplement_consultation(consultation: Consultation) -> Any:
    form = SupplementForm()
    if not form.validate_on_submit():
        return _render(consultation, supplement_form=form)
    try:
        service.supplement(consultation, form.supplement.data or "", actor=current_user,
                           now=utcnow())
    except ValidationFailed as exc:
        _refuse(form, exc, "supplement")
        return _render(consultation, supplement_form=form)
    except DomainError as exc:
        return _refused(consultation, exc)
    db.session.commit()
    flash(_("补充材料已提交，县级民政部门应在 %(date)s 前答复。",
            date=consultation.due_on.isoformat()), "success")
    return _to_detail(consultation)


@bp.post("/consultations/<int:consultation_id>/withdraw")
@requires(Perm.PERSON_MANAGE, consultation_id=Consultation)
def withdraw_consultation(consultation: Consultation) -> Response:
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
        return _to_detail(consultation)
    try:
        service.withdraw(consultation, actor=current_user, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("征求意见已撤回。"), "success")
    return _to_detail(consultation)


# ---------------------------------------------------------------- open one


@bp.route("/posts/<int:post_id>/consultation", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE, post_id=Post)
def open_consultation(post: Post) -> Any:
    """The township's form: the candidate and the reason, sent to the county bureau."""
    if not g.scope.covers(post.person.org_unit):
        abort(404)
    form = OpenForm()
    if form.validate_on_submit():
        try:
            consultation = service.open_consultation(post, form.reason.data or "",
                                                     actor=current_user, now=utcnow())
        except DomainError as exc:
            _refuse(form, exc, "reason")
        else:
            db.session.commit()
            flash(_("已向%(county)s发出征求意见，应在 %(date)s 前答复。",
                    county=consultation.county_unit.name,
                    date=consultation.due_on.isoformat()), "success")
            return _to_detail(consultation)
    return render_template("onboarding/consultation_form.html", form=form, post=post,
                           person=post.person, refusal=service.open_refusal(post),
                           earlier=service.for_post(post),
                           crumbs=_crumbs(post.org_unit, Perm.PERSON_MANAGE))

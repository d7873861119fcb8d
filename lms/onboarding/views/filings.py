"""Assistant filings (备案) for both sides: the list (county bureau and township, each in its own
scope), the filing page with its snapshot and history, and the actions: the county acknowledges
or returns, the township resubmits a returned filing."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased, joinedload
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.auth.access import Scope, requires, scope_for
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _, _l
from lms.onboarding import filings
from lms.onboarding.models import Filing
from lms.onboarding.views import bp
from lms.org.models import OrgUnit, Person
from lms.org.people_forms import NoControlChars, strip
from lms.training.completion import local_date
from lms.web.actions import form_refusal, page_number

PAGE_SIZE = 50
OVERDUE = "overdue"
MULTILINE = "\r\n\t"




def filing_overdue(filing: Filing) -> bool:
    """Submitted and past its due date (local today)."""
    return filings.is_filing_overdue(filing, local_date(utcnow()))


#: Template helpers: status words and the overdue flag (also for the person page partial).
bp.add_app_template_global(filings.FILING_STATUSES, "filing_statuses")
bp.add_app_template_global(filing_overdue, "filing_overdue")


# ---------------------------------------------------------------- forms


class FilingFilterForm(FlaskForm):
    """The list filters (GET, no CSRF); a field with an unknown value is ignored and flagged."""

    class Meta:
        csrf = False

    q = StringField(_l("姓名"), filters=[strip], validators=[
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])
    status = SelectField(
        _l("状态"), default="",
        invalid_choice_message=_l("请从列表中选择状态。"),
        choices=[SelectChoice("", _l("全部")),
                 SelectChoice(filings.SUBMITTED, filings.FILING_STATUSES[filings.SUBMITTED]),
                 SelectChoice(OVERDUE, filings.OVERDUE_WORD),
                 SelectChoice(filings.RETURNED, filings.FILING_STATUSES[filings.RETURNED]),
                 SelectChoice(filings.ACKNOWLEDGED,
                              filings.FILING_STATUSES[filings.ACKNOWLEDGED])])

    def value(self, name: str) -> Any:
        field = self[name]
        return None if field.errors else (field.data or None)


def _note_field(label_text: Any, *validators: Any) -> TextAreaField:
    return TextAreaField(label_text, filters=[strip], validators=[
        *validators, Length(max=filings.NOTE_MAX,
                            message=_l("说明不能超过%(n)s个字。", n=filings.NOTE_MAX)),
        NoControlChars(MULTILINE)], render_kw={"rows": 3})


class AcknowledgeForm(FlaskForm):
    note = _note_field(_l("备注（可不填）"), Optional())


class ReturnForm(FlaskForm):
    reasons = _note_field(_l("退回原因（需要更正的内容）"),
                          DataRequired(_l("退回备案须写明需要更正的内容。")))


class ResubmitForm(FlaskForm):
    note = _note_field(_l("更正说明（可不填）"), Optional())


# ---------------------------------------------------------------- helpers



def _scopes() -> tuple[Scope, Scope]:
    """The county side's scope and the township side's; a filing is visible in either."""
    user = current_user._get_current_object()
    return scope_for(user, Perm.APPOINTMENT_REVIEW), scope_for(user, Perm.PERSON_MANAGE)


def _visible(filing: Filing) -> None:
    review, manage = _scopes()
    if not (review.covers(filing.org_unit) or manage.covers(filing.org_unit)):
        abort(404)


def _to_detail(filing: Filing) -> Response:
    return redirect(url_for("onboarding.show_filing", filing_id=filing.id))



def _detail_page(filing: Filing, *, ack_form: AcknowledgeForm | None = None,
                 return_form: ReturnForm | None = None,
                 resubmit_form: ResubmitForm | None = None) -> str:
    user = current_user._get_current_object()
    county = filings.county_unit(filing)
    village = filing.org_unit
    township = db.session.get(OrgUnit, village.parent_id) if village.parent_id else None
    review = scope_for(user, Perm.APPOINTMENT_REVIEW)
    manage = scope_for(user, Perm.PERSON_MANAGE)
    return render_template(
        "onboarding/filing_detail.html", filing=filing, county=county, township=township,
        fields=filings.DETAIL_FIELDS,
        may_review=filing.status == filings.SUBMITTED and review.covers(county),
        may_resubmit=filing.status == filings.RETURNED and manage.covers(village),
        history=filings.history(filing),
        ack_form=ack_form or AcknowledgeForm(formdata=None),
        return_form=return_form or ReturnForm(formdata=None),
        resubmit_form=resubmit_form or ResubmitForm(formdata=None))


# ---------------------------------------------------------------- list


@bp.get("/filings")
@requires(Perm.PERSON_VIEW)
def list_filings() -> str:
    """The county bureau sees the filings of its county (to acknowledge or return), a township
    those of its villages (to follow up and correct returned ones)."""
    review, manage = _scopes()
    if review.is_empty and manage.is_empty:
        abort(403)
    form = FilingFilterForm(formdata=request.args)
    form.validate()
    today = local_date(utcnow())
    village = aliased(OrgUnit)

    def scoped(stmt: Any) -> Any:
        return stmt.join(village, village.id == Filing.org_unit_id).where(
            filings.visible_clause(review, manage, village.path))

    counts: dict[str, int] = {}
    for status, n, late in db.session.execute(scoped(
            select(Filing.status, func.count(),
                   func.coalesce(func.sum(case((Filing.due_on < today, 1), else_=0)), 0))
            .select_from(Filing)).group_by(Filing.status)).all():
        counts[status] = n
        if status == filings.SUBMITTED:
            counts[OVERDUE] = int(late)

    stmt = scoped(select(Filing))
    status = form.value("status")
    if status == OVERDUE:
        stmt = stmt.where(filings.overdue_clause(today))
    elif status:
        stmt = stmt.where(Filing.status == status)
    if form.value("q"):
        stmt = stmt.where(Filing.person.has(Person.name.contains(form.value("q"),
                                                                 autoescape=True)))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = page_number()
    order = case((Filing.status == filings.RETURNED, 0), (Filing.status == filings.SUBMITTED, 1),
                 else_=2)
    rows = db.session.execute(
        stmt.options(joinedload(Filing.person), joinedload(Filing.post))
        .order_by(order, Filing.due_on, Filing.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).unique().scalars().all()
    unit_ids = {f.county_unit_id for f in rows} | {f.org_unit.parent_id for f in rows
                                                   if f.org_unit.parent_id}
    names = dict(db.session.execute(select(OrgUnit.id, OrgUnit.name)
                                    .where(OrgUnit.id.in_(unit_ids))).all()) if unit_ids else {}
    return render_template(
        "onboarding/filing_list.html", filings=rows, form=form, total=total, page=page,
        size=PAGE_SIZE, counts=counts, names=names, overdue_word=filings.OVERDUE_WORD)


# ---------------------------------------------------------------- one filing


@bp.get("/filings/<int:filing_id>")
@requires(Perm.PERSON_VIEW, filing_id=Filing)
def show_filing(filing: Filing) -> str:
    _visible(filing)
    return _detail_page(filing)


@bp.post("/filings/<int:filing_id>/acknowledge")
@requires(Perm.APPOINTMENT_REVIEW, filing_id=Filing)
def acknowledge_filing(filing: Filing) -> Response | str:
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            filings.acknowledge(filing, form.note.data, actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已接收%(name)s的备案。", name=filing.person.name), "success")
            return _to_detail(filing)
    return _detail_page(filing, ack_form=form)


@bp.post("/filings/<int:filing_id>/return")
@requires(Perm.APPOINTMENT_REVIEW, filing_id=Filing)
def return_filing(filing: Filing) -> Response | str:
    form = ReturnForm()
    if form.validate_on_submit():
        try:
            filings.return_filing(filing, form.reasons.data, actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已退回%(name)s的备案，乡镇更正后可重新提交。", name=filing.person.name),
                  "success")
            return _to_detail(filing)
    return _detail_page(filing, return_form=form)


@bp.post("/filings/<int:filing_id>/resubmit")
@requires(Perm.PERSON_MANAGE, filing_id=Filing)
def resubmit_filing(filing: Filing) -> Response | str:
    form = ResubmitForm()
    if form.validate_on_submit():
        try:
            filings.resubmit(filing, form.note.data, actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已重新提交%(name)s的备案。", name=filing.person.name), "success")
            return _to_detail(filing)
    return _detail_page(filing, resubmit_form=form)

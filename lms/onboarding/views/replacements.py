"""Replacement cases (撤换) and the qualification pages.

Township and county: the case list, opening a case on a village-assistant post, the case page
with the decision. The person: their own cases and the statement (申辩). Qualifications: the
candidate list sorted by social-work certificate, and the qualified share per unit and post type.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.auth.access import can, login_only, owned, requires, scoped_select
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _, _l
from lms.labels import label
from lms.onboarding import qualifications as quals
from lms.onboarding import replacements as rep
from lms.onboarding.models import ReplacementCase
from lms.onboarding.views import bp
from lms.org.models import OrgUnit, Post, PostType
from lms.org.people_forms import opt_int, strip
from lms.org.services import breadcrumbs
from lms.web.actions import page_number

PAGE_SIZE = 50


def replacement_label(kind: str, value: str) -> Any:
    """Words for a case's ``trigger``, ``status`` or ``outcome`` value."""
    words = {"trigger": rep.TRIGGERS, "status": rep.STATUSES, "outcome": rep.OUTCOMES}[kind]
    return words.get(value, value)


def replacement_tone(status: str) -> str:
    return rep.TONES.get(status, "muted")


bp.add_app_template_global(replacement_label, "replacement_label")
bp.add_app_template_global(replacement_tone, "replacement_tone")


# ---------------------------------------------------------------- forms


def _choices(words: dict[str, Any], blank: Any = None) -> list[SelectChoice]:
    items = [SelectChoice("", blank)] if blank is not None else []
    return items + [SelectChoice(k, v) for k, v in words.items()]


def _select(label_text: Any, message: Any, **kw: Any) -> SelectField:
    return SelectField(label_text, invalid_choice_message=message,
                       invalid_value_message=message, **kw)


def _long_text(label_text: Any, required: Any) -> TextAreaField:
    return TextAreaField(label_text, filters=[strip], validators=[
        DataRequired(required),
        Length(max=rep.MAX_TEXT, message=_l("内容不能超过2000个字符。"))],
        render_kw={"maxlength": rep.MAX_TEXT, "rows": 6})


class OpenCaseForm(FlaskForm):
    trigger = _select(_l("撤换事由"), _l("请从列表中选择撤换事由。"),
                      choices=_choices(rep.TRIGGERS, _l("请选择")),
                      validators=[DataRequired(_l("请选择撤换事由。"))])
    evidence = _long_text(_l("事实和证据"), _l("请填写事实和证据。"))


class DecisionForm(FlaskForm):
    outcome = RadioField(_l("决定"), choices=_choices(rep.OUTCOMES),
                         validators=[DataRequired(_l("请选择决定：撤换或留任。"))])
    note = _long_text(_l("决定理由"), _l("请填写决定理由。"))


class WithdrawForm(FlaskForm):
    note = _long_text(_l("撤销理由"), _l("请填写撤销理由。"))


class StatementForm(FlaskForm):
    statement = _long_text(_l("申辩内容"), _l("请填写申辩内容。"))


class CaseFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = _select(_l("状态"), _l("请从列表中选择状态。"), default="",
                     choices=_choices(rep.STATUSES, _l("全部")))

    def value(self, name: str) -> Any:
        field = self[name]
        return None if field.errors else (field.data or None)


class CandidateFilterForm(FlaskForm):
    class Meta:
        csrf = False

    post_type = _select(_l("岗位"), _l("请从列表中选择岗位。"), default="", choices=[
        SelectChoice("", _l("全部")),
        *(SelectChoice(t, label(t)) for t in quals.CANDIDATE_POST_TYPES)])
    sort = _select(_l("排序"), _l("请从列表中选择排序方式。"), default="qualification", choices=[
        SelectChoice("qualification", _l("按资格证书（持证优先）")),
        SelectChoice("name", _l("按姓名"))])

    def value(self, name: str) -> Any:
        field = self[name]
        return None if field.errors else (field.data or None)


class ShareFilterForm(FlaskForm):
    class Meta:
        csrf = False

    post_type = _select(_l("岗位"), _l("请从列表中选择岗位。"), default="", choices=[
        SelectChoice("", _l("全部")), *(SelectChoice(t.value, label(t)) for t in PostType)])

    def value(self, name: str) -> Any:
        field = self[name]
        return None if field.errors else (field.data or None)


# ---------------------------------------------------------------- helpers


def _field_error(form: Any, exc: DomainError) -> None:
    """Undo what the service flushed and show its message next to its field (or above)."""
    db.session.rollback()
    field = getattr(form, getattr(exc, "field", None) or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))



def _to_case(case: ReplacementCase) -> Response:
    return redirect(url_for("onboarding.show_replacement", replacement_case_id=case.id))


def _case_page(case: ReplacementCase, *, decision: DecisionForm | None = None,
               withdrawal: WithdrawForm | None = None) -> str:
    town = db.session.get(OrgUnit, case.township_unit_id)
    return render_template(
        "onboarding/replacement_detail.html", case=case, town=town,
        decision=decision or DecisionForm(formdata=None),
        withdrawal=withdrawal or WithdrawForm(formdata=None, prefix="withdraw"),
        may_decide=case.status == rep.OPEN and can(current_user, Perm.PERSON_MANAGE, town),
        may_dismiss=rep.may_dismiss_now(case, utcnow()))


def _refused(case: ReplacementCase, form: Any, exc: DomainError, which: str) -> Response | str:
    """A refusal about a field shows next to it; any other (the case was decided meanwhile, the
    statement period runs) is flashed above the case page."""
    db.session.rollback()
    case_id = case.id
    if getattr(form, getattr(exc, "field", None) or "", None) is None:
        flash(str(exc), "error")
        return redirect(url_for("onboarding.show_replacement", replacement_case_id=case_id))
    _field_error(form, exc)
    return _case_page(db.session.get(ReplacementCase, case_id), **{which: form})


# ---------------------------------------------------------------- township and county


@bp.get("/replacements")
@requires(Perm.ONBOARDING_VIEW)
def list_replacements() -> str:
    form = CaseFilterForm(formdata=request.args)
    form.validate()
    stmt = scoped_select(ReplacementCase, g.scope)
    if form.value("status"):
        stmt = stmt.where(ReplacementCase.status == form.value("status"))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = page_number()
    cases = db.session.execute(
        stmt.options(joinedload(ReplacementCase.person), joinedload(ReplacementCase.post),
                     joinedload(ReplacementCase.org_unit).joinedload(OrgUnit.parent))
        .order_by(ReplacementCase.opened_at.desc(), ReplacementCase.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).unique().scalars().all()
    return render_template("onboarding/replacement_list.html", cases=cases, form=form,
                           total=total, page=page, size=PAGE_SIZE, today=utcnow())


@bp.route("/posts/<int:post_id>/replacement", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE, post_id=Post)
def open_replacement(post: Post) -> Response | str:
    form = OpenCaseForm()
    existing = rep.open_case_for(post)
    if existing is None and form.validate_on_submit():
        try:
            case = rep.open_case(post, form.trigger.data, form.evidence.data,
                                 actor=current_user, now=utcnow())
        except DomainError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("已启动撤换，当事人可在 %(due)s 前提交申辩。",
                    due=case.statement_due_on.isoformat()), "success")
            return _to_case(case)
    return render_template("onboarding/replacement_new.html", post=post, form=form,
                           existing=existing,
                           crumbs=[u for u in breadcrumbs(post.org_unit) if g.scope.covers(u)])


@bp.get("/replacements/<int:replacement_case_id>")
@requires(Perm.ONBOARDING_VIEW, replacement_case_id=ReplacementCase)
def show_replacement(replacement_case: ReplacementCase) -> str:
    return _case_page(replacement_case)


@bp.post("/replacements/<int:replacement_case_id>/decide")
@requires(Perm.PERSON_MANAGE, replacement_case_id=ReplacementCase)
def decide_replacement(replacement_case: ReplacementCase) -> Response | str:
    case = replacement_case
    form = DecisionForm()
    if not form.validate_on_submit():
        return _case_page(case, decision=form)
    try:
        rep.decide(case, form.outcome.data, form.note.data, actor=current_user, now=utcnow())
    except DomainError as exc:
        return _refused(case, form, exc, "decision")
    db.session.commit()
    flash(_("已决定撤换，岗位已免职，当事人的学员账号已停用。") if case.status == rep.DISMISSED
          else _("已决定留任，案件办结。"), "success")
    return _to_case(case)


@bp.post("/replacements/<int:replacement_case_id>/withdraw")
@requires(Perm.PERSON_MANAGE, replacement_case_id=ReplacementCase)
def withdraw_replacement(replacement_case: ReplacementCase) -> Response | str:
    case = replacement_case
    form = WithdrawForm(prefix="withdraw")
    if not form.validate_on_submit():
        return _case_page(case, withdrawal=form)
    try:
        rep.withdraw(case, form.note.data, actor=current_user, now=utcnow())
    except DomainError as exc:
        return _refused(case, form, exc, "withdrawal")
    db.session.commit()
    flash(_("撤换案件已撤销。"), "success")
    return _to_case(case)


# ---------------------------------------------------------------- the person's own cases


@bp.get("/my/replacements")
@login_only
def my_replacements() -> str:
    person_id = current_user.person_id
    cases = rep.for_person(person_id) if person_id is not None else []
    return render_template("onboarding/replacement_my_list.html", cases=cases)


@bp.route("/my/replacements/<int:replacement_case_id>", methods=["GET", "POST"])
@owned(replacement_case_id=ReplacementCase)
def my_replacement(replacement_case: ReplacementCase) -> Response | str:
    case = replacement_case
    form = StatementForm(data={"statement": case.statement})
    now = utcnow()
    if request.method == "POST" and form.validate_on_submit():
        try:
            rep.submit_statement(case, form.statement.data, user=current_user, now=now)
        except DomainError as exc:
            db.session.rollback()
            if getattr(exc, "field", None) != "statement":
                flash(str(exc), "error")
                return redirect(url_for("onboarding.my_replacement", replacement_case_id=case.id))
            _field_error(form, exc)
            case = db.session.get(ReplacementCase, case.id)
        else:
            db.session.commit()
            flash(_("申辩已提交。"), "success")
            return redirect(url_for("onboarding.my_replacement", replacement_case_id=case.id))
    return render_template("onboarding/replacement_mine.html", case=case, form=form,
                           may_state=rep.statement_open(case, now))


# ---------------------------------------------------------------- qualifications


@bp.get("/candidates")
@requires(Perm.PERSON_VIEW)
def candidates() -> str:
    form = CandidateFilterForm(formdata=request.args)
    form.validate()
    post_type = form.value("post_type")
    sort = form.value("sort") or "qualification"
    total = quals.candidate_count(g.scope, post_type=post_type)
    page = page_number()
    rows = quals.candidates(g.scope, post_type=post_type, sort=sort, limit=PAGE_SIZE,
                            offset=(page - 1) * PAGE_SIZE)
    return render_template("onboarding/qualification_candidates.html", rows=rows, form=form,
                           total=total, page=page, size=PAGE_SIZE)


@bp.get("/qualified-share")
@requires(Perm.ONBOARDING_VIEW)
def qualified_share() -> str:
    form = ShareFilterForm(formdata=request.args)
    form.validate()
    raw = request.args.get("unit", "")
    if raw:
        try:
            unit_id = opt_int(raw)
        except ValueError:
            abort(404)
        unit = db.session.scalar(scoped_select(OrgUnit, g.scope).where(OrgUnit.id == unit_id))
    else:
        unit = quals.top_unit(g.scope)
    if unit is None:
        abort(404)
    rows, totals = quals.share_table(unit)
    post_type = form.value("post_type")
    types = [post_type] if post_type else [t.value for t in PostType]
    crumbs = [u for u in breadcrumbs(unit) if g.scope.covers(u)]
    return render_template("onboarding/qualification_share.html", unit=unit, rows=rows,
                           totals=totals, types=types, form=form, crumbs=crumbs,
                           post_type=post_type or "")

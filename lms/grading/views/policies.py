"""City staff's pages for the yearly evaluation policy: the list of years, a new year (defaults or
a copy of the last one), the edit form, activate and lock (docs/grading.md)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import requires, scoped_select
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.grading import policy_store
from lms.grading.forms import ActionForm, NewPolicyForm, PolicyForm, fill, policy_data, yuan_text
from lms.grading.models import EvaluationPolicy, PolicyStatus
from lms.grading.policy import COMPONENTS, LEVELS, Grade
from lms.grading.views import bp
from lms.i18n import _, _l
from lms.org import queries
from lms.org.models import Level
from lms.org.people_forms import unit_choices
from lms.org.queries import chosen_unit
from lms.web.actions import commit_or_flash, form_refusal

STATUS_LABELS = {PolicyStatus.DRAFT: _l("草稿"), PolicyStatus.EFFECTIVE: _l("已生效"),
                 PolicyStatus.LOCKED: _l("已锁定")}
CITY = (Level.CITY,)



def _to_policy(row: EvaluationPolicy) -> Response:
    return redirect(url_for("grading.edit_policy", evaluation_policy_id=row.id))


def _new_form() -> NewPolicyForm:
    form = NewPolicyForm()
    rows = queries.unit_choices(scope=g.scope, levels=CITY)
    form.unit.choices = unit_choices(rows, _("请选择"))
    if len(rows) == 1 and form.unit.data is None:
        form.unit.data = rows[0].id
    return form


def _list_page(form: NewPolicyForm) -> str:
    rows = db.session.execute(
        scoped_select(EvaluationPolicy, g.scope)
        .order_by(EvaluationPolicy.org_unit_id, EvaluationPolicy.year.desc())).scalars().all()
    return render_template("grading/policy_list.html", rows=rows, form=form,
                           statuses=STATUS_LABELS, can_create=len(form.unit.choices) > 1)


@bp.get("/policies")
@requires(Perm.GRADING_POLICY)
def list_policies() -> str:
    return _list_page(_new_form())


@bp.post("/policies")
@requires(Perm.GRADING_POLICY)
def new_policy() -> Response | str:
    form = _new_form()
    if form.validate_on_submit():
        try:
            city = chosen_unit(form.unit.data, g.scope)
            row = policy_store.create_policy(city, form.year.data,
                                             copy_previous=form.source.data == "copy",
                                             actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已新建 %(year)s 年度评价政策（草稿）。", year=row.year), "success")
            return _to_policy(row)
    return _list_page(form)


@bp.route("/policies/<int:evaluation_policy_id>", methods=["GET", "POST"])
@requires(Perm.GRADING_POLICY, evaluation_policy_id=EvaluationPolicy)
def edit_policy(evaluation_policy: EvaluationPolicy) -> Response | str:
    row = evaluation_policy
    form = PolicyForm()
    if request.method == "GET":
        fill(form, row.data, row.effective_from)
    elif row.is_locked:
        flash(policy_store_locked_message(row), "error")
        return _to_policy(row)
    elif form.validate_on_submit():
        try:
            changes = policy_store.update_policy(row, policy_data(form), form.effective_from.data,
                                                 actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("评价政策已保存。") if changes else _("没有需要保存的修改。"), "success")
            return _to_policy(row)
    return render_template(
        "grading/policy_form.html", row=row, form=form,
        statuses=STATUS_LABELS, components=COMPONENTS, levels=LEVELS, grades=list(Grade),
        switches=policy_store.SWITCHES, field=policy_store.form_field, yuan=yuan_text,
        labels=policy_store.FIELD_LABELS, summary=_summary(row))


def policy_store_locked_message(row: EvaluationPolicy) -> str:
    return _("%(year)s 年度已确认，评价政策已锁定，不能再修改。", year=row.year)


def _summary(row: EvaluationPolicy) -> list[tuple[Any, str]]:
    """Every value in words, for the read-only view of a locked policy."""
    try:
        policy = policy_store.to_policy(row)
    except DomainError:
        return []
    pct = lambda d: f"{(d * 100).normalize():f}%"  # noqa: E731
    items: list[tuple[Any, str]] = []
    items += [(policy_store.COMPONENT_LABELS[c], _("%(n)s 分", n=policy.component_max[c]))
              for c in COMPONENTS]
    items += [(policy_store.FIELD_LABELS[k], _("%(n)s 分", n=getattr(policy, k)))
              for k in ("excellent_min", "competent_min", "basically_competent_min")]
    items.append((policy_store.FIELD_LABELS["excellent_cap_share"],
                  pct(policy.excellent_cap_share)))
    items += [(policy_store.FIELD_LABELS[k], _("%(n)s 年", n=getattr(policy, k)))
              for k in ("promote_after", "early_promote_after")]
    items += [(policy_store.FIELD_LABELS[f"level_base_fen.{n}"],
               _("%(y)s 元", y=yuan_text(policy.level_base_fen[n]))) for n in LEVELS]
    items.append((policy_store.FIELD_LABELS["topup_share"], pct(policy.topup_share)))
    items += [(policy_store.FIELD_LABELS[f"quarterly_coefficient.{g.value}"],
               str(policy.quarterly_coefficient[g])) for g in Grade]
    items += [(policy_store.FIELD_LABELS[k], _("%(y)s 元", y=yuan_text(getattr(policy, k))))
              for k in ("floor_fen_per_month", "price_step_fen")]
    items += [(policy_store.SWITCH_LABELS[s], _("开") if getattr(policy, s) else _("关"))
              for s in policy_store.SWITCHES]
    return items


@bp.post("/policies/<int:evaluation_policy_id>/activate")
@requires(Perm.GRADING_POLICY, evaluation_policy_id=EvaluationPolicy)
def activate_policy(evaluation_policy: EvaluationPolicy) -> Response:
    if ActionForm().validate_on_submit():
        commit_or_flash(lambda: policy_store.activate_policy(
            evaluation_policy, actor=current_user, now=utcnow()),
            _("%(year)s 年度评价政策已生效。", year=evaluation_policy.year))
    else:
        flash(_("请刷新页面后重试。"), "error")
    return _to_policy(evaluation_policy)


@bp.post("/policies/<int:evaluation_policy_id>/lock")
@requires(Perm.GRADING_POLICY, evaluation_policy_id=EvaluationPolicy)
def lock_policy(evaluation_policy: EvaluationPolicy) -> Response:
    if ActionForm().validate_on_submit():
        commit_or_flash(lambda: policy_store.lock_policy(
            evaluation_policy, actor=current_user, now=utcnow()),
            _("%(year)s 年度评价政策已锁定。", year=evaluation_policy.year))
    else:
        flash(_("请刷新页面后重试。"), "error")
    return _to_policy(evaluation_policy)

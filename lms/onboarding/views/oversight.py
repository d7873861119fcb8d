"""Oversight pages for the county and the city (督导): the hub with the counts of each list
rolled up by child unit, and the lists themselves (pending onboarding, acting posts, overdue
consultations, filings needing attention, vacant villages, legacy posts). Everything is read
through the user's ``ONBOARDING_VIEW`` scope; a ``?unit=`` outside it is a 404."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, render_template, request
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length

from lms.auth.access import MAX_ID, Scope, requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.extensions import db
from lms.i18n import _l
from lms.labels import label
from lms.onboarding import oversight
from lms.onboarding.views import bp
from lms.org.models import OrgUnit, PostType
from lms.org.people_forms import NoControlChars, strip
from lms.org.queries import top_units
from lms.org.services import breadcrumbs
from lms.training.completion import local_date
from lms.training.coverage import ROTATION_LABELS, Cutoffs, cycle_years

PAGE_SIZE = 50
#: The other onboarding pages the hub links to, when they exist.
LINKED_PAGES = (
    ("onboarding.list_consultations", _l("主任人选征求意见")),
    ("onboarding.list_filings", _l("助理员备案")),
    ("onboarding.list_replacements", _l("撤换案件")),
    ("onboarding.candidates", _l("人选与社工证书")),
    ("onboarding.qualified_share", _l("持证比例")),
)
LIST_PATH = "<any({}):name>".format(", ".join(f"'{n}'" for n in oversight.LIST_NAMES))


class OversightFilter(FlaskForm):
    """Filters stay in the URL (GET, no CSRF); an unknown value is flagged and ignored."""

    class Meta:
        csrf = False

    q = StringField(_l("姓名"), filters=[strip], validators=[
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])
    post_type = SelectField(
        _l("岗位"), default="", invalid_choice_message=_l("请从列表中选择岗位。"),
        choices=[SelectChoice("", _l("全部岗位"))]
        + [SelectChoice(p.value, label(p)) for p in PostType])
    status = SelectField(_l("状态"), default="", invalid_choice_message=_l("请从列表中选择状态。"),
                         choices=[SelectChoice("", _l("全部"))])

    def value(self, name: str) -> str | None:
        field = self[name]
        return None if field.errors else (field.data or None)


def _filter_form(name: str | None = None) -> OversightFilter:
    form = OversightFilter(formdata=request.args)
    choices = oversight.STATUS_CHOICES.get(name or "", {})
    form.status.choices = [SelectChoice("", _l("全部"))] + [
        SelectChoice(k, v) for k, v in choices.items()]
    if name == oversight.LEGACY:
        form.status.label.text = str(_l("轮训状态"))
    if name == oversight.VACANCIES:
        form.q.label.text = str(_l("村（社区）名称"))
    form.validate()
    return form


def unit_arg(scope: Scope) -> OrgUnit | None:
    """The unit of ``?unit=`` (404 when out of scope); without one (or not an id), the user's own
    unit when the scope has a single top, else None (the whole scope)."""
    raw = request.args.get("unit", "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
        tops = top_units(scope)
        return tops[0] if len(tops) == 1 else None
    unit = db.session.execute(
        select(OrgUnit).where(OrgUnit.id == int(raw), scope.where(OrgUnit.path))).scalar()
    if unit is None:
        abort(404)
    return unit


def page_arg() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isascii() and raw.isdigit() and len(raw) < 7 \
        else 1


def crumbs(unit: OrgUnit | None, scope: Scope) -> list[OrgUnit]:
    return [] if unit is None else [u for u in breadcrumbs(unit) if scope.covers(u)]


def filters(form: OversightFilter) -> oversight.Filters:
    today = local_date(utcnow())
    return oversight.Filters(
        today=today, cut=Cutoffs.of(today, cycle_years(current_app.config)),
        q=form.value("q") or "", post_type=form.value("post_type"), status=form.value("status"))


def _common(unit: OrgUnit | None, form: OversightFilter, f: oversight.Filters) -> dict[str, Any]:
    return {"unit": unit, "form": form, "post_type": f.post_type, "today": f.today,
            "crumbs": crumbs(unit, g.scope), "titles": oversight.TITLES,
            "hints": oversight.HINTS, "names": oversight.LIST_NAMES}


@bp.get("/")
@requires(Perm.ONBOARDING_VIEW)
def oversight_hub() -> str:
    unit = unit_arg(g.scope)
    form = _filter_form()
    f = filters(form).unfiltered()
    report = oversight.hub(unit, g.scope, f)
    endpoints = set(current_app.view_functions)
    links = [(e, words) for e, words in LINKED_PAGES if e in endpoints]
    return render_template("onboarding/oversight_hub.html", hub=report, links=links,
                           **_common(unit, form, f))


@bp.get("/" + LIST_PATH)
@requires(Perm.ONBOARDING_VIEW)
def oversight_list(name: str) -> str:
    unit = unit_arg(g.scope)
    form = _filter_form(name)
    f = filters(form)
    page = page_arg()
    total, rows = oversight.list_page(name, g.scope, unit, f, page=page, size=PAGE_SIZE)
    paths = oversight.unit_paths(r.unit_path for r in rows)
    return render_template(
        "onboarding/oversight_list.html", name=name, rows=rows, total=total, page=page,
        size=PAGE_SIZE, paths=paths, status=f.status,
        status_words=oversight.STATUS_CHOICES.get(name, {}), rotation_labels=ROTATION_LABELS,
        days=oversight.days_between, local_day=local_date,
        endpoints=set(current_app.view_functions), **_common(unit, form, f))

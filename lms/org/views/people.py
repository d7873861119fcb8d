"""People: list with filters and XLSX export, detail with the audited ID reveal, create, edit,
qualifications. Posts and transfers are in ``posts.py``."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from lms.auth.access import Scope, requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _
from lms.org import export, queries, services
from lms.org.models import Level, OrgUnit, Person, PostType, QualificationLevel
from lms.org.people_forms import (
    NewPersonForm,
    PeopleFilterForm,
    PersonForm,
    QualificationForm,
    RemoveQualificationForm,
    RevealForm,
    opt_int,
    unit_choices,
)
from lms.org.person_sections import person_sections
from lms.org.queries import unit_in_scope
from lms.org.views import bp
from lms.web.actions import commit_or_flash

PAGE_SIZE = 50
#: Levels offered by the list's unit picker (a village comes in through ``?unit=``).
FILTER_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP)
#: Levels where people and posts are placed.
POST_LEVELS = (Level.TOWNSHIP, Level.VILLAGE)


# ---------------------------------------------------------------- shared helpers


def form_error(form: Any, exc: DomainError, default_field: str | None = None) -> None:
    """Show a service refusal next to its field (or above the form)."""
    name = getattr(exc, "field", None) or default_field or ""
    field = getattr(form, name, None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def refuse(form: Any, exc: DomainError, default_field: str | None = None) -> None:
    """Undo whatever the service flushed, then show its message."""
    db.session.rollback()
    form_error(form, exc, default_field)


def scoped_unit(raw: str | None, scope: Scope) -> OrgUnit | None:
    """The unit of a ``?unit=`` id: None when absent or not an id, 404 when out of scope."""
    try:
        unit_id = opt_int(raw)
    except ValueError:
        return None
    if unit_id is None:
        return None
    unit = db.session.execute(
        select(OrgUnit).where(OrgUnit.id == unit_id, scope.where(OrgUnit.path))).scalar()
    if unit is None:
        abort(404)
    return unit


def post_unit_choices(scope: Scope, within: OrgUnit | None) -> list[SelectChoice]:
    rows = queries.unit_choices(scope=scope, levels=POST_LEVELS, within=within)
    return unit_choices(rows, _("请选择"))


def visible_crumbs(unit: OrgUnit, scope: Scope) -> list[OrgUnit]:
    return [u for u in services.breadcrumbs(unit) if scope.covers(u)]


# ---------------------------------------------------------------- list and export


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _filtered() -> tuple[PeopleFilterForm, OrgUnit | None, Select[Any]]:
    """The filter form (bad values flagged and ignored) and the scoped, filtered statement."""
    unit = scoped_unit(request.args.get("unit"), g.scope)
    form = PeopleFilterForm(formdata=request.args)
    rows = queries.unit_choices(scope=g.scope, levels=FILTER_LEVELS)
    if unit is not None and unit.id not in {r.id for r in rows}:
        rows.append(queries.UnitChoice(unit.id, unit.code, unit.name, unit.level, unit.path))
    form.unit.choices = unit_choices(rows, _("全部"))
    form.validate()
    stmt = queries.people_select(
        scope=g.scope, unit=unit, q=form.value("q") or "", post_type=form.value("post_type"),
        status=form.value("status"), qualified=form.value("qualified"))
    stmt = stmt.options(selectinload(Person.posts), selectinload(Person.qualifications))
    return form, unit, stmt


@bp.get("/people")
@requires(Perm.PERSON_VIEW)
def list_people() -> str:
    form, unit, stmt = _filtered()
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = _page()
    people = db.session.execute(
        stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars().all()
    export_args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("org/people.html", people=people, total=total, page=page,
                           size=PAGE_SIZE, unit=unit, form=form, export_args=export_args)


@bp.get("/people/export.xlsx")
@requires(Perm.PERSON_VIEW)
def export_people() -> Response:
    _form, _unit, stmt = _filtered()
    rows = db.session.execute(stmt.execution_options(yield_per=500)).scalars()
    data = export.people_workbook(rows)
    name = _("人员名单-%(date)s.xlsx", date=utcnow().astimezone(export.TZ).strftime("%Y%m%d"))
    return send_file(data, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---------------------------------------------------------------- detail and reveal


def render_person(person: Person, *, reveal_form: RevealForm | None = None,
                  revealed: str | None = None) -> str:
    return render_template(
        "org/person.html", person=person, crumbs=visible_crumbs(person.org_unit, g.scope),
        reveal_form=reveal_form or RevealForm(formdata=None), revealed=revealed,
        sections=person_sections(person))


@bp.get("/people/<int:person_id>")
@requires(Perm.PERSON_VIEW, person_id=Person)
def show_person(person: Person) -> str:
    return render_person(person)


@bp.post("/people/<int:person_id>/reveal-id")
@requires(Perm.PERSON_REVEAL_ID, person_id=Person)
def reveal_id(person: Person) -> str:
    """Shows the clear ID-card number once, on this response only; every reveal is audited."""
    form = RevealForm()
    revealed = None
    if form.validate_on_submit():
        try:
            revealed = services.reveal_id_number(person, actor=current_user, now=utcnow(),
                                                 reason=form.reason.data)
        except DomainError as exc:
            refuse(form, exc, "reason")
        else:
            db.session.commit()
            if revealed is None:
                flash(_("此人员没有登记身份证号码。"), "warning")
    return render_person(person, reveal_form=form, revealed=revealed)


# ---------------------------------------------------------------- create and edit


@bp.route("/people/new", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE)
def new_person() -> Response | str:
    context = scoped_unit(request.args.get("unit"), g.scope)
    form = NewPersonForm()
    form.unit.choices = post_unit_choices(g.scope, context)
    if request.method == "GET" and context is not None and context.level in POST_LEVELS:
        form.unit.data = context.id
    if form.validate_on_submit():
        person = _create_person(form)
        if person is not None:
            db.session.commit()
            flash(_("已新增人员“%(name)s”。", name=person.name), "success")
            return redirect(url_for("org.show_person", person_id=person.id))
    return render_template("org/person_form.html", form=form, person=None, context=context)


def _create_person(form: NewPersonForm) -> Person | None:
    unit = unit_in_scope(form.unit.data, g.scope)
    if unit is None:  # the choices come from the scope; a vanished unit is a stale page
        form.unit.errors = [_("请从列表中选择单位。")]
        return None
    now = utcnow()
    try:
        person = services.create_person(unit, form.person_data(), actor=current_user, now=now)
        if form.post_type.data:
            services.open_post(person, unit, PostType(form.post_type.data), actor=current_user,
                               now=now)
    except DomainError as exc:
        refuse(form, exc, "unit")
        return None
    return person


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE, person_id=Person)
def edit_person(person: Person) -> Response | str:
    form = PersonForm(obj=person)
    if form.validate_on_submit():
        data = form.person_data()
        if not data["id_number"]:
            data.pop("id_number")
        try:
            changes = services.update_person(person, data, actor=current_user, now=utcnow())
        except DomainError as exc:
            refuse(form, exc)
        else:
            db.session.commit()
            flash(_("人员信息已保存。") if changes else _("没有需要保存的修改。"), "success")
            return redirect(url_for("org.show_person", person_id=person.id))
    return render_template("org/person_form.html", form=form, person=person, context=None)


# ---------------------------------------------------------------- qualifications


@bp.route("/people/<int:person_id>/qualifications/new", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE, person_id=Person)
def add_qualification(person: Person) -> Response | str:
    form = QualificationForm()
    if form.validate_on_submit():
        try:
            services.add_qualification(
                person, QualificationLevel(form.level.data), actor=current_user, now=utcnow(),
                certificate_no=form.certificate_no.data or None, obtained_on=form.obtained_on.data)
        except DomainError as exc:
            refuse(form, exc, "certificate_no")
        else:
            db.session.commit()
            flash(_("证书已登记。"), "success")
            return redirect(url_for("org.show_person", person_id=person.id))
    return render_template("org/qualification_form.html", form=form, person=person,
                           crumbs=visible_crumbs(person.org_unit, g.scope))


@bp.post("/people/<int:person_id>/qualifications/remove")
@requires(Perm.PERSON_MANAGE, person_id=Person)
def remove_qualification(person: Person) -> Response:
    form = RemoveQualificationForm()
    form.qualification.choices = [SelectChoice(str(q.id)) for q in person.qualifications]
    if not form.validate_on_submit():
        flash(_("该证书不存在，请刷新页面后重试。"), "error")
        return redirect(url_for("org.show_person", person_id=person.id))
    qualification = next(q for q in person.qualifications if q.id == form.qualification.data)
    commit_or_flash(lambda: services.remove_qualification(
        person, qualification, actor=current_user, now=utcnow()), _("证书已删除。"))
    return redirect(url_for("org.show_person", person_id=person.id))

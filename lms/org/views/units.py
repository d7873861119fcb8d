"""Browse, search, create, edit and move org units."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org import queries, services
from lms.org.forms import MoveForm, UnitEditForm, UnitForm
from lms.org.models import Level, OrgUnit
from lms.org.rules import PARENT_LEVEL
from lms.org.views import bp

CHILD_LEVEL = {parent: child for child, parent in PARENT_LEVEL.items()}


def _form_error(form, exc: DomainError) -> None:  # noqa: ANN001
    field = getattr(form, getattr(exc, "field", None) or "", None)
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


@bp.get("/")
@requires(Perm.ORG_VIEW)
def tree() -> Response | str:
    tops = queries.top_units(g.scope)
    if len(tops) == 1:
        return redirect(url_for("org.show_unit", unit_id=tops[0].id))
    return render_template("org/tree.html", units=tops)


@bp.get("/units/<int:unit_id>")
@requires(Perm.ORG_VIEW, unit_id=OrgUnit)
def show_unit(unit: OrgUnit) -> str:
    return render_template(
        "org/unit.html", unit=unit, crumbs=_visible_crumbs(unit),
        children=queries.children_with_counts(unit, scope=g.scope),
        counts=queries.subtree_level_counts(unit), child_level=CHILD_LEVEL.get(Level(unit.level)))


def _visible_crumbs(unit: OrgUnit) -> list[OrgUnit]:
    return [u for u in services.breadcrumbs(unit) if g.scope.covers(u)]


@bp.get("/search")
@requires(Perm.ORG_VIEW)
def search_units() -> str:
    q = request.args.get("q", "")
    return render_template("org/search.html", q=q, units=queries.search_units(q, scope=g.scope))


@bp.route("/units/<int:unit_id>/new", methods=["GET", "POST"])
@requires(Perm.ORG_MANAGE, unit_id=OrgUnit)
def new_unit(unit: OrgUnit) -> Response | str:
    level = CHILD_LEVEL.get(Level(unit.level))
    if level is None:
        abort(404)
    form = UnitForm()
    if request.method == "GET":
        form.code.data = unit.code
    if form.validate_on_submit():
        try:
            child = services.create_unit(
                form.code.data.strip(), form.name.data, level, unit, actor=current_user,
                now=utcnow(), resident_population=form.resident_population.data,
                registered_population=form.registered_population.data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            db.session.commit()
            flash(_("已新建单位“%(name)s”。", name=child.name), "success")
            return redirect(url_for("org.show_unit", unit_id=child.id))
    return render_template("org/unit_form.html", form=form, parent=unit, level=level,
                           crumbs=_visible_crumbs(unit))


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@requires(Perm.ORG_MANAGE, unit_id=OrgUnit)
def edit_unit(unit: OrgUnit) -> Response | str:
    form = UnitEditForm(obj=unit)
    if form.validate_on_submit():
        try:
            services.update_unit(unit, actor=current_user, now=utcnow(), name=form.name.data,
                                 resident_population=form.resident_population.data,
                                 registered_population=form.registered_population.data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            db.session.commit()
            flash(_("单位信息已保存。"), "success")
            return redirect(url_for("org.show_unit", unit_id=unit.id))
    return render_template("org/unit_edit.html", form=form, unit=unit, crumbs=_visible_crumbs(unit))


@bp.route("/units/<int:unit_id>/move", methods=["GET", "POST"])
@requires(Perm.ORG_MANAGE, unit_id=OrgUnit)
def move_unit(unit: OrgUnit) -> Response | str:
    parent_level = PARENT_LEVEL.get(Level(unit.level))
    if parent_level is None:
        abort(404)
    form = MoveForm()
    candidates = db.session.execute(
        select(OrgUnit).where(OrgUnit.level == parent_level.value, g.scope.where(OrgUnit.path))
        .order_by(OrgUnit.code).limit(2000)).scalars().all()
    form.parent.choices = [(u.id, f"{u.code} {u.name}") for u in candidates]
    if request.method == "GET":
        form.parent.data = unit.parent_id
    if form.validate_on_submit():
        target = db.session.get(OrgUnit, form.parent.data)
        try:
            if target is None:
                raise ValidationFailed(_("请选择新的上级单位。"), "parent")
            services.move_unit(unit, target, actor=current_user, now=utcnow())
        except DomainError as exc:
            _form_error(form, exc)
        else:
            db.session.commit()
            flash(_("单位已移动。"), "success")
            return redirect(url_for("org.show_unit", unit_id=unit.id))
    return render_template("org/unit_move.html", form=form, unit=unit, crumbs=_visible_crumbs(unit))

"""People list and person detail."""

from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import func, select

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.extensions import db
from lms.org import queries
from lms.org.models import OrgUnit, Person
from lms.org.views import bp


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


@bp.get("/people")
@requires(Perm.PERSON_VIEW)
def list_people() -> str:
    unit = None
    if request.args.get("unit", "").isdigit():
        unit = db.session.execute(queries_unit(int(request.args["unit"]))).scalar()
    stmt = queries.people_select(
        scope=g.scope, unit=unit, q=request.args.get("q", ""),
        post_type=request.args.get("post_type") or None, status=request.args.get("status") or None,
        qualified=request.args.get("qualified") or None)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    size = 50
    page = _page()
    people = db.session.execute(stmt.limit(size).offset((page - 1) * size)).unique().scalars().all()
    return render_template("org/people.html", people=people, total=total, page=page, size=size,
                           unit=unit)


def queries_unit(unit_id: int):  # noqa: ANN201
    return select(OrgUnit).where(OrgUnit.id == unit_id, g.scope.where(OrgUnit.path))


@bp.get("/people/<int:person_id>")
@requires(Perm.PERSON_VIEW, person_id=Person)
def show_person(person: Person) -> str:
    return render_template("org/person.html", person=person)

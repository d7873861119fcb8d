"""Shared pieces of the security corpora: principals, object bundles, concrete URLs, outcomes.

Principals map the specification's list {anon, trainee, trainer-township, trainer-county,
trainer-city, HR, sysadmin, secadmin, auditor} onto the project's roles (``lms.auth.perms.Role``),
plus the county unit administrator (a real role the list does not name). Object bundles reuse the
per-model factories of ``tests/arch/test_routes.py``: bundle "A" lies in county A (where the unit
principals sit), bundle "B" in the sibling county B (its city-owned policy in another city).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from lms.auth.access import rule_of
from lms.auth.models import User
from lms.courses.models import Attachment
from lms.extensions import db
from lms.org.models import OrgUnit
from tests.factories import World, make_user

FULL = os.environ.get("LMS_FULL_CORPORA") == "1"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Principal:
    name: str
    username: str | None
    #: (role, unit id or None for global) as the specification describes the principal
    roles: tuple[tuple[str, int | None], ...]
    #: unit id where the principal sits (the relation of an object is judged from here)
    home: int | None
    person_id: int | None = None
    #: the units whose courses a learner is offered (the person's and the account's unit)
    home_units: tuple[int, ...] = ()


@dataclass(frozen=True)
class Obj:
    """A plain snapshot of an object (ORM rows expire after every request)."""

    model: str
    id: int
    unit: int | None
    person_id: int | None
    course_unit: int | None = None


def _principal(name: str, user: User | None, roles, home) -> Principal:  # noqa: ANN001
    if user is None:
        return Principal(name, None, (), None)
    homes = tuple(u for u in ((user.person.org_unit_id if user.person else None),
                              user.org_unit_id) if u is not None)
    return Principal(name, user.username, tuple((r, u.id if u else None) for r, u in roles),
                     home.id if home else None, user.person_id, homes)


def unit_tree() -> dict[int, tuple[int | None, str]]:
    """Every unit: id → (parent id, level)."""
    return {u.id: (u.parent_id, u.level) for u in db.session.query(OrgUnit)}


def snapshot(objs: dict) -> dict:
    """Model → ``Obj`` for a bundle of ORM objects."""
    out = {}
    for model, obj in objs.items():
        out[model] = Obj(model.__name__, obj.id, _unit_id(obj), getattr(obj, "person_id", None),
                         _course_unit(obj))
    return out


def _unit_id(obj) -> int | None:  # noqa: ANN001
    if isinstance(obj, OrgUnit):
        return obj.id
    if getattr(obj, "org_unit_id", None) is not None:
        return obj.org_unit_id
    for parent in ("bank", "course", "attempt"):  # question, lesson, attempt item
        if getattr(obj, parent, None) is not None:
            return _unit_id(getattr(obj, parent))
    return None


def _course_unit(obj) -> int | None:  # noqa: ANN001
    course = obj if type(obj).__name__ == "Course" else getattr(obj, "course", None)
    return course.org_unit_id if course is not None else None


def principals(world: World) -> list[Principal]:
    trainers = {
        level: make_user(f"sec_trainer_{level}", unit, [("trainer", unit)])
        for level, unit in (("town", world.town_a), ("county", world.county_a),
                            ("city", world.city))
    }
    db.session.commit()
    return [
        _principal("anon", None, (), None),
        _principal("trainee", world.trainee, (), world.village_a),
        _principal("trainer-township", trainers["town"], (("trainer", world.town_a),),
                   world.town_a),
        _principal("trainer-county", trainers["county"], (("trainer", world.county_a),),
                   world.county_a),
        _principal("trainer-city", trainers["city"], (("trainer", world.city),), world.city),
        _principal("hr-county", world.a_hr, (("hr", world.county_a),), world.county_a),
        _principal("unit-admin-county", world.a_admin, (("unit_admin", world.county_a),),
                   world.county_a),
        _principal("hr-admin-city", world.city_admin,
                   (("unit_admin", world.city), ("hr", world.city)), world.city),
        _principal("sysadmin", world.sysadmin, (("system_admin", None),), None),
        _principal("secadmin", world.security, (("security_admin", None),), None),
        _principal("auditor", world.auditor, (("audit_admin", None),), None),
    ]


def bundles(world: World) -> dict[str, dict]:
    """{"A": objects in county A, "B": objects in county B}, keyed by model, as ``Obj``.

    Each bundle's account (``User``) is a plain account of the bundle's village, never a
    principal (the matrix disables and resets it); each attachment has its file on disk."""
    from tests.arch.test_routes import _objects
    from tests.courses.author_factories import make_attachment

    out = {"A": _objects(world, "in"), "B": _objects(world, "out")}
    for side, village in (("A", world.village_a), ("B", world.village_b)):
        objs = out[side]
        objs[User] = make_user(f"sec_target_{side.lower()}", village)
        objs[Attachment] = make_attachment(objs[Attachment].course, objs[Attachment].lesson)
    from tests.courses.author_factories import make_course

    slug = make_course(None, "社会救助政策汇编", source="file").slug  # a shared library course
    db.session.commit()
    snap = {side: snapshot(objs) for side, objs in out.items()}
    for side in snap:
        snap[side]["library_slug"] = slug
    return snap


_NON_ID = {  # URL arguments checked by the view itself (not ``*_id``): the object they name
    "course": lambda objs: objs[_model("Course")].id,
    "lesson": lambda objs: objs[_model("Lesson")].id,
    "file_no": lambda objs: objs[Attachment].id,
    "slug": lambda objs: objs["library_slug"],
    "serial_no": lambda objs: "NO-SUCH-SERIAL",
    "name": lambda objs: "pending",
}


def _model(name: str) -> Any:
    for mapper in db.Model.registry.mappers:
        if mapper.class_.__name__ == name:
            return mapper.class_
    raise LookupError(name)


def url_for_rule(app, rule, objs: dict) -> str:  # noqa: ANN001
    """A concrete URL of *rule*, its ids taken from *objs*."""
    access = rule_of(app.view_functions[rule.endpoint])

    def sub(m: re.Match) -> str:
        arg = m.group(1).split(":")[-1]
        if arg in access.loads:
            return str(objs[access.loads[arg]].id)
        return str(_NON_ID[arg](objs))

    return re.sub(r"<([^>]+)>", sub, rule.rule)


def object_args(app, rule) -> list[str]:  # noqa: ANN001
    """The URL arguments of *rule* that name an object (its relation to the principal matters)."""
    access = rule_of(app.view_functions[rule.endpoint])
    return [a for a in rule.arguments if a in access.loads or a in ("course", "lesson", "file_no")]


def rules(app) -> list:  # noqa: ANN001
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                  key=lambda r: r.rule)


def is_deny(resp) -> bool:  # noqa: ANN001
    """401/403/404, or a redirect to the login page."""
    if resp.status_code in (401, 403, 404):
        return True
    return resp.status_code in (301, 302, 303) and "/auth/login" in resp.headers.get(
        "Location", "")


def csrf_token(client) -> str:  # noqa: ANN001
    return client.csrf()

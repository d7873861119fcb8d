"""Plain factory functions: each adds and flushes; the caller commits when needed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask import current_app

from lms.auth import passwords
from lms.auth.models import RoleAssignment, User
from lms.auth.perms import Role
from lms.db import utcnow
from lms.extensions import db
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType
from lms.org.rules import kind_from_name

PASSWORD = "Test-pass-2026"


def make_unit(code: str, name: str, level: str, parent: OrgUnit | None = None,
              population: int | None = None) -> OrgUnit:
    from lms.org.models import Level

    kind = kind_from_name(name, Level(level))
    unit = OrgUnit(code=code, name=name, level=level, parent_id=parent.id if parent else None,
                   kind=kind.value if kind else None, path="/pending-" + code + "/",
                   resident_population=population)
    db.session.add(unit)
    db.session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    db.session.flush()
    return unit


@lru_cache(maxsize=4)
def _hash(pw: str, key: tuple) -> str:  # noqa: ARG001 - key busts the cache per config
    return passwords.hasher(current_app.config).hash(pw)


def password_hash(pw: str = PASSWORD) -> str:
    cfg = current_app.config
    return _hash(pw, (cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_KIB"]))


def make_user(username: str, unit: OrgUnit | None = None, roles: list[tuple[str, OrgUnit | None]]
              | None = None, *, person: Person | None = None, must_change: bool = False,
              phone: str | None = None) -> User:
    user = User(username=username, display_name=username, password_hash=password_hash(),
                must_change_password=must_change, org_unit_id=unit.id if unit else None,
                person_id=person.id if person else None, phone=phone,
                password_changed_at=utcnow())
    db.session.add(user)
    db.session.flush()
    for role, at in roles or []:
        db.session.add(RoleAssignment(user_id=user.id, role=Role(role).value,
                                      org_unit_id=at.id if at else None))
    db.session.flush()
    db.session.refresh(user)
    return user


def make_person(unit: OrgUnit, name: str = "张三", *, post_type: str | None = None,
                status: str = PostStatus.IN_POST.value, phone: str | None = None) -> Person:
    person = Person(name=name, org_unit_id=unit.id, phone=phone, gender="male", birth_year=1985)
    db.session.add(person)
    db.session.flush()
    if post_type:
        db.session.add(Post(person_id=person.id, org_unit_id=unit.id, post_type=post_type,
                            status=status, is_legacy=status == PostStatus.IN_POST.value,
                            started_on=date(2024, 1, 1),
                            in_post_on=date(2024, 1, 1) if status == PostStatus.IN_POST.value
                            else None))
        db.session.flush()
    return person


@dataclass
class World:
    city: OrgUnit
    county_a: OrgUnit
    county_b: OrgUnit
    town_a: OrgUnit
    town_b: OrgUnit
    village_a: OrgUnit
    village_b: OrgUnit
    sysadmin: User
    security: User
    auditor: User
    city_admin: User
    a_admin: User
    a_hr: User
    b_admin: User
    town_a_admin: User
    trainee: User
    person_a: Person
    person_b: Person


def build_world() -> World:
    """City with two counties (A, B), one township and one village each, users for each role."""
    city = make_unit("3713", "临沂市", "city", population=11_018_365)
    ca = make_unit("371302", "兰山区", "county", city, 1_844_089)
    cb = make_unit("371311", "罗庄区", "county", city, 656_516)
    ta = make_unit("371302001", "兰山街道", "township", ca, 68_000)
    tb = make_unit("371311001", "罗庄街道", "township", cb, 42_000)
    va = make_unit("371302001001", "金雀山社区居委会", "village", ta)
    vb = make_unit("371311001001", "前村村委会", "village", tb)
    person_a = make_person(va, "李四", post_type=PostType.VILLAGE_ASSISTANT.value,
                           phone="13800000001")
    person_b = make_person(vb, "王五", post_type=PostType.VILLAGE_ASSISTANT.value,
                           phone="13800000002")
    return World(
        city=city, county_a=ca, county_b=cb, town_a=ta, town_b=tb, village_a=va, village_b=vb,
        sysadmin=make_user("sysadmin", None, [("system_admin", None)]),
        security=make_user("security", None, [("security_admin", None)]),
        auditor=make_user("auditor", None, [("audit_admin", None)]),
        city_admin=make_user("city_admin", city, [("unit_admin", city), ("hr", city)]),
        a_admin=make_user("a_admin", ca, [("unit_admin", ca)]),
        a_hr=make_user("a_hr", ca, [("hr", ca)]),
        b_admin=make_user("b_admin", cb, [("unit_admin", cb)]),
        town_a_admin=make_user("town_a_admin", ta, [("unit_admin", ta)]),
        trainee=make_user("13800000001", va, person=person_a, phone="13800000001"),
        person_a=person_a, person_b=person_b,
    )

"""Demo accounts: one per role at the city, at 兰陵县 and at 卞庄街道, the three separate
administrators, and a few trainees (village assistants, username = phone).

They all share one published demo password, hashed once, and need no password change, so that a
visitor can look around at once. ``login_rows`` lists them for ``flask lms demo-logins``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.auth import passwords
from lms.auth.models import RoleAssignment, User
from lms.auth.perms import ROLE_LABELS, Role
from lms.demo.divisions import CITY_CODE, COUNTY_CODE, TOWNSHIP_CODE
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit

#: The one demo password (meets the password policy; a test checks it).
DEMO_PASSWORD = "Demo-2026-mz"  # noqa: S105 - public by design, printed by demo-logins
LOAD_ACTION = "demo.load"
TRAINEE_COUNT = 3


@dataclass(frozen=True, slots=True)
class StaffAccount:
    username: str
    role: Role
    unit_code: str | None
    display_name: str


STAFF_ACCOUNTS = (
    StaffAccount("sysadmin", Role.SYSTEM_ADMIN, None, "系统管理员（演示）"),
    StaffAccount("secadmin", Role.SECURITY_ADMIN, None, "安全管理员（演示）"),
    StaffAccount("auditadmin", Role.AUDIT_ADMIN, None, "审计管理员（演示）"),
    StaffAccount("city_admin", Role.UNIT_ADMIN, CITY_CODE, "市局单位管理员（演示）"),
    StaffAccount("city_hr", Role.HR, CITY_CODE, "市局人事干部（演示）"),
    StaffAccount("city_trainer", Role.TRAINER, CITY_CODE, "市局培训管理员（演示）"),
    StaffAccount("county_admin", Role.UNIT_ADMIN, COUNTY_CODE, "县局单位管理员（演示）"),
    StaffAccount("county_hr", Role.HR, COUNTY_CODE, "县局人事干部（演示）"),
    StaffAccount("county_trainer", Role.TRAINER, COUNTY_CODE, "县局培训管理员（演示）"),
    StaffAccount("town_admin", Role.UNIT_ADMIN, TOWNSHIP_CODE, "街道单位管理员（演示）"),
    StaffAccount("town_hr", Role.HR, TOWNSHIP_CODE, "街道人事干部（演示）"),
    StaffAccount("town_trainer", Role.TRAINER, TOWNSHIP_CODE, "街道培训管理员（演示）"),
)


@dataclass(frozen=True, slots=True)
class Trainee:
    person_id: int
    name: str
    phone: str
    unit_code: str


def _add_user(username: str, display_name: str, password_hash: str, now: datetime, *,
              unit_id: int | None, phone: str | None = None,
              person_id: int | None = None) -> User:
    user = User(username=username, display_name=display_name, phone=phone, person_id=person_id,
                org_unit_id=unit_id, password_hash=password_hash, must_change_password=False,
                password_changed_at=now, created_at=now)
    db.session.add(user)
    return user


def create_accounts(trainees: list[Trainee], unit_ids: dict[str, int], now: datetime) -> list[int]:
    """Add the demo accounts (flush only); return their ids (the audit entry keeps ids, not
    usernames: a trainee's username is a phone number)."""
    password_hash = passwords.hasher(current_app.config).hash(DEMO_PASSWORD)
    users = []
    for spec in STAFF_ACCOUNTS:
        unit_id = unit_ids[spec.unit_code] if spec.unit_code else None
        user = _add_user(spec.username, spec.display_name, password_hash, now, unit_id=unit_id)
        user.roles.append(RoleAssignment(role=spec.role.value, org_unit_id=unit_id, granted_at=now))
        users.append(user)
    for t in trainees:
        users.append(_add_user(t.phone, t.name, password_hash, now, unit_id=unit_ids[t.unit_code],
                               phone=t.phone, person_id=t.person_id))
    db.session.flush()
    return [u.id for u in users]


# ---------------------------------------------------------------- demo-logins


@dataclass(frozen=True, slots=True)
class LoginRow:
    role: str
    unit: str
    username: str
    #: None when the account's password is no longer the demo password.
    password: str | None


def loaded_account_ids() -> list[int] | None:
    """Account ids recorded by the last demo load, or None when no demo data was loaded."""
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == LOAD_ACTION)
                               .order_by(AuditEntry.id.desc()).limit(1)).scalar()
    return None if entry is None else list(entry.details.get("accounts", []))


def _role_label(user: User) -> str:
    if not user.roles:
        return _("学员（村民政助理员）")
    return "、".join(str(ROLE_LABELS[Role(r.role)]) for r in user.roles)


def _unit_label(user: User) -> str:
    unit: OrgUnit | None = user.org_unit
    return unit.name if unit is not None else _("全部（系统级）")


def _still_demo(cache: dict[str, bool], ph: Any, password_hash: str) -> bool:
    if password_hash not in cache:
        cache[password_hash] = passwords.verify(ph, password_hash, DEMO_PASSWORD)
    return cache[password_hash]


def login_rows(account_ids: list[int]) -> list[LoginRow]:
    """The demo accounts that still exist, in load order; each distinct hash is verified once."""
    users = {u.id: u for u in db.session.execute(
        select(User).where(User.id.in_(account_ids))).scalars()}
    ph, cache = passwords.hasher(current_app.config), {}
    return [LoginRow(_role_label(u), _unit_label(u), u.username,
                     DEMO_PASSWORD if _still_demo(cache, ph, u.password_hash) else None)
            for uid in account_ids if (u := users.get(uid)) is not None]

"""Granting and revoking roles: never more than you hold, inside your subtree, and 三员分立
(R18, R19)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.auth import services
from lms.auth.models import RoleAssignment, User
from lms.auth.perms import Role
from lms.db import utcnow
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from tests.factories import make_user


def _roles(user: User) -> set[tuple[str, int | None]]:
    db.session.expire_all()
    rows = db.session.execute(select(RoleAssignment.role, RoleAssignment.org_unit_id).where(
        RoleAssignment.user_id == user.id)).all()
    return {(r, u) for r, u in rows}


def _grant(client, user, role, unit=None):  # noqa: ANN001, ANN202
    return client.post(f"/admin/accounts/{user.id}/roles",
                       {"role": role, "org_unit": unit.id if unit else 0})


@pytest.fixture
def staff(world) -> User:
    """A plain staff account at township A (no role yet)."""
    user = make_user("staff_a", world.town_a)
    db.session.commit()
    return user


# ---------------------------------------------------------------- through the HTTP layer


def test_county_admin_grants_a_role_inside_the_county(client, world, staff):
    client.login("a_admin")
    resp = _grant(client, staff, "trainer", world.town_a)
    assert resp.status_code == 302
    assert ("trainer", world.town_a.id) in _roles(staff)
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "role.grant")
                               ).scalar_one()
    assert entry.object_id == staff.id and entry.details["role"] == "trainer"
    assert entry.details["unit"] == world.town_a.code and entry.actor_name == "a_admin"


def test_county_admin_cannot_grant_a_city_level_role(client, world, staff):
    client.login("a_admin")
    resp = _grant(client, staff, "unit_admin", world.city)
    assert resp.status_code == 403
    assert "请从列表中选择您管辖范围内的单位" in resp.get_data(as_text=True)
    assert _roles(staff) == set()


def test_county_admin_cannot_grant_a_role_in_another_county(client, world, staff):
    client.login("a_admin")
    assert _grant(client, staff, "hr", world.county_b).status_code == 403
    assert _grant(client, staff, "hr", world.town_b).status_code == 403
    assert _roles(staff) == set()


def test_county_admin_cannot_grant_admin_roles(client, world, staff):
    client.login("a_admin")
    for role in ("system_admin", "security_admin", "audit_admin"):
        assert _grant(client, staff, role).status_code == 403
    assert _roles(staff) == set()


def test_county_admin_cannot_reach_accounts_of_another_county(client, world):
    other = make_user("staff_b", world.town_b)
    db.session.commit()
    client.login("a_admin")
    assert _grant(client, other, "trainer", world.town_a).status_code == 404
    assert _roles(other) == set()


def test_town_admin_cannot_grant_at_county_level(client, world, staff):
    client.login("town_a_admin")
    assert _grant(client, staff, "hr", world.county_a).status_code == 403
    assert _grant(client, staff, "hr", world.town_a).status_code == 302


def test_nobody_grants_a_role_to_themselves(client, world):
    client.login("a_admin")
    resp = _grant(client, world.a_admin, "hr", world.county_a)
    assert resp.status_code == 403 and "不能给自己授予角色" in resp.get_data(as_text=True)
    assert _roles(world.a_admin) == {("unit_admin", world.county_a.id)}


def test_trainer_cannot_grant_themselves_anything(client, world):
    trainer = make_user("trainer_a", world.town_a, [("trainer", world.town_a)])
    db.session.commit()
    client.login("trainer_a")
    for role, unit in (("hr", world.town_a), ("unit_admin", world.town_a), ("system_admin", None)):
        assert _grant(client, trainer, role, unit).status_code == 403
    assert client.get("/admin/accounts").status_code == 403
    assert _roles(trainer) == {("trainer", world.town_a.id)}


def test_hr_cannot_manage_accounts(client, world, staff):
    client.login("a_hr")
    assert _grant(client, staff, "hr", world.town_a).status_code == 403
    assert client.get(f"/admin/accounts/{staff.id}").status_code == 403


def test_only_the_security_admin_grants_admin_roles(client, world):
    fresh = make_user("new_auditor", None)
    db.session.commit()
    client.login("city_admin")
    assert client.get(f"/admin/accounts/{fresh.id}").status_code == 404  # unit-less: global only
    client.logout()
    client.login("security")
    assert _grant(client, fresh, "audit_admin").status_code == 302
    assert _roles(fresh) == {("audit_admin", None)}


def test_no_account_holds_two_of_the_three_admin_roles(client, world):
    client.login("security")
    for target, role in ((world.sysadmin, "audit_admin"), (world.auditor, "security_admin"),
                         (world.sysadmin, "security_admin")):
        resp = _grant(client, target, role)
        assert resp.status_code == 403
        assert "必须由不同账号担任" in resp.get_data(as_text=True)
    assert _roles(world.sysadmin) == {("system_admin", None)}


def test_security_admin_cannot_grant_to_itself(client, world):
    client.login("security")
    assert _grant(client, world.security, "unit_admin", world.city).status_code == 403
    assert _grant(client, world.security, "audit_admin").status_code == 403
    assert _roles(world.security) == {("security_admin", None)}


def test_unit_role_needs_a_unit(client, world, staff):
    client.login("a_admin")
    resp = _grant(client, staff, "hr", None)
    assert resp.status_code == 200 and "请选择授权单位" in resp.get_data(as_text=True)
    assert _roles(staff) == set()


def test_granting_a_held_role_again_is_refused_politely(client, world, staff):
    client.login("a_admin")
    _grant(client, staff, "hr", world.town_a)
    resp = _grant(client, staff, "hr", world.town_a)
    assert resp.status_code == 200 and "已拥有此角色" in resp.get_data(as_text=True)


def test_revoke_a_role(client, world):
    client.login("a_admin")
    ra = world.a_hr.roles[0]
    resp = client.post(f"/admin/accounts/{world.a_hr.id}/roles/revoke", {"assignment": ra.id})
    assert resp.status_code == 302
    assert _roles(world.a_hr) == set()
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "role.revoke")
                              ).scalar_one().details["role"] == "hr"


def test_revoke_refuses_an_assignment_of_another_account(client, world):
    client.login("a_admin")
    ra = world.town_a_admin.roles[0]
    resp = client.post(f"/admin/accounts/{world.a_hr.id}/roles/revoke", {"assignment": ra.id})
    assert resp.status_code == 404
    assert client.post(f"/admin/accounts/{world.a_hr.id}/roles/revoke",
                       {"assignment": "x"}).status_code == 404
    assert _roles(world.town_a_admin) == {("unit_admin", world.town_a.id)}


def test_town_admin_cannot_revoke_a_county_role(client, world):
    # an account at township A holding HR for the whole county: above the town admin
    boss = make_user("boss_a", world.town_a, [("hr", world.county_a)])
    db.session.commit()
    client.login("town_a_admin")
    resp = client.post(f"/admin/accounts/{boss.id}/roles/revoke",
                       {"assignment": boss.roles[0].id})
    assert resp.status_code == 403
    assert _roles(boss) == {("hr", world.county_a.id)}


def test_admin_roles_are_revoked_only_by_the_security_admin(client, world):
    client.login("security")
    ra = world.auditor.roles[0]
    assert client.post(f"/admin/accounts/{world.auditor.id}/roles/revoke",
                       {"assignment": ra.id}).status_code == 302
    assert _roles(world.auditor) == set()


# ---------------------------------------------------------------- the service rules directly


def test_service_refuses_roles_below_township(world, staff):
    with pytest.raises(ValidationFailed):
        services.grant_role(staff, Role.HR, world.village_a, actor=world.city_admin, now=utcnow())


def test_service_refuses_more_than_the_actor_holds(world, staff):
    # a_hr holds HR but not account management: cannot grant anything
    with pytest.raises(NotAllowed):
        services.grant_role(staff, Role.HR, world.town_a, actor=world.a_hr, now=utcnow())
    with pytest.raises(NotAllowed):
        services.grant_role(staff, Role.UNIT_ADMIN, world.city, actor=world.a_admin, now=utcnow())
    with pytest.raises(NotAllowed):
        services.grant_role(staff, Role.SYSTEM_ADMIN, None, actor=world.city_admin, now=utcnow())


def test_service_refuses_a_second_admin_role_even_from_the_cli(world):
    with pytest.raises(NotAllowed):
        services.grant_role(world.sysadmin, Role.AUDIT_ADMIN, None, actor=None, now=utcnow())


def test_service_refuses_duplicate(world):
    with pytest.raises(InvalidState):
        services.grant_role(world.a_hr, Role.HR, world.county_a, actor=world.city_admin,
                            now=utcnow())


def test_service_refuses_revoking_your_own_role(world):
    with pytest.raises(NotAllowed):
        services.revoke_role(world.city_admin.roles[0], actor=world.city_admin, now=utcnow())


def test_could_grant_matrix(world):
    cg = services.could_grant
    assert cg(world.city_admin, Role.UNIT_ADMIN, world.county_b)
    assert cg(world.a_admin, Role.TRAINER, world.town_a)
    assert not cg(world.a_admin, Role.TRAINER, world.town_b)
    assert not cg(world.a_admin, Role.HR, world.city)
    assert not cg(world.a_hr, Role.HR, world.county_a)
    assert not cg(world.city_admin, Role.SYSTEM_ADMIN, None)
    assert cg(world.security, Role.SYSTEM_ADMIN, None)
    assert not cg(world.sysadmin, Role.TRAINER, world.town_a)


def test_extra_fields_cannot_redirect_a_grant(client, world, staff):
    client.login("a_admin")
    resp = client.post(f"/admin/accounts/{staff.id}/roles", {
        "role": "trainer", "org_unit": world.town_a.id, "user_id": world.a_hr.id,
        "granted_by_id": world.security.id, "org_unit_id": world.city.id})
    assert resp.status_code == 302
    assert _roles(staff) == {("trainer", world.town_a.id)}
    assert _roles(world.a_hr) == {("hr", world.county_a.id)}
    ra = db.session.execute(select(RoleAssignment).where(RoleAssignment.user_id == staff.id)
                            ).scalar_one()
    assert ra.granted_by_id == world.a_admin.id

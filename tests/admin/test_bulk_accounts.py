"""Trainee accounts for imported people: usernames, one-time passwords, slips, batches, scope."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.auth import services
from lms.auth.models import User
from lms.db import utcnow
from lms.errors import NotAllowed
from lms.extensions import db
from lms.org.models import PostStatus, PostType
from tests.conftest import Client
from tests.factories import make_person

ASSISTANT = PostType.VILLAGE_ASSISTANT.value
STAFF = PostType.TOWNSHIP_STAFF.value
SLIP = re.compile(r'<dt>姓名</dt><dd>([^<]*)</dd>\s*<dt>单位</dt><dd>([^<]*)</dd>\s*'
                  r'<dt>用户名</dt><dd class="pw">([^<]*)</dd>\s*'
                  r'<dt>初始密码</dt><dd class="pw">([^<]*)</dd>')


@pytest.fixture
def people(world) -> dict[str, object]:
    """People of township A: various phones, one without a post, one removed."""
    va, ta = world.village_a, world.town_a
    out = {
        "phone": make_person(va, "甲", post_type=ASSISTANT, phone="13900000001"),
        "no_phone": make_person(ta, "乙", post_type=STAFF),
        "taken": make_person(va, "丙", post_type=ASSISTANT, phone="13800000001"),
        "spaced": make_person(va, "丁", post_type=ASSISTANT, phone=" 139-0000-0006 "),
        "duplicate": make_person(va, "戊", post_type=ASSISTANT, phone="13900000009"),
        "duplicate2": make_person(va, "癸", post_type=ASSISTANT, phone="13900000009"),
        "bad_phone": make_person(va, "己", post_type=ASSISTANT, phone="12345"),
        "nominated": make_person(va, "庚", post_type=ASSISTANT, status=PostStatus.NOMINATED.value),
        "removed": make_person(va, "辛", post_type=ASSISTANT, status=PostStatus.REMOVED.value),
        "no_post": make_person(va, "壬"),
    }
    db.session.commit()
    return out


def _slips(html: str) -> dict[str, tuple[str, str, str]]:
    return {name: (unit, user, pw) for name, unit, user, pw in SLIP.findall(html)}


def _account(person) -> User | None:  # noqa: ANN001
    db.session.expire_all()
    return db.session.execute(select(User).where(User.person_id == person.id)).scalar()


def test_preview_lists_who_needs_an_account(client, world, people):
    client.login("a_admin")
    resp = client.get(f"/admin/accounts/bulk?org_unit={world.town_a.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "共 8 人需要开通账号" in html and "预计需要约" in html
    for name in ("甲", "乙", "庚"):
        assert f"<td>{name}</td>" in html
    for name in ("辛", "壬", "李四"):  # removed post, no post, already has an account
        assert f"<td>{name}</td>" not in html


def test_bulk_creates_trainee_accounts_with_slips(client, world, people):
    client.login("a_admin")
    resp = client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    slips = _slips(html)
    assert set(slips) == {"甲", "乙", "丙", "丁", "戊", "癸", "己", "庚"}
    assert slips["甲"][1] == "13900000001"
    assert slips["丁"][1] == "13900000006"
    for name in ("乙", "丙", "戊", "癸", "己"):  # no phone, taken, shared, invalid
        assert re.fullmatch(r"mz\d{8}", slips[name][1]), name
    assert slips["甲"][0] == "兰山区 兰山街道 金雀山社区居委会"
    assert slips["乙"][0] == "兰山区 兰山街道"
    assert len({pw for _u, _n, pw in slips.values()}) == 8
    assert "http://localhost/auth/login" in html and "首次登录后须立即设置" in html
    assert "data-print" in html and 'class="slips"' in html
    assert "本批开通 8 个学员账号" in html and "都已开通账号" in html


def test_created_accounts_are_linked_and_must_change_password(client, world, people):
    client.login("a_admin")
    slips = _slips(client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}
                               ).get_data(as_text=True))
    for key in ("phone", "no_phone", "taken", "duplicate"):
        person = people[key]
        user = _account(person)
        assert user.org_unit_id == person.org_unit_id and user.must_change_password
        assert user.roles == [] and user.display_name == person.name
        assert user.password_hash.startswith("$argon2id$")
        assert slips[person.name][2] not in user.password_hash
    assert _account(people["phone"]).phone == "13900000001"
    assert _account(people["duplicate"]).phone is None
    assert _account(people["duplicate2"]).phone is None
    assert _account(people["taken"]).phone is None
    assert _account(people["removed"]) is None and _account(people["no_post"]) is None


def test_slip_credentials_log_in_and_force_the_change(app, client, world, people):
    client.login("a_admin")
    slips = _slips(client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}
                               ).get_data(as_text=True))
    trainee = Client(app)
    _unit, username, password = slips["乙"]
    assert trainee.login(username, password).status_code == 302
    assert trainee.get("/").headers["Location"].endswith("/auth/password")
    _unit, username, password = slips["甲"]
    assert Client(app).login("13900000001", password).status_code == 302


def test_every_account_is_audited_without_its_password(client, world, people):
    client.login("a_admin")
    html = client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}).get_data(
        as_text=True)
    entries = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "account.create")).scalars().all()
    assert len(entries) == 8 and {e.actor_name for e in entries} == {"a_admin"}
    passwords = [pw for _u, _n, pw in _slips(html).values()]
    assert not any(pw in e.data for e in entries for pw in passwords)


def test_running_again_creates_nothing(client, world, people):
    client.login("a_admin")
    client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id})
    html = client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}).get_data(
        as_text=True)
    assert _slips(html) == {} and "都已开通账号" in html
    assert "没有需要开通账号的人员" in client.get(
        f"/admin/accounts/bulk?org_unit={world.town_a.id}").get_data(as_text=True)


def test_batches(client, world, people, monkeypatch):
    monkeypatch.setattr("lms.admin.views.bulk.BATCH", 3)
    client.login("a_admin")
    html = client.get(f"/admin/accounts/bulk?org_unit={world.town_a.id}").get_data(as_text=True)
    assert "每批最多开通 3 人，共需 3 批" in html
    first = client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}).get_data(
        as_text=True)
    assert len(_slips(first)) == 3 and "还有 5 人没有账号" in first and "生成下一批" in first
    second = client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}).get_data(
        as_text=True)
    assert len(_slips(second)) == 3 and not set(_slips(first)) & set(_slips(second))
    third = client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}).get_data(
        as_text=True)
    assert len(_slips(third)) == 2 and "都已开通账号" in third


def test_a_full_batch_is_fast_with_cheap_hash_parameters(client, world):
    for i in range(120):
        make_person(world.village_a, f"人员{i:03d}", post_type=ASSISTANT, phone=f"1370000{i:04d}")
    db.session.commit()
    client.login("a_admin")
    start = time.perf_counter()
    html = client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}).get_data(
        as_text=True)
    assert time.perf_counter() - start < 20
    assert len(_slips(html)) == 100 and "还有 20 人没有账号" in html


def test_unit_outside_the_scope_is_refused(client, world, people):
    make_person(world.village_b, "子", post_type=ASSISTANT)
    db.session.commit()
    client.login("a_admin")
    resp = client.post("/admin/accounts/bulk", {"org_unit": world.county_b.id})
    assert resp.status_code == 403
    assert client.post("/admin/accounts/bulk", {"org_unit": world.city.id}).status_code == 403
    html = client.get(f"/admin/accounts/bulk?org_unit={world.county_b.id}").get_data(as_text=True)
    assert "请从列表中选择您管辖范围内的单位" in html and "王五" not in html
    linked = db.session.execute(select(User.id).where(User.person_id.is_not(None))).all()
    assert linked == [(world.trainee.id,)]


def test_town_admin_only_reaches_its_township(client, world, people):
    client.login("town_a_admin")
    html = client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}).get_data(
        as_text=True)
    assert len(_slips(html)) == 8
    assert client.post("/admin/accounts/bulk", {"org_unit": world.county_a.id}).status_code == 403


def test_hr_and_sysadmin_cannot_create_accounts(client, world):
    for who in ("a_hr", "sysadmin", "auditor"):
        client.login(who)
        assert client.get("/admin/accounts/bulk").status_code == 403
        assert client.post("/admin/accounts/bulk", {"org_unit": world.town_a.id}).status_code == 403
        client.logout()


def test_service_checks_the_actor_scope(world, people):
    with pytest.raises(NotAllowed):
        services.create_trainee_accounts([people["phone"]], actor=world.b_admin, now=utcnow())
    db.session.rollback()
    assert _account(people["phone"]) is None


def test_service_skips_people_who_already_have_an_account(world, people):
    created = services.create_trainee_accounts([world.person_a, people["phone"]],
                                               actor=world.a_admin, now=utcnow())
    assert [a.person.name for a in created] == ["甲"]


def test_slips_print_on_a4_several_per_page():
    css = (Path(__file__).resolve().parents[2] / "lms/static/css/app.css").read_text()
    print_css = css[css.index("@media print"):]
    assert "size: A4" in print_css and ".slips" in print_css
    assert ".slip " in css and "page-break-inside: avoid" in css

"""Org tree rules and services: codes, levels, kinds, moves, quota."""

from __future__ import annotations

import json

import pytest

from lms.db import utcnow
from lms.errors import ValidationFailed
from lms.extensions import db
from lms.org import services
from lms.org.models import Level, OrgUnit, PostType
from lms.org.rules import kind_from_name, required_staff
from tests.factories import make_person


@pytest.mark.parametrize(("pop", "required"), [
    (None, None), (0, 3), (42_000, 3), (49_999, 3), (50_000, 5), (68_000, 5), (100_000, 5),
    (119_999, 5), (120_000, 6), (175_000, 8), (440_000, 22),
])
def test_required_staff_follows_the_seed_rule(pop, required):
    assert required_staff(pop) == required


@pytest.mark.parametrize(("name", "level", "kind"), [
    ("兰山街道", Level.TOWNSHIP, "subdistrict"), ("义堂镇", Level.TOWNSHIP, "town"),
    ("朱芦乡", Level.TOWNSHIP, "rural_township"), ("金雀山社区居委会", Level.VILLAGE, "community"),
    ("某某居民委员会", Level.VILLAGE, "community"), ("前村村委会", Level.VILLAGE, "village"),
    ("兰山区", Level.COUNTY, None),
])
def test_kind_is_derived_from_the_name(name, level, kind):
    k = kind_from_name(name, level)
    assert (k.value if k else None) == kind


def test_create_unit_checks_code_level_and_parent(app, world):
    now = utcnow()
    with pytest.raises(ValidationFailed, match="9 位"):
        services.create_unit("37130200", "X镇", Level.TOWNSHIP, world.county_a, actor=None, now=now)
    with pytest.raises(ValidationFailed, match="开头"):
        services.create_unit("371311009", "X镇", Level.TOWNSHIP, world.county_a, actor=None, now=now)
    with pytest.raises(ValidationFailed, match="级别"):
        services.create_unit("371302009", "X镇", Level.TOWNSHIP, world.city, actor=None, now=now)
    unit = services.create_unit("371302009", "新城镇", Level.TOWNSHIP, world.county_a, actor=None,
                                now=now, resident_population=60_000)
    assert unit.path == f"{world.county_a.path}{unit.id}/" and unit.kind == "town"
    with pytest.raises(ValidationFailed, match="已存在"):
        services.create_unit("371302009", "新城镇", Level.TOWNSHIP, world.county_a, actor=None,
                             now=now)


def test_move_rewrites_the_whole_subtree(app, world):
    services.move_unit(world.town_a, world.county_b, actor=None, now=utcnow())
    db.session.commit()
    town = db.session.get(OrgUnit, world.town_a.id)
    village = db.session.get(OrgUnit, world.village_a.id)
    assert town.parent_id == world.county_b.id
    assert town.path == f"{world.county_b.path}{town.id}/"
    assert village.path == f"{town.path}{village.id}/"


def test_move_refuses_a_wrong_level_or_own_subtree(app, world):
    with pytest.raises(ValidationFailed):
        services.move_unit(world.town_a, world.city, actor=None, now=utcnow())
    with pytest.raises(ValidationFailed):
        services.move_unit(world.county_a, world.county_a, actor=None, now=utcnow())


def test_quota_json_gives_the_seed_numbers(app, world, runner):
    make_person(world.town_a, "甲", post_type=PostType.OFFICE_DIRECTOR.value)
    make_person(world.town_a, "乙", post_type=PostType.TOWNSHIP_STAFF.value)
    make_person(world.town_a, "丙", post_type=PostType.TOWNSHIP_STAFF.value, status="nominated")
    db.session.commit()
    result = runner.invoke(args=["org", "quota", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows == [
        {"code": "371302001", "name": "兰山街道", "resident_population": 68_000, "required": 5,
         "in_post": 2},
        {"code": "371311001", "name": "罗庄街道", "resident_population": 42_000, "required": 3,
         "in_post": 0},
    ]


def test_quota_page_lists_shortfalls_by_county_in_scope(client, world):
    client.login("a_hr")
    html = client.get("/org/quota").get_data(as_text=True)
    assert "兰山街道" in html and "罗庄街道" not in html and "缺 5 人" in html


def test_unit_page_edit_and_move_through_the_ui(client, world):
    client.login("city_admin")
    resp = client.post(f"/org/units/{world.town_a.id}/edit",
                       {"name": "兰山街道", "resident_population": "175000"})
    assert resp.status_code == 302
    assert db.session.get(OrgUnit, world.town_a.id).resident_population == 175_000
    resp = client.post(f"/org/units/{world.town_a.id}/move", {"parent": str(world.county_b.id)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(OrgUnit, world.town_a.id).parent_id == world.county_b.id


def test_new_unit_form_errors_keep_input_and_write_nothing(client, world):
    client.login("a_admin")
    before = db.session.query(OrgUnit).count()
    for code, name in (("abc", "新镇"), ("371311555", "新镇"), ("371302555", ""),
                       ("371302555", "镇" * 5000), ("9" * 400, "<script>alert(1)</script>")):
        resp = client.post(f"/org/units/{world.county_a.id}/new", {"code": code, "name": name})
        assert resp.status_code == 200, (code, name[:20])
        assert "<script>alert(1)</script>" not in resp.get_data(as_text=True)
    assert db.session.query(OrgUnit).count() == before


def test_search_finds_by_name_or_code_inside_scope_only(client, world):
    client.login("a_admin")
    html = client.get("/org/search?q=街道").get_data(as_text=True)
    assert "兰山街道" in html and "罗庄街道" not in html
    assert "兰山街道" in client.get("/org/search?q=371302001").get_data(as_text=True)
    assert client.get("/org/search?q=%25%27%22%3C").status_code == 200

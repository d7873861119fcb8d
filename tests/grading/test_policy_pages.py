"""The policy pages: list and create, the edit form in yuan and percent, hostile input gives form
errors (never a 500), activate and lock, a locked policy refuses a POST, county staff get 404."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.extensions import db
from lms.grading import policy_store as store
from lms.grading.models import EvaluationPolicy
from lms.grading.policy import default_policy


def _page(client, row) -> str:
    return f"/grading/policies/{row.id}"


def _create(client, world, year=2027, source="defaults"):
    resp = client.post("/grading/policies", {"unit": world.city.id, "year": year,
                                             "source": source})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return db.session.execute(select(EvaluationPolicy).where(
        EvaluationPolicy.year == year)).scalar_one()


def _form_values(html: str) -> dict:
    """Every named input of the edit form as the browser would post it (checkboxes if checked)."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind.group(1) == "checkbox":
            if "checked" in tag:
                values[name.group(1)] = "y"
            continue
        values[name.group(1)] = value.group(1) if value else ""
    values.pop("csrf_token", None)
    return values


@pytest.fixture
def city_client(client, world):
    client.login("city_admin")
    return client


def test_list_create_and_edit_form_show_plain_values(city_client, world):
    resp = city_client.get("/grading/policies")
    assert resp.status_code == 200 and "年度评价政策" in resp.get_data(as_text=True)
    row = _create(city_client, world)
    html = city_client.get(_page(city_client, row)).get_data(as_text=True)
    values = _form_values(html)
    assert values["level_base_fen_3"] == "60.00" and values["level_base_fen_1"] == "100.00"
    assert values["excellent_cap_share"] == "20" and values["topup_share"] == "20"
    assert values["floor_fen_per_month"] == "60.00" and values["price_step_fen"] == "5.00"
    assert values["excellent_min"] == "90" and values["component_max_work"] == "40"
    assert values["effective_from"] == "2027-01-01"
    assert "工作实绩" in html and "优秀" in html and "草稿" in html
    assert "2027" in city_client.get("/grading/policies").get_data(as_text=True)


def test_saving_the_form_unchanged_changes_nothing_and_a_change_is_exact(city_client, world):
    row = _create(city_client, world)
    values = _form_values(city_client.get(_page(city_client, row)).get_data(as_text=True))
    city_client.post(_page(city_client, row), values)
    db.session.refresh(row)
    assert store.to_policy(row) == default_policy(2027)
    assert not db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "grading.policy_update")).first()
    values.update(level_base_fen_2="85.55", topup_share="25.5", excellent_min="91.5",
                  certificate_uplift="y", effective_from="2027-02-01")
    resp = city_client.post(_page(city_client, row), values)
    assert resp.status_code == 302
    db.session.refresh(row)
    policy = store.to_policy(row)
    assert policy.level_base_fen[2] == 8555
    assert str(policy.topup_share) == "0.255" and str(policy.excellent_min) == "91.5"
    assert policy.certificate_uplift and row.effective_from == date(2027, 2, 1)


HOSTILE = [
    ("level_base_fen_3", "60.001", "分"),
    ("level_base_fen_3", "-60", "金额"),
    ("level_base_fen_3", "六十", "金额"),
    ("level_base_fen_3", "9" * 40, "金额"),
    ("level_base_fen_3", "99999999", "金额"),          # within the pattern, above the maximum
    ("excellent_min", "1e3", "分数"),
    ("excellent_min", "NaN", "分数"),
    ("excellent_min", "", "分数"),
    ("excellent_min", "74", "称职分数线"),
    ("component_max_work", "45", "100"),
    ("excellent_cap_share", "150", "1"),
    ("promote_after", "99999999999999999999", "1 到 10"),
    ("promote_after", "abc", "整数"),
    ("early_promote_after", "5", "正常晋级"),
    ("quarterly_coefficient_excellent", "1.234", "2 位小数"),
    ("price_step_fen", "0", "金额"),
    ("effective_from", "2026-12-31", "2027"),
    ("effective_from", "99999-01-01", "日期"),
]


@pytest.mark.parametrize(("name", "value", "words"), HOSTILE)
def test_hostile_input_is_a_form_error_not_a_500(city_client, world, name, value, words):
    row = _create(city_client, world)
    before = dict(row.data)
    values = _form_values(city_client.get(_page(city_client, row)).get_data(as_text=True))
    values[name] = value
    resp = city_client.post(_page(city_client, row), values)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert words in html
    db.session.refresh(row)
    assert row.data == before


def test_activate_lock_and_a_locked_policy_refuses_a_post(city_client, world):
    row = _create(city_client, world)
    page = _page(city_client, row)
    assert city_client.post(page + "/lock").status_code == 302
    db.session.refresh(row)
    assert row.status == "draft"
    assert city_client.post(page + "/activate").status_code == 302
    html = city_client.get(page).get_data(as_text=True)
    assert "已生效" in html and "data-confirm" in html
    assert city_client.post(page + "/lock").status_code == 302
    db.session.refresh(row)
    assert row.status == "locked"
    locked = json.loads(json.dumps(row.data))
    html = city_client.get(page).get_data(as_text=True)
    assert "已锁定" in html and "60.00 元" in html and 'name="excellent_min"' not in html
    values = _form_values(html)
    values.update(excellent_min="95", component_max_work="40", effective_from="2027-01-01")
    resp = city_client.post(page, values, follow_redirects=True)
    assert "锁定" in resp.get_data(as_text=True)
    db.session.refresh(row)
    assert row.data == locked and row.status == "locked"
    assert store.policy_for(world.village_a, 2027) == default_policy(2027)  # same values
    actions = {e.action for e in db.session.execute(select(AuditEntry)).scalars()}
    assert {"grading.policy_create", "grading.policy_activate", "grading.policy_lock"} <= actions


def test_copy_from_last_year_and_duplicate_year(city_client, world):
    resp = city_client.post("/grading/policies", {"unit": world.city.id, "year": 2027,
                                                  "source": "copy"})
    assert resp.status_code == 200 and "没有更早年度" in resp.get_data(as_text=True)
    _create(city_client, world, 2026)
    row = _create(city_client, world, 2027, "copy")
    assert row.data == store.from_policy(default_policy(2027))
    resp = city_client.post("/grading/policies", {"unit": world.city.id, "year": 2027,
                                                  "source": "defaults"})
    assert resp.status_code == 200 and "已存在" in resp.get_data(as_text=True)
    for year in ("abc", "99999", "1999"):
        resp = city_client.post("/grading/policies", {"unit": world.city.id, "year": year})
        assert resp.status_code == 200


def test_county_staff_get_404_and_cannot_create(client, world):
    client.login("city_admin")
    row = _create(client, world)
    client.logout()
    for user in ("a_hr", "a_admin", "town_a_admin"):
        client.login(user)
        page = _page(client, row)
        assert client.get(page).status_code == 404
        assert client.post(page, {"excellent_min": "95"}).status_code == 404
        assert client.post(page + "/activate").status_code == 404
        assert client.post(page + "/lock").status_code == 404
        html = client.get("/grading/policies").get_data(as_text=True)
        assert "2027" not in html and "新建年度政策" not in html
        resp = client.post("/grading/policies", {"unit": world.city.id, "year": 2028})
        assert resp.status_code == 200
        client.logout()
    assert db.session.execute(select(EvaluationPolicy.id)).scalars().all() == [row.id]
    db.session.refresh(row)
    assert row.status == "draft"


def test_trainee_has_no_access(client, world):
    client.login(world.trainee.username)
    assert client.get("/grading/policies").status_code in (403, 404)

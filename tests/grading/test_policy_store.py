"""Stored yearly policies (lms/grading/policy_store.py): exact round trip, defaults when nothing is
stored, validation naming the field, draft → effective → locked, the city-only permission, audit,
and ``flask grading simulate`` reading the stored policy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.grading import policy_store as store
from lms.grading.models import EvaluationPolicy
from lms.grading.policy import Grade, Policy, default_policy

NOW = datetime(2026, 11, 26, 2, tzinfo=UTC)
WALKTHROUGH = Path(__file__).parent / "data" / "walkthrough.csv"


def _draft(world, year=2027, **kw):
    return store.create_policy(world.city, year, copy_previous=False, actor=world.city_admin,
                               now=NOW, **kw)


def _edited(data: dict, key: str, value) -> dict:
    out = json.loads(json.dumps(data))
    *path, last = key.split(".")
    target = out
    for part in path:
        target = target[part]
    target[last] = value
    return out


def _actions(action: str) -> list[AuditEntry]:
    return db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars().all()


# ---------------------------------------------------------------- conversion


def test_round_trip_is_exact_for_defaults_and_odd_values(world):
    odd = Policy(year=2031, component_max={"work": Decimal("37.5"), "competence": Decimal("22.5"),
                                           "diligence": Decimal(15), "satisfaction": Decimal(15),
                                           "integrity": Decimal(10)},
                 excellent_min=Decimal("88.5"), competent_min=Decimal("70"),
                 basically_competent_min=Decimal("0"), excellent_cap_share=Decimal("0.2500"),
                 promote_after=4, early_promote_after=1,
                 level_base_fen={3: 6001, 2: 8099, 1: 0}, topup_share=Decimal("0.35"),
                 quarterly_coefficient={Grade.EXCELLENT: Decimal("1.25"),
                                        Grade.COMPETENT: Decimal("1.0"),
                                        Grade.BASICALLY_COMPETENT: Decimal("0.50"),
                                        Grade.INCOMPETENT: Decimal(0)},
                 floor_fen_per_month=6000, price_step_fen=1, certificate_uplift=True)
    for policy in (default_policy(2027), odd):
        data = store.from_policy(policy)
        stored = json.loads(json.dumps(data))  # as the JSON column gives it back
        back = store.to_policy(EvaluationPolicy(year=policy.year, data=stored))
        assert back == policy
        assert store.from_policy(back) == data  # the texts too ("0.2500" stays "0.2500")


def test_defaults_when_nothing_is_stored_or_only_a_draft(world):
    assert store.policy_for(world.village_a, 2027) == default_policy(2027)
    _draft(world)
    assert store.policy_for(world.village_a, 2027) == default_policy(2027)
    assert store.deployment_policy(2027) == default_policy(2027)


def test_an_effective_policy_applies_to_every_unit_of_the_city(world):
    row = _draft(world)
    data = _edited(row.data, "excellent_min", "92")
    store.update_policy(row, data, date(2027, 1, 1), actor=world.city_admin, now=NOW)
    store.activate_policy(row, actor=world.city_admin, now=NOW)
    for unit in (world.city, world.county_b, world.town_a, world.village_a):
        assert store.policy_for(unit, 2027).excellent_min == Decimal(92)
    assert store.policy_for(world.village_a, 2026) == default_policy(2026)
    assert store.deployment_policy(2027).excellent_min == Decimal(92)


def test_policy_on_follows_the_effective_date(world):
    old = _draft(world, 2026)
    store.activate_policy(old, actor=world.city_admin, now=NOW)
    new = store.create_policy(world.city, 2027, copy_previous=True, actor=world.city_admin,
                              now=NOW)
    store.update_policy(new, _edited(new.data, "level_base_fen.3", 6500), date(2027, 7, 1),
                        actor=world.city_admin, now=NOW)
    store.activate_policy(new, actor=world.city_admin, now=NOW)
    assert store.policy_on(world.town_a, date(2027, 6, 30)).level_base_fen[3] == 6000
    assert store.policy_on(world.town_a, date(2027, 7, 1)).level_base_fen[3] == 6500
    assert store.policy_on(world.town_a, date(2025, 1, 1)) == default_policy(2025)


# ---------------------------------------------------------------- create


def test_copy_takes_the_latest_earlier_year(world):
    first = _draft(world, 2025)
    store.update_policy(first, _edited(first.data, "price_step_fen", 1000), date(2025, 1, 1),
                        actor=world.city_admin, now=NOW)
    copy = store.create_policy(world.city, 2026, copy_previous=True, actor=world.city_admin,
                               now=NOW)
    assert copy.data["price_step_fen"] == 1000
    assert copy.status == "draft" and copy.effective_from == date(2026, 1, 1)
    entry = _actions("grading.policy_create")[-1]
    assert json.loads(entry.data)["source"] == "copy:2025"


def test_create_refusals(world):
    with pytest.raises(ValidationFailed, match="没有更早年度"):
        store.create_policy(world.city, 2027, copy_previous=True, actor=world.city_admin, now=NOW)
    _draft(world)
    with pytest.raises(ValidationFailed, match="已存在") as exc:
        _draft(world)
    assert exc.value.field == "year"
    with pytest.raises(ValidationFailed):
        _draft(world, 1999)
    with pytest.raises(ValidationFailed, match="市级"):
        store.create_policy(world.county_a, 2027, copy_previous=False,
                            actor=world.city_admin, now=NOW)


def test_county_staff_cannot_create_or_change_the_city_policy(world):
    with pytest.raises(NotAllowed):
        store.create_policy(world.city, 2027, copy_previous=False, actor=world.a_hr, now=NOW)
    row = _draft(world)
    for actor in (world.a_hr, world.a_admin, world.town_a_admin):
        with pytest.raises(NotAllowed):
            store.update_policy(row, row.data, row.effective_from, actor=actor, now=NOW)
        with pytest.raises(NotAllowed):
            store.activate_policy(row, actor=actor, now=NOW)
    assert row.status == "draft"


# ---------------------------------------------------------------- validation

BAD = [
    ("component_max.work", "41", "100"),              # sum 101
    ("component_max.work", "0", "0.5"),               # a component needs points
    ("component_max.work", "39.95", "1 位小数"),
    ("excellent_min", "75", "称职分数线"),             # not above competent
    ("competent_min", "60", "基本称职分数线"),
    ("excellent_min", "100.1", "100"),
    ("excellent_min", "-1", "数字"),
    ("excellent_min", "1e2", "数字"),
    ("excellent_min", 90, "数字"),                     # a number where text is stored
    ("excellent_min", "NaN", "数字"),
    ("excellent_cap_share", "1.01", "1"),
    ("topup_share", "0.123456", "4 位小数"),
    ("promote_after", 0, "1"),
    ("promote_after", "3", "整数"),
    ("promote_after", True, "整数"),
    ("early_promote_after", 4, "正常晋级"),
    ("level_base_fen.3", -1, "金额"),
    ("level_base_fen.3", 60.5, "分"),
    ("level_base_fen.3", 10**12, "金额"),
    ("quarterly_coefficient.excellent", "10.5", "10"),
    ("floor_fen_per_month", "6000", "分"),
    ("price_step_fen", 0, "金额"),
    ("certificate_uplift", "yes", "开或关"),
]


@pytest.mark.parametrize(("key", "value", "words"), BAD)
def test_invalid_values_are_refused_naming_the_field(world, key, value, words):
    row = _draft(world)
    before = json.loads(json.dumps(row.data))
    with pytest.raises(ValidationFailed, match=words.replace(".", r"\.")) as exc:
        store.update_policy(row, _edited(row.data, key, value), date(2027, 1, 1),
                            actor=world.city_admin, now=NOW)
    assert exc.value.field == key.replace(".", "_") or key.startswith("component_max")
    label = store.FIELD_LABELS[key]
    if not key.startswith("component_max") or "100" not in words:
        assert str(label) in str(exc.value)
    assert row.data == before


def test_missing_parts_and_wrong_shapes_are_refused(world):
    row = _draft(world)
    for data in ({}, {"component_max": "x"}, [], _edited(row.data, "level_base_fen", {})):
        with pytest.raises(ValidationFailed):
            store.update_policy(row, data, date(2027, 1, 1), actor=world.city_admin, now=NOW)


def test_effective_date_must_lie_in_the_year(world):
    row = _draft(world)
    with pytest.raises(ValidationFailed, match="2027") as exc:
        store.update_policy(row, row.data, date(2026, 12, 31), actor=world.city_admin, now=NOW)
    assert exc.value.field == "effective_from"


# ---------------------------------------------------------------- lifecycle and audit


def test_update_records_only_what_changed(world):
    row = _draft(world)
    same = _edited(row.data, "topup_share", "0.2")  # "0.20" numerically unchanged
    assert store.update_policy(row, same, date(2027, 1, 1), actor=world.city_admin,
                               now=NOW) == []
    assert row.data["topup_share"] == "0.20"
    changed = store.update_policy(row, _edited(same, "level_base_fen.1", 12000),
                                  date(2027, 3, 1), actor=world.city_admin, now=NOW)
    assert changed == ["effective_from", "level_base_fen.1"]
    entry = _actions("grading.policy_update")[-1]
    data = json.loads(entry.data)
    assert data["before"] == {"effective_from": "2027-01-01", "level_base_fen.1": 10000}
    assert data["after"] == {"effective_from": "2027-03-01", "level_base_fen.1": 12000}
    assert entry.actor_id == world.city_admin.id and entry.object_type == "EvaluationPolicy"
    assert entry.org_unit_id == world.city.id


def test_lifecycle_and_a_locked_policy_refuses_every_change(world):
    row = _draft(world)
    with pytest.raises(InvalidState):
        store.lock_policy(row, actor=world.city_admin, now=NOW)  # a draft is not locked
    store.activate_policy(row, actor=world.city_admin, now=NOW)
    with pytest.raises(InvalidState):
        store.activate_policy(row, actor=world.city_admin, now=NOW)
    store.update_policy(row, _edited(row.data, "excellent_min", "91"), date(2027, 1, 1),
                        actor=world.city_admin, now=NOW)  # effective: still editable
    store.lock_policy(row, actor=world.city_admin, now=NOW)
    locked = json.loads(json.dumps(row.data))
    with pytest.raises(InvalidState, match="锁定"):
        store.update_policy(row, _edited(row.data, "excellent_min", "95"), date(2027, 1, 1),
                            actor=world.city_admin, now=NOW)
    for change in (store.activate_policy, store.lock_policy):
        with pytest.raises(InvalidState):
            change(row, actor=world.city_admin, now=NOW)
    assert row.data == locked and row.status == "locked"
    assert store.policy_for(world.town_b, 2027).excellent_min == Decimal(91)
    for action in ("grading.policy_create", "grading.policy_update", "grading.policy_activate",
                   "grading.policy_lock"):
        assert len(_actions(action)) == 1, action


# ---------------------------------------------------------------- flask grading simulate


def _simulate(runner):
    result = runner.invoke(args=["grading", "simulate", str(WALKTHROUGH), "--year", "2024",
                                 "--json"])
    assert result.exit_code == 0, result.output
    return {row["id"]: row for row in json.loads(result.stdout)}


def test_simulate_uses_the_stored_policy_of_the_year(world, runner):
    baseline = _simulate(runner)
    assert baseline[101]["grade"] == "excellent"  # 95.0
    row = _draft(world, 2024)
    store.update_policy(row, _edited(row.data, "excellent_min", "96"), date(2024, 1, 1),
                        actor=world.city_admin, now=NOW)
    db.session.commit()
    assert _simulate(runner) == baseline  # a draft is not used
    store.activate_policy(row, actor=world.city_admin, now=NOW)
    db.session.commit()
    raised = _simulate(runner)
    assert raised[101]["grade"] == "competent"
    assert raised[201]["grade"] == "excellent"  # 98.0
    other_year = runner.invoke(args=["grading", "simulate", str(WALKTHROUGH), "--year", "2025",
                                     "--json"])
    assert {r["id"]: r for r in json.loads(other_year.stdout)} == baseline


def test_simulate_uses_the_defaults_without_a_single_city(world, runner):
    from tests.factories import make_unit

    row = _draft(world, 2024)
    store.update_policy(row, _edited(row.data, "excellent_min", "96"), date(2024, 1, 1),
                        actor=world.city_admin, now=NOW)
    store.activate_policy(row, actor=world.city_admin, now=NOW)
    make_unit("3714", "德州市", "city")
    db.session.commit()
    assert _simulate(runner)[101]["grade"] == "excellent"


def test_simulate_refuses_a_tampered_stored_policy(world, runner):
    row = _draft(world, 2024)
    store.activate_policy(row, actor=world.city_admin, now=NOW)
    row.data = _edited(row.data, "component_max.work", "99")
    db.session.commit()
    result = runner.invoke(args=["grading", "simulate", str(WALKTHROUGH), "--year", "2024"])
    assert result.exit_code == 2 and "100" in result.stderr and result.stdout == ""

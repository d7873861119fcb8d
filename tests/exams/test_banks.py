"""Question banks: codes normalised and unique, the owner unit inside the actor's scope, every
change audited, archive, which banks a unit may use (its own and its ancestors'), counts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.exams import banks, questions
from lms.exams.banks import BankData
from lms.exams.formats.model import ParsedQuestion
from lms.exams.models import QuestionBank
from lms.extensions import db
from tests.exams.factories import at, make_bank, make_question

NOW = at(2026, 3, 1, 2)


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)).scalars())


def _bank_count() -> int:
    return db.session.execute(select(func.count()).select_from(QuestionBank)).scalar_one()


def test_create_normalises_the_code_and_audits(world):
    bank = banks.create_bank(world.county_a, BankData(" ｓｊ-01 ", " 社会救助题库 "),
                             actor=world.a_admin, now=NOW)
    assert (bank.code, bank.title, bank.org_unit_id) == ("SJ-01", "社会救助题库",
                                                         world.county_a.id)
    assert bank.created_by_id == world.a_admin.id
    [entry] = _audit("exam.bank_create")
    assert entry.actor_id == world.a_admin.id and entry.object_id == bank.id
    assert json.loads(entry.data)["code"] == "SJ-01"
    assert banks.find_bank("sj-01") is bank and banks.find_bank("nope") is None


@pytest.mark.parametrize(("code", "title", "field"), [
    ("", "题库", "code"), ("含中文", "题库", "code"), ("A B", "题库", "code"),
    ("X" * 41, "题库", "code"), ("OK1", "", "title"), ("OK1", "题" * 201, "title"),
])
def test_bad_bank_data_is_refused_at_its_field(world, code, title, field):
    with pytest.raises(ValidationFailed) as refused:
        banks.create_bank(world.county_a, BankData(code, title), actor=world.a_admin, now=NOW)
    assert refused.value.field == field
    assert _bank_count() == 0


def test_codes_are_unique_whatever_the_case(world):
    banks.create_bank(world.county_a, BankData("SJ01", "甲"), actor=world.a_admin, now=NOW)
    with pytest.raises(ValidationFailed, match="已被使用"):
        banks.create_bank(world.county_a, BankData("sj01", "乙"), actor=world.a_admin, now=NOW)


def test_the_owner_unit_must_be_in_the_actors_scope(world):
    with pytest.raises(NotAllowed):
        banks.create_bank(world.county_a, BankData("B1", "乙"), actor=world.b_admin, now=NOW)
    with pytest.raises(ValidationFailed):
        banks.create_bank(world.village_a, BankData("V1", "村"), actor=world.a_admin, now=NOW)
    assert _bank_count() == 0
    assert banks.create_bank(world.county_a, BankData("CLI1", "命令行"), actor=None, now=NOW)


def test_update_records_before_and_after_of_changed_fields(world):
    bank = make_bank(world.county_a, code="OLD", title="旧名")
    changes = banks.update_bank(bank, BankData("OLD", "新名", "说明"), actor=world.a_admin,
                                now=NOW)
    assert changes == {"title": ["旧名", "新名"], "description": ["", "说明"]}
    [entry] = _audit("exam.bank_update")
    assert json.loads(entry.data)["changes"]["title"] == ["旧名", "新名"]
    assert banks.update_bank(bank, BankData("OLD", "新名", "说明"), actor=world.a_admin,
                             now=NOW) == {}
    assert len(_audit("exam.bank_update")) == 1


def test_an_archived_bank_takes_no_new_questions(world):
    bank = make_bank(world.county_a)
    banks.set_bank_archived(bank, True, actor=world.a_admin, now=NOW)
    assert bank.is_archived and len(_audit("exam.bank_archive")) == 1
    q = ParsedQuestion("true_false", "低保按户施保。", (), True, 1)
    with pytest.raises(InvalidState, match="已归档"):
        questions.create_question(bank, q, actor=world.a_admin, now=NOW)
    banks.set_bank_archived(bank, False, actor=world.a_admin, now=NOW)
    assert questions.create_question(bank, q, actor=world.a_admin, now=NOW).id
    assert len(_audit("exam.bank_restore")) == 1


def test_a_unit_uses_its_own_and_its_ancestors_banks(world):
    city = make_bank(world.city, code="CITY")
    county_a = make_bank(world.county_a, code="CA")
    make_bank(world.county_b, code="CB")
    town = make_bank(world.town_a, code="TA")
    archived = make_bank(world.county_a, code="OLD")
    archived.is_archived = True
    assert [b.code for b in banks.usable_banks(world.town_a)] == ["TA", "CA", "CITY"]
    assert banks.usable_banks(world.county_a) == [county_a, city]
    assert town not in banks.usable_banks(world.county_a)


def test_banks_in_scope_and_counts_by_type(world):
    from lms.auth.access import scope_for
    from lms.auth.perms import Perm

    a = make_bank(world.county_a, code="CA", title="兰山题库")
    b = make_bank(world.county_b, code="CB")
    for qtype in ("single_choice", "single_choice", "true_false"):
        make_question(a, type=qtype)
    make_question(a, type="fill_blank").is_retired = True
    make_question(b)
    scope = scope_for(world.a_admin, Perm.EXAM_MANAGE)
    found = db.session.execute(banks.banks_in_scope(scope)).scalars().all()
    assert found == [a]
    assert db.session.execute(banks.banks_in_scope(scope, search="兰山")).scalars().all() == [a]
    assert banks.type_counts([a.id, b.id]) == {
        a.id: {"single_choice": 2, "true_false": 1}, b.id: {"single_choice": 1}}

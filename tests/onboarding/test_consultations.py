"""Director appointment with county consultation: the services (domain §3.1, decision 4)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.onboarding import consultations as svc
from lms.onboarding.gate import consultation_gap
from lms.org.models import Qualification
from lms.training.models import Completion
from tests.factories import make_person
from tests.onboarding.factories import nominee, onboarding_program

#: Monday 2 March 2026, 10:00 in Beijing.
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def director(world):
    _person, post = nominee(world.town_a, "赵主任", "office_director")
    db.session.commit()
    return post


def _open(post, world, now=NOW):
    return svc.open_consultation(post, "党委研究推荐", actor=world.town_a_admin, now=now)


def _audit(action):
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id.desc()).limit(1))
    return entry, json.loads(entry.data)


def test_open_sends_to_the_parent_county_with_ten_working_days(world, director):
    c = _open(director, world)
    assert (c.status, c.county_unit_id, c.org_unit_id) == ("submitted", world.county_a.id,
                                                           world.town_a.id)
    assert c.person_id == director.person_id
    assert c.due_on == date(2026, 3, 16)  # two working weeks later
    entry, data = _audit("consultation.submit")
    assert entry.object_id == c.id and (data["old"], data["new"]) == (None, "submitted")


def test_due_date_uses_the_local_date(world, director):
    # 2026-03-06 17:00 UTC is already Saturday 7 March in Beijing: ten working days → 20 March.
    c = _open(director, world, now=datetime(2026, 3, 6, 17, 0, tzinfo=UTC))
    assert c.due_on == date(2026, 3, 20)


def test_only_one_open_or_concurred_consultation_per_post(world, director):
    c = _open(director, world)
    with pytest.raises(InvalidState):
        _open(director, world)
    svc.concur(c, "", actor=world.a_admin, now=NOW)
    with pytest.raises(InvalidState, match="已同意"):
        _open(director, world)


def test_a_new_consultation_may_follow_an_objection_or_a_withdrawal(world, director):
    first = _open(director, world)
    svc.object_(first, "培训经历不足", actor=world.a_admin, now=NOW)
    second = _open(director, world)
    svc.withdraw(second, actor=world.town_a_admin, now=NOW)
    third = _open(director, world)
    assert third.status == "submitted"


def test_only_nominated_director_posts(world, director):
    with pytest.raises(InvalidState, match="主任岗位"):
        svc.open_consultation(world.person_a.posts[0], "x", actor=world.town_a_admin, now=NOW)
    director.status = "pending_onboarding"
    with pytest.raises(InvalidState, match="已提名"):
        _open(director, world)


def test_the_reason_is_required(world, director):
    with pytest.raises(ValidationFailed) as exc:
        svc.open_consultation(director, "   ", actor=world.town_a_admin, now=NOW)
    assert exc.value.field == "reason"


def test_another_county_cannot_open_for_the_township(world, director):
    with pytest.raises(NotAllowed):
        svc.open_consultation(director, "x", actor=world.b_admin, now=NOW)


def test_the_township_cannot_answer_its_own_consultation(world, director):
    c = _open(director, world)
    for answer in (svc.concur, svc.object_, svc.request_info):
        with pytest.raises(NotAllowed):
            answer(c, "理由", actor=world.town_a_admin, now=NOW)
        with pytest.raises(NotAllowed):
            answer(c, "理由", actor=world.b_admin, now=NOW)
    assert c.status == "submitted"


def test_county_hr_concurs_and_the_gate_opens(world, director):
    c = _open(director, world)
    assert consultation_gap(director) is not None
    svc.concur(c, "同意", actor=world.a_hr, now=NOW)
    assert (c.status, c.reply, c.replied_by_id) == ("concurred", "同意", world.a_hr.id)
    assert consultation_gap(director) is None
    _entry, data = _audit("consultation.concur")
    assert (data["old"], data["new"]) == ("submitted", "concurred")


def test_an_objection_needs_reasons_and_keeps_the_gate_closed(world, director):
    c = _open(director, world)
    with pytest.raises(ValidationFailed) as exc:
        svc.object_(c, "  ", actor=world.a_admin, now=NOW)
    assert exc.value.field == "text"
    svc.object_(c, "未参加过民政业务培训", actor=world.a_admin, now=NOW)
    assert c.status == "objected"
    assert "未参加过民政业务培训" in consultation_gap(director)
    with pytest.raises(InvalidState):
        svc.concur(c, "", actor=world.a_admin, now=NOW)


def test_request_info_then_supplement_restarts_the_period(world, director):
    c = _open(director, world)
    with pytest.raises(InvalidState):
        svc.supplement(c, "材料", actor=world.town_a_admin, now=NOW)
    with pytest.raises(ValidationFailed):
        svc.request_info(c, "", actor=world.a_admin, now=NOW)
    svc.request_info(c, "请补充任职经历", actor=world.a_admin, now=NOW)
    assert (c.status, c.reply) == ("info_requested", "请补充任职经历")
    with pytest.raises(InvalidState):  # asked already: wait for the township
        svc.request_info(c, "再补充", actor=world.a_admin, now=NOW)
    later = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # Tuesday
    svc.supplement(c, "2019年起任民政办副主任", actor=world.town_a_admin, now=later)
    assert (c.status, c.supplement, c.due_on) == ("submitted", "2019年起任民政办副主任",
                                                  date(2026, 3, 24))
    _entry, data = _audit("consultation.supplement")
    assert (data["old"], data["new"]) == ("info_requested", "submitted")
    svc.concur(c, "", actor=world.a_admin, now=later)
    assert c.status == "concurred"


def test_the_county_may_decide_while_waiting_for_material(world, director):
    c = _open(director, world)
    svc.request_info(c, "请补充", actor=world.a_admin, now=NOW)
    svc.object_(c, "不符合条件", actor=world.a_admin, now=NOW)
    assert c.status == "objected"


def test_withdraw_only_while_open(world, director):
    c = _open(director, world)
    with pytest.raises(NotAllowed):
        svc.withdraw(c, actor=world.b_admin, now=NOW)
    svc.withdraw(c, actor=world.town_a_admin, now=NOW)
    _entry, data = _audit("consultation.withdraw")
    assert (data["old"], data["new"]) == ("submitted", "withdrawn")
    with pytest.raises(InvalidState):
        svc.withdraw(c, actor=world.town_a_admin, now=NOW)
    assert "征求" in consultation_gap(director)


def test_no_answer_once_the_nomination_is_removed(world, director):
    c = _open(director, world)
    director.status = "removed"
    with pytest.raises(InvalidState, match="免职"):
        svc.concur(c, "", actor=world.a_admin, now=NOW)


def test_overdue_while_open_and_past_the_due_date(world, director):
    c = _open(director, world)
    assert not svc.is_overdue(c, date(2026, 3, 16))
    assert svc.is_overdue(c, date(2026, 3, 17))
    assert db.session.scalar(select(svc.Consultation.id).where(
        svc.overdue_clause(date(2026, 3, 17)))) == c.id
    svc.concur(c, "", actor=world.a_admin, now=NOW)
    assert not svc.is_overdue(c, date(2026, 3, 17))
    assert db.session.scalar(select(svc.Consultation.id).where(
        svc.overdue_clause(date(2026, 3, 17)))) is None


def test_candidate_profile_is_read_live(world, director):
    c = _open(director, world)
    person = director.person
    person.education = "大学本科"
    db.session.add(Qualification(person_id=person.id, level="sw_intermediate",
                                 certificate_no="ZJ2024001", obtained_on=date(2024, 6, 1)))
    program = onboarding_program(world.county_a, "township_staff")
    db.session.add(Completion(person_id=person.id, program_id=program.id,
                              org_unit_id=world.town_a.id, tier="county", kind="onboarding",
                              post_type="township_staff", completed_on=date(2025, 5, 1),
                              credit_hours=Decimal("16"), exam_score=Decimal("82.5"),
                              serial_no="3713-2025-000001", verify_code="ABCDEF123456"))
    db.session.flush()
    db.session.expire(person)
    profile = svc.candidate_profile(c)
    assert profile.person.education == "大学本科"
    assert [q.certificate_no for q in profile.qualifications] == ["ZJ2024001"]
    assert [r.serial_no for r in profile.completions] == ["3713-2025-000001"]
    assert profile.total_hours == Decimal("16")


def test_for_person_lists_newest_first(world, director):
    first = _open(director, world)
    svc.withdraw(first, actor=world.town_a_admin, now=NOW)
    second = _open(director, world)
    other = make_person(world.town_a, "钱某", post_type="office_director", status="nominated")
    assert [c.id for c in svc.for_person(director.person_id)] == [second.id, first.id]
    assert svc.for_person(other.id) == []


def test_the_person_who_opened_a_consultation_cannot_answer_it(world, director):
    """A county unit admin may open one for a township and may answer the county's
    consultations, but never both on the same one (two people, as for money)."""
    c = svc.open_consultation(director, "党委研究推荐", actor=world.a_admin, now=NOW)
    with pytest.raises(NotAllowed):
        svc.concur(c, "同意", actor=world.a_admin, now=NOW)
    assert c.status == "submitted"
    svc.concur(c, "同意", actor=world.a_hr, now=NOW)
    assert c.status == "concurred"

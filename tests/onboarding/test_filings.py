"""Village assistant filing with the county (备案): created by the gate when an assistant goes
``onboarded → in_post``, acknowledged or returned by the county bureau, resubmitted by the
township. Filing is registration, not approval: the assistant stays in post throughout."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.onboarding import filings
from lms.onboarding.gate import record_for
from lms.onboarding.models import Filing
from lms.onboarding.rules import FILING_DAYS, add_working_days
from lms.org.models import Post, PostStatus
from lms.org.services.posts import change_post_status
from lms.training.completion import complete, local_date
from lms.training.models import Enrollment
from tests.onboarding.factories import nominee, onboarding_program

#: Friday 27 November 2026, 10:00 in Shandong.
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _audits(action: str, filing: Filing) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.object_type == "Filing",
        AuditEntry.object_id == filing.id)))


def _onboarded_assistant(world, name: str = "赵六", *, now: datetime = NOW) -> Post:
    """A village assistant in village A taken through the gate to ``onboarded``."""
    person, post = nominee(world.village_a, name, "village_assistant")
    person.education, person.phone = "大专", "13900000009"
    person.id_masked = "371302********123X"
    change_post_status(post, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin, now=now)
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.person_id == person.id))
    complete(enrollment, actor=world.town_a_admin, now=now)
    assert post.status == PostStatus.ONBOARDED.value
    return post


def _filing_of(post: Post) -> Filing:
    return db.session.scalar(select(Filing).where(Filing.post_id == post.id))


@pytest.fixture
def filed(world):
    onboarding_program(world.town_a, "village_assistant")
    post = _onboarded_assistant(world)
    change_post_status(post, PostStatus.IN_POST, actor=world.town_a_admin, now=NOW)
    return _filing_of(post)


# ---------------------------------------------------------------- creation


def test_setting_an_assistant_in_post_files_with_the_county(world, filed):
    post = db.session.get(Post, filed.post_id)
    assert filed.status == "submitted"
    assert filed.county_unit_id == world.county_a.id
    assert filed.org_unit_id == world.village_a.id
    assert filed.person_id == post.person_id
    assert filed.due_on == date(2026, 12, 18)  # 15 working days after Friday 27 November
    assert filed.due_on == add_working_days(local_date(NOW), FILING_DAYS)
    serial = record_for(post).completion_id
    assert serial is not None
    assert filed.details == {
        "name": "赵六", "id_masked": "371302********123X", "village": world.village_a.name,
        "village_code": world.village_a.code, "education": "大专", "phone": "13900000009",
        "certificate_no": filings.snapshot(post, NOW)["certificate_no"],
        "appointed_on": "2026-11-27",  # the move to in post, not the nomination
    }
    assert filed.details["certificate_no"]  # the onboarding completion's serial number
    [entry] = _audits("filing.submit", filed)
    assert entry.actor_id == world.town_a_admin.id
    assert json.loads(entry.data)["due_on"] == "2026-12-18"


def test_snapshot_without_certificate_or_start_date(world):
    person, post = nominee(world.village_a, "钱七", "village_assistant")
    post.started_on = None
    details = filings.snapshot(post, NOW)
    assert details["certificate_no"] == ""
    assert details["appointed_on"] == "2026-11-27"
    assert details["id_masked"] == "" and details["education"] == ""


def test_only_village_assistants_are_filed(world):
    _person, post = nominee(world.town_a, "孙八", "township_staff")
    filings._file_on_in_post(post, world.town_a_admin, NOW)
    assert db.session.scalar(select(Filing.id)) is None
    with pytest.raises(InvalidState):
        filings.submit(post, actor=None, now=NOW)


def test_one_filing_per_post(world, filed):
    post = db.session.get(Post, filed.post_id)
    filings._file_on_in_post(post, world.town_a_admin, LATER)
    assert len(db.session.scalars(select(Filing)).all()) == 1


def test_county_of_a_village_is_its_grandparent(world):
    assert filings.county_of(world.village_a) == world.county_a
    assert filings.county_of(world.town_b) == world.county_b
    with pytest.raises(InvalidState):
        filings.county_of(world.city)


# ---------------------------------------------------------------- the county's answer


def test_county_acknowledges(world, filed):
    filings.acknowledge(filed, "  已登记 ", actor=world.a_admin, now=LATER)
    assert filed.status == "acknowledged"
    assert filed.note == "已登记"
    assert filed.decided_by_id == world.a_admin.id and filed.decided_at == LATER
    [entry] = _audits("filing.acknowledge", filed)
    assert json.loads(entry.data)["note"] == "已登记"
    assert db.session.get(Post, filed.post_id).status == PostStatus.IN_POST.value
    with pytest.raises(InvalidState):
        filings.acknowledge(filed, "", actor=world.a_admin, now=LATER)
    with pytest.raises(InvalidState):
        filings.return_filing(filed, "学历有误", actor=world.a_admin, now=LATER)


def test_county_hr_and_city_may_answer(world, filed):
    filings.acknowledge(filed, None, actor=world.a_hr, now=LATER)
    assert filed.status == "acknowledged"


@pytest.mark.parametrize("who", ["town_a_admin", "b_admin"])
def test_township_or_other_county_cannot_answer(world, filed, who):
    actor = getattr(world, who)
    with pytest.raises(NotAllowed):
        filings.acknowledge(filed, "", actor=actor, now=LATER)
    with pytest.raises(NotAllowed):
        filings.return_filing(filed, "学历有误", actor=actor, now=LATER)
    assert filed.status == "submitted"
    assert _audits("filing.acknowledge", filed) == []


def test_return_needs_reasons_and_keeps_the_assistant_in_post(world, filed):
    for blank in ("", "   ", None):
        with pytest.raises(ValidationFailed) as exc:
            filings.return_filing(filed, blank, actor=world.a_admin, now=LATER)
        assert exc.value.field == "reasons"
    with pytest.raises(ValidationFailed):
        filings.return_filing(filed, "长" * 501, actor=world.a_admin, now=LATER)
    assert filed.status == "submitted"
    filings.return_filing(filed, "学历与档案不符", actor=world.a_admin, now=LATER)
    assert filed.status == "returned" and filed.note == "学历与档案不符"
    [entry] = _audits("filing.return", filed)
    assert json.loads(entry.data)["reasons"] == "学历与档案不符"
    assert db.session.get(Post, filed.post_id).status == PostStatus.IN_POST.value


# ---------------------------------------------------------------- the township's correction


def test_township_resubmits_with_fresh_data(world, filed):
    with pytest.raises(InvalidState):  # not returned yet
        filings.resubmit(filed, "", actor=world.town_a_admin, now=LATER)
    filings.return_filing(filed, "学历有误", actor=world.a_admin, now=LATER)
    person = db.session.get(Post, filed.post_id).person
    person.education, person.phone = "本科", "13900000010"
    with pytest.raises(NotAllowed):
        filings.resubmit(filed, "", actor=world.b_admin, now=LATER)
    filings.resubmit(filed, "已更正学历", actor=world.town_a_admin, now=LATER)
    assert filed.status == "submitted"
    assert filed.details["education"] == "本科" and filed.details["phone"] == "13900000010"
    assert filed.submitted_at == LATER
    assert filed.due_on == add_working_days(date(2026, 12, 1), FILING_DAYS)
    assert filed.decided_at is None and filed.decided_by_id is None
    [entry] = _audits("filing.resubmit", filed)
    assert json.loads(entry.data)["note"] == "已更正学历"
    assert [e.action for e in filings.history(filed)] == [
        "filing.submit", "filing.return", "filing.resubmit"]
    filings.acknowledge(filed, "", actor=world.a_admin, now=LATER)
    assert filed.status == "acknowledged"


def test_for_person_lists_the_filings(world, filed):
    assert filings.for_person(filed.person_id) == [filed]
    assert filings.for_person(world.person_b.id) == []


def test_overdue(world, filed):
    assert not filings.is_filing_overdue(filed, date(2026, 12, 18))
    assert filings.is_filing_overdue(filed, date(2026, 12, 19))
    found = db.session.scalars(select(Filing).where(
        filings.overdue_clause(date(2026, 12, 19)))).all()
    assert found == [filed]
    filings.acknowledge(filed, "", actor=world.a_admin, now=LATER)
    assert not filings.is_filing_overdue(filed, date(2027, 1, 1))

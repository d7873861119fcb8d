"""Enrolment: auto-enrol (subtree, audience, rotation order, capacity, waiting list, idempotent,
fixed statement count), manual add and remove, promotion, and the pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.org.models import PostType
from lms.training import enrolment
from lms.training.models import Enrollment
from tests.factories import make_unit
from tests.querycount import count_queries
from tests.training.program_helpers import (
    NOW,
    complete,
    enrol,
    make_program,
    staff,
    statuses,
)

STAFF = PostType.TOWNSHIP_STAFF.value


def _audits(action: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == action)).scalar_one()


def _rotation_people(world) -> None:
    """Six township staff of county A with different rotation states on 2026-03-20."""
    current = staff(world.town_a, "当前")
    due = staff(world.town_a, "到期")
    overdue_old = staff(world.town_a, "逾期旧")
    overdue_new = staff(world.town_a, "逾期新")
    staff(world.town_a, "从未")
    other_tier = staff(world.town_a, "别的岗位完成")
    complete(current, world.county_a, date(2025, 6, 1))
    complete(due, world.county_a, date(2023, 9, 1))
    complete(overdue_old, world.county_a, date(2022, 1, 1))
    complete(overdue_new, world.county_a, date(2023, 1, 1))
    complete(other_tier, world.town_a, date(2025, 6, 1), post_type="village_assistant")


# ---------------------------------------------------------------- auto-enrol


def test_auto_enrol_takes_only_the_audience_inside_the_subtree(app, world):
    second_town = make_unit("371302002", "枣园镇", "township", world.county_a)
    staff(world.town_a, "甲")
    staff(second_town, "乙", status="nominated")
    staff(world.town_b, "丙")  # another county
    staff(world.town_a, "丁", post_type=PostType.OFFICE_DIRECTOR.value)  # another tier
    staff(world.town_a, "戊", status="removed")
    staff(world.town_a, "己", acting=True)
    program = make_program(world.county_a)
    result = enrolment.auto_enrol(program, actor=world.a_admin, now=NOW)
    assert (result.enrolled, result.waitlisted, result.promoted) == (2, 0, 0)
    assert statuses(program) == {"甲": "enrolled", "乙": "enrolled"}
    assert {e.org_unit_id for e in program_enrolments(program)} == {world.town_a.id,
                                                                     second_town.id}


def program_enrolments(program) -> list[Enrollment]:
    return list(db.session.execute(select(Enrollment).where(
        Enrollment.program_id == program.id)).scalars())


def test_auto_enrol_orders_overdue_due_never_first_and_waitlists_the_rest(app, world):
    _rotation_people(world)
    program = make_program(world.county_a, capacity=3)
    result = enrolment.auto_enrol(program, actor=None, now=NOW)
    assert (result.enrolled, result.waitlisted) == (3, 3)
    assert statuses(program) == {
        "逾期旧": "enrolled", "逾期新": "enrolled", "到期": "enrolled",
        "从未": "waitlisted#1", "别的岗位完成": "waitlisted#2", "当前": "waitlisted#3"}
    assert all(e.due_on == program.ends_on for e in program_enrolments(program))
    assert _audits("enrolment.auto") == 6


def test_running_auto_enrol_twice_changes_nothing(app, world):
    _rotation_people(world)
    program = make_program(world.county_a, capacity=3)
    enrolment.auto_enrol(program, actor=None, now=NOW)
    before, audits = statuses(program), _audits("enrolment.auto")
    again = enrolment.auto_enrol(program, actor=None, now=NOW)
    assert not again.changed
    assert statuses(program) == before and _audits("enrolment.auto") == audits
    staff(world.town_a, "新来")  # a newcomer joins the end of the waiting list
    enrolment.auto_enrol(program, actor=None, now=NOW)
    assert statuses(program)["新来"] == "waitlisted#4"


def test_cycle_of_two_years_makes_more_people_due(app, world):
    person = staff(world.town_a, "两年")
    complete(person, world.county_a, date(2024, 6, 1))
    program = make_program(world.county_a)
    found = enrolment.audience_candidates(program, today=date(2026, 3, 20), cycle_years=2)
    assert [c.rotation.value for c in found] == ["due"]
    found = enrolment.audience_candidates(program, today=date(2026, 3, 20), cycle_years=3)
    assert [c.rotation.value for c in found] == ["current"]


def test_auto_enrol_refused_out_of_scope_or_closed(app, world):
    program = make_program(world.county_a)
    with pytest.raises(NotAllowed):
        enrolment.auto_enrol(program, actor=world.b_admin, now=NOW)
    program.status = "closed"
    with pytest.raises(InvalidState):
        enrolment.auto_enrol(program, actor=world.a_admin, now=NOW)


def _auto_enrol_statements(world, n: int, title: str) -> tuple[int, int]:
    for i in range(n):
        staff(world.town_a, f"{title}{i}")
    program = make_program(world.county_a, capacity=2, title=title)
    db.session.commit()
    with count_queries() as counter:
        result = enrolment.auto_enrol(program, actor=world.a_admin, now=NOW)
    assert result.enrolled == 2 and result.waitlisted >= n - 2
    waiting = result.waitlisted
    db.session.commit()
    program.capacity = None  # the whole waiting list moves up on the next run
    db.session.commit()
    with count_queries() as promoting:
        result = enrolment.auto_enrol(program, actor=world.a_admin, now=NOW)
    assert result.promoted == waiting
    db.session.commit()
    return counter.count, promoting.count


def test_auto_enrol_statement_count_does_not_grow_with_people(app, world):
    few = _auto_enrol_statements(world, 3, "少")
    many = _auto_enrol_statements(world, 60, "多")
    assert many == few


# ---------------------------------------------------------------- remove and promote


def test_removing_an_enrolled_person_promotes_the_first_waitlisted(app, world):
    _rotation_people(world)
    program = make_program(world.county_a, capacity=3)
    enrolment.auto_enrol(program, actor=None, now=NOW)
    target = next(e for e in program_enrolments(program) if e.person.name == "逾期新")
    with pytest.raises(ValidationFailed) as refused:
        enrolment.remove_enrolment(target, reason="  ", actor=world.a_admin, now=NOW)
    assert refused.value.field == "reason"
    promoted = enrolment.remove_enrolment(target, reason="已调离岗位", actor=world.a_admin,
                                          now=NOW)
    assert [e.person.name for e in promoted] == ["从未"]
    assert statuses(program) == {
        "逾期旧": "enrolled", "逾期新": "removed", "到期": "enrolled", "从未": "enrolled",
        "别的岗位完成": "waitlisted#2", "当前": "waitlisted#3"}
    waiting = next(e for e in program_enrolments(program) if e.person.name == "当前")
    assert enrolment.remove_enrolment(waiting, reason="本人申请", actor=None, now=NOW) == []
    assert statuses(program)["别的岗位完成"] == "waitlisted#2"
    with pytest.raises(InvalidState):
        enrolment.remove_enrolment(waiting, reason="再次", actor=None, now=NOW)
    assert _audits("enrolment.remove") == 2 and _audits("enrolment.promote") == 1


# ---------------------------------------------------------------- manual add


def test_manual_add_checks_audience_and_fills_the_waiting_list(app, world):
    program = make_program(world.county_a, capacity=1)
    first, second = staff(world.town_a, "甲"), staff(world.town_a, "乙", acting=True)
    for outsider in (staff(world.town_b, "外县"), world.person_a,
                     staff(world.town_a, "主任", post_type=PostType.OFFICE_DIRECTOR.value)):
        with pytest.raises(ValidationFailed) as refused:
            enrolment.add_person(program, outsider, actor=world.a_admin, now=NOW)
        assert refused.value.field == "person" and "兰山区" in str(refused.value)
    assert enrolment.add_person(program, first, actor=world.a_admin, now=NOW).status == "enrolled"
    added = enrolment.add_person(program, second, actor=world.a_admin, now=NOW)
    assert (added.status, added.waitlist_position) == ("waitlisted", 1)
    with pytest.raises(InvalidState):
        enrolment.add_person(program, first, actor=world.a_admin, now=NOW)
    enrolment.remove_enrolment(added, reason="重复", actor=None, now=NOW)
    again = enrolment.add_person(program, second, actor=None, now=NOW)
    assert again.id == added.id and again.status == "waitlisted"
    assert _audits("enrolment.add") == 3


# ---------------------------------------------------------------- pages


def test_auto_enrol_add_and_remove_through_the_pages(app, client, world):
    program = make_program(world.town_a, audience="village_assistant", capacity=1)
    second = staff(world.village_a, "赵六", post_type="village_assistant")
    db.session.commit()
    client.login("town_a_admin")
    resp = client.post(f"/training/programs/{program.id}/auto-enrol")
    assert resp.status_code == 302
    html = client.get(resp.location).get_data(as_text=True)
    assert "新报名 1 人，进入候补 1 人" in html
    client.post(f"/training/programs/{program.id}/auto-enrol")
    assert "没有需要新增的学员" in client.get(f"/training/programs/{program.id}").get_data(
        as_text=True)
    enrolled = db.session.execute(select(Enrollment).where(
        Enrollment.program_id == program.id, Enrollment.status == "enrolled")).scalar_one()
    url = f"/training/programs/{program.id}/remove?enrolment={enrolled.id}"
    page = client.get(url).get_data(as_text=True)
    assert "候补名单中的第一位将自动转为正式学员" in page
    resp = client.post(url, {"enrolment": enrolled.id, "reason": ""})
    assert resp.status_code == 200 and "请填写移出原因" in resp.get_data(as_text=True)
    resp = client.post(url, {"enrolment": enrolled.id, "reason": "已调离"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert enrolled.person_id == world.person_a.id
    assert {e.person_id: e.status for e in program_enrolments(program)} == {
        world.person_a.id: "removed", second.id: "enrolled"}
    assert _audits("enrolment.promote") == 1


def test_person_search_stays_inside_the_audience(app, client, world):
    program = make_program(world.town_a, audience="village_assistant")
    db.session.commit()
    client.login("town_a_admin")
    page = f"/training/programs/{program.id}/add"
    html = client.get(page + "?q=李四").get_data(as_text=True)
    assert "李四" in html and "加入名单" in html
    html = client.get(page + "?q=王五").get_data(as_text=True)  # county B
    assert "王五" not in re.sub(r'(value|href)="[^"]*"', "", html) and "没有找到" in html
    resp = client.post(page + "?q=李四", {"person": world.person_a.id})
    assert resp.status_code == 302
    resp = client.post(page, {"person": world.person_b.id})
    assert resp.status_code == 200 and "不是本培训班的培训对象" in resp.get_data(as_text=True)
    for hostile in ("abc", "-1", "99999999999999999999", ""):
        assert client.post(page, {"person": hostile}).status_code == 200
    assert statuses(program) == {"李四": "enrolled"}


def test_remove_page_with_a_foreign_enrolment_id_goes_back(app, client, world):
    mine = make_program(world.county_a)
    theirs = make_program(world.county_b)
    foreign = enrol(theirs, staff(world.town_b, "外县"))
    db.session.commit()
    client.login("a_admin")
    resp = client.get(f"/training/programs/{mine.id}/remove?enrolment={foreign.id}")
    assert resp.status_code == 302
    resp = client.post(f"/training/programs/{mine.id}/remove",
                       {"enrolment": foreign.id, "reason": "x"})
    assert resp.status_code == 302
    assert db.session.get(Enrollment, foreign.id).status == "enrolled"

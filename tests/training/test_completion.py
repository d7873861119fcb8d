"""The completion rule (lessons, attendance, exam), the check's words, and issuing completions:
serial numbers, verification codes, validity, idempotence, audit, the batch."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed
from lms.extensions import db
from lms.training import completion
from lms.training.completion import (
    VERIFY_ALPHABET,
    CourseLessons,
    Progress,
    Requirements,
    missing_items,
    required_sessions,
)
from lms.training.models import Completion
from tests.factories import make_person, make_unit
from tests.training.completion_factories import (
    NOW,
    attend,
    enrol,
    finish,
    make_course,
    make_program,
    ready,
)

COURSE = CourseLessons("社会救助政策", ((1, "最低生活保障"), (2, "特困人员救助供养"),
                                    (3, "临时救助"), (4, "养老服务"), (5, "金民工程")))
ALL = frozenset({1, 2, 3, 4, 5})
FIRST_THREE = "最低生活保障、特困人员救助供养、临时救助"


def _req(sessions: int = 5, threshold: int = 80, exam: bool = False) -> Requirements:
    return Requirements((COURSE,), sessions, threshold, exam)


# ---------------------------------------------------------------- the pure rule

@pytest.mark.parametrize(("sessions", "pct", "needed"), [
    (0, 80, 0), (1, 80, 1), (3, 80, 3), (5, 80, 4), (10, 80, 8), (4, 100, 4), (7, 50, 4),
    (5, 0, 0),
])
def test_required_sessions_round_up(sessions, pct, needed):
    assert required_sessions(sessions, pct) == needed


def test_everything_done_means_nothing_missing(app):
    assert missing_items(_req(), Progress(ALL, 4, None)) == []


@pytest.mark.parametrize(("done", "expected"), [
    (ALL - {2}, "课程“社会救助政策”还有 1 课未学完：特困人员救助供养"),
    (frozenset({5}), "课程“社会救助政策”还有 4 课未学完：" + FIRST_THREE + " 等"),
    (frozenset(), "课程“社会救助政策”还有 5 课未学完：" + FIRST_THREE + " 等"),
])
def test_unfinished_lessons_are_named(app, done, expected):
    assert missing_items(_req(), Progress(done, 5, None)) == [expected]


@pytest.mark.parametrize(("attended", "sessions", "threshold", "expected"), [
    (3, 5, 80, ["出勤 3/5 次，至少需要 4 次"]),
    (4, 5, 80, []),
    (0, 0, 80, []),  # a program without sessions has no attendance requirement
    (0, 2, 100, ["出勤 0/2 次，至少需要 2 次"]),
])
def test_attendance_threshold(app, attended, sessions, threshold, expected):
    assert missing_items(_req(sessions, threshold), Progress(ALL, attended, None)) == expected


@pytest.mark.parametrize(("passed", "expected"), [
    (None, ["结业考试尚未开放或尚无成绩，暂不能结业"]),
    (False, ["结业考试未通过"]),
    (True, []),
])
def test_exam_when_required(app, passed, expected):
    assert missing_items(_req(exam=True), Progress(ALL, 5, passed)) == expected


def test_every_gap_is_listed_together(app):
    gaps = missing_items(_req(exam=True), Progress(frozenset({1}), 0, None))
    assert len(gaps) == 3


# ---------------------------------------------------------------- checking from the database

def test_check_counts_present_and_late_but_not_absent(app, world):
    setup = make_program(world.town_a, sessions=5)
    e = enrol(setup.program, world.person_a)
    finish(world.person_a, setup.lessons)
    attend(world.person_a, setup.sessions[:2], "present")
    attend(world.person_a, setup.sessions[2:3], "late")
    attend(world.person_a, setup.sessions[3:], "absent")
    check = completion.check_completion(e, now=NOW)
    assert (check.attended, check.sessions) == (3, 5)
    assert check.missing == ("出勤 3/5 次，至少需要 4 次",)


def test_retired_lessons_and_retired_courses_are_not_required(app, world):
    kept = make_course("养老服务", ["养老服务补贴"], retired_lessons=("旧政策",))
    gone = make_course("已停用课程", ["不再要求的课"], retired=True)
    setup = make_program(world.town_a, courses=[kept, gone])
    e = enrol(setup.program, world.person_a)
    finish(world.person_a, [lesson for lesson in kept.lessons if not lesson.is_retired])
    assert completion.check_completion(e, now=NOW).eligible


def test_unfinished_progress_does_not_count(app, world):
    setup = make_program(world.town_a)
    e = enrol(setup.program, world.person_a)
    finish(world.person_a, setup.lessons[1:])
    from lms.courses.models import LessonProgress

    db.session.add(LessonProgress(person_id=world.person_a.id, lesson_id=setup.lessons[0].id,
                                  org_unit_id=world.village_a.id, started_at=NOW))
    db.session.flush()
    check = completion.check_completion(e, now=NOW)
    assert check.missing == ("课程“社会救助政策”还有 1 课未学完：最低生活保障",)


def test_another_persons_progress_does_not_count(app, world):
    setup = make_program(world.town_a, sessions=1)
    e = enrol(setup.program, world.person_a)
    finish(world.person_b, setup.lessons)
    attend(world.person_b, setup.sessions)
    assert len(completion.check_completion(e, now=NOW).missing) == 2


def test_a_program_requiring_the_exam_cannot_complete_yet(app, world):
    setup = make_program(world.town_a, requires_exam=True)
    e = ready(setup, world.person_a)
    assert completion.exam_passed(world.person_a, setup.program, now=NOW) is None
    check = completion.check_completion(e, now=NOW)
    assert check.missing == ("结业考试尚未开放或尚无成绩，暂不能结业",)
    with pytest.raises(InvalidState, match="结业考试"):
        completion.complete(e, actor=world.town_a_admin, now=NOW)


# ---------------------------------------------------------------- issuing

def test_complete_creates_the_record(app, world):
    setup = make_program(world.town_a, sessions=2)
    e = ready(setup, world.person_a)
    c = completion.complete(e, actor=world.town_a_admin, now=NOW)
    assert c.serial_no == "3713-2026-000001"
    assert len(c.verify_code) == 10 and set(c.verify_code) <= set(VERIFY_ALPHABET)
    assert (c.tier, c.kind, c.post_type) == ("township", "rotation", "village_assistant")
    assert (c.completed_on, c.valid_until) == (date(2026, 3, 20), date(2029, 3, 20))
    assert c.credit_hours == setup.program.credit_hours
    assert c.org_unit_id == world.village_a.id and c.exam_score is None
    assert (e.status, e.completed_at) == ("completed", NOW)
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "completion.create")).one()
    assert entry.object_id == c.id and entry.details["serial_no"] == c.serial_no


def test_complete_is_idempotent(app, world):
    e = ready(make_program(world.town_a), world.person_a)
    first = completion.complete(e, actor=world.town_a_admin, now=NOW)
    again = completion.complete(e, actor=world.town_a_admin, now=datetime(2027, 1, 5, tzinfo=UTC))
    assert again.id == first.id and again.serial_no == first.serial_no
    assert db.session.scalar(select(db.func.count(Completion.id))) == 1
    assert len(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "completion.create")).all()) == 1


def test_complete_refuses_and_names_what_is_missing(app, world):
    setup = make_program(world.town_a, sessions=5)
    e = enrol(setup.program, world.person_a)
    with pytest.raises(InvalidState) as exc:
        completion.complete(e, actor=world.town_a_admin, now=NOW)
    assert "李四尚不能结业" in str(exc.value) and "出勤 0/5 次" in str(exc.value)
    assert "最低生活保障" in str(exc.value)
    assert e.status == "enrolled"


def test_waitlisted_people_do_not_complete(app, world):
    setup = make_program(world.town_a)
    e = enrol(setup.program, world.person_a, status="waitlisted")
    finish(world.person_a, setup.lessons)
    with pytest.raises(InvalidState):
        completion.complete(e, actor=world.town_a_admin, now=NOW)


def test_an_actor_outside_the_organiser_is_refused(app, world):
    e = ready(make_program(world.town_a), world.person_a)
    with pytest.raises(NotAllowed):
        completion.complete(e, actor=world.b_admin, now=NOW)


def test_validity_follows_the_configured_cycle(app, world):
    app.config["ROTATION_CYCLE_YEARS"] = 2
    e = ready(make_program(world.town_a), world.person_a)
    c = completion.complete(e, actor=world.town_a_admin, now=NOW)
    assert c.valid_until == date(2028, 3, 20)


def test_completion_day_and_serial_year_are_local(app, world):
    e = ready(make_program(world.town_a), world.person_a)
    new_year_local = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 01:30 on 1 January in Shandong
    c = completion.complete(e, actor=world.town_a_admin, now=new_year_local)
    assert c.completed_on == date(2027, 1, 1) and c.serial_no == "3713-2027-000001"


def test_serials_count_per_city_and_year(app, world):
    other_city = make_unit("3714", "德州市", "city")
    other_county = make_unit("371402", "德城区", "county", other_city)
    other_person = make_person(world.town_b, "赵六", post_type="township_staff")
    first = completion.complete(ready(make_program(world.town_a), world.person_a),
                                actor=None, now=NOW)
    second = completion.complete(ready(make_program(world.county_b, audience="township_staff"),
                                       other_person), actor=None, now=NOW)
    elsewhere = completion.complete(ready(make_program(other_county, audience="township_staff"),
                                          world.person_b), actor=None, now=NOW)
    next_year = completion.complete(ready(make_program(world.city, audience="office_director"),
                                          make_person(world.town_a, "钱七")), actor=None,
                                    now=datetime(2027, 2, 1, tzinfo=UTC))
    assert [first.serial_no, second.serial_no, elsewhere.serial_no, next_year.serial_no] == [
        "3713-2026-000001", "3713-2026-000002", "3714-2026-000001", "3713-2027-000001"]
    assert (first.tier, second.tier, next_year.tier) == ("township", "county", "city")


def test_batch_completes_only_the_eligible(app, world):
    setup = make_program(world.town_a, sessions=2)
    people = [make_person(world.village_a, name, post_type="village_assistant")
              for name in ("王堃", "李赟", "张喆")]
    for p in people[:2]:
        ready(setup, p)
    enrol(setup.program, people[2])
    made = completion.complete_all_eligible(setup.program, actor=world.town_a_admin, now=NOW)
    assert sorted(c.person_id for c in made) == sorted(p.id for p in people[:2])
    assert sorted(c.serial_no for c in made) == ["3713-2026-000001", "3713-2026-000002"]
    assert len({c.verify_code for c in made}) == 2
    assert completion.complete_all_eligible(setup.program, actor=world.town_a_admin,
                                            now=NOW) == []
    assert len(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "completion.create")).all()) == 2


def test_overview_orders_ready_then_missing_then_completed(app, world):
    setup = make_program(world.town_a)
    done, ready_one, missing = (make_person(world.village_a, n, post_type="village_assistant")
                                for n in ("甲", "乙", "丙"))
    completion.complete(ready(setup, done), actor=None, now=NOW)
    enrol(setup.program, missing)
    ready(setup, ready_one)
    enrol(setup.program, make_person(world.village_a, "丁"), status="removed")
    rows = completion.completion_overview(setup.program, now=NOW)
    assert [r.enrollment.person.name for r in rows] == ["乙", "丙", "甲"]
    assert rows[2].completion is not None and rows[0].check.eligible


def test_find_by_code_ignores_case_spaces_and_dashes(app, world):
    c = completion.complete(ready(make_program(world.town_a), world.person_a), actor=None, now=NOW)
    messy = f" {c.verify_code[:5].lower()}-{c.verify_code[5:]} "
    assert completion.find_by_code(messy).id == c.id
    assert c.verify_code == "ABCDEFGHJK" or completion.find_by_code("ABCDEFGHJK") is None
    assert completion.find_by_code("0O1IL") is None
    assert completion.find_by_code("x" * 500) is None


def test_validity_state(app, world):
    c = completion.complete(ready(make_program(world.town_a), world.person_a), actor=None, now=NOW)
    assert completion.validity(c, date(2029, 3, 20)) == "current"
    assert completion.validity(c, date(2029, 3, 21)) == "expired"
    assert re.fullmatch(r"3713-2026-\d{6}", c.serial_no)

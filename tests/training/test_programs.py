"""Programs: the tier rule through the service and the UI, scope, editing, status, courses,
the list and the program page (query budget), hostile input."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.org.models import Level, PostType
from lms.training import programs
from lms.training.models import Program
from lms.training.rules import tier_refusal
from tests.factories import make_unit
from tests.querycount import count_queries
from tests.training.program_helpers import (
    NOW,
    enrol,
    library_course,
    make_program,
    make_session,
    program_data,
    staff,
)

ALLOWED = {(Level.CITY, PostType.OFFICE_DIRECTOR), (Level.COUNTY, PostType.TOWNSHIP_STAFF),
           (Level.TOWNSHIP, PostType.VILLAGE_ASSISTANT)}


def _organiser(world, level: Level):
    if level == Level.PROVINCE:
        province = make_unit("37", "山东省", "province")
        world.city.parent_id = province.id
        return province
    return {Level.CITY: world.city, Level.COUNTY: world.county_a, Level.TOWNSHIP: world.town_a,
            Level.VILLAGE: world.village_a}[level]


def _count(model=Program) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _audits(action: str) -> int:
    return db.session.execute(select(func.count()).where(AuditEntry.action == action)
                              .select_from(AuditEntry)).scalar_one()


# ---------------------------------------------------------------- the tier rule


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("post", list(PostType))
def test_tier_rule_through_the_service_for_every_pair(app, world, level, post):
    unit = _organiser(world, level)
    data = program_data(audience_post_type=post.value)
    if (level, post) in ALLOWED:
        program = programs.create_program(unit, data, actor=None, now=NOW)
        assert program.status == "draft" and program.org_unit_id == unit.id
        assert _audits("program.create") == 1
        return
    with pytest.raises(ValidationFailed) as refused:
        programs.create_program(unit, data, actor=None, now=NOW)
    assert refused.value.field == "audience_post_type"
    assert str(refused.value) == tier_refusal(level, post)
    assert _count() == 0 and _audits("program.create") == 0


def test_county_admin_creating_for_office_directors_sees_the_reason(app, client, world):
    client.login("a_admin")
    resp = client.post("/training/programs/new", {
        "unit": world.county_a.id, "title": "主任培训班", "kind": "rotation",
        "audience_post_type": "office_director", "mode": "online", "credit_hours": "8",
        "attendance_threshold_pct": "80"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    reason = tier_refusal(Level.COUNTY, PostType.OFFICE_DIRECTOR)
    field = re.search(r'<div class="field has-error">\s*<label for="audience_post_type".*?</div>',
                      html, re.S)
    assert field and reason in field.group(0)
    assert "主任培训班" in html  # what was typed is kept
    assert _count() == 0 and _audits("program.create") == 0


def test_county_admin_creates_a_program_for_township_staff(app, client, world):
    client.login("a_admin")
    resp = client.post("/training/programs/new", {
        "unit": world.county_a.id, "title": "兰山区乡镇民政工作人员轮训班", "kind": "rotation",
        "audience_post_type": "township_staff", "mode": "blended", "starts_on": "2026-03-01",
        "ends_on": "2026-04-30", "capacity": "40", "credit_hours": "24.5",
        "attendance_threshold_pct": "80", "requires_exam": "y"})
    program = db.session.execute(select(Program)).scalar_one()
    assert resp.status_code == 302 and resp.location.endswith(f"/training/programs/{program.id}")
    assert (program.org_unit_id, program.capacity, str(program.credit_hours),
            program.requires_exam, program.status) == (world.county_a.id, 40, "24.5", True, "draft")
    assert _audits("program.create") == 1


def test_organiser_outside_the_scope_is_refused(app, client, world):
    with pytest.raises(NotAllowed):
        programs.create_program(world.county_b, program_data(), actor=world.a_admin, now=NOW)
    client.login("a_admin")
    resp = client.post("/training/programs/new", {
        "unit": world.county_b.id, "title": "x", "kind": "rotation",
        "audience_post_type": "township_staff", "mode": "online"})
    assert resp.status_code == 200 and "请从列表中选择单位" in resp.get_data(as_text=True)
    assert _count() == 0


# ---------------------------------------------------------------- edit and status


def test_update_keeps_the_audience_once_people_are_enrolled(app, world):
    program = make_program(world.county_a)
    enrol(program, staff(world.town_a, "赵一"))
    with pytest.raises(ValidationFailed) as refused:
        programs.update_program(program, program_data(audience_post_type="village_assistant"),
                                actor=world.a_admin, now=NOW)
    assert refused.value.field == "audience_post_type"
    changes = programs.update_program(program, program_data(title="新名称"), actor=world.a_admin,
                                      now=NOW)
    assert changes["title"] == ["轮训班", "新名称"] and _audits("program.update") == 1
    assert programs.update_program(program, program_data(title="新名称"), actor=world.a_admin,
                                   now=NOW) == {}
    assert _audits("program.update") == 1


def test_program_dates_must_still_hold_its_sessions(app, world):
    program = make_program(world.county_a)
    make_session(program, datetime(2026, 3, 10, 1, tzinfo=UTC))
    with pytest.raises(ValidationFailed) as refused:
        programs.update_program(program, program_data(starts_on=date(2026, 3, 11)),
                                actor=None, now=NOW)
    assert refused.value.field == "starts_on" and "2026-03-10" in str(refused.value)
    with pytest.raises(ValidationFailed):
        programs.update_program(program, program_data(ends_on=date(2026, 3, 9), starts_on=None),
                                actor=None, now=NOW)


def test_raising_the_capacity_moves_the_waiting_list_up(app, world):
    program = make_program(world.county_a, capacity=1)
    enrol(program, staff(world.town_a, "赵一"))
    waiting = enrol(program, staff(world.town_a, "钱二"), "waitlisted", 1)
    programs.update_program(program, program_data(capacity=2), actor=None, now=NOW)
    assert waiting.status == "enrolled" and waiting.waitlist_position is None
    assert _audits("enrolment.promote") == 1


def test_open_close_and_reopen(app, client, world):
    program = make_program(world.county_a, status="draft")
    db.session.commit()
    with pytest.raises(InvalidState):
        programs.close_program(program, actor=None, now=NOW)
    client.login("a_admin")
    url = f"/training/programs/{program.id}/status"
    assert client.post(url, {"action": "open"}).status_code == 302
    assert db.session.get(Program, program.id).status == "open"
    client.post(url, {"action": "close"})
    assert db.session.get(Program, program.id).status == "closed"
    client.post(url, {"action": "close"})  # twice: refused with a message, no 500
    assert _audits("program.close") == 1 and _audits("program.open") == 1
    client.post(url, {"action": "open"})
    assert db.session.get(Program, program.id).status == "open"


# ---------------------------------------------------------------- courses


def test_courses_from_the_library_or_an_ancestor_only(app, world):
    program = make_program(world.county_a)
    library = library_course("社会救助政策")
    city_course = library_course("市级课程", unit=world.city)
    own = library_course("县级课程", unit=world.county_a)
    other_county = library_course("罗庄课程", unit=world.county_b)
    below = library_course("街道课程", unit=world.town_a)
    retired = library_course("旧课程", retired=True)
    choices = {c.title for c in programs.course_choices(program)}
    assert choices == {"社会救助政策", "市级课程", "县级课程"}
    for course in (library, city_course, own):
        programs.attach_course(program, course, actor=world.a_admin, now=NOW)
    for course in (other_county, below, retired, library):
        with pytest.raises(ValidationFailed):
            programs.attach_course(program, course, actor=world.a_admin, now=NOW)
    assert [pc.course.title for pc in program.courses] == ["社会救助政策", "市级课程", "县级课程"]
    assert programs.course_choices(program) == []


def test_reorder_and_detach_courses_through_the_page(app, client, world):
    program = make_program(world.county_a)
    a, b, c = (library_course(t) for t in ("甲课程", "乙课程", "丙课程"))
    db.session.commit()
    client.login("a_admin")
    for course in (a, b, c):
        client.post(f"/training/programs/{program.id}/courses", {"course": course.id})
    move = f"/training/programs/{program.id}/courses/move"
    client.post(move, {"course": c.id, "step": "up"})
    client.post(move, {"course": a.id, "step": "up"})  # already first: nothing happens
    client.post(move, {"course": b.id, "step": "remove"})
    db.session.expire_all()
    links = db.session.get(Program, program.id).courses
    assert [(pc.course.title, pc.position) for pc in links] == [("甲课程", 0), ("丙课程", 1)]
    resp = client.post(move, {"course": "999999", "step": "up"})
    assert resp.status_code == 302
    assert _audits("program.course_add") == 3 and _audits("program.course_remove") == 1


def test_closed_programs_refuse_course_changes(app, world):
    program = make_program(world.county_a, status="closed")
    with pytest.raises(InvalidState):
        programs.attach_course(program, library_course(), actor=None, now=NOW)


# ---------------------------------------------------------------- list and page


def test_list_is_scoped_filtered_and_counted(app, client, world):
    make_program(world.county_a, title="兰山轮训班")
    make_program(world.town_a, title="街道助理员培训", audience="village_assistant",
                 status="draft")
    make_program(world.county_b, title="罗庄轮训班")
    db.session.commit()
    client.login("a_admin")
    html = client.get("/training/programs").get_data(as_text=True)
    assert "兰山轮训班" in html and "街道助理员培训" in html and "罗庄轮训班" not in html
    assert "共 2 条" in html
    html = client.get("/training/programs?status=draft").get_data(as_text=True)
    assert "街道助理员培训" in html and "兰山轮训班" not in html
    html = client.get("/training/programs?q=罗庄").get_data(as_text=True)
    assert "罗庄轮训班" not in html and "没有符合条件的培训班" in html
    client.logout()
    client.login("b_admin")
    assert "兰山" not in client.get("/training/programs").get_data(as_text=True)


def test_empty_list_says_what_to_do(app, client, world):
    client.login("a_admin")
    assert "新建培训班" in client.get("/training/programs").get_data(as_text=True)


def test_trainee_and_hr_cannot_manage_programs(app, client, world):
    client.login("13800000001")
    assert client.get("/training/programs").status_code == 403
    client.logout()
    client.login("a_hr")
    assert client.get("/training/programs/new").status_code == 403


def _page_queries(client, program) -> int:
    db.session.expire_all()  # each request starts as a fresh one would: nothing loaded
    with count_queries() as counter:
        resp = client.get(f"/training/programs/{program.id}")
    assert resp.status_code == 200
    return counter.count


def test_program_page_query_count_does_not_grow_with_people(app, client, world):
    program = make_program(world.county_a, capacity=3)
    course = library_course()
    programs.attach_course(program, course, actor=None, now=NOW)
    session = make_session(program)
    from lms.training.models import Attendance

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            e = enrol(program, staff(world.town_a, f"学员{i}"),
                      "enrolled" if i < 3 else "waitlisted", i if i >= 3 else None)
            db.session.add(Attendance(session_id=session.id, person_id=e.person_id,
                                      status="present"))
        db.session.commit()

    add(3, 0)
    client.login("a_admin")
    few = _page_queries(client, program)
    add(30, 3)
    many = _page_queries(client, program)
    assert many == few
    html = client.get(f"/training/programs/{program.id}?status=waitlisted").get_data(as_text=True)
    assert "学员3" in html and "候补（30）" in html


def test_out_of_scope_program_and_session_ids_are_404_everywhere(app, client, world):
    program = make_program(world.county_b)
    session = make_session(program)
    db.session.commit()
    client.login("a_admin")
    checked = 0
    for rule in app.url_map.iter_rules():
        if "program_id" not in rule.arguments and "session_id" not in rule.arguments:
            continue
        if not rule.endpoint.startswith("training."):
            continue
        url = rule.rule.replace("<int:program_id>", str(program.id)).replace(
            "<int:session_id>", str(session.id))
        for method in sorted(rule.methods & {"GET", "POST"}):
            resp = client.get(url) if method == "GET" else client.post(url, {"action": "open"})
            assert resp.status_code == 404, f"{method} {url}: {resp.status_code}"
            checked += 1
    assert checked >= 15
    assert db.session.get(Program, program.id).status == "open"


@pytest.mark.parametrize("values", [
    {"capacity": "abc", "credit_hours": "sNaN", "attendance_threshold_pct": "1e9"},
    {"capacity": "0", "credit_hours": "-1", "starts_on": "0001-01-01", "ends_on": "2026-13-40"},
    {"title": "x" * 300, "kind": "<script>", "audience_post_type": "' OR 1=1 --", "mode": "%"},
    {"title": "a\u0007b", "starts_on": "2026-05-01", "ends_on": "2026-04-01",
     "credit_hours": "Infinity", "description": "\u202e" * 6000},
    {"unit": "99999999999999999999", "capacity": "99999999999999999999999"},
])
def test_hostile_program_forms_give_errors_not_500(app, client, world, values):
    client.login("a_admin")
    base = {"unit": world.county_a.id, "title": "轮训班", "kind": "rotation",
            "audience_post_type": "township_staff", "mode": "blended"}
    resp = client.post("/training/programs/new", {**base, **values})
    assert resp.status_code == 200
    assert 'class="error"' in resp.get_data(as_text=True)
    assert _count() == 0

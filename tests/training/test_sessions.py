"""Sessions: scheduling inside the program's dates, roll call and credited hours, the sign-in
code (right, wrong, late, closed, not enrolled, too many tries), the pages and their scope."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.training import sessions
from lms.training.models import Attendance, TrainingSession
from tests.querycount import count_queries
from tests.training.program_helpers import NOW, enrol, make_program, make_session, staff


def _data(**changes) -> dict:
    data = {"title": "第一讲 低保政策", "location": "三楼会议室",
            "starts_at": datetime(2026, 3, 20, 1, tzinfo=UTC),
            "ends_at": datetime(2026, 3, 20, 4, tzinfo=UTC), "credit_hours": "3"}
    data.update(changes)
    return data


def _audits(action: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == action)).scalar_one()


@pytest.fixture
def setup(app, world):
    """A county A program with three enrolled staff, one waitlisted, and a session at 10:00."""
    program = make_program(world.county_a)
    people = [staff(world.town_a, name) for name in ("赵一", "钱二", "孙三", "李候补")]
    for person in people[:3]:
        enrol(program, person)
    enrol(program, people[3], "waitlisted", 1)
    session = make_session(program, NOW)
    db.session.commit()
    return program, session, people


# ---------------------------------------------------------------- scheduling


def test_sessions_are_scheduled_inside_the_program_dates(app, world, setup):
    program, _session, _people = setup
    made = sessions.schedule_session(program, _data(), actor=world.a_admin, now=NOW)
    assert (made.org_unit_id, str(made.credit_hours)) == (program.org_unit_id, "3.0")
    refusals = [
        (_data(starts_at=datetime(2026, 2, 28, 1, tzinfo=UTC),
               ends_at=datetime(2026, 2, 28, 3, tzinfo=UTC)), "starts_at"),
        (_data(ends_at=datetime(2026, 5, 1, 1, tzinfo=UTC),
               starts_at=datetime(2026, 4, 30, 15, tzinfo=UTC)), "ends_at"),  # 1 May in Beijing
        (_data(ends_at=datetime(2026, 3, 20, 0, tzinfo=UTC)), "ends_at"),
        (_data(title=" "), "title"),
        (_data(credit_hours="NaN"), "credit_hours"),
    ]
    for data, field in refusals:
        with pytest.raises(ValidationFailed) as refused:
            sessions.schedule_session(program, data, actor=world.a_admin, now=NOW)
        assert refused.value.field == field
    online = make_program(world.county_a, mode="online")
    with pytest.raises(InvalidState):
        sessions.schedule_session(online, _data(), actor=None, now=NOW)
    with pytest.raises(NotAllowed):
        sessions.schedule_session(program, _data(), actor=world.b_admin, now=NOW)


def test_schedule_and_edit_through_the_pages_in_beijing_time(app, client, world, setup):
    program, session, _people = setup
    client.login("a_admin")
    resp = client.post(f"/training/programs/{program.id}/sessions/new", {
        "title": "第二讲", "location": "会议室", "starts_at": "2026-03-21T09:00",
        "ends_at": "2026-03-21T11:30", "credit_hours": "2.5"})
    assert resp.status_code == 302
    made = db.session.execute(select(TrainingSession).where(
        TrainingSession.title == "第二讲")).scalar_one()
    assert made.starts_at == datetime(2026, 3, 21, 1, tzinfo=UTC)
    form = client.get(f"/training/sessions/{made.id}/edit").get_data(as_text=True)
    assert 'value="2026-03-21T09:00"' in form
    resp = client.post(f"/training/sessions/{made.id}/edit", {
        "title": "第二讲", "location": "会议室", "starts_at": "2026-02-21T09:00",
        "ends_at": "2026-02-21T11:30", "credit_hours": "2.5"})
    assert resp.status_code == 200 and "不能早于培训班开始日期" in resp.get_data(as_text=True)
    for hostile in ("0001-01-01T00:00", "9999-12-31T23:59", "abc", "2026-03-21T25:00"):
        resp = client.post(f"/training/sessions/{made.id}/edit", {
            "title": "x", "starts_at": hostile, "ends_at": hostile, "credit_hours": "sNaN"})
        assert resp.status_code == 200 and 'class="error"' in resp.get_data(as_text=True)


# ---------------------------------------------------------------- roll call


def test_roll_call_and_hours_only_for_attendance(app, world, setup):
    program, session, people = setup
    one, two, three, waiting = people
    marks = {one.id: "present", two.id: "late", three.id: "absent"}
    assert sessions.roll_call(session, marks, actor=world.a_admin, now=NOW) == 3
    assert sessions.roll_call(session, marks, actor=world.a_admin, now=NOW) == 0
    assert _audits("attendance.roll_call") == 1
    hours = sessions.attended_hours(program, [p.id for p in people])
    assert {k: str(v) for k, v in hours.items()} == {one.id: "3.0", two.id: "3.0"}
    for bad in ({waiting.id: "present"}, {one.id: "sleeping"}, {999_999: "present"}):
        with pytest.raises(ValidationFailed):
            sessions.roll_call(session, bad, actor=world.a_admin, now=NOW)
    assert sessions.attendance_counts(program) == {
        session.id: {"present": 1, "late": 1, "absent": 1}}


def test_roll_call_through_the_page(app, client, world, setup):
    _program, session, people = setup
    client.login("a_admin")
    page = client.get(f"/training/sessions/{session.id}").get_data(as_text=True)
    assert all(p.name in page for p in people[:3]) and "李候补" not in page
    url = f"/training/sessions/{session.id}/roll"
    resp = client.post(url, {f"p{people[0].id}": "present", f"p{people[1].id}": "absent"})
    assert resp.status_code == 302
    marks = dict(db.session.execute(select(Attendance.person_id, Attendance.status)).all())
    assert marks == {people[0].id: "present", people[1].id: "absent"}
    resp = client.post(url, {f"p{people[0].id}": "<script>", f"p{people[3].id}": "present"})
    assert resp.status_code == 200 and 'class="error"' in resp.get_data(as_text=True)


def test_session_page_query_count_does_not_grow_with_the_roll(app, client, world, setup):
    program, session, _people = setup

    def measure() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            assert client.get(f"/training/sessions/{session.id}").status_code == 200
        return counter.count

    client.login("a_admin")
    few = measure()
    for i in range(25):
        enrol(program, staff(world.town_a, f"学员{i}"))
    db.session.commit()
    assert measure() == few


# ---------------------------------------------------------------- sign-in code


def test_right_code_present_then_late_then_closed(app, world, setup):
    _program, session, people = setup
    code = sessions.open_signin(session, 30, actor=world.a_admin, now=NOW)
    assert re.fullmatch(r"[0-9]{6}", code) and session.signin_until == NOW + timedelta(minutes=30)
    done = sessions.sign_in(people[0], code, actor=None, now=NOW + timedelta(minutes=5))
    assert (done.attendance.status, done.attendance.method, done.already) == (
        "present", "code", False)
    again = sessions.sign_in(people[0], code, actor=None, now=NOW + timedelta(minutes=6))
    assert again.already and again.attendance.status == "present"
    wide = "".join(chr(0xFF10 + int(d)) for d in code)  # full-width digits from a phone IME
    late = sessions.sign_in(people[1], f" {wide} ", actor=None, now=NOW + timedelta(minutes=16))
    assert late.attendance.status == "late"
    with pytest.raises(sessions.SignInRefused, match="已结束"):
        sessions.sign_in(people[2], code, actor=None, now=NOW + timedelta(minutes=31))
    assert _audits("attendance.signin") == 2


def test_wrong_code_not_enrolled_and_too_many_tries(app, world, setup):
    _program, session, people = setup
    code = sessions.open_signin(session, 60, actor=None, now=NOW)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    trainee = world.trainee  # any account: the limit is per account
    with pytest.raises(ValidationFailed, match="6位数字"):
        sessions.sign_in(people[0], "12ab", actor=trainee, now=NOW)  # a typo is not a guess
    for _ in range(4):
        with pytest.raises(sessions.SignInRefused, match="签到码不对"):
            sessions.sign_in(people[0], wrong, actor=trainee, now=NOW)
    with pytest.raises(sessions.SignInRefused, match="不在该培训班"):
        sessions.sign_in(people[3], code, actor=trainee, now=NOW)  # waitlisted
    with pytest.raises(NotAllowed):  # five refusals: even the right code waits
        sessions.sign_in(people[0], code, actor=trainee, now=NOW + timedelta(minutes=1))
    later = NOW + timedelta(minutes=16)
    assert sessions.sign_in(people[0], code, actor=trainee, now=later).attendance.status == "late"
    assert _audits("attendance.signin_failed") == 5


def test_code_turns_an_absent_mark_into_attendance(app, world, setup):
    _program, session, people = setup
    sessions.roll_call(session, {people[0].id: "absent"}, actor=None, now=NOW)
    code = sessions.open_signin(session, 15, actor=None, now=NOW)
    assert sessions.sign_in(people[0], code, actor=None, now=NOW).attendance.status == "present"


def test_signin_window_rules(app, world, setup):
    program, session, _people = setup
    for minutes in (0, 181):
        with pytest.raises(ValidationFailed):
            sessions.open_signin(session, minutes, actor=None, now=NOW)
    with pytest.raises(InvalidState):
        sessions.open_signin(session, 10, actor=None, now=session.ends_at)
    with pytest.raises(InvalidState):
        sessions.close_signin(session, actor=None, now=NOW)
    first = sessions.open_signin(session, 10, actor=None, now=NOW)
    sessions.close_signin(session, actor=None, now=NOW + timedelta(minutes=1))
    assert not sessions.signin_open(session, NOW + timedelta(minutes=1))
    other = make_session(program, NOW + timedelta(hours=4), title="第二讲")
    assert sessions.open_signin(other, 10, actor=None, now=NOW) != first


# ---------------------------------------------------------------- the pages


@pytest.fixture
def live(app, world):
    """A township program for village assistants with 李四 (the trainee) enrolled and a session
    that started five minutes ago."""
    program = make_program(world.town_a, audience="village_assistant", starts_on=None,
                           ends_on=None)
    enrol(program, world.person_a)
    session = make_session(program, utcnow() - timedelta(minutes=5), title="现场签到课")
    db.session.commit()
    return program, session


def test_trainer_opens_signin_and_trainee_signs_in_on_the_phone(app, client, world, live):
    _program, session = live
    client.login("town_a_admin")
    resp = client.post(f"/training/sessions/{session.id}/signin", {"minutes": "20"})
    assert resp.status_code == 302 and resp.location.endswith(f"/sessions/{session.id}/code")
    code = db.session.get(TrainingSession, session.id).signin_code
    projector = client.get(resp.location).get_data(as_text=True)
    assert f'class="signin-code signin-code-big">{code}<' in projector
    client.logout()
    client.login("13800000001")
    page = client.get("/training/signin").get_data(as_text=True)
    assert 'inputmode="numeric"' in page and "现场签到课" in page and "未签到" in page
    resp = client.post("/training/signin", {"code": "000000" if code != "000000" else "111111"})
    assert resp.status_code == 200 and "签到码不对" in resp.get_data(as_text=True)
    for hostile in ("", "<script>", "9" * 5000, "' OR 1=1 --", "\u202e123456"):
        assert client.post("/training/signin", {"code": hostile}).status_code == 200
    resp = client.post("/training/signin", {"code": code})
    assert resp.status_code == 302
    assert "签到成功" in client.get("/training/signin").get_data(as_text=True)
    mark = db.session.execute(select(Attendance)).scalar_one()
    assert (mark.person_id, mark.status, mark.method) == (world.person_a.id, "present", "code")
    assert _audits("attendance.signin_failed") == 1  # the wrong code, committed


def test_accounts_without_a_person_cannot_sign_in(app, client, world, live):
    client.login("a_admin")
    assert "没有关联学员信息" in client.get("/training/signin").get_data(as_text=True)
    assert client.post("/training/signin", {"code": "123456"}).status_code == 200
    assert db.session.execute(select(func.count()).select_from(Attendance)).scalar_one() == 0


def test_printable_signin_sheet(app, client, world, setup):
    program, session, people = setup
    client.login("a_admin")
    html = client.get(f"/training/sessions/{session.id}/sheet").get_data(as_text=True)
    assert "signin-sheet" in html and "签名" in html and "三楼会议室" in html
    assert program.title in html and "兰山街道" in html and "data-print" in html
    assert all(p.name in html for p in people[:3]) and "李候补" not in html
    assert "2026-03-20 10:00" in html


def test_another_countys_trainer_gets_404_on_the_session(app, client, world, setup):
    _program, session, people = setup
    client.login("b_admin")
    for path in ("", "/edit", "/code", "/sheet"):
        assert client.get(f"/training/sessions/{session.id}{path}").status_code == 404
    for path in ("/roll", "/signin", "/signin/close", "/edit"):
        resp = client.post(f"/training/sessions/{session.id}{path}",
                           {f"p{people[0].id}": "present", "minutes": "10"})
        assert resp.status_code == 404
    assert db.session.execute(select(func.count()).select_from(Attendance)).scalar_one() == 0
    assert db.session.get(TrainingSession, session.id).signin_code is None

"""The trainee home's 我的培训 block: the person's programs with status, due date and progress,
and the one next step (去签到 while a session's sign-in is open, else 继续学习)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import current_app, url_for

from lms.db import utcnow
from lms.extensions import db
from lms.org.models import PostType
from lms.training.home import program_home
from lms.training.models import Attendance, ProgramCourse
from tests.factories import make_user
from tests.querycount import count_queries
from tests.training.completion_factories import finish, make_course
from tests.training.program_helpers import enrol, make_program, make_session, staff


@pytest.fixture
def trainee(world):
    person = staff(world.town_a, "赵六", post_type=PostType.TOWNSHIP_STAFF.value)
    make_user("zhaoliu", world.town_a, person=person)
    db.session.commit()
    return person


def _program(world, title: str, lessons: int = 2):
    program = make_program(world.county_a, title=title)
    course = make_course(f"{title}课程", [f"{title}第{i}课" for i in range(1, lessons + 1)])
    db.session.add(ProgramCourse(program_id=program.id, course_id=course.id, position=0))
    db.session.flush()
    return program, course


def _path(endpoint: str, **values: object) -> str:
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def _home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_programs_with_status_due_date_and_progress(app, client, world, trainee):
    learning, course = _program(world, "乡镇民政轮训班")
    waiting, _c = _program(world, "候补培训班")
    done, _d = _program(world, "往期岗前培训班")
    fresh, _f = _program(world, "未开始培训班")
    removed, _r = _program(world, "已移出培训班")
    e = enrol(learning, trainee)
    e.due_on = date(2026, 11, 25)
    enrol(waiting, trainee, "waitlisted", 1)
    enrol(done, trainee, "completed")
    enrol(fresh, trainee)
    enrol(removed, trainee, "removed")
    finish(trainee, [course.lessons[0]])
    db.session.commit()
    client.login("zhaoliu")
    home = _home(client)
    assert "乡镇民政轮训班" in home and "主办：兰山区" in home and "截止：2026-11-25" in home
    assert "status-learning\">学习中" in home and "已学 1 / 2 课 · 50.0%" in home
    assert "status-warn\">候补" in home and "status-todo\">待学习" in home
    assert "<strong>已移出培训班</strong>" not in home
    assert (home.index("<strong>未开始培训班</strong>") < home.index("已结业")
            < home.index("<strong>往期岗前培训班</strong>"))
    assert f'href="{_path("training.my_certificates")}">我的证书' in home
    # The due program comes first; its next lesson is the one button.
    assert home.count("继续学习") == 1
    lesson_url = _path("courses.lesson_page", lesson=course.lessons[1].id)
    assert f'href="{lesson_url}">继续学习' in home


def test_open_signin_makes_the_next_step_sign_in(app, client, world, trainee):
    program, _course = _program(world, "乡镇民政轮训班")
    enrol(program, trainee)
    now = utcnow()
    session = make_session(program, now - timedelta(minutes=10), title="政策解读")
    session.signin_code, session.signin_until = "123456", now + timedelta(minutes=20)
    db.session.commit()
    client.login("zhaoliu")
    home = _home(client)
    assert f'href="{_path("training.signin")}">去签到' in home and "政策解读" in home
    assert "继续学习" not in home

    session.signin_until = now - timedelta(minutes=1)
    db.session.commit()
    home = _home(client)
    assert "去签到" not in home and "继续学习" in home


def test_waitlisted_sessions_do_not_offer_sign_in(app, world, trainee):
    program, _course = _program(world, "乡镇民政轮训班")
    enrol(program, trainee, "waitlisted", 1)
    now = utcnow()
    session = make_session(program, now)
    session.signin_code, session.signin_until = "654321", now + timedelta(minutes=20)
    db.session.flush()
    home = program_home(trainee, now)
    assert home.signin_session is None and home.next_program is None
    assert [p.state for p in home.current] == ["waitlisted"]


def _count(client) -> int:
    db.session.expire_all()
    with count_queries() as c:
        _home(client)
    return c.count


def test_home_query_count_does_not_grow_with_enrolments(app, client, world, trainee):
    program, course = _program(world, "第1期轮训班", lessons=3)
    enrol(program, trainee)
    finish(trainee, [course.lessons[0]])
    db.session.commit()
    client.login("zhaoliu")
    one = _count(client)
    for n in range(2, 11):
        more, more_course = _program(world, f"第{n}期轮训班", lessons=n)
        enrol(more, trainee, "completed" if n % 3 == 0 else "enrolled")
        finish(trainee, more_course.lessons[:1])
    db.session.commit()
    ten = _count(client)
    assert "第10期轮训班" in _home(client)
    assert one == ten


def test_no_sign_in_step_once_signed_in(app, world, trainee):
    program, _course = _program(world, "乡镇民政轮训班")
    enrol(program, trainee)
    now = utcnow()
    session = make_session(program, now)
    session.signin_code, session.signin_until = "112233", now + timedelta(minutes=20)
    db.session.add(Attendance(session_id=session.id, person_id=trainee.id, status="present",
                              method="code"))
    db.session.flush()
    assert program_home(trainee, now).signin_session is None

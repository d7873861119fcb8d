"""XLSX exports of the program list and a program's roster: contents, scope, filters, formula
escaping, and a query budget that does not grow with people."""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import load_workbook

from lms.extensions import db
from lms.training.models import Attendance
from tests.querycount import count_queries
from tests.training.program_helpers import NOW, enrol, make_program, make_session, staff

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rows(resp) -> list[tuple]:
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == XLSX
    ws = load_workbook(io.BytesIO(resp.data), read_only=True).worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def test_program_list_export_is_scoped_and_filtered(app, client, world):
    program = make_program(world.county_a, title="兰山轮训班", capacity=2)
    make_program(world.town_a, title="街道助理员培训", audience="village_assistant",
                 status="draft")
    make_program(world.county_b, title="罗庄轮训班")
    enrol(program, staff(world.town_a, "甲"))
    enrol(program, staff(world.town_a, "乙"), "completed")
    enrol(program, staff(world.town_a, "丙"), "waitlisted", 1)
    db.session.commit()
    client.login("a_admin")
    html = client.get("/training/programs").get_data(as_text=True)
    assert "/training/programs/export.xlsx" in html and 'class="button secondary"' in html
    rows = _rows(client.get("/training/programs/export.xlsx"))
    assert rows[0] == ("培训班", "主办单位", "类别", "对象", "方式", "开始", "结束", "人数上限",
                       "已报名", "候补", "状态")
    by_title = {r[0]: r for r in rows[1:]}
    assert set(by_title) == {"兰山轮训班", "街道助理员培训"}
    assert by_title["兰山轮训班"][1] == world.county_a.name
    assert by_title["兰山轮训班"][5:] == ("2026-03-01", "2026-04-30", 2, 2, 1, "进行中")
    rows = _rows(client.get("/training/programs/export.xlsx?status=draft"))
    assert [r[0] for r in rows[1:]] == ["街道助理员培训"]
    rows = _rows(client.get("/training/programs/export.xlsx?q=罗庄"))
    assert rows[1:] == []
    client.logout()
    client.login("b_admin")
    titles = [r[0] for r in _rows(client.get("/training/programs/export.xlsx"))[1:]]
    assert titles == ["罗庄轮训班"]


def test_roster_export_lists_enrolled_and_waitlisted_people(app, client, world):
    program = make_program(world.county_a, title="兰山轮训班")
    s1, s2 = make_session(program), make_session(program, NOW + timedelta(days=1), title="二")
    a = enrol(program, staff(world.town_a, "=HYPERLINK(1)"))
    a.due_on = date(2026, 6, 30)
    enrol(program, staff(world.town_a, "候补二"), "waitlisted", 7)
    enrol(program, staff(world.town_a, "候补一"), "waitlisted", 3)
    enrol(program, staff(world.town_a, "已移出"), "removed")
    db.session.add_all([Attendance(session_id=s1.id, person_id=a.person_id, status="present"),
                        Attendance(session_id=s2.id, person_id=a.person_id, status="late")])
    db.session.commit()
    client.login("a_admin")
    html = client.get(f"/training/programs/{program.id}").get_data(as_text=True)
    assert f"/training/programs/{program.id}/roster.xlsx" in html
    rows = _rows(client.get(f"/training/programs/{program.id}/roster.xlsx"))
    assert rows[0] == ("姓名", "单位", "岗位", "状态", "候补顺序", "截止日期", "已学课时/总课时",
                       "出勤次数")
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(1)", "候补一", "候补二"]
    first = rows[1]
    assert first[1] == world.town_a.name and first[2] and first[3] == "已报名"
    assert first[4:] == (None, "2026-06-30", "6/24", 2)
    assert rows[2][3:5] == ("候补", 1) and rows[3][4] == 2
    assert rows[2][6:] == ("0/24", 0)


def test_out_of_scope_roster_is_not_found(app, client, world):
    program = make_program(world.county_b, title="罗庄轮训班")
    db.session.commit()
    client.login("a_admin")
    assert client.get(f"/training/programs/{program.id}/roster.xlsx").status_code == 404
    assert client.get("/training/programs/999999/roster.xlsx").status_code == 404


def test_trainee_cannot_export(app, client, world):
    program = make_program(world.county_a)
    db.session.commit()
    client.login("13800000001")
    assert client.get("/training/programs/export.xlsx").status_code == 403
    assert client.get(f"/training/programs/{program.id}/roster.xlsx").status_code in (403, 404)


def _roster_statements(client, world, n: int, title: str) -> int:
    program = make_program(world.county_a, title=title)
    session = make_session(program)
    for i in range(n):
        e = enrol(program, staff(world.town_a, f"{title}{i}"),
                  "enrolled" if i % 2 else "waitlisted", None if i % 2 else i)
        db.session.add(Attendance(session_id=session.id, person_id=e.person_id, status="present"))
    db.session.commit()
    url = f"/training/programs/{program.id}/roster.xlsx"
    with count_queries() as counter:
        rows = _rows(client.get(url))
    assert len(rows) == n + 1
    return counter.count


def test_roster_export_query_count_does_not_grow_with_people(app, client, world):
    client.login("a_admin")
    few = _roster_statements(client, world, 2, "少")
    many = _roster_statements(client, world, 12, "多")
    assert many == few


def _list_statements(client, world, n: int) -> int:
    for i in range(n):
        p = make_program(world.county_a, title=f"班{i}")
        enrol(p, staff(world.town_a, f"人{n}-{i}"))
    db.session.commit()
    with count_queries() as counter:
        _rows(client.get("/training/programs/export.xlsx"))
    return counter.count


def test_list_export_query_count_does_not_grow_with_programs(app, client, world):
    client.login("a_admin")
    assert _list_statements(client, world, 2) == _list_statements(client, world, 10)

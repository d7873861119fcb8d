"""The quarterly grades and stipend pages: grades entered over HTTP (bad or missing input → 400,
nothing stored), compute and confirm, the payroll sheets (totals exact, one township only, the
township's own download, blocked by a failed integrity check), change proposals, another county
→ 404, and query counts that do not grow with the assistants."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from lms.extensions import db
from lms.grading import ledger
from lms.grading.models import (
    ChangeRequest,
    PayStatus,
    QuarterGrade,
    StipendLine,
    StipendQuarter,
)
from lms.org.models import PostType
from tests.factories import make_person, make_unit
from tests.grading.cycle_world import build
from tests.querycount import count_queries

NOW = datetime(2026, 11, 26, 2, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    for module in ("lms.grading.views.quarters", "lms.grading.views.stipends"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: NOW)


@pytest.fixture
def c(world):
    return build(world)


def _quarter_url(town, year=2026, quarter=1) -> str:
    return f"/grading/quarters?unit={town.id}&year={year}&quarter={quarter}"


def _roster(town, year=2026, quarter=1):
    return [p for p, _g in ledger.quarter_roster(town, year, quarter)]


def _grades(town, grade="competent", year=2026, quarter=1) -> dict:
    return {f"grade-{p.post_id}": grade for p in _roster(town, year, quarter)}


def _stored() -> int:
    return db.session.scalar(select(func.count(QuarterGrade.id)))


def _enter(client, c, user, town, grade="competent"):
    client.login(user.username)
    resp = client.post(_quarter_url(town), _grades(town, grade))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    client.logout()


def _compute(client, c, quarter=1):
    return client.post("/grading/stipends/compute",
                       {"unit": c.county.id, "year": 2026, "quarter": quarter})


def _run() -> StipendQuarter:
    return db.session.scalar(select(StipendQuarter))


def _computed(client, c, *, confirm=False) -> StipendQuarter:
    _enter(client, c, c.town_user, c.town)
    _enter(client, c, c.town2_user, c.town2)
    client.login(c.county_hr.username)
    assert _compute(client, c).status_code == 302
    run = _run()
    if confirm:
        client.post(f"/grading/stipends/{run.id}/confirm")
        db.session.refresh(run)
    return run


def test_enter_grades_through_the_page(client, c):
    client.login(c.town_user.username)
    html = client.get(_quarter_url(c.town)).get_data(as_text=True)
    posts = _roster(c.town)
    assert len(posts) == 6 and all(f'name="grade-{p.post_id}"' in html for p in posts)
    assert "助理2" in html and "东关助理" not in html and "优秀" in html and "基本称职" in html
    resp = client.post(_quarter_url(c.town), {**_grades(c.town), f"grade-{posts[0].post_id}":
                                               "excellent"})
    assert resp.status_code == 302
    assert _stored() == 6
    assert db.session.scalar(select(QuarterGrade.grade).where(
        QuarterGrade.post_id == posts[0].post_id)) == "excellent"
    html = client.get(_quarter_url(c.town)).get_data(as_text=True)
    assert 'value="excellent" selected' in html


@pytest.mark.parametrize("change", [
    "missing", "blank", "bad_grade", "bad_id", "other_town", "huge_id"])
def test_bad_or_missing_input_is_400_and_stores_nothing(client, c, change):
    client.login(c.town_user.username)
    data = _grades(c.town)
    first = next(iter(data))
    other = _roster(c.town2)[0].post_id
    if change == "missing":
        del data[first]
    elif change == "blank":
        data[first] = ""
    elif change == "bad_grade":
        data[first] = "superb"
    elif change == "bad_id":
        data["grade-abc"] = "competent"
    elif change == "other_town":
        data[f"grade-{other}"] = "competent"
    else:
        data["grade-99999999999999999999"] = "competent"
    resp = client.post(_quarter_url(c.town), data)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "flash-error" in html or 'class="error"' in html
    assert _stored() == 0


@pytest.mark.parametrize("query", ["year=abc&quarter=1", "year=2026&quarter=5",
                                   "year=1999&quarter=1", "unit=abc&year=2026&quarter=1"])
def test_bad_picker_values_are_errors_not_500(client, c, query):
    client.login(c.town_user.username)
    url = f"/grading/quarters?{query}" + ("" if "unit=" in query else f"&unit={c.town.id}")
    assert client.get(url).status_code == 200
    assert client.post(url, _grades(c.town)).status_code == 400
    assert _stored() == 0


def test_another_township_is_not_offered(client, c):
    client.login(c.town_user.username)
    resp = client.post(_quarter_url(c.town2), _grades(c.town2))
    assert resp.status_code == 400 and _stored() == 0


def test_compute_confirm_and_refusals_over_http(client, c):
    _enter(client, c, c.town_user, c.town)
    client.login(c.county_hr.username)
    resp = _compute(client, c)
    assert resp.status_code == 302 and _run() is None
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "东关助理" in html and "没有季度等次" in html
    client.logout()
    run = _computed(client, c)
    assert run.status == PayStatus.COMPUTED and run.lines == 7
    html = client.get(f"/grading/stipends?unit={c.county.id}&year=2026").get_data(as_text=True)
    assert "已计算" in html and f"{7 * 216}.00" in html and "季度未结束" in html
    assert client.post(f"/grading/stipends/{run.id}/confirm").status_code == 302
    db.session.refresh(run)
    assert run.status == PayStatus.CONFIRMED
    # a refused compute (quarter not ended; forged values) changes nothing, never a 500
    for data in ({"unit": c.county.id, "year": 2026, "quarter": 4},
                 {"unit": c.county.id, "year": "x", "quarter": 1},
                 {"unit": c.county.id, "year": 2026, "quarter": 9},
                 {"unit": c.town.id, "year": 2026, "quarter": 2},
                 {"unit": "99999999999999", "year": 2026, "quarter": 2}):
        assert client.post("/grading/stipends/compute", data).status_code == 302
    assert db.session.scalar(select(func.count(StipendQuarter.id))) == 1
    client.logout()
    # the township can no longer change its grades directly
    client.login(c.town_user.username)
    resp = client.post(_quarter_url(c.town), _grades(c.town, "excellent"))
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已确认发放" in html and "提出更正" in html
    assert db.session.scalar(select(func.count(QuarterGrade.id)).where(
        QuarterGrade.grade == "excellent")) == 0


def _sheet_rows(ws) -> list[tuple]:
    return [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]


def _fen(value) -> int:
    return int(Decimal(str(value)) * 100)


def _download(client, url):
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    disposition = unquote(resp.headers["Content-Disposition"])
    assert "补贴发放表" in disposition
    return load_workbook(io.BytesIO(resp.data))


def test_payroll_sheets(client, c):
    run = _computed(client, c, confirm=True)
    lines = db.session.scalars(select(StipendLine)).all()
    wb = _download(client, f"/grading/stipends/{run.id}/payroll.xlsx")
    assert wb.sheetnames == ["汇总", c.town.name, c.town2.name]
    summary = _sheet_rows(wb["汇总"])
    assert summary[1] == ("乡镇（街道）", "人数", "补贴合计（元）")
    assert summary[-1][0] == "合计" and summary[-1][1] == 7
    assert _fen(summary[-1][2]) == sum(ln.amount_fen for ln in lines) == run.total_fen
    by_town = {r[0]: (r[1], _fen(r[2])) for r in summary[2:-1]}
    assert by_town == {c.town.name: (6, 6 * 21600), c.town2.name: (1, 21600)}
    assert wb["汇总"]["C3"].number_format == "#,##0.00" and wb["汇总"]["A2"].font.b
    town_rows = _sheet_rows(wb[c.town.name])
    assert len(town_rows) == 2 + 6 + 1
    assert sum(_fen(r[6]) for r in town_rows[2:-1]) == _fen(town_rows[-1][6]) == 6 * 21600
    # one township only
    wb = _download(client, f"/grading/stipends/{run.id}/payroll.xlsx?township={c.town2.id}")
    assert len(wb.sheetnames) == 1
    rows = _sheet_rows(wb.active)
    assert [r[2] for r in rows[2:-1]] == ["东关助理"] and _fen(rows[-1][6]) == 21600
    for bad in ("abc", "99999999999999", str(c.county.id), str(c.villages[0].id)):
        assert client.get(f"/grading/stipends/{run.id}/payroll.xlsx?township={bad}"
                          ).status_code == 404
    client.logout()
    # township staff download their own township's sheet from the quarterly grades page
    client.login(c.town2_user.username)
    assert client.get(f"/grading/stipends/{run.id}/payroll.xlsx").status_code == 404
    html = client.get(_quarter_url(c.town2)).get_data(as_text=True)
    assert "下载本乡镇补贴发放表" in html
    wb = _download(client, f"/grading/quarters/payroll.xlsx?unit={c.town2.id}&year=2026&quarter=1")
    rows = _sheet_rows(wb.active)
    assert len(wb.sheetnames) == 1 and [r[2] for r in rows[2:-1]] == ["东关助理"]
    assert client.get(f"/grading/quarters/payroll.xlsx?unit={c.town.id}&year=2026&quarter=1"
                      ).status_code == 302


def test_payroll_is_blocked_when_the_integrity_check_fails(client, c):
    run = _computed(client, c, confirm=True)
    line_id = db.session.scalar(select(StipendLine.id).limit(1))
    db.session.execute(text("UPDATE stipend_line SET amount_fen = 1 WHERE id = :i"),
                       {"i": line_id})
    db.session.commit()
    resp = client.get(f"/grading/stipends/{run.id}/payroll.xlsx")
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "完整性校验未通过" in html
    client.logout()
    client.login(c.town_user.username)
    resp = client.get(f"/grading/quarters/payroll.xlsx?unit={c.town.id}&year=2026&quarter=1")
    assert resp.status_code == 302 and "spreadsheet" not in resp.mimetype


def test_quarter_detail_and_change_proposal(client, c):
    run = _computed(client, c, confirm=True)
    html = client.get(f"/grading/stipends/{run.id}").get_data(as_text=True)
    assert c.town.name in html and "东关助理" in html and "1296.00" in html and "1512.00" in html
    assert "提出更正" in html
    html = client.get(f"/grading/stipends/{run.id}?township={c.town2.id}").get_data(as_text=True)
    assert "东关助理" in html and "助理2" not in html
    assert client.get(f"/grading/stipends/{run.id}?township=abc&page=zz").status_code == 200
    line = db.session.scalar(select(StipendLine).where(StipendLine.township_id == c.town.id))
    url = f"/grading/stipend-lines/{line.id}/change"
    assert client.get(url).status_code == 200
    resp = client.post(url, {"grade": "excellent", "reason": ""})
    assert resp.status_code == 400 and db.session.scalar(select(ChangeRequest)) is None
    resp = client.post(url, {"grade": "bogus", "reason": "复核"})
    assert resp.status_code == 400 and db.session.scalar(select(ChangeRequest)) is None
    resp = client.post(url, {"grade": "excellent", "reason": "复核发现漏记"})
    assert resp.status_code == 302
    change = db.session.scalar(select(ChangeRequest))
    assert change.after == {"grade": "excellent", "amount_fen": 22320}
    assert change.proposed_by_id == c.county_hr.id
    assert "更正申请待审核" in client.get(f"/grading/stipends/{run.id}").get_data(as_text=True)
    assert client.post(url, {"grade": "incompetent", "reason": "再次"}).status_code == 400
    client.logout()
    # a township user proposes on its own line, not on another township's
    client.login(c.town2_user.username)
    other = db.session.scalar(select(StipendLine).where(StipendLine.township_id == c.town2.id))
    assert client.get(f"/grading/stipend-lines/{line.id}/change").status_code == 404
    resp = client.post(f"/grading/stipend-lines/{other.id}/change",
                       {"grade": "excellent", "reason": "复核"})
    assert resp.status_code == 302 and "/grading/quarters" in resp.headers["Location"]


def test_another_county_gets_404(client, c, world):
    run = _computed(client, c, confirm=True)
    line = db.session.scalar(select(StipendLine))
    client.logout()
    client.login(world.b_admin.username)
    for url in (f"/grading/stipends/{run.id}", f"/grading/stipends/{run.id}/payroll.xlsx",
                f"/grading/stipend-lines/{line.id}/change"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/grading/stipends/{run.id}/confirm").status_code == 404
    assert client.post("/grading/stipends/compute", {"unit": c.county.id, "year": 2026,
                                                     "quarter": 2}).status_code == 302
    assert db.session.scalar(select(func.count(StipendQuarter.id))) == 1
    html = client.get(f"/grading/stipends?unit={c.county.id}&year=2026").get_data(as_text=True)
    assert "请从列表中选择单位" in html
    assert client.get(_quarter_url(c.town)).status_code == 200
    assert client.post(_quarter_url(c.town), _grades(c.town)).status_code == 400


def _add_assistants(c, n: int) -> None:
    for i in range(n):
        village = make_unit(f"371302001{100 + i:03d}", f"新{i}村", "village", c.town)
        make_person(village, f"新助理{i}", post_type=PostType.VILLAGE_ASSISTANT.value)
    db.session.commit()


def _count(client, url) -> int:
    client.get(url)  # warm up (login, caches)
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_query_counts_do_not_grow_with_assistants(client, world):
    c = build(world, n=1)
    client.login(c.county_hr.username)
    quarters_page = _count(client, _quarter_url(c.town))
    _enter(client, c, c.county_hr, c.town)
    _enter(client, c, c.county_hr, c.town2)
    client.login(c.county_hr.username)
    _compute(client, c)
    run = _run()
    client.post(f"/grading/stipends/{run.id}/confirm")
    detail = _count(client, f"/grading/stipends/{run.id}")
    year_page = _count(client, f"/grading/stipends?unit={c.county.id}&year=2026")
    grades_locked = _count(client, _quarter_url(c.town))

    _add_assistants(c, 8)
    db.session.execute(text("DELETE FROM stipend_line"))
    db.session.execute(text("DELETE FROM stipend_quarter"))
    db.session.commit()
    assert _count(client, _quarter_url(c.town)) == quarters_page
    _enter(client, c, c.county_hr, c.town)
    client.login(c.county_hr.username)
    _compute(client, c)
    run = _run()
    assert run.lines == 10
    client.post(f"/grading/stipends/{run.id}/confirm")
    assert _count(client, f"/grading/stipends/{run.id}") == detail
    assert _count(client, f"/grading/stipends?unit={c.county.id}&year=2026") == year_page
    assert _count(client, _quarter_url(c.town)) == grades_locked

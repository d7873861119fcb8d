"""The report pages (lms/grading/views/reports.py): HTML, XLSX, CSV and PNG of each report, the
county scope in every format, bad query arguments, the integrity block on exports, and the
query budget (the same with 1 and with 20 assistants)."""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from lms.audit import AuditEntry
from lms.extensions import db
from lms.grading.models import Evaluation, StipendLine
from tests.grading.report_world import build_reports, line, more_assistants, round_of, sheet
from tests.querycount import count_queries

REPORTS = ("grades", "levels", "stipends", "progress", "flagged", "years")
CHARTED = ("grades", "levels", "stipends", "years")
COUNTY_B = ("罗庄区", "罗庄街道", "前村村委会", "王五")


@pytest.fixture
def rw(world):
    return build_reports(world)


def _xlsx_rows(data: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return [tuple(row) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)]


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8"))))


def test_hub_links_to_the_reports(client, rw, world):
    client.login("a_hr")
    assert "考评统计报表" in client.get("/grading/").get_data(as_text=True)
    html = client.get("/grading/reports").get_data(as_text=True)
    for name in REPORTS:
        assert f"/grading/reports/{name}?year=2026" in html
    client.logout()
    client.login("13800000001")  # the trainee has no report permission
    assert client.get("/grading/reports/grades").status_code in (403, 404)


def test_county_user_sees_only_the_county_in_html_xlsx_csv(client, rw, world):
    client.login("a_hr")
    for name in REPORTS:
        html = client.get(f"/grading/reports/{name}").get_data(as_text=True)
        xlsx = client.get(f"/grading/reports/{name}.xlsx")
        csv_resp = client.get(f"/grading/reports/{name}.csv")
        assert xlsx.status_code == csv_resp.status_code == 200, name
        bodies = [html, str(_xlsx_rows(xlsx.data)), str(_csv_rows(csv_resp.data))]
        for body in bodies:
            assert not [m for m in COUNTY_B if m in body], name
        if name in ("grades", "stipends", "progress"):
            assert all("兰山街道" in b and "银雀山街道" in b for b in bodies), name
    html = client.get("/grading/reports/flagged").get_data(as_text=True)
    assert "助理5" in html and "已启动" in html


def test_city_user_sees_every_county_and_drills_down(client, rw, world):
    client.login("city_admin")
    html = client.get("/grading/reports/grades").get_data(as_text=True)
    assert "兰山区" in html and "罗庄区" in html and "沂南县" in html
    assert f"unit={world.county_b.id}" in html
    html = client.get(f"/grading/reports/grades?unit={world.county_b.id}").get_data(as_text=True)
    assert "罗庄街道" in html and "兰山街道" not in html
    html = client.get("/grading/reports/flagged").get_data(as_text=True)
    assert "王五" in html and "助理5" in html


def test_grade_numbers_match_in_html_xlsx_and_csv(client, rw, world):
    client.login("a_hr")
    html = client.get("/grading/reports/grades?year=2026").get_data(as_text=True)
    assert "2026年度 兰山区 等次分布" in html
    rows = _xlsx_rows(client.get("/grading/reports/grades.xlsx?year=2026").data)
    assert rows[1] == ("单位代码", "单位", "优秀", "称职", "基本称职", "不称职", "合计")
    assert rows[2] == ("371302001", "兰山街道", 1, 2, 1, 1, 5)
    assert rows[3] == ("371302002", "银雀山街道", 0, 1, 0, 0, 1)
    assert rows[4] == (None, "合计", 1, 3, 1, 1, 6)
    csv_rows = _csv_rows(client.get("/grading/reports/grades.csv?year=2026").data)
    assert csv_rows[2] == ["371302001", "兰山街道", "1", "2", "1", "1", "5"]
    for cell in ("<td class=\"num\">5</td>", "<td class=\"num\">6</td>"):
        assert cell in html


def test_stipend_money_in_yuan_everywhere(client, rw, world):
    client.login("a_hr")
    html = client.get("/grading/reports/stipends").get_data(as_text=True)
    assert "432.00" in html and "952.00" in html
    rows = _xlsx_rows(client.get("/grading/reports/stipends.xlsx").data)
    assert rows[-1][1] == "合计" and rows[-1][2] == 732 and rows[-1][-1] == 952
    csv_rows = _csv_rows(client.get("/grading/reports/stipends.csv").data)
    assert csv_rows[-1][2] == "732.00" and csv_rows[-1][-1] == "952.00"


def test_progress_and_other_years(client, rw, world):
    client.login("city_admin")
    rows = _xlsx_rows(client.get("/grading/reports/progress.xlsx").data)
    assert ("371321", "沂南县", 0, 0, 0, 0, 0) in rows
    assert ("371311", "罗庄区", 1, 1, 100, 0, 0) in rows
    html = client.get("/grading/reports/grades?year=2025").get_data(as_text=True)
    assert "2025年度" in html
    html = client.get("/grading/reports/grades?year=2030").get_data(as_text=True)
    assert "暂无数据" in html


def test_charts_are_png(client, rw, world):
    client.login("a_hr")
    for name in CHARTED:
        resp = client.get(f"/grading/reports/{name}.png?year=2026")
        assert resp.status_code == 200 and resp.mimetype == "image/png"
        assert resp.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert client.get("/grading/reports/flagged.png").status_code == 404


@pytest.mark.parametrize("query,status", [
    ("year=abc", 400), ("year=1999", 400), ("year=99999999999999999999", 400),
    ("unit=abc", 400), ("unit=-1", 400), ("unit=999999", 404),
    ("unit=99999999999999999999", 400), ("unit=0", 404)])
def test_bad_query_arguments(client, rw, world, query, status):
    client.login("a_hr")
    for suffix in ("", ".xlsx", ".csv", ".png"):
        assert client.get(f"/grading/reports/grades{suffix}?{query}").status_code == status
    assert client.get(f"/grading/reports?{query}").status_code == status


def test_out_of_scope_unit_is_404(client, rw, world):
    client.login("a_hr")
    for suffix in ("", ".xlsx", ".csv", ".png"):
        resp = client.get(f"/grading/reports/grades{suffix}?unit={world.county_b.id}")
        assert resp.status_code == 404
    assert client.get(f"/grading/reports/flagged?unit={world.town_b.id}").status_code == 404
    assert client.get(f"/grading/reports?unit={world.city.id}").status_code == 404


def test_a_broken_integrity_code_blocks_the_export(client, rw, world):
    b_row = db.session.scalar(select(Evaluation.id).where(
        Evaluation.person_id == world.person_b.id))
    db.session.execute(text("UPDATE evaluation SET total = 99 WHERE id = :id"), {"id": b_row})
    db.session.commit()
    client.login("a_hr")  # county B's broken row does not block county A
    assert client.get("/grading/reports/grades.xlsx").status_code == 200
    client.logout()
    client.login("city_admin")
    resp = client.get("/grading/reports/grades.csv?year=2026")
    assert resp.status_code == 302 and "/grading/reports/grades" in resp.location
    html = client.get(resp.location).get_data(as_text=True)
    assert "完整性校验未通过" in html
    client.logout()
    a_line = db.session.scalar(select(StipendLine.id).where(
        StipendLine.county_id == world.county_a.id))
    db.session.execute(text("UPDATE stipend_line SET amount_fen = 1 WHERE id = :id"),
                       {"id": a_line})
    db.session.commit()
    client.login("a_hr")
    for name in REPORTS:
        for kind in ("xlsx", "csv"):
            assert client.get(f"/grading/reports/{name}.{kind}").status_code == 302


def test_exports_are_audited(client, rw, world):
    client.login("a_hr")
    client.get("/grading/reports/stipends.xlsx?year=2026")
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "grading.report_export")).one()
    assert entry.details["report"] == "stipends" and entry.details["format"] == "xlsx"
    assert entry.org_unit_id == world.county_a.id


URLS = [f"/grading/reports/{n}" for n in REPORTS] + \
    [f"/grading/reports/{n}.{k}" for n in REPORTS for k in ("xlsx", "csv")] + \
    [f"/grading/reports/{n}.png" for n in CHARTED] + ["/grading/reports"]


def _counts(client) -> dict[str, int]:
    db.session.expire_all()
    client.get("/grading/reports")  # warm up: reload what the last commit expired
    counts = {}
    for url in URLS:
        with count_queries() as q:
            resp = client.get(url + "?year=2026")
        assert resp.status_code == 200, url
        counts[url] = q.count
    return counts


def test_query_count_does_not_grow_with_assistants(client, world):
    rnd = round_of(world.county_a, 2026, "confirmed")
    sheet(rnd, world.person_a, "incompetent", total="50", replace=True)
    line(world.county_a, world.person_a, 2026, 1, 21600)
    db.session.commit()
    client.login("a_hr")
    one = _counts(client)
    more_assistants(world, 19)
    assert _counts(client) == one, one


def test_hostile_query_arguments_never_give_500(client, rw, world):
    from tests.arch.test_hostile_input import HOSTILE

    client.login("a_hr")
    for url in URLS:
        for value in HOSTILE[::2]:
            for param in ("year", "unit", "page"):
                resp = client.http.get(url, query_string={param: value})
                assert resp.status_code < 500, f"{url} {param}={value[:20]!r}"

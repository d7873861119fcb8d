"""Import pages: upload → preview (counts, row errors) → confirm writes all or nothing; scope,
permissions, the kept file (bound to its user, deleted after use, stale ones swept), templates,
hostile uploads never giving a 500."""

from __future__ import annotations

import io
import os
import re
import time

import openpyxl
import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.extensions import db
from lms.org.importing import stash
from lms.org.models import OrgUnit, Person, Post

UNITS_HEADER = "code,name,level,parent_code,resident_population,registered_population\n"
PEOPLE_HEADER = ("姓名,性别,出生年份,手机号,身份证号,单位代码,岗位,学历,社工证等级,证书编号,"
                 "取得日期,状态\n")
NEW_UNITS = UNITS_HEADER + ("371302002,枣园镇,township,371302,52000,\n"
                            "371302002001,王家村村委会,village,371302002,,\n")
NEW_PEOPLE = PEOPLE_HEADER + ("赵敏,女,1988,13900000001,,371302001001,助理员,大专,初级,S1,,\n"
                              "钱坤,男,1979,13900000002,,371302001,工作人员,本科,,,,\n")


@pytest.fixture(autouse=True)
def _uploads(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")


def upload(client, url: str, content: str | bytes, name: str = "data.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(url, {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def token_of(html: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def kept_files(app) -> list[str]:
    folder = os.path.join(app.config["UPLOAD_DIR"], "imports")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_upload_preview_then_confirm_units(app, client, world):
    client.login("a_admin")
    page = client.get("/org/import/units")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "data-progress" in html and "progress-note" in html
    assert "/org/import/units/template.csv" in html
    preview = upload(client, "/org/import/units", NEW_UNITS)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "确认导入" in html and "枣园镇" in html
    assert "table-wrap" in html and count(OrgUnit, OrgUnit.code == "371302002") == 0
    assert len(kept_files(app)) == 2
    done = client.post("/org/import/units/confirm", {"token": token_of(html)})
    assert done.status_code == 302
    assert count(OrgUnit, OrgUnit.code.in_(["371302002", "371302002001"])) == 2
    assert kept_files(app) == []
    flashed = client.get(done.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "导入 2 条，跳过 0 条，错误 0 条" in flashed


def test_upload_preview_then_confirm_people(app, client, world):
    client.login("a_admin")
    html = upload(client, "/org/import/people", NEW_PEOPLE).get_data(as_text=True)
    assert "赵敏" in html and "确认导入" in html
    client.post("/org/import/people/confirm", {"token": token_of(html)})
    assert count(Person) == 4 and count(Post, Post.status == "nominated") == 2


def test_preview_lists_row_errors_and_writes_nothing(app, client, world):
    client.login("a_admin")
    bad = UNITS_HEADER + ("371302002,枣园镇,township,371302,,\n"
                          "371302002001,,village,371302002,,\n"
                          "37130200200,坏码村委会,village,371302002,,\n")
    before = (count(OrgUnit), count(AuditEntry))
    html = upload(client, "/org/import/units", bad).get_data(as_text=True)
    assert "没有导入任何数据" in html and "确认导入" not in html
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]+)</td>', html)
    assert rows == [("3", "name"), ("4", "code")]
    assert (count(OrgUnit), count(AuditEntry)) == before and kept_files(app) == []


def test_out_of_scope_rows_are_row_errors_not_writes(app, client, world):
    client.login("a_admin")
    units = UNITS_HEADER + ("371302002,枣园镇,township,371302,,\n"
                            "371311009,外县镇,township,371311,,\n"    # county B: out of scope
                            "371311001,罗庄街道改名,township,371311,,\n"
                            "3713,临沂市,city,,,\n")
    html = upload(client, "/org/import/units", units).get_data(as_text=True)
    rows = re.findall(
        r'<tr><td class="num">(\d+)</td><td>([^<]+)</td><td class="wrap">([^<]+)<', html)
    assert [(line, col) for line, col, _r in rows] == [
        ("3", "parent_code"), ("4", "code"), ("5", "code")]
    assert "不在您的管辖范围内" in rows[0][2]
    people = PEOPLE_HEADER + "某人,男,1980,13900000009,,371311001001,助理员,,,,,\n"
    html = upload(client, "/org/import/people", people).get_data(as_text=True)
    assert "不存在或不在您的管辖范围内" in html and "确认导入" not in html
    assert count(OrgUnit, OrgUnit.name == "罗庄街道改名") == 0 and count(Person) == 2


def test_person_registered_in_another_county_is_refused(app, client, world):
    client.login("a_admin")
    people = PEOPLE_HEADER + "王五,男,1985,13800000002,,371302001001,助理员,,,,,\n"
    html = upload(client, "/org/import/people", people).get_data(as_text=True)
    assert "管辖范围以外" in html and "确认导入" not in html


def test_permissions(client, world):
    client.login("a_hr")  # HR may view people but not manage units or people
    for url in ("/org/import/units", "/org/import/people", "/org/import/units/template.csv",
                "/org/import/people/template.xlsx"):
        assert client.get(url).status_code == 403
    assert client.post("/org/import/units/confirm", {"token": "x"}).status_code == 403
    client.logout()
    assert client.get("/org/import/units").status_code == 302  # to the login page


def test_token_is_bound_to_its_user(app, client, world):
    client.login("a_admin")
    html = upload(client, "/org/import/units", NEW_UNITS).get_data(as_text=True)
    token = token_of(html)
    client.logout()
    client.login("city_admin")
    resp = client.post("/org/import/units/confirm", {"token": token})
    assert resp.status_code == 302 and count(OrgUnit, OrgUnit.code == "371302002") == 0
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已过期" in page
    # a units token cannot confirm a people import either
    client.logout()
    client.login("a_admin")
    client.post("/org/import/people/confirm", {"token": token})
    assert count(Person) == 2 and count(OrgUnit, OrgUnit.code == "371302002") == 0


@pytest.mark.parametrize("token", ["../../../etc/passwd", "a" * 43 + "/../x", "", "x" * 5000,
                                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_forged_tokens_never_give_a_500(client, world, token):
    client.login("a_admin")
    resp = client.post("/org/import/units/confirm", {"token": token})
    assert resp.status_code == 302 and count(OrgUnit) == 7


def test_second_confirm_does_nothing_and_stale_files_are_swept(app, client, world):
    client.login("a_admin")
    token = token_of(upload(client, "/org/import/units", NEW_UNITS).get_data(as_text=True))
    client.post("/org/import/units/confirm", {"token": token})
    before = (count(OrgUnit), count(AuditEntry))
    client.post("/org/import/units/confirm", {"token": token})
    assert (count(OrgUnit), count(AuditEntry)) == before
    stale = token_of(upload(client, "/org/import/people", NEW_PEOPLE).get_data(as_text=True))
    old = time.time() - stash.MAX_AGE_SECONDS - 60
    for name in kept_files(app):
        os.utime(os.path.join(app.config["UPLOAD_DIR"], "imports", name), (old, old))
    client.post("/org/import/people/confirm", {"token": stale})
    assert count(Person) == 2
    upload(client, "/org/import/units", NEW_UNITS.replace("枣园镇", "枣园新镇"))
    assert all(not name.startswith(stale) for name in kept_files(app))


def test_data_changed_between_preview_and_confirm(app, client, world):
    client.login("a_admin")
    token = token_of(upload(client, "/org/import/people", NEW_PEOPLE).get_data(as_text=True))
    world_town = db.session.get(OrgUnit, world.town_a.id)
    world_town.level = "village"  # the township row is no longer a township
    db.session.commit()
    html = client.post("/org/import/people/confirm", {"token": token}).get_data(as_text=True)
    assert "没有导入任何数据" in html and count(Person) == 2


def test_confirm_needs_csrf(client, world):
    client.login("a_admin")
    resp = client.post("/org/import/units/confirm", {"token": "x"}, csrf=False)
    assert resp.status_code == 400


@pytest.mark.parametrize(("content", "name"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png"),
    (b"", "empty.csv"),
    (b"PK\x03\x04not really", "book.xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls"),
    ("code,name\n" + "x" * 300_000 + "\n", "wide.csv"),
])
def test_unreadable_uploads_are_form_errors(client, world, content, name):
    client.login("a_admin")
    resp = upload(client, "/org/import/units", content, name)
    assert resp.status_code == 200
    assert 'class="error"' in resp.get_data(as_text=True)


def test_missing_file_is_a_form_error(client, world):
    client.login("a_admin")
    resp = client.post("/org/import/people", {})
    assert resp.status_code == 200 and "请选择要导入的文件" in resp.get_data(as_text=True)


def test_hostile_cells_are_escaped_in_the_preview(client, world):
    client.login("a_admin")
    content = PEOPLE_HEADER + (
        "<script>alert(1)</script>,男,1980,13900000001,,371302001001,助理员,,,,,\n"
        '"=cmd|\' /C calc\'!A0",男,1980,13900000002,,371302001001,助理员,,,,,\n'
        + "名" * 10_000 + ",男,1980,13900000003,,371302001001,助理员,,,,,\n"
        "名\x07字,男,1980,13900000004,,371302001001,助理员,,,,,\n")
    resp = upload(client, "/org/import/people", content)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<script>alert(1)</script>" not in html
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]+)</td>', html)
    assert rows == [("3", "姓名"), ("4", "姓名"), ("5", "姓名")]
    assert "名" * 200 not in html and count(Person) == 2


def test_nul_bytes_make_the_file_unreadable(client, world):
    client.login("a_admin")
    resp = upload(client, "/org/import/people", PEOPLE_HEADER + "名\x00字,男\n")
    assert resp.status_code == 200 and "不是 CSV 或 Excel 文件" in resp.get_data(as_text=True)


def test_long_filename_and_markup_filename_are_safe(client, world):
    client.login("a_admin")
    name = "<img src=x onerror=alert(1)>" + "长" * 500 + ".csv"
    resp = upload(client, "/org/import/units", NEW_UNITS, name=name)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<img src=x" not in html and "&lt;img src=x" in html
    assert "长" * 100 not in html


def test_templates_download(client, world):
    client.login("a_admin")
    csv_resp = client.get("/org/import/units/template.csv")
    assert csv_resp.status_code == 200 and csv_resp.data.startswith(b"\xef\xbb\xbf")
    assert csv_resp.data.decode("utf-8-sig").strip() == UNITS_HEADER.strip()
    people_csv = client.get("/org/import/people/template.csv").data.decode("utf-8-sig")
    assert people_csv.strip() == PEOPLE_HEADER.strip()
    xlsx = client.get("/org/import/people/template.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).worksheets[0]
    assert [c.value for c in sheet[1]] == PEOPLE_HEADER.strip().split(",")


def test_xlsx_upload(client, world):
    client.login("a_admin")
    book = openpyxl.Workbook()
    book.active.append(PEOPLE_HEADER.strip().split(","))
    book.active.append(["周强", "男", 1982, 13900000004, None, 371302001001, "助理员"])
    out = io.BytesIO()
    book.save(out)
    resp = upload(client, "/org/import/people", out.getvalue(), "people.xlsx")
    html = resp.get_data(as_text=True)
    client.post("/org/import/people/confirm", {"token": token_of(html)})
    assert count(Person, Person.name == "周强") == 1


def test_nothing_to_change_offers_no_confirm(client, world):
    client.login("a_admin")
    same = UNITS_HEADER + "371302001,兰山街道,township,371302,,\n"
    html = upload(client, "/org/import/units", same).get_data(as_text=True)
    assert "无需导入" in html and "确认导入" not in html


def test_pages_link_to_the_imports(client, world):
    client.login("a_admin")
    unit_page = client.get(f"/org/units/{world.county_a.id}").get_data(as_text=True)
    assert "/org/import/units" in unit_page
    people_page = client.get("/org/people").get_data(as_text=True)
    assert "/org/import/people" in people_page

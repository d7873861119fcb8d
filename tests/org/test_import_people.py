"""``flask org import-people``: keys (ID hash, else name + phone), posts and certificates without
duplicates on re-import, --legacy, row errors, XLSX and GBK CSV, hostile values, exit codes."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry, verify_chain
from lms.extensions import db
from lms.org import pii
from lms.org.importing import blank
from lms.org.models import OrgUnit, Person, Post, Qualification
from lms.org.rules import id_check_digit

HEADER = "姓名,性别,出生年份,手机号,身份证号,单位代码,岗位,学历,社工证等级,证书编号,取得日期,状态"
VILLAGE_A, TOWN_A, VILLAGE_B = "371302001001", "371302001", "371311001001"


def id_number(first17: str = "37130219850101001") -> str:
    return first17 + id_check_digit(first17)


ID1, ID2 = id_number(), id_number("37130219900202002")


def run(runner, tmp_path: Path, content: str | bytes, *args: str, name: str = "people.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return runner.invoke(args=["org", "import-people", str(path), *args])


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def error_lines(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.startswith("第")]


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def person(name: str) -> Person:
    db.session.expire_all()
    return db.session.execute(select(Person).where(Person.name == name)).scalar_one()


ROWS = csv_text(
    f"赵敏,女,1988,13900000001,{ID1},{VILLAGE_A},村(社区)民政助理员,大专,助理社会工作师,S2020001,2020-06-30,",
    f"钱坤,男,1979,13900000002,,{TOWN_A},乡镇民政工作人员,本科,,,,",
    f"孙丽,女,1990,139 0000 0003,{ID2},{TOWN_A},民政办主任,硕士,中级,,2019/5/1,已提名",
)


def test_imports_people_posts_and_certificates(runner, world, tmp_path):
    result = run(runner, tmp_path, ROWS)
    assert result.exit_code == 0, result.stderr
    zhao = person("赵敏")
    assert (zhao.gender, zhao.birth_year, zhao.phone, zhao.education) == (
        "female", 1988, "13900000001", "大专")
    assert zhao.org_unit.code == VILLAGE_A
    assert [(p.post_type, p.status, p.is_legacy) for p in zhao.posts] == [
        ("village_assistant", "nominated", False)]
    quals = [(q.level, q.certificate_no, q.obtained_on.isoformat()) for q in zhao.qualifications]
    assert quals == [("sw_junior", "S2020001", "2020-06-30")]
    assert zhao.id_hash == pii.id_hash(ID1) and zhao.id_masked == ID1[:6] + "********" + ID1[-4:]
    assert ID1 not in (zhao.id_encrypted or "") and pii.decrypt(zhao.id_encrypted) == ID1
    sun = person("孙丽")
    assert sun.phone == "13900000003" and sun.posts[0].post_type == "office_director"
    assert sun.qualifications[0].level == "sw_intermediate"
    assert person("钱坤").posts[0].post_type == "township_staff"
    actions = db.session.execute(select(AuditEntry.action)).scalars().all()
    assert actions.count("person.create") == 3 and actions.count("post.open") == 3
    assert actions.count("person.qualification_add") == 2 and actions.count("person.import") == 1
    assert verify_chain() is None


def test_reimport_changes_nothing(runner, world, tmp_path):
    assert run(runner, tmp_path, ROWS).exit_code == 0
    before = [count(m) for m in (Person, Post, Qualification, AuditEntry)]
    result = run(runner, tmp_path, ROWS)
    assert result.exit_code == 0 and "新增 0 条，更新 0 条，3 条不变" in result.stderr
    assert [count(m) for m in (Person, Post, Qualification, AuditEntry)] == before


def test_gbk_and_utf8_bom_csv_both_import(runner, world, tmp_path):
    assert run(runner, tmp_path, ROWS.encode("gbk")).exit_code == 0
    assert count(Person) == 5
    again = run(runner, tmp_path, b"\xef\xbb\xbf" + ROWS.encode("utf-8"))
    assert again.exit_code == 0 and "3 条不变" in again.stderr


def test_xlsx_with_numbers_dates_and_a_title_row(runner, world, tmp_path):
    from datetime import datetime

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["兰山区民政助理员花名册"])  # a title row above the header
    sheet.append(HEADER.split(","))
    sheet.append(["周强", "男", 1982, 13900000004, None, int(VILLAGE_A), "助理员", "高中",
                  "初级", "A-1", datetime(2021, 3, 15), None])
    out = io.BytesIO()
    book.save(out)
    result = run(runner, tmp_path, out.getvalue(), name="people.xlsx")
    assert result.exit_code == 0, result.stderr
    zhou = person("周强")
    assert zhou.phone == "13900000004" and zhou.birth_year == 1982
    assert zhou.qualifications[0].obtained_on.isoformat() == "2021-03-15"


def test_blank_templates_read_back_as_empty_imports(runner, world, tmp_path):
    for content, name in ((blank.people_xlsx(), "t.xlsx"), (blank.people_csv(), "t.csv")):
        result = run(runner, tmp_path, content, name=name)
        assert result.exit_code == 0, result.stderr
    assert count(Person) == 2


def test_matches_by_id_number_and_updates_name_and_phone(runner, world, tmp_path):
    assert run(runner, tmp_path, csv_text(
        f"赵敏,女,1988,13900000001,{ID1},{VILLAGE_A},助理员,,,,,")).exit_code == 0
    result = run(runner, tmp_path, csv_text(
        f"赵敏敏,女,,13900000009,{ID1.lower()},{VILLAGE_A},助理员,本科,,,,"))
    assert result.exit_code == 0 and "更新 1 条" in result.stderr
    moved = person("赵敏敏")
    assert (moved.phone, moved.education, moved.birth_year) == ("13900000009", "本科", 1988)
    assert count(Person, Person.id_hash == pii.id_hash(ID1)) == 1 and len(moved.posts) == 1


def test_matches_by_name_and_phone_and_adds_the_id_number(runner, world, tmp_path):
    row = f"李四,男,1985,13800000001,{ID2},{VILLAGE_A},助理员,,,,,"
    result = run(runner, tmp_path, csv_text(row))
    assert result.exit_code == 0, result.stderr
    assert count(Person) == 2
    li = person("李四")
    assert li.id_hash == pii.id_hash(ID2) and len(li.posts) == 1  # already holds that post


def test_new_certificate_on_a_stored_person(runner, world, tmp_path):
    row = f"李四,,,13800000001,,{VILLAGE_A},助理员,,社会工作师,Z9,,"
    result = run(runner, tmp_path, csv_text(row))
    assert result.exit_code == 0 and "更新 1 条" in result.stderr
    assert [q.level for q in person("李四").qualifications] == ["sw_intermediate"]
    assert run(runner, tmp_path, csv_text(row)).exit_code == 0
    assert count(Qualification) == 1


def test_legacy_import_sets_in_post_marked_legacy(runner, world, tmp_path):
    content = csv_text(f"吴刚,男,1975,13900000005,,{TOWN_A},乡镇民政工作人员,,,,,在岗")
    refused = run(runner, tmp_path, content)
    assert refused.exit_code == 1 and error_lines(refused)[0].startswith("第2行 状态：")
    assert count(Person) == 2
    result = run(runner, tmp_path, content, "--legacy")
    assert result.exit_code == 0, result.stderr
    post = person("吴刚").posts[0]
    assert (post.status, post.is_legacy) == ("in_post", True)
    nominated = run(runner, tmp_path, csv_text(
        f"郑义,男,1976,13900000006,,{TOWN_A},工作人员,,,,,"), "--legacy")
    assert nominated.exit_code == 0
    post = person("郑义").posts[0]
    assert (post.status, post.is_legacy) == ("nominated", False)


def test_exactly_three_bad_rows_import_nothing(runner, world, tmp_path):
    content = csv_text(
        f"甲,男,1980,13900000011,,{VILLAGE_A},助理员,,,,,",
        f"乙,男,1980,1390000001,,{VILLAGE_A},助理员,,,,,",            # line 3: 10-digit phone
        f"丙,男,1980,13900000013,,{VILLAGE_A},助理员,,,,,",
        f"丁,男,1980,13900000014,{ID1[:-1]}0,{VILLAGE_A},助理员,,,,,",  # line 5: bad check digit
        f"戊,男,1980,13900000015,,{VILLAGE_A},助理员,,,,,",
        "己,男,1980,13900000016,,371302999999,助理员,,,,,",          # line 7: unknown unit
    )
    if ID1[-1] == "0":
        content = content.replace(f"{ID1[:-1]}0", f"{ID1[:-1]}1")
    before = [count(m) for m in (Person, Post, AuditEntry)]
    result = run(runner, tmp_path, content)
    assert result.exit_code == 1
    errors = error_lines(result)
    assert [e.split("：")[0] for e in errors] == [
        "第3行 手机号", "第5行 身份证号", "第7行 单位代码"]
    assert errors[0] == "第3行 手机号：手机号应为11位数字。"
    assert [count(m) for m in (Person, Post, AuditEntry)] == before


@pytest.mark.parametrize(("row", "column", "reason"), [
    (f",男,1980,13900000021,,{VILLAGE_A},助理员,,,,,", "姓名", "请填写姓名"),
    (f"某,人,1980,13900000021,,{VILLAGE_A},助理员,,,,,", "性别", "男"),
    (f"某,男,1930,13900000021,,{VILLAGE_A},助理员,,,,,", "出生年份", "1940"),
    (f"某,男,2030,13900000021,,{VILLAGE_A},助理员,,,,,", "出生年份", "1940"),
    (f"某,男,1980,,,{VILLAGE_A},助理员,,,,,", "手机号", "请填写手机号"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},村长,,,,,", "岗位", "岗位应为"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},,,,,,", "岗位", "请填写岗位"),
    (f"某,男,1980,13900000021,,{TOWN_A},助理员,,,,,", "岗位", "应设在村（社区）"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},乡镇民政办主任,,,,,", "岗位", "应设在乡镇（街道）"),
    ("某,男,1980,13900000021,,3713,助理员,,,,,", "单位代码", "12位"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},助理员,,博士后,,,", "社工证等级", "助理社会工作师"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},助理员,,,X1,,", "社工证等级", "请填写社工证等级"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},助理员,,初级,,2020-13-01,", "取得日期", "2020-06-30"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},助理员,,初级,,2999-01-01,", "取得日期", "晚于今天"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},助理员,,,,,待培训", "状态", "已提名"),
    (f"某,男,1980,13900000021,,{VILLAGE_A},助理员,,,,,", None, None),
])
def test_row_validation(runner, world, tmp_path, row, column, reason):
    result = run(runner, tmp_path, csv_text(row))
    if column is None:
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 1, result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and errors[0].startswith(f"第2行 {column}：") and reason in errors[0]


@pytest.mark.parametrize(("alias", "post_type"), [
    ("乡镇民政办主任", "office_director"), ("民政办主任", "office_director"),
    ("乡镇民政工作人员", "township_staff"), ("工作人员", "township_staff"),
    ("村（社区）民政助理员", "village_assistant"), ("民政助理员", "village_assistant"),
    ("助理员", "village_assistant"), ("协理员", "village_assistant"),
])
def test_post_type_aliases(runner, world, tmp_path, alias, post_type):
    unit = VILLAGE_A if post_type == "village_assistant" else TOWN_A
    result = run(runner, tmp_path, csv_text(f"某某,女,1990,13900000031,,{unit},{alias},,高级,,,"))
    assert result.exit_code == 0, result.stderr
    assert person("某某").posts[0].post_type == post_type
    assert person("某某").qualifications[0].level == "sw_senior"


def test_duplicate_rows_in_the_file_are_errors(runner, world, tmp_path):
    result = run(runner, tmp_path, csv_text(
        f"甲,男,1980,13900000041,{ID1},{VILLAGE_A},助理员,,,,,",
        f"甲二,男,1980,13900000042,{ID1},{VILLAGE_A},助理员,,,,,",
        f"乙,男,1980,13900000043,,{VILLAGE_A},助理员,,,,,",
        f"乙,男,1980,13900000043,,{VILLAGE_A},助理员,,,,,",
    ))
    assert result.exit_code == 1
    assert error_lines(result) == ["第3行 身份证号：与第2行是同一人，请删除重复的行。",
                                   "第5行 姓名：与第4行是同一人，请删除重复的行。"]


def test_a_person_holding_another_post_is_not_moved_silently(runner, world, tmp_path):
    result = run(runner, tmp_path, csv_text(f"李四,男,1985,13800000001,,{TOWN_A},工作人员,,,,,"))
    assert result.exit_code == 1
    assert error_lines(result)[0].startswith("第2行 单位代码：此人已在“金雀山社区居委会”任")


def test_dry_run_writes_nothing(runner, world, tmp_path):
    before = [count(m) for m in (Person, Post, Qualification, AuditEntry)]
    result = run(runner, tmp_path, ROWS, "--dry-run")
    assert result.exit_code == 0 and "试运行" in result.stderr and "新增 3 条" in result.stderr
    assert [count(m) for m in (Person, Post, Qualification, AuditEntry)] == before


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02\x03garbage\xff", b"PK\x03\x04junk"])
def test_unreadable_files_exit_2(runner, world, tmp_path, content):
    result = run(runner, tmp_path, content)
    assert result.exit_code == 2 and "无法读取文件" in result.stderr


def test_missing_required_columns_exit_1(runner, world, tmp_path):
    result = run(runner, tmp_path, "姓名,手机号\n张三,13900000051\n")
    assert result.exit_code == 1
    assert [e.split("：")[0] for e in error_lines(result)] == ["第1行 单位代码", "第1行 岗位"]


@pytest.mark.parametrize(("cell", "column"), [
    ("=cmd|' /C calc'!A0", "姓名"),
    ("-2+3+cmd|' /C calc'!A0", "姓名"),
    ("名\x1b[31m字", "姓名"),
    ("名" * 10_000, "姓名"),
])
def test_hostile_values_are_row_errors(runner, world, tmp_path, cell, column):
    row = f'"{cell}",男,1980,13900000061,,{VILLAGE_A},助理员,,,,,'
    result = run(runner, tmp_path, csv_text(row))
    assert result.exit_code == 1 and len(result.stderr) < 1000
    assert error_lines(result)[0].startswith(f"第2行 {column}：")


def test_hostile_values_in_other_columns_never_crash(runner, world, tmp_path):
    huge = "9" * 10_000
    result = run(runner, tmp_path, csv_text(
        f'某,男,{huge},{huge},{huge},{huge},{huge},"=HYPERLINK(""x"")",{huge},{huge},{huge},{huge}'))
    assert result.exit_code == 1 and len(result.stderr) < 4000
    assert len(error_lines(result)) >= 8


def test_markup_in_a_name_is_stored_as_text(runner, world, tmp_path):
    result = run(runner, tmp_path, csv_text(
        f"<img src=x onerror=alert(1)>,男,1980,13900000071,,{VILLAGE_A},助理员,,,,,"))
    assert result.exit_code == 0, result.stderr
    assert person("<img src=x onerror=alert(1)>").phone == "13900000071"


def test_county_units_are_required_to_exist(runner, world, tmp_path):
    db.session.add(OrgUnit(code="371302001002", name="新村村委会", level="village",
                           parent_id=world.town_a.id, path=world.town_a.path + "999/"))
    db.session.commit()
    result = run(runner, tmp_path, csv_text("某,男,1980,13900000081,,371302001002,助理员,,,,,"))
    assert result.exit_code == 0, result.stderr


def test_thousands_of_rows_report_progress(runner, world, tmp_path):
    rows = [f"人{i},男,1980,139{i:08d},,{VILLAGE_A if i % 2 else VILLAGE_B},助理员,,,,,"
            for i in range(1, 1201)]
    result = run(runner, tmp_path, csv_text(*rows))
    assert result.exit_code == 0, result.stderr
    assert "已检查 1,000 / 1,200 行" in result.stderr and "已写入 1,000 / 1,200 行" in result.stderr
    assert count(Post) == 1202
    again = run(runner, tmp_path, csv_text(*rows))
    assert again.exit_code == 0 and "1,200 条不变" in again.stderr and count(Post) == 1202


def test_checking_runs_a_fixed_number_of_queries(app, world):
    from lms.db import utcnow
    from lms.org.importing import apply
    from tests.querycount import count_queries

    def statements(n: int) -> int:
        rows = [f"人{i},男,1980,139{i:08d},{id_number(f'3713021980010{i:04d}')},"
                f"{VILLAGE_A if i % 2 else TOWN_A},{'助理员' if i % 2 else '工作人员'},,初级,,,"
                for i in range(1, n + 1)]
        db.session.expire_all()
        with count_queries() as counter:
            plan = apply.check_people(csv_text(*rows).encode(), actor=None, now=utcnow())
        assert plan.ok and plan.count("create") == n
        db.session.rollback()
        return counter.count

    assert statements(5) == statements(300)


def test_one_round_reports_every_error_of_a_row(runner, world, tmp_path):
    """A row with a bad phone and a unit code that does not exist gets both errors at once, so
    the user does not fix, re-upload and meet the next error (UI review finding)."""
    result = run(runner, tmp_path, csv_text(
        "赵敏,女,1988,12345,,999999999999,村(社区)民政助理员,大专,,,,"), "--dry-run")
    assert result.exit_code == 1
    lines = error_lines(result)
    assert any("手机号" in ln for ln in lines) and any("999999999999" in ln for ln in lines)
    assert all(ln.startswith("第2行") for ln in lines)

"""``flask org import-units``: the cli.md contract (upsert, row errors, exit 0/1/2, --dry-run),
encodings, all-or-nothing, idempotence, hostile values, audit and speed at the scale of Linyi."""

from __future__ import annotations

import io
import time
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry, verify_chain
from lms.extensions import db
from lms.org.models import OrgUnit

HEADER = "code,name,level,parent_code,resident_population,registered_population"
DIVISIONS = Path(__file__).resolve().parents[2] / "lms" / "data" / "shandong-divisions.csv"


def run(runner, tmp_path: Path, content: str | bytes, *args: str, name: str = "units.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return runner.invoke(args=["org", "import-units", str(path), *args])


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def error_lines(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.startswith("第")]


def unit(code: str) -> OrgUnit | None:
    db.session.expire_all()
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar()


def count(model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


NEW_TOWN = csv_text(
    "371302002001,王家村村委会,village,371302002,,",  # parent appears later in the same file
    "371302002002,枣园社区居民委员会,village,371302002,,",
    "371302002,枣园镇,township,371302,52000,48000",
)


def test_creates_units_parents_first_with_kind_from_name(runner, world, tmp_path):
    result = run(runner, tmp_path, NEW_TOWN)
    assert result.exit_code == 0, result.stderr
    town = unit("371302002")
    assert town.kind == "town"
    assert (town.resident_population, town.registered_population) == (52000, 48000)
    assert town.parent_id == world.county_a.id and town.path.startswith(world.county_a.path)
    village, community = unit("371302002001"), unit("371302002002")
    assert (village.kind, community.kind) == ("village", "community")
    assert village.path == f"{town.path}{village.id}/"
    assert "新增 3 条" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("encode", [
    lambda s: s.encode("gbk"),
    lambda s: b"\xef\xbb\xbf" + s.encode("utf-8"),
    lambda s: s.encode("utf-8"),
    lambda s: s.replace("\n", "\r\n").encode("gb18030"),
], ids=["gbk", "utf8-bom", "utf8", "gb18030-crlf"])
def test_csv_encodings_are_detected(runner, world, tmp_path, encode):
    result = run(runner, tmp_path, encode(NEW_TOWN))
    assert result.exit_code == 0, result.stderr
    assert unit("371302002").name == "枣园镇"
    assert unit("371302002002").name == "枣园社区居民委员会"


def test_xlsx_with_numeric_codes_imports(runner, world, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(HEADER.split(","))
    book.active.append([371302002, "枣园镇", "township", 371302, 52000.0, None])
    book.active.append([371302002001, "王家村村委会", "village", 371302002, None, None])
    out = io.BytesIO()
    book.save(out)
    result = run(runner, tmp_path, out.getvalue(), name="units.xlsx")
    assert result.exit_code == 0, result.stderr
    assert unit("371302002").resident_population == 52000
    assert unit("371302002001") is not None


def test_exactly_three_bad_rows_import_nothing_and_are_reported_by_line_and_column(
        runner, world, tmp_path):
    content = csv_text(
        "371302003,柳青街道,township,371302,,",             # line 2 ok
        "37130200300,坏代码村委会,village,371302003,,",     # line 3: code has 11 digits
        "371302003001,一村村委会,village,371302003,,",      # line 4 ok
        "371302003002,二村村委会,town,371302003,,",         # line 5: unknown level
        "371302003003,三村村委会,village,371302003,,",      # line 6 ok
        "371399001,无上级镇,township,371399,,",             # line 7: parent does not exist
        "371302003004,四村村委会,village,371302003,,",      # line 8 ok
    )
    before = (count(OrgUnit), count(AuditEntry))
    result = run(runner, tmp_path, content)
    assert result.exit_code == 1
    errors = error_lines(result)
    assert [e.split("：")[0] for e in errors] == ["第3行 code", "第5行 level", "第7行 parent_code"]
    assert "上级单位 371399 不存在" in errors[2]
    assert (count(OrgUnit), count(AuditEntry)) == before
    assert "未写入任何数据" in result.stderr


def test_line_numbers_are_physical_lines(runner, world, tmp_path):
    content = (HEADER + "\n\n"                                     # line 2 blank
               + '371302004,"多行\n名称镇",township,371302,,\n'     # lines 3-4: quoted newline
               + "371302005,,township,371302,,\n")                  # line 5: no name
    result = run(runner, tmp_path, content)
    assert result.exit_code == 1
    assert [e.split("：")[0] for e in error_lines(result)] == ["第3行 name", "第5行 name"]


def test_reimport_changes_nothing(runner, world, tmp_path):
    assert run(runner, tmp_path, NEW_TOWN).exit_code == 0
    stamp = unit("371302002").updated_at
    before = (count(OrgUnit), count(AuditEntry))
    result = run(runner, tmp_path, NEW_TOWN)
    assert result.exit_code == 0
    assert "新增 0 条，更新 0 条，3 条不变" in result.stderr
    assert (count(OrgUnit), count(AuditEntry)) == before
    assert unit("371302002").updated_at == stamp


def test_dry_run_writes_nothing(runner, world, tmp_path):
    before = (count(OrgUnit), count(AuditEntry))
    result = run(runner, tmp_path, NEW_TOWN, "--dry-run")
    assert result.exit_code == 0
    assert "试运行" in result.stderr and "新增 3 条" in result.stderr
    assert (count(OrgUnit), count(AuditEntry)) == before


def test_dry_run_still_reports_errors_with_exit_1(runner, world, tmp_path):
    result = run(runner, tmp_path, csv_text("371302009,,township,371302,,"), "--dry-run")
    assert result.exit_code == 1 and error_lines(result) == ["第2行 name：请填写名称。"]


def test_upsert_updates_name_and_population_and_keeps_empty_population(runner, world, tmp_path):
    content = csv_text("371302,兰山新区,county,3713,,",
                       "371302001,兰山街道,township,371302,70000,65000",
                       "371311,罗庄区,county,3713,,")
    result = run(runner, tmp_path, content)
    assert result.exit_code == 0, result.stderr
    assert "新增 0 条，更新 2 条，1 条不变" in result.stderr
    county = unit("371302")
    assert county.name == "兰山新区" and county.resident_population == 1_844_089
    town = unit("371302001")
    assert (town.resident_population, town.registered_population) == (70000, 65000)
    assert unit("371311001") is not None  # units missing from the file are untouched
    actions = db.session.execute(select(AuditEntry.action)).scalars().all()
    assert actions.count("unit.update") == 2 and actions.count("unit.import") == 1


def test_changed_parent_moves_the_unit_and_its_subtree(runner, world, tmp_path):
    result = run(runner, tmp_path, csv_text("37,山东省,province,,,", "3713,临沂市,city,37,,"))
    assert result.exit_code == 0, result.stderr
    province, city = unit("37"), unit("3713")
    assert city.parent_id == province.id
    assert unit("371302001001").path.startswith(province.path + f"{city.id}/")
    assert "unit.move" in db.session.execute(select(AuditEntry.action)).scalars().all()


@pytest.mark.parametrize(("row", "column", "reason"), [
    ("371302001,兰山街道,city,,,", "code", "4 位数字"),
    ("3713020010,错位,township,371302,,", "code", "2、4、6、9 或 12 位"),
    ("371302001,兰山街道,township,371311,,", "parent_code", "以上级代码 371311 开头"),
    ("371302001002,村,village,3713020,,", "parent_code", "9 位数字"),
    ("371302006,新镇,township,,,", "parent_code", "请填写上级"),
    ("37,山东省,province,3713,,", "parent_code", "请留空"),
    ("371302007,新镇,township,371302,many,", "resident_population", "整数"),
    ("371302007,新镇,township,371302,-5,", "resident_population", "整数"),
    ("371302007,新镇,township,371302,," + "9" * 10_000, "registered_population", "整数"),
    ("371302001001,金雀山社区居委会,township,371302,,", "code", "9 位数字"),
    ("371302001001,金雀山社区居委会,village,371302001,,", None, None),
], ids=["level-change", "code-length", "prefix", "parent-length", "no-parent", "province-parent",
        "pop-text", "pop-negative", "pop-huge", "level-code-mismatch", "ok"])
def test_row_validation(runner, world, tmp_path, row, column, reason):
    result = run(runner, tmp_path, csv_text(row))
    if column is None:
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 1
    errors = error_lines(result)
    assert len(errors) == 1 and errors[0].startswith(f"第2行 {column}：") and reason in errors[0]


def test_duplicate_codes_in_the_file_are_errors(runner, world, tmp_path):
    result = run(runner, tmp_path, csv_text("371302008,甲镇,township,371302,,",
                                            "371302008,乙镇,township,371302,,"))
    assert result.exit_code == 1
    assert error_lines(result) == ["第3行 code：与第2行的区划代码重复，请删除其中一行。"]


def test_a_bad_parent_row_is_reported_once_not_on_each_child(runner, world, tmp_path):
    result = run(runner, tmp_path, csv_text("371302010,,township,371302,,",
                                            "371302010001,一村村委会,village,371302010,,",
                                            "371302010002,二村村委会,village,371302010,,"))
    assert result.exit_code == 1 and len(error_lines(result)) == 1


def test_missing_columns_and_chinese_headers(runner, world, tmp_path):
    result = run(runner, tmp_path, "code,name,level\n371302011,某镇,township\n")
    assert result.exit_code == 1
    assert error_lines(result)[0].startswith("第1行 parent_code：缺少此列")
    chinese = "区划代码,名称,级别,上级代码,常住人口\n371302011,某镇,乡镇,371302,42000\n"
    result = run(runner, tmp_path, chinese)
    assert result.exit_code == 0, result.stderr
    assert unit("371302011").resident_population == 42000


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    b"",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
    b"PK\x03\x04broken zip",
    b"\xff\xfe\xfd\x80\x81 not text at all \xff",
    (HEADER + '\n371302012,"' + "x" * 200_000 + '",township,371302,,\n').encode(),
], ids=["png", "empty", "xls", "broken-xlsx", "undecodable", "giant-cell"])
def test_unreadable_files_exit_2(runner, world, tmp_path, content):
    before = count(OrgUnit)
    result = run(runner, tmp_path, content)
    assert result.exit_code == 2, result.stderr
    assert "无法读取文件" in result.stderr and count(OrgUnit) == before


def test_missing_file_is_a_usage_error(runner, world, tmp_path):
    result = runner.invoke(args=["org", "import-units", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2


def test_too_many_rows_exit_2(app, runner, world, tmp_path):
    app.config["MAX_IMPORT_ROWS"] = 3
    rows = [f"37130201{i},镇{i},township,371302,," for i in range(3, 8)]
    result = run(runner, tmp_path, csv_text(*rows))
    assert result.exit_code == 2 and "超过 3 行" in result.stderr


@pytest.mark.parametrize(("name", "reason"), [
    ("=cmd|' /C calc'!A0", "公式"),
    ("+SUM(1,2)镇", "公式"),
    ("@SUM(A1)镇", "公式"),
    ("名称\x07镇", "不可见字符"),
    ("名称\u202e镇", "不可见字符"),
    ("镇" * 10_000, "不能超过 100 个字符"),
])
def test_hostile_names_are_refused_with_a_row_error(runner, world, tmp_path, name, reason):
    content = f'{HEADER}\n371302013,"{name}",township,371302,,\n'
    result = run(runner, tmp_path, content)
    assert result.exit_code == 1
    errors = error_lines(result)
    assert len(errors) == 1 and errors[0].startswith("第2行 name：") and reason in errors[0]
    assert len(result.stderr) < 1000  # the bad value is never echoed back
    assert unit("371302013") is None


def test_huge_code_cell_is_a_short_row_error(runner, world, tmp_path):
    result = run(runner, tmp_path, csv_text("9" * 10_000 + ",某镇,township,371302,,"))
    assert result.exit_code == 1 and len(result.stderr) < 1000
    assert error_lines(result)[0].startswith("第2行 code：")


def test_markup_in_a_name_is_stored_as_text_and_escaped(runner, client, world, tmp_path):
    row = "371302014,<script>alert(1)</script>镇,township,371302,,"
    result = run(runner, tmp_path, csv_text(row))
    assert result.exit_code == 0, result.stderr
    town = unit("371302014")
    assert town.name == "<script>alert(1)</script>镇"
    client.login("a_admin")
    html = client.get(f"/org/units/{town.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_progress_every_500_rows_on_stderr(runner, world, tmp_path):
    rows = ["371302015,大镇,township,371302,,", "371302016,小镇,township,371302,,"]
    rows += [f"371302015{i:03d},村{i}村委会,village,371302015,," for i in range(1, 700)]
    rows += [f"371302016{i:03d},庄{i}村委会,village,371302016,," for i in range(1, 400)]
    result = run(runner, tmp_path, csv_text(*rows))
    assert result.exit_code == 0, result.stderr
    assert "已检查 500 / 1,100 行" in result.stderr and "已检查 1,000 / 1,100 行" in result.stderr
    assert "已写入" in result.stderr and result.stdout == ""


def test_every_created_unit_is_audited_and_the_chain_verifies(runner, world, tmp_path):
    assert run(runner, tmp_path, NEW_TOWN).exit_code == 0
    created = db.session.execute(select(AuditEntry).where(AuditEntry.action == "unit.create")
                                 ).scalars().all()
    assert sorted(e.details["code"] for e in created) == ["371302002", "371302002001",
                                                          "371302002002"]
    assert all(e.object_id and e.org_unit_id == e.object_id and e.actor_name == "system"
               for e in created)
    summary = db.session.execute(select(AuditEntry).where(AuditEntry.action == "unit.import")
                                 ).scalar_one()
    assert summary.details["created"] == 3 and len(summary.details["sha256"]) == 64
    assert verify_chain() is None


@pytest.mark.skipif(not DIVISIONS.exists(), reason="lms/data/shandong-divisions.csv not present")
def test_the_whole_linyi_tree_imports_in_seconds(app, runner, tmp_path):
    lines = [ln for ln in DIVISIONS.read_text(encoding="utf-8").splitlines()[1:]
             if ln.startswith("3713")]
    lines = ["3713,临沂市,city," if ln.startswith("3713,") else ln for ln in lines]
    started = time.monotonic()
    result = run(runner, tmp_path, "code,name,level,parent_code\n" + "\n".join(lines) + "\n")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr[-2000:]
    levels = dict(db.session.execute(
        select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all())
    assert levels == {"city": 1, "county": 13, "township": 156, "village": 4186}
    assert elapsed < 60, f"import took {elapsed:.1f}s"
    again = run(runner, tmp_path, "code,name,level,parent_code\n" + "\n".join(lines) + "\n")
    assert again.exit_code == 0 and "4,356 条不变" in again.stderr
    assert verify_chain() is None


def test_checking_and_writing_run_a_fixed_number_of_queries(app, world):
    """No per-row lookups: the statement count does not grow with the rows."""
    from lms.db import utcnow
    from lms.org.importing import apply
    from tests.querycount import count_queries

    def statements(n: int) -> tuple[int, int]:
        rows = ["371302050,五十镇,township,371302,,"]
        rows += [f"371302050{i:03d},村{i}村委会,village,371302050,," for i in range(1, n + 1)]
        db.session.expire_all()
        with count_queries() as check:
            plan = apply.check_units(csv_text(*rows).encode(), actor=None)
        with count_queries() as write:
            apply.write_units(plan, actor=None, now=utcnow())
        db.session.rollback()
        reads = [s for s in write.statements if s.lstrip().upper().startswith("SELECT")]
        # SQLite inserts rows with an autoincrement key one statement each (no RETURNING
        # order guarantee); PostgreSQL batches them too.
        writes = write.count if db.engine.dialect.name == "postgresql" else 0
        return check.count, len(reads), writes

    assert statements(5) == statements(400)

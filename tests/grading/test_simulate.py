"""``flask grading simulate`` (shared/spec/cli.md): a hand-computed walkthrough, row errors,
encodings, unreadable files and the output shapes."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.extensions import db

WALKTHROUGH = Path(__file__).parent / "data" / "walkthrough.csv"
HEADER = WALKTHROUGH.read_text(encoding="utf-8").splitlines()[0]

# Hand-computed with the default policy (bases 60/80/100 yuan, top-up 20 % × 1.2/1.0/0.5/0).
# 东岭镇 has 6 rows (105 is vetoed but counts): cap ceil(6/5) = 2 → 101 (95.0) and 102 (92.5,
# competence 18) keep 优秀; 103 (92.5, competence 17.5) and 104 (89.95 → 90.0) become competent.
# 西河乡 has 7 rows: cap 2 → 201 (98.0) and 9 (91.0, ties 10 on total and competence, 9 < 10)
# keep 优秀; 10 becomes competent. A full quarter at level 3: 6000 × 3 × 1.24 = 22320 (excellent),
# × 1.2 = 21600 (competent), × 1.1 = 19800 (basically), × 1.0 = 18000 (incompetent, = the floor).
EXPECTED = [
    # id, total, grade, new level, replace, quarters (fen)
    (101, "95.0", "excellent", 2, False, [22320] * 4),              # [c, c, e] at level 3 → 2
    (201, "98.0", "excellent", 3, False, [22320] * 4),              # since_change 0: only [e]
    (102, "92.5", "excellent", 1, False, [28800] * 4),              # [e, e] early → 1
    (103, "92.5", "competent", 2, False, [29760, 29760, 19200, 0]),  # capped: [c, c] stays
    (9, "91.0", "excellent", 2, False, [29760] * 4),                # [b, e] no promotion
    (10, "91.0", "competent", 1, False, [28800] * 4),               # capped; [c, c, c] → 1
    (104, "90.0", "competent", 1, False, [33000] * 4),              # level 1 stays 1
    (105, "96.0", "incompetent", 3, True, [21600, 21600, 18000, 6000]),  # veto
    (106, "74.9", "basically_competent", 3, False, [28800] * 4),    # demoted, year before c
    (107, "59.9", "incompetent", 3, True, [13200, 19800, 19800, 19800]),  # 2 months in Q1
    (108, "60.0", "basically_competent", 2, True, [33000] * 4),     # b twice: demote + replace
    (109, "75.0", "competent", 2, False, [0, 0, 7200, 21600]),       # new in Q3, blank q1/q2
    (110, "65.5", "basically_competent", 3, True, [18000] * 4),     # floor level, b twice
]


def simulate(runner, path: Path, *extra: str):  # noqa: ANN001, ANN201
    return runner.invoke(args=["grading", "simulate", str(path), "--year", "2024", *extra])


def as_json(result):  # noqa: ANN001, ANN201
    return json.loads(result.stdout, parse_float=Decimal)


def write(tmp_path: Path, lines: list[str], encoding: str = "utf-8", name: str = "a.csv") -> Path:
    path = tmp_path / name
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return path


def walkthrough_rows() -> list[str]:
    return WALKTHROUGH.read_text(encoding="utf-8").splitlines()


def test_walkthrough_matches_every_row_exactly(runner):
    result = simulate(runner, WALKTHROUGH, "--json")
    assert result.exit_code == 0, result.stderr
    got = as_json(result)
    assert [list(r) for r in got] == [["id", "total", "grade", "new_level", "replace",
                                       "quarters_fen", "year_fen"]] * len(EXPECTED)
    expected = [{"id": i, "total": Decimal(t), "grade": g, "new_level": lv, "replace": rp,
                 "quarters_fen": q, "year_fen": sum(q)} for i, t, g, lv, rp, q in EXPECTED]
    assert got == expected
    assert sum(r["year_fen"] for r in got) == 1_226_520


def test_json_shape_and_types(runner):
    result = simulate(runner, WALKTHROUGH, "--json")
    text = result.stdout
    assert '"total": 90.0' in text and '"total": 74.9' in text   # always one decimal
    first = json.loads(text)[0]
    assert isinstance(first["id"], int) and isinstance(first["year_fen"], int)
    assert all(isinstance(q, int) for q in first["quarters_fen"])
    assert first["replace"] is False
    assert "已按 2024 年度政策模拟 13 人" in result.stderr


def test_table_without_json_is_chinese_and_in_input_order(runner):
    result = simulate(runner, WALKTHROUGH)
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0].split("\t")[:4] == ["编号", "乡镇", "总分", "等次"]
    assert [line.split("\t")[0] for line in lines[1:]] == [str(e[0]) for e in EXPECTED]
    assert lines[1].split("\t") == ["101", "东岭镇", "95.0", "优秀", "二级", "否", "223.20",
                                    "223.20", "223.20", "223.20", "892.80"]
    assert "基本称职" in result.stdout and "不称职" in result.stdout


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_bom_and_gbk_files_give_the_same_result(runner, tmp_path, encoding):
    baseline = as_json(simulate(runner, WALKTHROUGH, "--json"))
    path = write(tmp_path, walkthrough_rows(), encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(codecs.BOM_UTF8)
    result = simulate(runner, path, "--json")
    assert result.exit_code == 0, result.stderr
    assert as_json(result) == baseline


def test_ids_as_in_the_file(runner, tmp_path):
    rows = walkthrough_rows()
    rows[1] = "A-01" + rows[1][3:]
    rows[3] = "007" + rows[3][3:]
    got = as_json(simulate(runner, write(tmp_path, rows), "--json"))
    assert got[0]["id"] == "A-01" and got[2]["id"] == 7


def test_header_only_gives_an_empty_list(runner, tmp_path):
    result = simulate(runner, write(tmp_path, [HEADER]), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_it_writes_nothing(runner):
    count = select(func.count()).select_from(AuditEntry)
    before = db.session.scalar(count)
    assert simulate(runner, WALKTHROUGH, "--json").exit_code == 0
    assert db.session.scalar(count) == before


def replace_cell(line: str, column: str, value: str) -> str:
    cells = line.split(",")
    cells[HEADER.split(",").index(column)] = value
    return ",".join(cells)


# (data line to change: 1 = first data row = physical line 2, column, new value, expected reason)
ROW_ERRORS = [
    (1, "work", "40.5", "分数应在 0 到 40 之间"),
    (1, "competence", "-1", "分数应在 0 到 20 之间"),
    (1, "satisfaction", "15.1", "分数应在 0 到 15 之间"),
    (1, "integrity", "十", "分数应为数字"),
    (1, "diligence", "", "请填写分数"),
    (1, "since_change", "3", "不能大于 prior_grades 中的等次个数（2）"),
    (1, "since_change", "x", "应为 0 或正整数"),
    (1, "level", "4", "等级应为 1、2 或 3"),
    (1, "level", "三级", "等级应为 1、2 或 3"),
    (1, "m2", "4", "在岗月数应为 0 到 3 的整数"),
    (1, "m3", "1.5", "在岗月数应为 0 到 3 的整数"),
    (1, "q1", "good", "等次应为 excellent"),
    (1, "q4", "", "该季度在岗月数不为 0，请填写季度等次"),
    (1, "veto", "yes", "应为 0 或 1"),
    (1, "prior_grades", "competent|great", "第2项"),
    (1, "township", "", "请填写乡镇"),
    (1, "id", "", "请填写编号"),
    (5, "id", "201", "编号与第3行重复"),
]


@pytest.mark.parametrize("line, column, value, reason", ROW_ERRORS,
                         ids=[f"{c}={v!r}" for _n, c, v, _r in ROW_ERRORS])
def test_row_errors_exit_1_naming_the_row(runner, tmp_path, line, column, value, reason):
    rows = walkthrough_rows()
    rows[line] = replace_cell(rows[line], column, value)
    result = simulate(runner, write(tmp_path, rows), "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"第{line + 1}行 {column}：{reason}" in result.stderr
    assert "未计算任何结果" in result.stderr


def test_every_error_is_reported_with_its_physical_line(runner, tmp_path):
    rows = walkthrough_rows()
    rows[2] = replace_cell(rows[2], "work", "41")
    rows[2] = replace_cell(rows[2], "veto", "2")
    rows.insert(3, "")                                         # a blank line keeps its number
    rows[5] = replace_cell(rows[5], "m1", "9")
    result = simulate(runner, write(tmp_path, rows, "gbk"))
    assert result.exit_code == 1
    errors = [e for e in result.stderr.splitlines() if e.startswith("第")]
    assert [e.split("：")[0] for e in errors] == ["第3行 work", "第3行 veto", "第6行 m1"]
    assert "共 13 行，其中 2 行有错误" in result.stderr


def test_a_missing_column_is_an_error_on_the_header(runner, tmp_path):
    rows = [",".join(c for c in r.split(",")[:-1]) for r in walkthrough_rows()]
    result = simulate(runner, write(tmp_path, rows))
    assert result.exit_code == 1
    assert "第1行 since_change：" in result.stderr


def test_blank_quarterly_grade_is_fine_with_zero_months(runner, tmp_path):
    rows = walkthrough_rows()
    rows[1] = replace_cell(replace_cell(rows[1], "m4", "0"), "q4", "")
    got = as_json(simulate(runner, write(tmp_path, rows), "--json"))
    assert got[0]["quarters_fen"] == [22320, 22320, 22320, 0] and got[0]["year_fen"] == 66960


def test_missing_file_exits_2(runner, tmp_path):
    result = simulate(runner, tmp_path / "none.csv", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert "无法读取文件 none.csv" in result.stderr


def test_binary_file_exits_2(runner, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = simulate(runner, path, "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert "无法读取文件 photo.csv" in result.stderr


def test_undecodable_and_empty_files_exit_2(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(HEADER.encode() + b"\n\xff\xfe\xfd\x80\x81")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert simulate(runner, bad).exit_code == 2
    assert simulate(runner, empty).exit_code == 2


def test_year_is_required(runner):
    result = runner.invoke(args=["grading", "simulate", str(WALKTHROUGH)])
    assert result.exit_code == 2

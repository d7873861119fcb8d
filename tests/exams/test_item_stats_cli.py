"""``flask exams item-stats FILE.csv [--json]``: the cli.md contract — JSON shape on stdout only,
exit 1 for blank or non-numeric cells (row and column named), exit 2 for an unreadable file or a
missing ``max`` row, UTF-8 with or without BOM and GBK, the Chinese table without ``--json``."""

from __future__ import annotations

import codecs
import json
import math
from pathlib import Path

import pytest

# The hand-computed matrix of test_statistics.py (maximum marks 1, 2, 1; four attempts).
HAND = "编号,Q1,Q2,Q3\nmax,1,2,1\na1,1,2,1\na2,1,1,0\na3,0,2,1\na4,0,0,0\n"


def run(runner, tmp_path: Path, content: str | bytes, *args: str, name: str = "marks.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return runner.invoke(args=["exams", "item-stats", str(path), *args])


def as_json(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def error_lines(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.startswith("第")]


def test_json_shape_and_hand_computed_values(runner, tmp_path):
    data = as_json(run(runner, tmp_path, HAND, "--json"))
    assert list(data) == ["questions", "test"]
    assert [list(q) for q in data["questions"]] == [
        ["name", "facility", "sd", "discrimination_index", "discriminative_efficiency"]] * 3
    assert [q["name"] for q in data["questions"]] == ["Q1", "Q2", "Q3"]
    q1 = data["questions"][0]
    assert q1["facility"] == pytest.approx(50)
    assert q1["discrimination_index"] == pytest.approx(100 / (6 * math.sqrt(0.75)))
    assert q1["discriminative_efficiency"] == pytest.approx(20)
    t = data["test"]
    assert list(t) == ["n", "mean", "sd", "skewness", "kurtosis", "cic", "error_ratio",
                       "standard_error"]
    assert (t["n"], t["mean"]) == (4, 2.25)
    assert t["cic"] == pytest.approx(2400 / 35)
    assert t["standard_error"] == pytest.approx(math.sqrt(11 / 12))


def test_values_are_unrounded(runner, tmp_path):
    t = as_json(run(runner, tmp_path, HAND, "--json"))["test"]
    assert t["kurtosis"] == 12 / 35  # 0.34285714285714286, all digits


def test_stdout_is_only_json_and_few_attempts_warn_on_stderr(runner, tmp_path):
    result = run(runner, tmp_path, HAND, "--json")
    json.loads(result.stdout)
    assert result.stdout.strip().startswith("{") and result.stdout.count("\n") == 1
    assert "仅供参考" in result.stderr


def test_undefined_values_are_null(runner, tmp_path):
    # Two attempts, Q2 constant and worth 0: no skewness or kurtosis; Q2 has no facility or SD,
    # and no discrimination index (zero variance); Q1's rest of test (Q2) is constant too.
    result = run(runner, tmp_path, "id,Q1,Q2\nmax,1,0\n1,1,0\n2,0,0\n", "--json")
    data = as_json(result)
    q1, q2 = data["questions"]
    assert q2 == {"name": "Q2", "facility": None, "sd": None, "discrimination_index": None,
                  "discriminative_efficiency": None}
    assert (q1["discrimination_index"], q1["discriminative_efficiency"]) == (None, None)
    assert (data["test"]["skewness"], data["test"]["kurtosis"]) == (None, None)
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


def test_negative_and_decimal_marks_are_allowed(runner, tmp_path):
    data = as_json(run(runner, tmp_path, "id,Q1,Q2\nmax,1,1\n1,-1,1\n2,0,0\n3,-0.5,1\n", "--json"))
    assert data["questions"][0]["facility"] == pytest.approx(-50)
    assert data["questions"][0]["discrimination_index"] == pytest.approx(-25 * math.sqrt(12))


def test_full_width_digits_are_read_as_numbers(runner, tmp_path):
    data = as_json(run(runner, tmp_path, "id,Q1,Q2\nmax,１,２\n1,１,１．５\n2,0,0\n", "--json"))
    assert data["test"]["mean"] == pytest.approx(1.25)


def test_blank_cells_exit_1_naming_row_and_column(runner, tmp_path):
    result = run(runner, tmp_path, "id,Q1,单选3\nmax,1,2\na1,1,\na2,1\n", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = error_lines(result)
    assert len(lines) == 2
    assert lines[0].startswith("第3行 单选3：") and "不能为空" in lines[0]
    assert lines[1].startswith("第4行 单选3：")


def test_non_numeric_cells_exit_1_with_the_value(runner, tmp_path):
    content = "id,Q1,Q2\nmax,1,2\n\na1,1,两分\na2,80%,1\n"  # the blank line 3 still counts
    result = run(runner, tmp_path, content, "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = error_lines(result)
    assert lines[0].startswith("第4行 Q2：") and "“两分”不是数字" in lines[0]
    assert lines[1].startswith("第5行 Q1：") and "80%" in lines[1]
    assert "共 2 处错误" in result.stderr


def test_bad_maximum_and_unnamed_extra_column_are_input_errors(runner, tmp_path):
    result = run(runner, tmp_path, "id,Q1,Q2\nmax,1,abc\na1,1,1,5\n")
    assert result.exit_code == 1
    lines = error_lines(result)
    assert lines[0].startswith("第2行 Q2：")
    assert lines[1].startswith("第3行 第4列：") and "没有题目名称" in lines[1]


def test_missing_max_row_exits_2(runner, tmp_path):
    result = run(runner, tmp_path, "id,Q1,Q2\na1,1,1\na2,0,1\n", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "缺少 max 行" in result.stderr


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary\x00", b"id,Q\xff\xff\xff\nmax,1\n"])
def test_unreadable_file_exits_2(runner, tmp_path, content):
    result = run(runner, tmp_path, content, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "无法读取文件 marks.csv" in result.stderr


def test_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(args=["exams", "item-stats", str(tmp_path / "nope.csv"), "--json"])
    assert result.exit_code == 2
    assert "文件不存在" in result.stderr


def test_header_without_questions_exits_2(runner, tmp_path):
    result = run(runner, tmp_path, "id\nmax\na1\n")
    assert result.exit_code == 2
    assert "表头没有题目" in result.stderr


def test_gbk_file(runner, tmp_path):
    content = ("考生编号,单选1,判断2,填空3\nmax,1,2,1\n"
               "张三,1,2,1\n李四,1,1,0\n王五,0,2,1\n赵六,0,0,0\n")
    data = as_json(run(runner, tmp_path, content.encode("gbk"), "--json"))
    assert [q["name"] for q in data["questions"]] == ["单选1", "判断2", "填空3"]
    assert data["test"]["cic"] == pytest.approx(2400 / 35)


def test_utf8_with_bom_and_excel_max_spelling(runner, tmp_path):
    content = codecs.BOM_UTF8 + HAND.replace("max", " MAX ").encode("utf-8")
    assert as_json(run(runner, tmp_path, content, "--json"))["test"]["n"] == 4


def test_table_without_json_is_chinese(runner, tmp_path):
    result = run(runner, tmp_path, "id,Q1,Q2\nmax,1,0\n1,1,0\n2,0,0\n")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for label in ("题目", "容易度", "区分度指数", "区分效率", "平均分", "偏度", "峰度",
                  "内部一致性系数", "误差比", "标准误"):
        assert label in out
    assert "—" in out  # undefined values
    assert "50.00" in out

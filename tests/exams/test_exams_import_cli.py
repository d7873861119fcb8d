"""``flask exams import FILE --bank CODE [--format …] [--dry-run] [--json]``: the cli.md contract —
JSON shape on stdout only, errors with ``where`` and a Chinese message, exit 0 / 1 / 2, a missing
bank is exit 1 unless ``--dry-run``, every format including a GBK CSV."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest

HEADER = "题型,题干,选项A,选项B,选项C,选项D,答案,解析,难度,分值"
GOOD_CSV = "\n".join([
    HEADER,
    "单选,《社会救助暂行办法》自哪一年起施行？,2012年,2014年,2016年,,B,,易,",
    "多选,下列属于社会救助的有,低保,特困供养,受灾救助,养老保险,\"A,B,C\",,中等,",
    "判断,低保按户施保。,,,,,对,,,",
    "填空,办法自____年____月1日起施行。,,,,,2014|5;五,,,",
    "简答,简述低保申请程序。,,,,,,,难,",
]) + "\n"
BAD_CSV = "\n".join([
    HEADER,
    "单选,好题,甲,乙,,,A,,,",
    "单选,答案越界,甲,乙,,,E,,,",
    "单选,两个答案,甲,乙,,,AB,,,",
    "判断,判断题,,,,,也许,,,",
    ",,,,,,,,,",
    "单选,,甲,乙,,,A,,,",
    "单选,难度不对,甲,乙,,,A,,九,",
    "单选,分值为负,甲,乙,,,A,,,-1",
    "单选,好题,乙,甲,,,A,,,",
]) + "\n"


def run(runner, tmp_path: Path, content: str | bytes, *args: str, name: str = "questions.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return runner.invoke(args=["exams", "import", str(path), "--bank", "SJ01", *args])


def test_dry_run_json_shape(runner, tmp_path):
    result = run(runner, tmp_path, GOOD_CSV, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data == {"questions": [
        {"type": "single_choice", "stem": "《社会救助暂行办法》自哪一年起施行？",
         "options": ["2012年", "2014年", "2016年"], "answer": [1], "points": 1},
        {"type": "multiple_choice", "stem": "下列属于社会救助的有",
         "options": ["低保", "特困供养", "受灾救助", "养老保险"], "answer": [0, 1, 2], "points": 2},
        {"type": "true_false", "stem": "低保按户施保。", "options": [], "answer": True,
         "points": 1},
        {"type": "fill_blank", "stem": "办法自____年____月1日起施行。", "options": [],
         "answer": [["2014"], ["5", "五"]], "points": 1},
        {"type": "short_answer", "stem": "简述低保申请程序。", "options": [], "answer": None,
         "points": 5},
    ], "errors": []}
    assert "5 道题" in result.stderr and "未写入任何数据" in result.stderr


def test_bad_rows_are_all_reported_and_exit_1(runner, tmp_path):
    result = run(runner, tmp_path, BAD_CSV, "--dry-run", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["errors"] == [
        {"where": "questions 第3行", "message": "答案“E”不在选项中"},
        {"where": "questions 第4行", "message": "单选题只能有一个答案"},
        {"where": "questions 第5行",
         "message": "判断题答案应为 对/错（也可写 正确/错误、√/×、T/F、是/否）"},
        {"where": "questions 第7行", "message": "题干不能为空"},
        {"where": "questions 第8行", "message": "难度应为1–5或 易/较易/中等/较难/难"},
        {"where": "questions 第9行", "message": "分值应为正数（可为0.5的倍数）"},
        {"where": "questions 第10行", "message": "questions 第10行与questions 第2行重复"},
    ]
    assert [q["stem"] for q in data["questions"]] == ["好题"]
    assert "questions 第3行：答案“E”不在选项中" in result.stderr.splitlines()


def test_gbk_csv(runner, tmp_path):
    result = run(runner, tmp_path, GOOD_CSV.encode("gbk"), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["questions"]) == 5


def test_without_dry_run_a_missing_bank_is_exit_1(runner, tmp_path):
    result = run(runner, tmp_path, GOOD_CSV, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert len(data["questions"]) == 5
    assert data["errors"] == [{"where": "--bank", "message": "题库“SJ01”不存在"}]
    assert "题库“SJ01”不存在" in result.stderr


def test_human_output_goes_to_stderr_only(runner, tmp_path):
    result = run(runner, tmp_path, BAD_CSV, "--dry-run")
    assert result.exit_code == 1 and result.stdout == ""
    assert "questions 第4行：单选题只能有一个答案" in result.stderr


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    book.active.title = "试题"
    for r in rows:
        book.active.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_formula_and_where(runner, tmp_path):
    data = _xlsx([HEADER.split(","), ["单选", "=1+1", "甲", "乙", None, None, "A"],
                  ["判断", "好", None, None, None, None, "错"]])
    result = run(runner, tmp_path, data, "--dry-run", "--json", name="bank.xlsx")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == [
        {"where": "试题 第2行",
         "message": "题干：不能以 =、+、-、@ 开头（可能是表格公式），请删除开头的符号"}]


GIFT = """// 注释
$CATEGORY: 社会救助

::t1::低保按户施保。{T}

匹配{=a -> b =c -> d}

二选一{=甲 ~乙}
"""
AIKEN = "低保由谁审核确认？\nA. 村委会\nB. 县级民政部门\nANSWER: B\n"


@pytest.mark.parametrize(("name", "content", "fmt"), [
    ("bank.gift", GIFT, "auto"), ("bank.txt", GIFT, "auto"), ("bank.txt", GIFT, "gift"),
])
def test_gift_via_cli(runner, tmp_path, name, content, fmt):
    result = run(runner, tmp_path, content, "--dry-run", "--json", "--format", fmt, name=name)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [q["type"] for q in data["questions"]] == ["true_false", "single_choice"]
    assert data["errors"] == [{"where": "第2题（第6行）",
                               "message": "这是匹配题（matching，=…->…）块，不支持导入"}]


@pytest.mark.parametrize(("name", "fmt"), [("a.aiken", "auto"), ("a.txt", "auto"),
                                           ("a.dat", "aiken")])
def test_aiken_via_cli(runner, tmp_path, name, fmt):
    result = run(runner, tmp_path, AIKEN, "--dry-run", "--json", "--format", fmt, name=name)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["questions"] == [
        {"type": "single_choice", "stem": "低保由谁审核确认？",
         "options": ["村委会", "县级民政部门"], "answer": [1], "points": 1}]


def test_duplicates_inside_the_file_are_errors(runner, tmp_path):
    result = run(runner, tmp_path, GIFT.replace("匹配{=a -> b =c -> d}", "二选一 {=乙 ~甲}"),
                 "--dry-run", "--json", name="d.gift")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == [
        {"where": "第3题（第8行）", "message": "第3题与第2题重复"}]


@pytest.mark.parametrize(("name", "content", "args"), [
    ("broken.xlsx", b"PK\x03\x04 truncated", ()),
    ("junk.csv", bytes(range(256)) * 8, ()),
    ("junk.txt", bytes(range(256)) * 8, ()),
    ("prose.txt", "一段没有题目的文字".encode(), ()),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ()),
    ("empty.csv", b"", ()),
    ("q.csv", GOOD_CSV, ("--format", "docx")),
])
def test_unreadable_file_or_usage_error_is_exit_2(runner, tmp_path, name, content, args):
    result = run(runner, tmp_path, content, "--dry-run", "--json", *args, name=name)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""


def test_missing_file_and_missing_bank_option_are_usage_errors(runner, tmp_path):
    assert runner.invoke(args=["exams", "import", str(tmp_path / "nope.csv"), "--bank", "X",
                               "--dry-run"]).exit_code == 2
    path = tmp_path / "q.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    assert runner.invoke(args=["exams", "import", str(path), "--dry-run"]).exit_code == 2


def test_three_thousand_questions(runner, tmp_path):
    rows = [HEADER] + [f"单选,第{i}题,甲,乙,丙,丁,C,,,1" for i in range(3000)]
    result = run(runner, tmp_path, "\n".join(rows), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["questions"]) == 3000

"""The canonical Chinese template (spec decision 17) from XLSX and CSV: columns, answer notations,
encodings, sheet layouts, row errors, formula cells, duplicates, the blank template and the XLSX
export round trip."""

from __future__ import annotations

import codecs
import io
from dataclasses import replace
from decimal import Decimal

import openpyxl
import pytest

from lms.exams.formats import UnreadableFile, read_questions
from lms.exams.formats import sheets as sheets_module
from lms.exams.formats.columns import CANONICAL
from lms.exams.formats.export import to_xlsx
from lms.exams.formats.model import ParsedQuestion
from lms.exams.formats.template import EXAMPLE_MARK, blank_workbook, looks_like_formula

HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "选项G", "选项H",
          "答案", "解析", "难度", "分值", "知识点", "分类", "适用岗位"]


def row(qtype="单选", stem="题目", options=("甲", "乙", "丙", "丁"), answer="A", explanation="",
        difficulty="", points="", knowledge="", category="", posts=""):
    opts = list(options) + [""] * (8 - len(options))
    return [qtype, stem, *opts, answer, explanation, difficulty, points, knowledge, category, posts]


def xlsx(*sheets: tuple[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        ws = book.create_sheet(title)
        for r in rows:
            ws.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet(*rows, header=HEADER, title="试题") -> bytes:
    return xlsx((title, [header, *rows]))


def csv_bytes(rows, encoding="utf-8", bom=False) -> bytes:
    text = "\r\n".join(",".join(f'"{c}"' if "," in str(c) else str(c) for c in r) for r in rows)
    data = text.encode(encoding)
    return codecs.BOM_UTF8 + data if bom else data


def parse(data: bytes, filename="questions.xlsx"):
    return read_questions(data, filename=filename)


def only(result) -> ParsedQuestion:
    assert result.errors == [], result.errors
    assert len(result.questions) == 1
    return result.questions[0]


def messages(result) -> list[str]:
    return [e.message for e in result.errors]


# ---------------------------------------------------------------- every type, every notation


def test_all_five_types_from_one_sheet():
    result = parse(sheet(
        row("单选", "低保由谁审核确认？", ("村委会", "县级民政部门"), "B", "见办法", "易", "",
            "低保", "社会救助", "村(社区)民政助理员"),
        row("多选题", "下列属于社会救助的有", ("低保", "特困供养", "养老保险"), "A,B",
            difficulty="4"),
        row("判断", "低保按户施保。", (), "对"),
        row("填空", "社会救助暂行办法自____年____月1日起施行。", (), "2014|5;五"),
        row("简答题", "简述低保申请程序。", (), "书面申请、调查、公示、审核确认", points="10"),
    ))
    assert result.errors == []
    assert [q.to_json() for q in result.questions] == [
        {"type": "single_choice", "stem": "低保由谁审核确认？",
         "options": ["村委会", "县级民政部门"], "answer": [1], "points": 1},
        {"type": "multiple_choice", "stem": "下列属于社会救助的有",
         "options": ["低保", "特困供养", "养老保险"], "answer": [0, 1], "points": 2},
        {"type": "true_false", "stem": "低保按户施保。", "options": [], "answer": True,
         "points": 1},
        {"type": "fill_blank", "stem": "社会救助暂行办法自____年____月1日起施行。", "options": [],
         "answer": [["2014"], ["5", "五"]], "points": 1},
        {"type": "short_answer", "stem": "简述低保申请程序。", "options": [],
         "answer": "书面申请、调查、公示、审核确认", "points": 10},
    ]
    first = result.questions[0]
    assert (first.explanation, first.difficulty, first.knowledge_point, first.category,
            first.post_types) == ("见办法", 1, "低保", "社会救助", ("village_assistant",))
    assert result.questions[1].difficulty == 4
    assert first.where == "试题 第2行" and result.questions[4].where == "试题 第6行"


@pytest.mark.parametrize("answer", ["ABD", "A,B,D", "A、B、D", "A;B;D", "A/B/D", "abd", "ＡＢＤ",
                                    "A，B，D", "A B D", "D,B,A"])
def test_multiple_choice_answer_notations(answer):
    q = only(parse(sheet(row("多选", options=("一", "二", "三", "四"), answer=answer))))
    assert q.answer == (0, 1, 3)


@pytest.mark.parametrize(("answer", "expected"), [
    ("对", True), ("正确", True), ("√", True), ("T", True), ("是", True), ("true", True),
    ("错", False), ("错误", False), ("×", False), ("F", False), ("否", False), ("FALSE", False)])
def test_true_false_words(answer, expected):
    assert only(parse(sheet(row("判断", options=(), answer=answer)))).answer is expected


def test_excel_boolean_cell_is_a_true_false_answer():
    assert only(parse(sheet(row("判断", options=(), answer=True)))).answer is True


@pytest.mark.parametrize(("qtype", "stem", "answer", "expected_stem", "expected"), [
    ("填空", "首都是____。", "北京", "首都是____。", (("北京",),)),
    ("填空题", "首都是___，简称__。", "北京;Beijing|京", "首都是____，简称____。",
     (("北京", "Beijing"), ("京",))),
    ("填空", "首都是（　）。", "北京；北京市", "首都是____。", (("北京", "北京市"),)),
    ("填空", "首都是＿＿＿。", "北京｜", None, None),
])
def test_fill_in_blanks_and_synonyms(qtype, stem, answer, expected_stem, expected):
    result = parse(sheet(row(qtype, stem, (), answer)))
    if expected is None:
        assert messages(result) == ["第2个空没有答案"]
        return
    q = only(result)
    assert (q.stem, q.answer) == (expected_stem, expected)


def test_fill_in_blank_count_must_match_the_answer():
    result = parse(sheet(row("填空", "甲____乙____", (), "一"), row("填空", "没有空", (), "一")))
    assert messages(result) == ["题干中有2个空，答案有1个空",
                                "填空题题干中没有空，请用 ____ 标出每个空"]


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), ("1", 1), ("5", 5), (3, 3), ("易", 1), ("较易", 2), ("中等", 3), ("中", 3),
    ("较难", 4), ("难", 5)])
def test_difficulty(value, expected):
    assert only(parse(sheet(row(difficulty=value)))).difficulty == expected


@pytest.mark.parametrize(("qtype", "value", "expected"), [
    ("单选", "", Decimal(1)), ("多选", "", Decimal(2)), ("判断", "", Decimal(1)),
    ("填空", "", Decimal(1)), ("简答", "", Decimal(5)), ("单选", "0.5", Decimal("0.5")),
    ("单选", 2.5, Decimal("2.5")), ("单选", 3, Decimal(3)), ("单选", "4分", Decimal(4))])
def test_points_defaults_and_half_steps(qtype, value, expected):
    answers = {"单选": "A", "多选": "AB", "判断": "对", "填空": "x", "简答": ""}
    stems = {"填空": "空____"}
    options = ("甲", "乙") if qtype in ("单选", "多选") else ()
    q = only(parse(sheet(row(qtype, stems.get(qtype, "题"), options, answers[qtype],
                             points=value))))
    assert q.points == expected
    assert q.to_json()["points"] == (int(expected) if expected % 1 == 0 else float(expected))


def test_points_json_is_int_when_whole_else_one_decimal():
    q = only(parse(sheet(row(points="1.5"))))
    assert q.to_json()["points"] == 1.5 and isinstance(q.to_json()["points"], float)
    assert isinstance(only(parse(sheet(row(points="2.0")))).to_json()["points"], int)


def test_post_types_several_or_all():
    q = only(parse(sheet(row(posts="乡镇民政办主任、村(社区)民政助理员"))))
    assert q.post_types == ("office_director", "village_assistant")
    assert only(parse(sheet(row(posts="全部")))).post_types == ()


# ---------------------------------------------------------------- bad rows


def test_every_bad_row_is_reported_with_sheet_and_line():
    result = parse(sheet(
        row(answer="E"),                                   # 2
        row(answer="AB"),                                  # 3
        row("判断", options=(), answer="也许"),            # 4
        row(stem=""),                                      # 5
        row(difficulty="很难"),                            # 6
        row(points="0"),                                   # 7
        row(points="1.3"),                                 # 8
        row(points="-1"),                                  # 9
        row("论述"),                                       # 10
        row(options=("甲", "", "丙")),                     # 11
        row("多选", answer="A"),                           # 12
        row("判断", options=("对", "错"), answer="A"),      # 13
        row(options=("甲",)),                              # 14
        row(options=("甲", "甲 ")),                        # 15
        row(answer=""),                                    # 16
        row(),                                             # 17: the only good row
        row(posts="局长"),                                 # 18
    ))
    assert [(e.where, e.message) for e in result.errors] == [
        ("试题 第2行", "答案“E”不在选项中"),
        ("试题 第3行", "单选题只能有一个答案"),
        ("试题 第4行", "判断题答案应为 对/错（也可写 正确/错误、√/×、T/F、是/否）"),
        ("试题 第5行", "题干不能为空"),
        ("试题 第6行", "难度应为1–5或 易/较易/中等/较难/难"),
        ("试题 第7行", "分值应为正数（可为0.5的倍数）"),
        ("试题 第8行", "分值应为正数（可为0.5的倍数）"),
        ("试题 第9行", "分值应为正数（可为0.5的倍数）"),
        ("试题 第10行", "题型“论述”无法识别，应为 单选、多选、判断、填空 或 简答"),
        ("试题 第11行", "选项B为空，选项应从选项A起连续填写"),
        ("试题 第12行", "多选题至少应有两个答案"),
        ("试题 第13行", "判断题不应填写选项"),
        ("试题 第14行", "选择题至少需要两个选项"),
        ("试题 第15行", "选项A与选项B相同"),
        ("试题 第16行", "答案不能为空"),
        ("试题 第18行", "适用岗位“局长”无法识别，应为 乡镇民政办主任、乡镇民政工作人员 "
                       "或 村(社区)民政助理员（多个用、分隔）"),
    ]
    assert [q.where for q in result.questions] == ["试题 第17行"]


def test_several_problems_of_one_row_are_all_reported():
    result = parse(sheet(row(answer="Z", difficulty="9", points="abc")))
    assert len(result.errors) == 3 and {e.where for e in result.errors} == {"试题 第2行"}


def test_overlong_cells_are_refused():
    result = parse(sheet(row(stem="长" * 2001), row(options=("甲", "乙" * 501))))
    assert messages(result) == ["题干不能超过2000个字", "选项B不能超过500个字"]


def test_option_columns_past_h_are_refused_not_ignored():
    header = [*HEADER, "选项I"]
    result = parse(sheet(row() + ["第九个"], header=header))
    assert messages(result) == ["最多支持8个选项（A–H）"]


@pytest.mark.parametrize(("cell", "bad"), [
    ("=1+1", True), ("=HYPERLINK(\"http://x\",\"y\")", True), ("@SUM(A1:A2)", True),
    ("+cmd|' /C calc'!A0", True), ("-2+3", True), ("-A1", True),
    ("-1", False), ("+3.5", False), ("-5℃", False), ("-以上都不对", False), ("A-B", False)])
def test_formula_like_cells(cell, bad):
    assert looks_like_formula(cell) is bad
    result = parse(sheet(row(options=("甲", cell))))
    if bad:
        assert messages(result) == [
            "选项B：不能以 =、+、-、@ 开头（可能是表格公式），请删除开头的符号"]
    else:
        assert only(result).options == ("甲", cell)


def test_formula_cell_in_excel_and_formula_in_points():
    result = parse(sheet(row(stem="=A1&\"x\""), row(points="=1+1")))
    assert messages(result) == [
        "题干：不能以 =、+、-、@ 开头（可能是表格公式），请删除开头的符号",
        "分值：不能以 =、+、-、@ 开头（可能是表格公式），请删除开头的符号"]


def test_duplicates_normalise_width_whitespace_and_option_order():
    result = parse(sheet(row(stem="低保 标准（2024）", options=("甲", "乙")),
                         row(stem="低保  标准(２０２４)", options=("乙", "甲"), answer="B"),
                         row(stem="低保 标准（2024）", options=("甲", "丙"))))
    assert [(e.where, e.message) for e in result.errors] == [
        ("试题 第3行", "试题 第3行与试题 第2行重复")]
    assert len(result.questions) == 2


# ---------------------------------------------------------------- layouts and headers


def test_header_aliases_marks_and_a_title_row():
    header = ["题型*", "试题", "选项 A", "B选项", "正确选项（必填，用/分隔）", "分数", "序号"]
    data = xlsx(("Sheet1", [["2024年社会救助题库"], header, ["单选", "题", "甲", "乙", "B", 3, 1]]))
    q = only(parse(data))
    assert (q.stem, q.options, q.answer, q.points, q.where) == (
        "题", ("甲", "乙"), (1,), Decimal(3), "Sheet1 第3行")


def test_sheet_per_type_without_a_type_column_and_a_notes_sheet():
    data = xlsx(
        ("单选题", [["题干", "选项A", "选项B", "正确答案", "分值"],
                    ["单选一", "甲", "乙", "A", ""]]),
        ("判断题", [["题干", "答案", "解析"], ["判断一", "错", "因为"]]),
        ("填写说明", [["列", "说明"], ["题干", "必填"]]),
        ("填空", [["试题", "答案", "难度"], ["空____", "一", "难"]]),
    )
    result = parse(data)
    assert result.errors == []
    assert [(q.type, q.stem, q.where) for q in result.questions] == [
        ("single_choice", "单选一", "单选题 第2行"), ("true_false", "判断一", "判断题 第2行"),
        ("fill_blank", "空____", "填空 第2行")]


def test_type_cell_must_agree_with_the_sheet_name():
    data = xlsx(("单选题", [["题型", "题干", "选项A", "选项B", "答案"],
                            ["多选", "题", "甲", "乙", "AB"]]))
    assert messages(parse(data)) == ["题型“多选”与工作表名称不一致"]


def test_missing_header_or_type_column_is_an_error():
    assert messages(parse(xlsx(("试题", [["甲", "乙"], ["丙", "丁"]])))) == [
        "找不到表头：应有 题型、题干、选项A…选项H、答案 等列"]
    result = parse(xlsx(("试题", [["题干", "选项A", "答案"], ["题", "甲", "A"]])))
    assert [(e.where, e.message) for e in result.errors] == [
        ("试题 第1行", "缺少“题型”列（或把工作表命名为题型，如“单选题”）")]


# ---------------------------------------------------------------- CSV encodings


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("gbk", False)])
def test_csv_in_utf8_with_or_without_bom_and_gbk(encoding, bom):
    rows = [HEADER, row("单选", "《社会救助暂行办法》的施行年份", ("二〇一四年", "2016年"), "A",
                        knowledge="低保、特困"),
            row("判断", "民政协理员由村（社区）推荐。", (), "√")]
    result = read_questions(csv_bytes(rows, encoding, bom), filename="题库.csv")
    assert result.errors == []
    assert [q.stem for q in result.questions] == [
        "《社会救助暂行办法》的施行年份", "民政协理员由村（社区）推荐。"]
    assert result.questions[0].options == ("二〇一四年", "2016年")
    assert result.questions[0].knowledge_point == "低保、特困"
    assert result.questions[1].where == "题库 第3行"


def test_tab_separated_csv():
    text = "\n".join("\t".join(map(str, r)) for r in [HEADER, row()])
    assert only(read_questions(text.encode(), filename="q.csv")).stem == "题目"


def test_csv_formula_injection_is_refused():
    result = read_questions(csv_bytes([HEADER, row(stem="=cmd|' /C calc'!A0")]), filename="q.csv")
    assert messages(result) == ["题干：不能以 =、+、-、@ 开头（可能是表格公式），请删除开头的符号"]


@pytest.mark.parametrize("data", [b"PK\x03\x04 not really a zip", b"\x00\x01\x02garbage" * 50,
                                  b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel"])
def test_broken_or_binary_files_are_unreadable(data):
    with pytest.raises(UnreadableFile):
        read_questions(data, filename="q.xlsx")
    with pytest.raises(UnreadableFile):
        read_questions(data, filename="q.csv")


def test_row_limit_refuses_the_file(monkeypatch):
    monkeypatch.setattr(sheets_module, "MAX_ROWS", 3)
    with pytest.raises(UnreadableFile, match="请拆分后分批导入"):
        parse(sheet(row(stem="1"), row(stem="2"), row(stem="3")))


# ---------------------------------------------------------------- blank template and round trip


def test_blank_workbook_has_the_header_and_one_example_per_type():
    book = openpyxl.load_workbook(io.BytesIO(blank_workbook()))
    ws = book.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == [c.title for c in CANONICAL]
    assert [r[0] for r in rows[1:]] == ["单选", "多选", "判断", "填空", "简答"]
    assert all(r[1].startswith(EXAMPLE_MARK) for r in rows[1:])
    assert parse(blank_workbook()).to_json() == {"questions": [], "errors": []}


def test_blank_workbook_examples_import_once_unmarked():
    book = openpyxl.load_workbook(io.BytesIO(blank_workbook()))
    ws = book.worksheets[0]
    for (cell,) in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        cell.value = cell.value.removeprefix(EXAMPLE_MARK)
    out = io.BytesIO()
    book.save(out)
    result = parse(out.getvalue())
    assert result.errors == []
    assert [q.type for q in result.questions] == [
        "single_choice", "multiple_choice", "true_false", "fill_blank", "short_answer"]


ROUND_TRIP = [
    ParsedQuestion("single_choice", "多行题干\n第二行 **粗体**", ("-1", "0", "1.5", "甲"), (2,),
                   Decimal("1.5"), "解析\n两行", 2, "低保", "社会救助/低保",
                   ("office_director", "township_staff"), ("重点", "2024"), "《社会救助暂行办法》"),
    ParsedQuestion("multiple_choice", "选出全部", tuple("一二三四五六七八"), (0, 3, 7), Decimal(4),
                   difficulty=5, post_types=("village_assistant",)),
    ParsedQuestion("true_false", "对吗？", (), False, Decimal("0.5"), "不对", 3),
    ParsedQuestion("fill_blank", "____和____", (), (("甲", "A"), ("乙",)), Decimal(2)),
    ParsedQuestion("short_answer", "简述。", (), "参考答案", Decimal(10), knowledge_point="程序"),
    ParsedQuestion("short_answer", "论述。", (), None, Decimal(5)),
]


def _content(q: ParsedQuestion) -> ParsedQuestion:
    return replace(q, where="", ref="", source_line=0)


def test_xlsx_export_then_import_loses_nothing():
    result = parse(to_xlsx(ROUND_TRIP))
    assert result.errors == []
    assert [_content(q) for q in result.questions] == ROUND_TRIP


def test_xlsx_export_writes_text_never_formulas():
    q = replace(ROUND_TRIP[0], options=("=1+1", "乙"), answer=(0,))
    ws = openpyxl.load_workbook(io.BytesIO(to_xlsx([q]))).worksheets[0]
    assert ws["C2"].value == "=1+1" and ws["C2"].data_type == "s"

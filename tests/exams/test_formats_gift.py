"""Moodle GIFT: categories, comments, escapes, titles, feedback, weights, every mapped type, the
refused block types, error positions, and the GIFT export round trip."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from lms.exams.formats import read_questions
from lms.exams.formats.export import gift_escape, to_gift
from lms.exams.formats.gift import parse_gift_text
from lms.exams.formats.model import ParsedQuestion

FEATURES = r"""// 社会救助题库（GIFT 示例）
// 注释行不会被导入

$CATEGORY: $course$/top/社会救助/低保

::低保审批::[markdown]最低生活保障由哪一级民政部门审核确认？{
    ~村（居）委会#村委会只负责协助
    =县级人民政府民政部门#正确
    ~市级民政部门
    ####见《最低生活保障审核确认办法》。
}

::多选::下列属于社会救助的有{
    ~%50%最低生活保障
    ~%50%特困人员供养
    ~%-100%基本养老保险#这是社会保险
}

低保实行按户施保。{T}

// 判断题也可以带反馈
特困人员供养与低保可以同时享受。{FALSE#答错时的反馈#答对时的反馈}

$CATEGORY: 养老服务

《社会救助暂行办法》自{=2014 =二〇一四 =%50%2015}年5月1日起施行。

简述申请低保的程序。{}

转义：100\% 不是权重 \~ \= \# \{ \} \: 和换行\n第二行{=a\:b ~c\=d}
"""


def test_gift_features_map_to_the_five_types():
    result = parse_gift_text(FEATURES)
    assert result.errors == []
    assert [q.to_json() for q in result.questions] == [
        {"type": "single_choice", "stem": "最低生活保障由哪一级民政部门审核确认？",
         "options": ["村（居）委会", "县级人民政府民政部门", "市级民政部门"], "answer": [1],
         "points": 1},
        {"type": "multiple_choice", "stem": "下列属于社会救助的有",
         "options": ["最低生活保障", "特困人员供养", "基本养老保险"], "answer": [0, 1],
         "points": 2},
        {"type": "true_false", "stem": "低保实行按户施保。", "options": [], "answer": True,
         "points": 1},
        {"type": "true_false", "stem": "特困人员供养与低保可以同时享受。", "options": [],
         "answer": False, "points": 1},
        {"type": "fill_blank", "stem": "《社会救助暂行办法》自____年5月1日起施行。", "options": [],
         "answer": [["2014", "二〇一四"]], "points": 1},
        {"type": "short_answer", "stem": "简述申请低保的程序。", "options": [], "answer": None,
         "points": 5},
        {"type": "single_choice", "stem": "转义：100\\% 不是权重 ~ = # { } : 和换行\n第二行",
         "options": ["a:b", "c=d"], "answer": [0], "points": 1},
    ]


def test_gift_categories_titles_and_feedback():
    qs = parse_gift_text(FEATURES).questions
    assert [q.category for q in qs] == ["社会救助/低保"] * 4 + ["养老服务"] * 3
    assert (qs[0].title, qs[1].title, qs[2].title) == ("低保审批", "多选", "")
    assert qs[0].explanation == ("见《最低生活保障审核确认办法》。\n选项A：村委会只负责协助\n"
                                 "选项B：正确")
    assert qs[1].explanation == "选项C：这是社会保险"
    assert qs[3].explanation == "答错时：答错时的反馈\n答对时：答对时的反馈"


def test_gift_positions_are_question_number_and_line():
    qs = parse_gift_text(FEATURES).questions
    assert [q.where for q in qs] == [
        "第1题（第6行）", "第2题（第13行）", "第3题（第19行）", "第4题（第22行）",
        "第5题（第26行）", "第6题（第28行）", "第7题（第30行）"]


REFUSED = """\
::数值::圆周率约为{#3.14:0.01}

::匹配::把国家和首都配对{
    =中国 -> 北京
    =法国 -> 巴黎
}

::说明::以下各题考查社会救助知识。

双选单选{=甲 =乙 ~丙}

没有正确答案{~%0%甲 ~%-50%乙}

缺右括号{=甲 ~乙

两个答案块{=甲 ~乙} 和 {=丙 ~丁}

::未闭合标题 题{=甲 ~乙}

空选项{=甲 ~}

好题{=甲 ~乙}
"""


def test_refused_blocks_are_named_and_positioned():
    result = parse_gift_text(REFUSED)
    assert [(e.where, e.message) for e in result.errors] == [
        ("第1题（第1行）", "这是数值题（numerical，{#…}）块，不支持导入"),
        ("第2题（第3行）", "这是匹配题（matching，=…->…）块，不支持导入"),
        ("第3题（第8行）", "这是说明（description）块，没有答案 {…}，不是试题，不能导入"),
        ("第4题（第10行）", "单选题只能有一个答案"),
        ("第5题（第12行）", "答案不能为空"),
        ("第6题（第14行）", "答案块缺少结尾的 }"),
        ("第7题（第16行）", "一道题只能有一个答案块 {…}（文字中的花括号请写作 \\{ 和 \\}）"),
        ("第8题（第18行）", "标题缺少结尾的 ::（文字中的冒号请写作 \\:）"),
        ("第9题（第20行）", "选项B不能为空"),
    ]
    assert [q.stem for q in result.questions] == ["好题"]


def test_missing_word_layout_and_fill_weights():
    result = parse_gift_text("低保{=按户 =%100%以户为单位 =%50%按人 =%0%不}施保。\n\n"
                             "低保由{~村委会 =县级民政部门}审核确认。\n\n"
                             "只有部分分{=%50%甲}\n")
    fill, choice = result.questions
    assert (fill.type, fill.stem, fill.answer) == ("fill_blank", "低保____施保。",
                                                   (("按户", "以户为单位"),))
    assert (choice.type, choice.stem) == ("single_choice", "低保由____审核确认。")
    assert [e.message for e in result.errors] == [
        "填空题至少要有一个满分答案（= 后不带权重，或带 %100%）"]


@pytest.mark.parametrize(("block", "expected"), [
    ("{T}", True), ("{TRUE}", True), ("{F}", False), ("{FALSE}", False), ("{ T }", True)])
def test_true_false_spellings(block, expected):
    q = parse_gift_text(f"题{block}").questions[0]
    assert (q.type, q.answer) == ("true_false", expected)


def test_format_tags_are_dropped_and_windows_newlines_read():
    text = "::t::[html]<b>粗</b>题{=甲 ~乙}\r\n\r\n[plain]二{}\r\n"
    result = read_questions(text.encode("utf-8"), filename="bank.gift")
    assert [q.stem for q in result.questions] == ["<b>粗</b>题", "二"]


def test_gbk_gift_file_is_decoded():
    data = "低保实行按户施保。{T}".encode("gbk")
    assert read_questions(data, filename="q.gift").questions[0].stem == "低保实行按户施保。"


def test_duplicates_in_gift_name_both_questions():
    result = read_questions("甲题{=一 ~二}\n\n乙题{T}\n\n甲题 {=二 ~一}\n".encode(),
                            filename="q.gift")
    assert [(e.where, e.message) for e in result.errors] == [("第3题（第5行）", "第3题与第1题重复")]


# ---------------------------------------------------------------- export round trip


GIFT_ROUND_TRIP = [
    ParsedQuestion("single_choice", "含特殊字符 ~ = # { } : \\ 和\n换行",
                   ("%50 不是权重", "a->b", "乙"),
                   (0,), Decimal(1), "解析 ~ # 号", category="社会救助/低保", title="标题: 一"),
    ParsedQuestion("multiple_choice", "三个正确", ("一", "二", "三", "四"), (0, 1, 2), Decimal(2),
                   category="社会救助/低保"),
    ParsedQuestion("true_false", "对", (), True, Decimal(1), "是对的", category="养老"),
    ParsedQuestion("true_false", "错", (), False, Decimal(1), category="养老"),
    ParsedQuestion("fill_blank", "首都是____，对吗", (), (("北京", "%京", "Beijing"),), Decimal(1),
                   "首都", category=""),
    ParsedQuestion("fill_blank", "____在前", (), (("甲",),), Decimal(1)),
    ParsedQuestion("short_answer", "[html] 简述", (), None, Decimal(5), "按要点给分",
                   category="top"),
    ParsedQuestion("single_choice", "// 看似注释", ("$CATEGORY: x", "::y"), (1,), Decimal(1)),
]


def _content(q: ParsedQuestion) -> ParsedQuestion:
    return replace(q, where="", ref="", source_line=0)


def test_gift_export_then_import_loses_nothing_gift_carries():
    exported = to_gift(GIFT_ROUND_TRIP)
    assert exported.notes == ()
    result = read_questions(exported.text.encode("utf-8"), filename="export.gift")
    assert result.errors == []
    assert [_content(q) for q in result.questions] == GIFT_ROUND_TRIP


def test_gift_export_reports_what_gift_cannot_carry():
    questions = [
        ParsedQuestion("fill_blank", "____和____", (), (("甲",), ("乙",)), Decimal(1)),
        ParsedQuestion("short_answer", "简述", (), "参考答案", Decimal(5)),
        ParsedQuestion("true_false", "判断", (), True, Decimal(3), difficulty=4,
                       knowledge_point="低保"),
    ]
    exported = to_gift(questions)
    assert [(n.where, n.message) for n in exported.notes] == [
        ("第1题", "GIFT 只能表示只有一个空的填空题，已略去这道题"),
        ("第2题", "GIFT 无法保存简答题的参考答案，已略去参考答案")]
    back = read_questions(exported.text.encode(), filename="x.gift").questions
    assert [(q.type, q.answer, q.points) for q in back] == [
        ("short_answer", None, Decimal(5)), ("true_false", True, Decimal(1))]


def test_gift_export_uses_moodle_weights_for_multiple_choice():
    q = ParsedQuestion("multiple_choice", "多选", ("一", "二", "三"), (0, 2), Decimal(2))
    text = to_gift([q]).text
    assert "~%50%一" in text and "~%-100%二" in text and "~%50%三" in text


def test_gift_escape():
    assert gift_escape("a~b=c#d{e}f:g\\h\ni") == "a\\~b\\=c\\#d\\{e\\}f\\:g\\\\h\\ni"

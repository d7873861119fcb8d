"""Aiken: single choice, option and answer lines, error positions and recovery, format detection."""

from __future__ import annotations

import pytest

from lms.exams.formats import UnreadableFile, read_questions
from lms.exams.formats.aiken import parse_aiken_text
from lms.exams.formats.detect import detect_format

AIKEN = """\
《社会救助暂行办法》自哪一年起施行？
A. 2012年
B. 2014年
C. 2016年
ANSWER: B

特困人员供养的对象不包括
A) 无劳动能力的老年人
B) 无生活来源的残疾人
C) 有法定赡养义务人且其有能力的老年人
ANSWER: C
低保审核确认由哪一级负责？
A、村委会
B、县级民政部门
answer：b
"""


def test_aiken_questions_are_single_choice():
    result = parse_aiken_text(AIKEN)
    assert result.errors == []
    assert [q.to_json() for q in result.questions] == [
        {"type": "single_choice", "stem": "《社会救助暂行办法》自哪一年起施行？",
         "options": ["2012年", "2014年", "2016年"], "answer": [1], "points": 1},
        {"type": "single_choice", "stem": "特困人员供养的对象不包括",
         "options": ["无劳动能力的老年人", "无生活来源的残疾人",
                     "有法定赡养义务人且其有能力的老年人"],
         "answer": [2], "points": 1},
        {"type": "single_choice", "stem": "低保审核确认由哪一级负责？",
         "options": ["村委会", "县级民政部门"], "answer": [1], "points": 1},
    ]
    assert [q.where for q in result.questions] == [
        "第1题（第1行）", "第2题（第7行）", "第3题（第12行）"]


BAD = """\
缺少答案行
A. 甲
B. 乙

答案不在选项中
A. 甲
B. 乙
ANSWER: E

两个答案
A. 甲
B. 乙
ANSWER: A,B

字母顺序错
A. 甲
C. 乙
ANSWER: A

只有一个选项
A. 甲
ANSWER: A

没有选项
ANSWER: A

好题
A. 甲
B. 乙
ANSWER: A

结尾没有答案
A. 甲
"""


def test_aiken_errors_are_positioned_and_reading_resumes():
    result = parse_aiken_text(BAD)
    assert [(e.where, e.message) for e in result.errors] == [
        ("第1题（第1行）", "缺少 ANSWER 行（如 ANSWER: B）"),
        ("第2题（第5行）", "答案“E”不在选项中"),
        ("第3题（第10行）", "单选题只能有一个答案"),
        ("第4题（第15行）", "选项应按 A、B、C… 的顺序排列：这里应是 B，却是 C"),
        ("第5题（第20行）", "选择题至少需要两个选项"),
        ("第6题（第24行）", "选择题至少需要两个选项"),
        ("第8题（第32行）", "缺少 ANSWER 行（如 ANSWER: B）"),
    ]
    assert [(q.stem, q.where) for q in result.questions] == [("好题", "第7题（第27行）")]


def test_aiken_multiline_stem_and_duplicates():
    text = "第一行\n第二行\nA. 甲\nB. 乙\nANSWER: A\n\n第一行\n第二行\nA. 乙\nB. 甲\nANSWER: B\n"
    result = read_questions(text.encode(), filename="q.txt")
    assert [q.stem for q in result.questions] == ["第一行\n第二行"]
    assert [e.message for e in result.errors] == ["第2题与第1题重复"]


def test_aiken_in_gbk():
    data = AIKEN.encode("gbk")
    result = read_questions(data, filename="题库.txt")
    assert len(result.questions) == 3 and result.errors == []


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("a.xlsx", b"PK\x03\x04...", "xlsx"),
    ("a.XLSX", b"whatever", "xlsx"),
    ("a.csv", "题型,题干,答案\n".encode(), "csv"),
    ("a.gift", b"Q{T}", "gift"),
    ("a.aiken", b"Q\nA. x\nANSWER: A", "aiken"),
    ("a.txt", AIKEN.encode(), "aiken"),
    ("a.txt", b"Q\nA. x\nB. y\nanswer: b", "aiken"),
    ("a.txt", b"::t::Q{=a ~b}", "gift"),
    ("a.txt", b"// c\n$CATEGORY: x\n\nQ{}", "gift"),
    ("a.txt", "题型,题干,选项A,答案\n单选,题,甲,A\n".encode("gbk"), "csv"),
    ("noext", b"PK\x03\x04...", "xlsx"),
])
def test_auto_detection_by_extension_then_content(name, content, expected):
    assert detect_format(content, name) == expected


@pytest.mark.parametrize(("name", "content"), [
    ("a.txt", "只是一段文字，没有题目。".encode()),
    ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ("a.txt", bytes(range(256)) * 4),
    ("a.txt", b""),
])
def test_undetectable_or_binary_content_is_unreadable(name, content):
    with pytest.raises(UnreadableFile):
        read_questions(content, filename=name)

"""Columns of the canonical Chinese question template (spec decision 17), shared by the reader
(``template``) and the writer (``export``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from lms.exams.formats.model import FILL, MULTIPLE, OPTION_LETTERS, SHORT, SINGLE, TRUE_FALSE


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    aliases: tuple[str, ...] = ()


OPTION_KEYS = tuple(f"option_{ch.lower()}" for ch in OPTION_LETTERS)
#: The canonical header, in order.
CANONICAL = (
    Column("type", "题型", ("题目类型", "试题类型")),
    Column("stem", "题干", ("试题", "题目", "题目内容", "试题内容")),
    *(Column(key, f"选项{ch}", (f"{ch}选项",)) for key, ch in zip(OPTION_KEYS, OPTION_LETTERS,
                                                                 strict=True)),
    Column("answer", "答案", ("正确答案", "标准答案", "正确选项", "参考答案")),
    Column("explanation", "解析", ("答案解析", "试题解析")),
    Column("difficulty", "难度", ("难度等级", "题目难度")),
    Column("points", "分值", ("分数",)),
    Column("knowledge_point", "知识点", ("知识点名称",)),
    Column("category", "分类", ("题目分类", "试题分类")),
    Column("post_types", "适用岗位", ("适用对象",)),
)
#: Optional columns the bank also keeps; exported only when a question has them.
EXTRA = (
    Column("tags", "标签", ()),
    Column("source", "政策依据", ("来源", "来源/政策依据", "出处")),
)
#: Option columns past H: recognised only to refuse them.
OVERFLOW_OPTIONS = tuple(f"选项{ch}" for ch in "IJKLMNOPQRSTUVWXYZ")

TYPE_TITLES = {SINGLE: "单选", MULTIPLE: "多选", TRUE_FALSE: "判断", FILL: "填空", SHORT: "简答"}
POST_TITLES = {"office_director": "乡镇民政办主任", "township_staff": "乡镇民政工作人员",
               "village_assistant": "村(社区)民政助理员"}
DIFFICULTY_TITLES = {1: "易", 2: "较易", 3: "中等", 4: "较难", 5: "难"}


def header_key(text: str) -> str:
    """Comparable header: half-width, no spaces, ``*`` marks or remarks in brackets, lower case."""
    plain = unicodedata.normalize("NFKC", text)
    return re.sub(r"\([^)]*\)|[\s*]", "", plain).lower()


LOOKUP = {header_key(name): c.key for c in (*CANONICAL, *EXTRA)
          for name in (c.title, c.key, *c.aliases)}
OVERFLOW = frozenset(header_key(t) for t in OVERFLOW_OPTIONS)
TITLES = {c.key: c.title for c in (*CANONICAL, *EXTRA)}

"""Cell values of the canonical template (spec decision 17), parsed or refused with a reason."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from lms.exams.formats.checks import points_message
from lms.exams.formats.model import (
    DEFAULT_POINTS,
    FILL,
    MULTIPLE,
    OPTION_LETTERS,
    SHORT,
    SINGLE,
    TRUE_FALSE,
)
from lms.i18n import _


class FieldError(Exception):
    """A cell that cannot be read; ``str(exc)`` is the Chinese reason."""


def word(value: str) -> str:
    """Comparable form of a short keyword: half-width, no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).lower()


TYPE_WORDS = {word(k): v for k, v in {
    "单选": SINGLE, "单选题": SINGLE, "单项选择": SINGLE, "单项选择题": SINGLE,
    "多选": MULTIPLE, "多选题": MULTIPLE, "多项选择": MULTIPLE, "多项选择题": MULTIPLE,
    "不定项选择": MULTIPLE, "不定项选择题": MULTIPLE,
    "判断": TRUE_FALSE, "判断题": TRUE_FALSE,
    "填空": FILL, "填空题": FILL,
    "简答": SHORT, "简答题": SHORT, "问答": SHORT, "问答题": SHORT,
    "案例分析": SHORT, "案例分析题": SHORT,
    **{t: t for t in (SINGLE, MULTIPLE, TRUE_FALSE, FILL, SHORT)},
}.items()}
TRUE_WORDS = frozenset(word(w) for w in ("对", "正确", "√", "✓", "✔", "T", "TRUE", "是", "Y"))
FALSE_WORDS = frozenset(word(w) for w in ("错", "错误", "×", "✗", "✘", "X", "F", "FALSE", "否",
                                          "N"))
DIFFICULTY_WORDS = {word(k): v for k, v in {
    "易": 1, "容易": 1, "简单": 1, "较易": 2, "中": 3, "中等": 3, "一般": 3, "较难": 4,
    "难": 5, "困难": 5}.items()}
POST_WORDS = {word(k): v for k, v in {
    "乡镇民政办主任": "office_director", "民政办主任": "office_director",
    "乡镇民政工作人员": "township_staff", "民政工作人员": "township_staff",
    "民政办工作人员": "township_staff", "民政干事": "township_staff",
    "村(社区)民政助理员": "village_assistant", "村民政助理员": "village_assistant",
    "社区民政助理员": "village_assistant", "民政助理员": "village_assistant",
    "民政协理员": "village_assistant", "村(社区)民政协理员": "village_assistant",
    "office_director": "office_director", "township_staff": "township_staff",
    "village_assistant": "village_assistant"}.items()}
ALL_POSTS = frozenset(word(w) for w in ("全部", "所有", "所有岗位", "全部岗位", "不限"))

_LETTER_SEPARATORS = re.compile(r"[\s,、;/|]+")
_LIST_SEPARATORS = re.compile(r"[,、;/]+")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def question_type(value: str) -> str:
    if not value:
        raise FieldError(_("题型不能为空"))
    if (found := TYPE_WORDS.get(word(value))) is None:
        raise FieldError(_("题型“%(value)s”无法识别，应为 单选、多选、判断、填空 或 简答",
                           value=value))
    return found


def choice_answer(value: str, options: int) -> tuple[int, ...]:
    """``A``, ``ABD``, ``A,B,D``, ``A、B、D``, ``A;B;D``, ``A/B/D`` (any width, any case)."""
    letters = _LETTER_SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()
    if not letters:
        raise FieldError(_("答案不能为空"))
    if any(ch not in OPTION_LETTERS for ch in letters):
        raise FieldError(_("答案“%(value)s”无法识别，应为选项字母，如 A 或 ABD", value=value))
    outside = "".join(ch for ch in letters if OPTION_LETTERS.index(ch) >= options)
    if outside:
        raise FieldError(_("答案“%(answer)s”不在选项中", answer=outside))
    return tuple(sorted({OPTION_LETTERS.index(ch) for ch in letters}))


def true_false(value: str) -> bool:
    key = word(value)
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    raise FieldError(_("判断题答案应为 对/错（也可写 正确/错误、√/×、T/F、是/否）"))


def fill_answer(value: str) -> tuple[tuple[str, ...], ...]:
    """Blanks separated by ``|``, accepted answers of one blank by ``;`` (either width)."""
    if not value:
        raise FieldError(_("答案不能为空"))
    blanks = []
    for n, part in enumerate(re.split(r"[|｜]", value), 1):
        accepted = tuple(a.strip() for a in re.split(r"[;；]", part) if a.strip())
        if not accepted:
            raise FieldError(_("第%(n)s个空没有答案", n=n))
        blanks.append(tuple(dict.fromkeys(accepted)))
    return tuple(blanks)


def difficulty(value: str) -> int | None:
    if not value:
        return None
    key = word(value)
    if key in DIFFICULTY_WORDS:
        return DIFFICULTY_WORDS[key]
    if key in {"1", "2", "3", "4", "5", "1.0", "2.0", "3.0", "4.0", "5.0"}:
        return int(float(key))
    raise FieldError(_("难度应为1–5或 易/较易/中等/较难/难"))


def points(value: str, qtype: str) -> Decimal:
    if not value:
        return DEFAULT_POINTS[qtype]
    text = unicodedata.normalize("NFKC", value).replace(" ", "").removesuffix("分")
    if not _NUMBER.match(text):
        raise FieldError(points_message())
    return Decimal(text)


def post_types(value: str) -> tuple[str, ...]:
    """Several posts separated by 、 , ; or /; empty or 全部 means every post."""
    if not value or word(value) in ALL_POSTS:
        return ()
    found = []
    for part in _LIST_SEPARATORS.split(unicodedata.normalize("NFKC", value)):
        if not part.strip():
            continue
        code = POST_WORDS.get(word(part))
        if code is None:
            raise FieldError(_("适用岗位“%(value)s”无法识别，应为 乡镇民政办主任、乡镇民政工作人员 "
                               "或 村(社区)民政助理员（多个用、分隔）", value=part.strip()))
        found.append(code)
    return tuple(dict.fromkeys(found))


def tags(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip() for t in re.split(r"[,，、;；]", value) if t.strip()))


def is_number(value: str) -> bool:
    return bool(_NUMBER.match(value.strip()))

"""The rules every imported question obeys, whatever the format it came from."""

from __future__ import annotations

from lms.exams.formats.model import (
    CHOICE_TYPES,
    FILL,
    MAX_BLANKS,
    MAX_EXPLANATION,
    MAX_LABEL,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_POINTS,
    MAX_REFERENCE,
    MAX_STEM,
    MULTIPLE,
    OPTION_LETTERS,
    POINT_STEP,
    SHORT,
    SINGLE,
    TRUE_FALSE,
    ParsedQuestion,
    count_blanks,
    normalise,
)
from lms.i18n import _


def type_label(qtype: str) -> str:
    return {SINGLE: _("单选题"), MULTIPLE: _("多选题"), TRUE_FALSE: _("判断题"),
            FILL: _("填空题"), SHORT: _("简答题")}[qtype]


def too_long(what: str, limit: int) -> str:
    return _("%(what)s不能超过%(n)s个字", what=what, n=limit)


def check_question(q: ParsedQuestion) -> list[str]:
    """Every broken rule, as Chinese messages (empty when the question is fine)."""
    problems = _stem(q.stem)
    if q.type in CHOICE_TYPES:
        problems += _options(q.options) or _choice_answer(q)
    elif q.options:
        problems.append(_("%(type)s不应填写选项", type=type_label(q.type)))
    if q.type == FILL:
        problems += _fill_answer(q)
    if q.type == SHORT and q.answer and len(q.answer) > MAX_REFERENCE:
        problems.append(too_long(_("参考答案"), MAX_REFERENCE))
    return problems + _points(q) + _labels(q)


def _stem(stem: str) -> list[str]:
    if not stem:
        return [_("题干不能为空")]
    return [too_long(_("题干"), MAX_STEM)] if len(stem) > MAX_STEM else []


def _options(options: tuple[str, ...]) -> list[str]:
    if len(options) > MAX_OPTIONS:
        return [_("最多支持%(n)s个选项（A–H）", n=MAX_OPTIONS)]
    if len(options) < 2:
        return [_("选择题至少需要两个选项")]
    problems = []
    seen: dict[str, int] = {}
    for i, text in enumerate(options):
        letter = OPTION_LETTERS[i]
        if not text:
            problems.append(_("选项%(letter)s不能为空", letter=letter))
        elif len(text) > MAX_OPTION:
            problems.append(too_long(_("选项%(letter)s", letter=letter), MAX_OPTION))
        elif (j := seen.setdefault(normalise(text), i)) != i:
            problems.append(_("选项%(a)s与选项%(b)s相同", a=OPTION_LETTERS[j], b=letter))
    return problems


def _choice_answer(q: ParsedQuestion) -> list[str]:
    if not q.answer:
        return [_("答案不能为空")]
    outside = [i for i in q.answer if not 0 <= i < len(q.options)]
    if outside:
        letters = "".join(OPTION_LETTERS[i] if i < MAX_OPTIONS else "?" for i in outside)
        return [_("答案“%(answer)s”不在选项中", answer=letters)]
    if q.type == SINGLE and len(q.answer) != 1:
        return [_("单选题只能有一个答案")]
    if q.type == MULTIPLE and len(q.answer) < 2:
        return [_("多选题至少应有两个答案")]
    return []


def _fill_answer(q: ParsedQuestion) -> list[str]:
    blanks = count_blanks(q.stem)
    if blanks == 0:
        return [_("填空题题干中没有空，请用 ____ 标出每个空")]
    if len(q.answer) > MAX_BLANKS:
        return [_("填空题最多%(n)s个空", n=MAX_BLANKS)]
    if blanks != len(q.answer):
        return [_("题干中有%(blanks)s个空，答案有%(answers)s个空", blanks=blanks,
                  answers=len(q.answer))]
    for n, accepted in enumerate(q.answer, 1):
        if not accepted:
            return [_("第%(n)s个空没有答案", n=n)]
        if any(len(a) > MAX_LABEL for a in accepted):
            return [too_long(_("第%(n)s个空的答案", n=n), MAX_LABEL)]
    return []


def _points(q: ParsedQuestion) -> list[str]:
    if q.points <= 0 or q.points % POINT_STEP != 0:
        return [points_message()]
    if q.points > MAX_POINTS:
        return [_("分值不能超过%(n)s", n=MAX_POINTS)]
    return []


def points_message() -> str:
    return _("分值应为正数（可为0.5的倍数）")


def _labels(q: ParsedQuestion) -> list[str]:
    problems = []
    if len(q.explanation) > MAX_EXPLANATION:
        problems.append(too_long(_("解析"), MAX_EXPLANATION))
    for what, value in ((_("知识点"), q.knowledge_point), (_("分类"), q.category),
                        (_("政策依据"), q.source), (_("标签"), "、".join(q.tags))):
        if len(value) > MAX_LABEL:
            problems.append(too_long(what, MAX_LABEL))
    return problems

"""Moodle GIFT (shared/spec/reference/lms-features.md §3.1; mapping rules in cli.md).

Blocks are separated by blank lines; ``//`` lines are comments; ``$CATEGORY: path`` sets the
category of the questions after it (Moodle's ``$course$/top/`` prefix is dropped). ``::title::``
and a ``[html]`` / ``[markdown]`` / ``[plain]`` / ``[moodle]`` tag may precede the text.
``\\~ \\= \\# \\{ \\} \\: \\\\`` are literal characters and ``\\n`` a line break.

Types: one ``=`` among ``~`` → single choice; no ``=`` but ``~%w%`` weights → multiple choice
(the options of positive weight are correct); only ``=`` answers → fill-in with one blank (answers
with full credit are accepted); ``{}`` → short answer; ``{T}`` ``{TRUE}`` ``{F}`` ``{FALSE}`` →
true/false. Numerical ``{#…}``, matching ``=a -> b`` and description (no ``{…}``) are refused.
General feedback ``####…`` becomes the explanation; per-answer feedback ``#…`` has no field of its
own in the bank and is appended to the explanation, one line per answer. Braces mid-sentence leave
a ``____`` blank in the stem (Moodle's missing-word layout).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from lms.exams.formats.checks import check_question
from lms.exams.formats.model import (
    BLANK,
    DEFAULT_POINTS,
    FILL,
    MAX_QUESTIONS,
    MULTIPLE,
    OPTION_LETTERS,
    SHORT,
    SINGLE,
    TRUE_FALSE,
    ImportResult,
    ParsedQuestion,
    Problem,
    UnreadableFile,
    clean_text,
    mark_blanks,
)
from lms.exams.formats.textfile import decode_text
from lms.i18n import _

_ESCAPE = re.compile(r"\\([\\~=#{}:n])")
#: Escaped characters stand in the Private Use Area while the structure is parsed.
_HIDDEN = {"\\": "\ue000", "~": "\ue001", "=": "\ue002", "#": "\ue003", "{": "\ue004",
           "}": "\ue005", ":": "\ue006"}
_SHOWN = str.maketrans({v: k for k, v in _HIDDEN.items()})
_FORMAT_TAG = re.compile(r"^\s*\[(html|markdown|plain|moodle)\]", re.IGNORECASE)
_WEIGHT = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%")
_CATEGORY = "$CATEGORY:"
_TRUE, _FALSE = frozenset({"T", "TRUE"}), frozenset({"F", "FALSE"})


class _BlockError(Exception):
    """The block is not a question we can import; ``str(exc)`` says why."""


@dataclass(frozen=True)
class _Answer:
    correct: bool
    weight: Decimal | None
    text: str
    feedback: str


def parse_gift(data: bytes) -> ImportResult:
    return parse_gift_text(decode_text(data))


def parse_gift_text(text: str) -> ImportResult:
    result = ImportResult()
    category = ""
    number = 0
    for block in _blocks(text):
        first = block[0][1].strip()
        if first.startswith(_CATEGORY):
            category = _category(first[len(_CATEGORY):])
            block = block[1:]
            if not block:
                continue
        number += 1
        if number > MAX_QUESTIONS:
            raise UnreadableFile(_("文件超过 %(n)s 道题，请拆分后分批导入。",
                                   n=f"{MAX_QUESTIONS:,}"))
        where = _("第%(k)s题（第%(n)s行）", k=number, n=block[0][0])
        question, problems = _question(block, category, where, _("第%(k)s题", k=number))
        result.errors += [Problem(where, p) for p in problems]
        if question is not None:
            result.questions.append(question)
    return result


def _blocks(text: str) -> Iterator[list[tuple[int, str]]]:
    """Runs of non-blank lines (comment lines dropped), each line with its number."""
    block: list[tuple[int, str]] = []
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        if stripped:
            block.append((n, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _category(path: str) -> str:
    path = re.sub(r"^\$[a-z0-9]+\$(/|$)", "", path.strip())
    return "" if path == "top" else path.removeprefix("top/").strip()


def _question(block: list[tuple[int, str]], category: str, where: str,
              ref: str) -> tuple[ParsedQuestion | None, list[str]]:
    text = _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else _HIDDEN[m.group(1)],
                       "\n".join(line for _n, line in block)).strip()
    try:
        title, text = _title(text)
        before, inner, after = _split(text)
        inner, _sep, general = inner.partition("####")
        qtype, options, answer, notes = _answers(inner.strip())
    except _BlockError as exc:
        return None, [str(exc)]
    before = _FORMAT_TAG.sub("", before, count=1)
    stem = before + BLANK + after if qtype == FILL or after.strip() else before
    question = ParsedQuestion(
        type=qtype, stem=mark_blanks(_shown(stem)) if qtype == FILL else _shown(stem),
        options=options, answer=answer, points=DEFAULT_POINTS[qtype],
        explanation="\n".join(filter(None, [_shown(general), *notes])), category=category,
        title=title, source_line=block[0][0], where=where, ref=ref)
    problems = check_question(question)
    return (None, problems) if problems else (question, [])


def _shown(text: str) -> str:
    return clean_text(text.translate(_SHOWN))


def _title(text: str) -> tuple[str, str]:
    if not text.startswith("::"):
        return "", text
    end = text.find("::", 2)
    if end < 0:
        raise _BlockError(_("标题缺少结尾的 ::（文字中的冒号请写作 \\:）"))
    return _shown(text[2:end]), text[end + 2:]


def _split(text: str) -> tuple[str, str, str]:
    start = text.find("{")
    if start < 0:
        raise _BlockError(_("这是说明（description）块，没有答案 {…}，不是试题，不能导入"))
    end = text.find("}", start)
    if end < 0:
        raise _BlockError(_("答案块缺少结尾的 }"))
    if text.count("{") > 1 or text.count("}") > 1:
        raise _BlockError(_("一道题只能有一个答案块 {…}（文字中的花括号请写作 \\{ 和 \\}）"))
    return text[:start], text[start + 1:end], text[end + 1:]


def _answers(inner: str) -> tuple[str, tuple[str, ...], object, list[str]]:
    """(type, options, answer, per-answer feedback lines) from the text between the braces."""
    if not inner:
        return SHORT, (), None, []
    if inner.startswith("#"):
        raise _BlockError(_("这是数值题（numerical，{#…}）块，不支持导入"))
    if "~" in inner:
        return _choice(_pieces(inner))
    pieces = _pieces(inner) if inner[0] in "=~" else []
    if pieces and all("->" in p.text for p in pieces):
        raise _BlockError(_("这是匹配题（matching，=…->…）块，不支持导入"))
    head, *feedback = inner.split("#")
    if head.strip() in _TRUE | _FALSE:
        return _true_false(head.strip() in _TRUE, feedback)
    if not pieces:
        raise _BlockError(_("答案块“{%(block)s}”无法识别", block=_shown(inner)))
    return _fill(pieces)


def _pieces(inner: str) -> list[_Answer]:
    head, *parts = re.split(r"(?=[=~])", inner)
    if head.strip():
        raise _BlockError(_("答案块应以 = 或 ~ 开头"))
    answers = []
    for part in parts:
        body = part[1:]
        weight = None
        if match := _WEIGHT.match(body):
            weight, body = Decimal(match.group(1)), body[match.end():]
        text, _sep, feedback = body.partition("#")
        answers.append(_Answer(part[0] == "=", weight, _shown(text), _shown(feedback)))
    return answers


def _choice(pieces: list[_Answer]) -> tuple[str, tuple[str, ...], object, list[str]]:
    options = tuple(p.text for p in pieces)
    notes = [_("选项%(letter)s：%(feedback)s", letter=_letter(i),
               feedback=p.feedback) for i, p in enumerate(pieces) if p.feedback]
    if any(p.correct for p in pieces):
        return SINGLE, options, tuple(i for i, p in enumerate(pieces) if p.correct), notes
    right = tuple(i for i, p in enumerate(pieces) if p.weight is not None and p.weight > 0)
    return MULTIPLE, options, right, notes


def _letter(index: int) -> str:
    return OPTION_LETTERS[index] if index < len(OPTION_LETTERS) else str(index + 1)


def _true_false(value: bool, feedback: list[str]) -> tuple[str, tuple[str, ...], object,
                                                           list[str]]:
    wrong, right = (feedback + ["", ""])[:2]
    notes = []
    if _shown(wrong):
        notes.append(_("答错时：%(feedback)s", feedback=_shown(wrong)))
    if _shown(right):
        notes.append(_("答对时：%(feedback)s", feedback=_shown(right)))
    return TRUE_FALSE, (), value, notes


def _fill(pieces: list[_Answer]) -> tuple[str, tuple[str, ...], object, list[str]]:
    accepted = [p.text for p in pieces if p.text and (p.weight is None or p.weight == 100)]
    if not accepted:
        raise _BlockError(_("填空题至少要有一个满分答案（= 后不带权重，或带 %100%）"))
    notes = [_("答“%(answer)s”时：%(feedback)s", answer=p.text, feedback=p.feedback)
             for p in pieces if p.feedback]
    return FILL, (), (tuple(dict.fromkeys(accepted)),), notes

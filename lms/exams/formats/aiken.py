"""Aiken (shared/spec/reference/lms-features.md §3.2): single choice only.

The question text, then one option per line (``A. …`` or ``A) …``; the Chinese ``A、…`` and
full-width ``A．…`` are accepted too), then ``ANSWER: B``. Blank lines between questions are
optional. The question text may run over several lines (Moodle wants one; nothing is lost by
allowing more). A question that never reaches its ANSWER line is reported and reading resumes at
the next question text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lms.exams.formats import fields
from lms.exams.formats.checks import check_question
from lms.exams.formats.model import (
    DEFAULT_POINTS,
    MAX_QUESTIONS,
    SINGLE,
    ImportResult,
    ParsedQuestion,
    Problem,
    UnreadableFile,
    clean_text,
)
from lms.exams.formats.textfile import decode_text
from lms.i18n import _

OPTION = re.compile(r"^([A-Z])(?:[.)]\s+|[．）、]\s*)(\S.*)$")
ANSWER = re.compile(r"^(?:ANSWER|答案)\s*[:：]\s*(.*)$", re.IGNORECASE)


@dataclass
class _Draft:
    number: int
    line: int
    stem: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return _("第%(k)s题（第%(n)s行）", k=self.number, n=self.line)


def parse_aiken(data: bytes) -> ImportResult:
    return parse_aiken_text(decode_text(data))


def parse_aiken_text(text: str) -> ImportResult:
    result = ImportResult()
    draft: _Draft | None = None
    count = 0
    for n, raw in enumerate(text.split("\n"), 1):
        line = clean_text(raw)
        if not line:
            continue
        if draft is None or (draft.options and not (OPTION.match(line) or ANSWER.match(line))):
            if draft is not None:
                _unfinished(draft, result)
            count += 1
            if count > MAX_QUESTIONS:
                raise UnreadableFile(_("文件超过 %(n)s 道题，请拆分后分批导入。",
                                       n=f"{MAX_QUESTIONS:,}"))
            draft = _Draft(count, n)
        if (answer := ANSWER.match(line)) is not None:
            _finish(draft, answer.group(1), result)
            draft = None
        elif (option := OPTION.match(line)) is not None and draft.stem:
            _option(draft, option.group(1), option.group(2))
        else:
            draft.stem.append(line)
    if draft is not None:
        _unfinished(draft, result)
    return result


def _option(draft: _Draft, letter: str, text: str) -> None:
    expected = chr(ord("A") + len(draft.options))
    if letter != expected and not draft.problems:
        draft.problems.append(_(
            "选项应按 A、B、C… 的顺序排列：这里应是 %(expected)s，却是 %(letter)s",
            expected=expected, letter=letter))
    draft.options.append(text.strip())


def _unfinished(draft: _Draft, result: ImportResult) -> None:
    message = _("缺少选项") if not draft.options else _("缺少 ANSWER 行（如 ANSWER: B）")
    result.errors.append(Problem(draft.where, message))


def _finish(draft: _Draft, value: str, result: ImportResult) -> None:
    if len(draft.options) < 2:
        draft.problems.append(_("选择题至少需要两个选项"))
    if draft.problems:
        result.errors += [Problem(draft.where, p) for p in draft.problems]
        return
    try:
        answer = fields.choice_answer(value, len(draft.options))
    except fields.FieldError as exc:
        result.errors.append(Problem(draft.where, str(exc)))
        return
    question = ParsedQuestion(
        type=SINGLE, stem="\n".join(draft.stem), options=tuple(draft.options), answer=answer,
        points=DEFAULT_POINTS[SINGLE], source_line=draft.line, where=draft.where,
        ref=_("第%(k)s题", k=draft.number))
    problems = check_question(question)
    result.errors += [Problem(draft.where, p) for p in problems]
    if not problems:
        result.questions.append(question)

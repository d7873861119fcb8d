"""What every question format reads into and writes from: ``ParsedQuestion``, problems, results.

Answers, per type (the JSON of ``flask exams import`` in shared/spec/cli.md):

- ``single_choice`` / ``multiple_choice``: a sorted tuple of 0-based option indexes;
- ``true_false``: a bool;
- ``fill_blank``: one tuple of accepted answers per blank (the stem marks each blank ``____``);
- ``short_answer``: the reference answer text, or None.

Points are Decimals in 0.5 steps (spec decision 18). Texts are the source text, unescaped and
trimmed. Nothing here touches Flask beyond translated messages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lms.i18n import _

SINGLE, MULTIPLE, TRUE_FALSE, FILL, SHORT = (
    "single_choice", "multiple_choice", "true_false", "fill_blank", "short_answer")
QUESTION_TYPES = (SINGLE, MULTIPLE, TRUE_FALSE, FILL, SHORT)
CHOICE_TYPES = frozenset({SINGLE, MULTIPLE})
DEFAULT_POINTS = {SINGLE: Decimal(1), MULTIPLE: Decimal(2), TRUE_FALSE: Decimal(1),
                  FILL: Decimal(1), SHORT: Decimal(5)}
POST_TYPES = ("office_director", "township_staff", "village_assistant")

#: The canonical template has option columns 选项A…选项H, so no format may hold more.
MAX_OPTIONS = 8
OPTION_LETTERS = "ABCDEFGH"
MAX_STEM = 2000
MAX_OPTION = 500
MAX_EXPLANATION = 2000
MAX_REFERENCE = 5000
MAX_LABEL = 200
MAX_BLANKS = 20
MAX_POINTS = Decimal(100)
POINT_STEP = Decimal("0.5")
#: Files larger than this, or with more questions, are refused whole (exit 2).
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_QUESTIONS = 5000

BLANK = "____"
BLANK_RUN = re.compile(r"[_＿]{2,}")
_EMPTY_BRACKETS = re.compile(r"[（(][ \u3000]*[)）]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SPACE = re.compile(r"\s+")


class UnreadableFile(Exception):
    """The file cannot be read at all (the CLI's exit 2); ``str(exc)`` says why, in Chinese."""


@dataclass(frozen=True)
class ParsedQuestion:
    type: str
    stem: str
    options: tuple[str, ...]
    answer: Any
    points: Decimal
    explanation: str = ""
    difficulty: int | None = None
    knowledge_point: str = ""
    category: str = ""
    #: Codes from ``POST_TYPES``; empty means every post.
    post_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    #: Source / policy basis (政策依据).
    source: str = ""
    #: A GIFT ``::title::``; the template has no place for it.
    title: str = ""
    #: Physical line (of the file or sheet) where the question starts.
    source_line: int = 0
    #: ``表名 第N行`` or ``第K题（第L行）`` — where errors about this question point.
    where: str = ""
    #: How messages name the question: ``第K题`` in text formats, else ``where``.
    ref: str = ""

    def to_json(self) -> dict[str, Any]:
        """The cli.md shape: type, stem, options, answer, points."""
        return {"type": self.type, "stem": self.stem, "options": list(self.options),
                "answer": answer_json(self.type, self.answer), "points": points_json(self.points)}


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}

    def __str__(self) -> str:
        return _("%(where)s：%(message)s", where=self.where, message=self.message)


@dataclass
class ImportResult:
    questions: list[ParsedQuestion] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {"questions": [q.to_json() for q in self.questions],
                "errors": [e.to_json() for e in self.errors]}


def answer_json(qtype: str, answer: Any) -> Any:
    if qtype in CHOICE_TYPES:
        return list(answer)
    if qtype == FILL:
        return [list(blank) for blank in answer]
    return answer


def points_json(points: Decimal) -> int | float:
    """A whole number as int, else a float with one decimal (0.5 steps)."""
    return int(points) if points == points.to_integral_value() else float(round(points, 1))


def points_text(points: Decimal) -> str:
    return str(points_json(points))


# ---------------------------------------------------------------- text normalisation


def clean_text(value: str) -> str:
    """Source text as stored: Windows newlines unified, control and zero-width characters
    dropped, outer whitespace trimmed (inner whitespace and width are kept)."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def normalise(value: str) -> str:
    """Comparable form: full-width → half-width (NFKC), whitespace runs → one space, trimmed.
    Used for duplicate detection and, later, for comparing fill-in answers."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def mark_blanks(stem: str) -> str:
    """A fill-in stem with every blank written ``____`` (from 2+ underscores, half- or
    full-width, or empty brackets such as ``（ ）``)."""
    return BLANK_RUN.sub(BLANK, _EMPTY_BRACKETS.sub(BLANK, stem))


def count_blanks(stem: str) -> int:
    return len(BLANK_RUN.findall(stem))


def duplicate_key(q: ParsedQuestion) -> tuple[str, tuple[str, ...]]:
    """Same normalised stem and the same set of normalised options (order does not matter:
    options are shuffled at delivery)."""
    return normalise(q.stem), tuple(sorted(normalise(o) for o in q.options))


def duplicate_problems(questions: list[ParsedQuestion]) -> tuple[list[ParsedQuestion],
                                                                 list[Problem]]:
    """The questions without repeats, and one problem per repeat naming the first occurrence."""
    first: dict[tuple[str, tuple[str, ...]], ParsedQuestion] = {}
    kept: list[ParsedQuestion] = []
    problems: list[Problem] = []
    for q in questions:
        earlier = first.setdefault(duplicate_key(q), q)
        if earlier is q:
            kept.append(q)
        else:
            problems.append(Problem(q.where, _("%(this)s与%(first)s重复",
                                               this=q.ref or q.where,
                                               first=earlier.ref or earlier.where)))
    return kept, problems

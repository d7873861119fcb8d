"""Questions out: the canonical XLSX template and Moodle GIFT.

Importing an export in the same format gives the same questions back, for everything the format
carries. The template carries every bank field except a GIFT title. GIFT carries type, stem,
options, answer, explanation (general feedback), category and title — not points, difficulty,
knowledge point, posts, tags or source, nor a short answer's reference answer; a fill-in question
with several blanks cannot be written in GIFT at all and is left out (both are listed in
``GiftExport.notes``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

from lms.exams.formats.columns import (
    CANONICAL,
    DIFFICULTY_TITLES,
    EXTRA,
    OPTION_KEYS,
    POST_TITLES,
    TYPE_TITLES,
)
from lms.exams.formats.model import (
    BLANK_RUN,
    CHOICE_TYPES,
    FILL,
    OPTION_LETTERS,
    SHORT,
    SINGLE,
    TRUE_FALSE,
    ParsedQuestion,
    Problem,
    points_json,
)
from lms.i18n import _

SHEET_TITLE = "试题"
WIDTHS = {"type": 8, "stem": 48, "answer": 12, "explanation": 30, "difficulty": 8, "points": 8,
          "knowledge_point": 14, "category": 14, "post_types": 22, "tags": 14, "source": 24}
#: ``$CATEGORY:`` paths are written under the course's top category, as Moodle exports them.
GIFT_CATEGORY_ROOT = "$course$/top"


# ---------------------------------------------------------------- XLSX


def to_xlsx(questions: Sequence[ParsedQuestion]) -> bytes:
    columns = [*CANONICAL, *(c for c in EXTRA if any(getattr(q, c.key) for q in questions))]
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    for col, column in enumerate(columns, 1):
        cell = sheet.cell(row=1, column=col, value=column.title)
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = WIDTHS.get(column.key, 16)
    for row, q in enumerate(questions, 2):
        values = template_row(q)
        for col, column in enumerate(columns, 1):
            _write(sheet, row, col, values[column.key])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write(sheet, row: int, col: int, value: object) -> None:  # noqa: ANN001 - a worksheet
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = sheet.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text, even when it starts with "=" (never a formula)
        if "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def template_row(q: ParsedQuestion) -> dict[str, object]:
    """The question's cells, keyed like ``columns.CANONICAL`` and ``columns.EXTRA``."""
    options = {key: (q.options[i] if i < len(q.options) else "")
               for i, key in enumerate(OPTION_KEYS)}
    return {
        "type": TYPE_TITLES[q.type], "stem": q.stem, **options, "answer": _answer_cell(q),
        "explanation": q.explanation, "difficulty": DIFFICULTY_TITLES.get(q.difficulty or 0, ""),
        "points": points_json(q.points), "knowledge_point": q.knowledge_point,
        "category": q.category, "post_types": "、".join(POST_TITLES[p] for p in q.post_types),
        "tags": "、".join(q.tags), "source": q.source,
    }


def _answer_cell(q: ParsedQuestion) -> str:
    if q.type in CHOICE_TYPES:
        return "".join(OPTION_LETTERS[i] for i in q.answer)
    if q.type == TRUE_FALSE:
        return "对" if q.answer else "错"
    if q.type == FILL:
        return "|".join(";".join(accepted) for accepted in q.answer)
    return q.answer or ""


# ---------------------------------------------------------------- GIFT


@dataclass(frozen=True)
class GiftExport:
    text: str
    #: Questions left out, or what of a question GIFT could not carry.
    notes: tuple[Problem, ...]


def to_gift(questions: Sequence[ParsedQuestion]) -> GiftExport:
    blocks: list[str] = []
    notes: list[Problem] = []
    category: str | None = None
    for n, q in enumerate(questions, 1):
        where = _("第%(n)s题", n=n)
        if q.type == FILL and len(q.answer) != 1:
            notes.append(Problem(where, _("GIFT 只能表示只有一个空的填空题，已略去这道题")))
            continue
        if q.type == SHORT and q.answer:
            notes.append(Problem(where, _("GIFT 无法保存简答题的参考答案，已略去参考答案")))
        if q.category != category:
            category = q.category
            path = f"{GIFT_CATEGORY_ROOT}/{category}" if category else GIFT_CATEGORY_ROOT
            blocks.append(f"$CATEGORY: {path}")
        blocks.append(gift_question(q))
    return GiftExport("\n\n".join(blocks) + "\n" if blocks else "", tuple(notes))


def gift_escape(text: str) -> str:
    out = text.replace("\\", "\\\\")
    for ch in "~=#{}:":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", "\\n")


def gift_question(q: ParsedQuestion) -> str:
    head = f"::{gift_escape(q.title)}::" if q.title else ""
    stem = "[markdown]" + gift_escape(q.stem)
    feedback = f"####{gift_escape(q.explanation)}" if q.explanation else ""
    if q.type == FILL:
        answers = " ".join(_weighted("=", a) for a in q.answer[0])
        block = "{" + answers + (" " + feedback if feedback else "") + "}"
        return head + BLANK_RUN.sub(lambda _m: block, stem, count=1)
    if q.type == TRUE_FALSE:
        body = ["TRUE" if q.answer else "FALSE"]
    elif q.type == SHORT:
        body = []
    else:
        body = _choice_lines(q)
    if feedback:
        body.append(feedback)
    if len(body) <= 1 and q.type not in CHOICE_TYPES:
        return head + stem + "{" + "".join(body) + "}"
    return head + stem + "{\n" + "".join(f"\t{line}\n" for line in body) + "}"


def _choice_lines(q: ParsedQuestion) -> list[str]:
    if q.type == SINGLE:
        return [_weighted("=" if i in q.answer else "~", text)
                for i, text in enumerate(q.options)]
    share = _weight(Decimal(100) / len(q.answer))
    return [f"~%{share if i in q.answer else '-100'}%{gift_escape(text)}"
            for i, text in enumerate(q.options)]


def _weighted(mark: str, text: str) -> str:
    """``=text`` / ``~text``; an explicit weight first when the text itself starts with ``%``."""
    if text.startswith("%"):
        return f"{mark}%{'100' if mark == '=' else '0'}%{gift_escape(text)}"
    return mark + gift_escape(text)


def _weight(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.00001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text

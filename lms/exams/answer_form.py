"""The attempt page posted as a plain form (no JavaScript): field values → the autosave's
answers, only for the questions whose answer or flag changed.

Field names: ``q<position>`` (choice: the shown option index, one value per ticked box; true /
false: ``true`` or ``false``; short answer: the text), ``q<position>_b<i>`` (fill in, blank i
from 0) and ``f<position>`` (the flag). Values are passed on as given; the attempt engine
checks them and refuses the whole save when one is malformed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from werkzeug.datastructures import MultiDict

from lms.exams.candidate_view import CandidateItem
from lms.exams.formats.model import FILL, MULTIPLE, SHORT, SINGLE, TRUE_FALSE


def _index(value: str) -> Any:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 4 else value


def form_response(item: CandidateItem, form: MultiDict[str, str]) -> Any:
    name = f"q{item.position}"
    if item.type == SINGLE:
        value = form.get(name)
        return None if value is None else [_index(value)]
    if item.type == MULTIPLE:
        return [_index(v) for v in form.getlist(name)] or None
    if item.type == TRUE_FALSE:
        return {"true": True, "false": False}.get(form.get(name, ""), form.get(name))
    if item.type == FILL:
        return [form.get(f"{name}_b{i}", "") for i in range(item.blanks)]
    if item.type == SHORT:
        return form.get(name, "")
    return None


def _same(item: CandidateItem, value: Any) -> bool:
    stored = item.response
    if item.type == FILL:
        padded = (list(stored) if isinstance(stored, list) else []) + [""] * item.blanks
        return value == padded[:item.blanks]
    if item.type == SHORT:
        return (stored or "") == value
    if item.type == MULTIPLE and isinstance(value, list):
        return sorted(map(str, value)) == sorted(map(str, stored or []))
    return stored == value


def changed_answers(paper: Sequence[CandidateItem], form: MultiDict[str, str],
                    seq: int) -> list[dict[str, Any]]:
    """The autosave entries (all with sequence number *seq*) for what the form changed."""
    out = []
    for item in paper:
        value = form_response(item, form)
        flagged = form.get(f"f{item.position}") is not None
        if _same(item, value) and flagged == item.flagged:
            continue
        out.append({"position": item.position, "seq": seq, "response": value,
                    "flagged": flagged})
    return out

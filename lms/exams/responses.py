"""What a candidate may send as an answer: the shape of an autosave request and of each
response by question type (shown option positions, see ``lms.exams.models``). Pure functions;
anything else is refused with a 400 and nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lms.exams.attempt_errors import BAD_REQUEST, AttemptRefused
from lms.exams.formats.model import FILL, MULTIPLE, SHORT, SINGLE, TRUE_FALSE
from lms.i18n import _

MAX_ANSWERS = 500
MAX_SEQ = 2**31 - 1
MAX_BLANK_CHARS = 500
MAX_SHORT_CHARS = 10_000


@dataclass(frozen=True)
class AnswerIn:
    position: int
    seq: int
    response: Any
    #: None = keep the stored flag.
    flagged: bool | None


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _bad(message: str | None = None) -> AttemptRefused:
    return AttemptRefused(message or _("答案格式不正确，未保存。请刷新页面后重试。"), BAD_REQUEST)


def parse_answers(raw: Any) -> list[AnswerIn]:
    """The answers of an autosave request; one per position (the highest sequence number wins
    when a position comes twice)."""
    if not isinstance(raw, list) or len(raw) > MAX_ANSWERS:
        raise _bad()
    best: dict[int, AnswerIn] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            raise _bad()
        position = _int(entry.get("position"), 1, MAX_ANSWERS * 10)
        seq = _int(entry.get("seq"), 1, MAX_SEQ)
        flagged = entry.get("flagged")
        if position is None or seq is None or not (flagged is None or isinstance(flagged, bool)):
            raise _bad()
        if position not in best or best[position].seq < seq:
            best[position] = AnswerIn(position, seq, entry.get("response"), flagged)
    return [best[p] for p in sorted(best)]


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise _bad()
    if len(value) > limit:
        raise _bad(_("答案太长（最多 %(n)s 个字），未保存。", n=limit))
    if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
        raise _bad()
    return value


def check_response(qtype: str, n_options: int, n_blanks: int, response: Any) -> Any:
    """The response to store (normalised), or a 400 refusal. ``None`` clears the answer."""
    if response is None:
        return None
    if qtype in (SINGLE, MULTIPLE):
        if not isinstance(response, list) or len(response) > n_options:
            raise _bad()
        chosen = [_int(r, 0, n_options - 1) for r in response]
        if None in chosen or len(set(chosen)) != len(chosen):
            raise _bad()
        if qtype == SINGLE and len(chosen) > 1:
            raise _bad(_("单选题只能选一个答案，未保存。"))
        return sorted(chosen) or None  # type: ignore[type-var]
    if qtype == TRUE_FALSE:
        if not isinstance(response, bool):
            raise _bad()
        return response
    if qtype == FILL:
        if not isinstance(response, list) or len(response) > max(n_blanks, 1):
            raise _bad()
        texts = [_text(r, MAX_BLANK_CHARS) for r in response]
        return texts + [""] * (n_blanks - len(texts))
    if qtype == SHORT:
        return _text(response, MAX_SHORT_CHARS)
    raise _bad()


def blank_count(qtype: str, answer: Any) -> int:
    """Blanks of a fill-in question (one accepted-answer list per blank); 0 for other types."""
    if qtype != FILL:
        return 0
    return len(answer) if isinstance(answer, list) and answer else 1

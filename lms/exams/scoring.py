"""Marking rules and the attempt deadline, as pure functions (no database, no request).

Responses arrive in *shown* option positions (``lms.exams.models`` explains the shapes);
``to_original`` maps them back through the attempt item's ``option_order`` before marking.
Scores are Decimals with one decimal place (spec decision 18).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lms.exams.formats.model import CHOICE_TYPES, FILL, MULTIPLE, SHORT, SINGLE, TRUE_FALSE

ALL_OR_NOTHING = "all_or_nothing"
#: The national social-work exam rule: any wrong option → 0, else 0.5 per correct option chosen.
PARTIAL_HALF = "partial_half"
HALF = Decimal("0.5")
TENTH = Decimal("0.1")
ZERO = Decimal("0.0")


def one_place(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def deadline(started_at: datetime, time_limit_minutes: int | None, extra_minutes: int,
             closes_at: datetime | None) -> datetime | None:
    """``min(start + limit + extra, close)`` (R22); None when neither limit nor close exists.

    Extra time only lengthens a time limit; it never moves the window's close."""
    ends = []
    if time_limit_minutes:
        ends.append(started_at + timedelta(minutes=time_limit_minutes + max(extra_minutes, 0)))
    if closes_at is not None:
        ends.append(closes_at)
    return min(ends) if ends else None


def to_original(qtype: str, response: Any, option_order: Sequence[int] | None) -> Any:
    """The response with shown option positions mapped back to the question's option indexes;
    positions out of range are dropped (they can only come from a forged request)."""
    if qtype not in CHOICE_TYPES or response is None:
        return response
    order = list(option_order) if option_order is not None else None
    out = set()
    for shown in response if isinstance(response, list) else []:
        if isinstance(shown, bool) or not isinstance(shown, int):
            continue
        if order is None:
            out.add(shown)
        elif 0 <= shown < len(order):
            out.add(order[shown])
    return sorted(out)


def fill_form(value: str) -> str:
    """Comparable fill-in answer: NFKC (full-width → half-width), no whitespace, case-folded."""
    return "".join(unicodedata.normalize("NFKC", value).split()).casefold()


def score_item(qtype: str, key: Any, response: Any, points: Decimal, *,
               multiple_rule: str = ALL_OR_NOTHING) -> Decimal | None:
    """Points earned by *response* (in original option indexes); None = marked by hand."""
    if qtype == SHORT:
        return None
    if response is None or response == [] or response == "":
        return ZERO
    if qtype == SINGLE:
        return one_place(points) if list(response) == list(key) else ZERO
    if qtype == MULTIPLE:
        return _score_multiple(set(key), set(response), points, multiple_rule)
    if qtype == TRUE_FALSE:
        return one_place(points) if isinstance(response, bool) and response is key else ZERO
    if qtype == FILL:
        return _score_fill(key, response, points)
    raise ValueError(f"unknown question type {qtype!r}")


def _score_multiple(key: set[int], chosen: set[int], points: Decimal, rule: str) -> Decimal:
    if chosen == key:
        return one_place(points)
    if rule == PARTIAL_HALF and chosen and chosen <= key:
        return one_place(min(points, HALF * len(chosen)))
    return ZERO


def _score_fill(key: Sequence[Sequence[str]], response: Any, points: Decimal) -> Decimal:
    """Each blank is worth an equal share; a blank is right when it matches any accepted answer."""
    if not key or not isinstance(response, list):
        return ZERO
    right = 0
    for i, accepted in enumerate(key):
        given = response[i] if i < len(response) and isinstance(response[i], str) else ""
        if given.strip() and fill_form(given) in {fill_form(a) for a in accepted}:
            right += 1
    return one_place(points * right / len(key))


def is_answered(qtype: str, response: Any) -> bool:
    if response is None:
        return False
    if qtype in CHOICE_TYPES:
        return bool(response)
    if qtype == TRUE_FALSE:
        return isinstance(response, bool)
    if qtype == FILL:
        return isinstance(response, list) and any(isinstance(r, str) and r.strip()
                                                  for r in response)
    return isinstance(response, str) and bool(response.strip())

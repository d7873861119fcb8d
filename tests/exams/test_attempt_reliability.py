"""Reliability promises of the exam path (security.md §5.3) with real threads on a file database
(SQLite, or PostgreSQL when ``LMS_TEST_DATABASE_URL`` is set), a real server killed with
SIGKILL, and a 150-minute exam whose session and CSRF token stay valid."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import itsdangerous
import pytest
from sqlalchemy import func, select

from lms import create_app
from lms.audit import AuditEntry
from lms.auth.models import UserSession
from lms.db import utcnow, write_intent
from lms.exams import attempts as engine
from lms.exams.models import Attempt, AttemptItem
from lms.extensions import db
from tests import factories
from tests.conftest import TEST_CONFIG, Client
from tests.exams.factories import make_bank, make_exam, make_question

ROOT = Path(__file__).resolve().parents[2]
COOKIE = "lms_session"


# ---------------------------------------------------------------- a file database, real threads

@pytest.fixture
def file_app(tmp_path, database_url):
    url = database_url if database_url.startswith("postgresql") else \
        f"sqlite:///{tmp_path / 'exam.sqlite3'}"
    # A long busy timeout: these tests count results, not how long a loaded CI box queues.
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url,
                      "SQLITE_BUSY_TIMEOUT_MS": 60_000})
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _setup(n_questions: int = 5, **settings):
    world = factories.build_world()
    bank = make_bank(world.county_a)
    questions = [make_question(bank) for _ in range(n_questions)]
    exam = make_exam(world.county_a, questions, **settings)
    db.session.commit()
    return world, exam


def _release() -> None:
    """Requests made from the test's thread share its database session (and write intent):
    end that transaction so it holds no lock while the threads run."""
    db.session.commit()
    write_intent.set(False)


def _logged_in_clients(app, n: int) -> tuple[list, str]:
    """*n* test clients sharing one logged-in session (like tabs of one browser) and its token."""
    main = Client(app)
    assert main.login("13800000001").status_code == 302
    token = main.csrf()
    cookie = main.http.get_cookie(COOKIE).value
    _release()
    clients = []
    for _ in range(n):
        c = app.test_client()
        c.set_cookie(COOKIE, cookie)
        clients.append(c)
    return clients, token


def _in_parallel(n: int, work) -> list:  # noqa: ANN001
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _count(model_col, *where) -> int:
    db.session.commit()  # a fresh snapshot: see what the threads committed
    return db.session.execute(select(func.count(model_col)).where(*where)).scalar_one()


def test_twenty_concurrent_starts_give_one_attempt(file_app):
    world, exam = _setup()
    clients, token = _logged_in_clients(file_app, 20)
    url = f"/exams/{exam.id}/start"

    def start(i: int):
        return clients[i].post(url, data={"csrf_token": token})

    results = _in_parallel(20, start)
    assert all(not isinstance(r, Exception) for r in results), results
    assert {r.status_code for r in results} == {302}
    assert len({r.headers["Location"] for r in results}) == 1, [
        (r.headers["Location"], r.headers.get("Set-Cookie")) for r in results]
    assert _count(Attempt.id, Attempt.exam_id == exam.id) == 1
    assert _count(AuditEntry.id, AuditEntry.action == "exam.attempt_started") == 1
    attempt = db.session.execute(select(Attempt)).scalar_one()
    assert results[0].headers["Location"].endswith(f"/exams/attempts/{attempt.id}")
    assert _count(AttemptItem.id, AttemptItem.attempt_id == attempt.id) == 5


def _started(app, exam):  # noqa: ANN001
    clients, token = _logged_in_clients(app, 1)
    resp = clients[0].post(f"/exams/{exam.id}/start", data={"csrf_token": token})
    assert resp.status_code == 302
    _release()
    return db.session.execute(select(Attempt).where(Attempt.exam_id == exam.id)).scalar_one()


def _item_state(attempt_id: int) -> list[tuple]:
    db.session.commit()
    return [tuple(r) for r in db.session.execute(
        select(AttemptItem.position, AttemptItem.response, AttemptItem.client_seq,
               AttemptItem.score).where(AttemptItem.attempt_id == attempt_id)
        .order_by(AttemptItem.position))]


def test_fifty_concurrent_submits_give_one_result(file_app):
    world, exam = _setup()
    attempt = _started(file_app, exam)
    engine.save_answers(attempt, world.trainee, [
        {"position": p, "seq": p, "response": [0 if p % 2 else 1]} for p in range(1, 6)],
        now=utcnow())
    db.session.commit()
    answered = [(p, r, s) for p, r, s, _score in _item_state(attempt.id)]
    _release()
    clients, token = _logged_in_clients(file_app, 50)
    url = f"/exams/attempts/{attempt.id}/submit"

    def submit(i: int):
        return clients[i].post(url, data="{}",
                               headers={"X-CSRFToken": token},
                               content_type="application/json")

    results = _in_parallel(50, submit)
    assert all(not isinstance(r, Exception) for r in results), results
    assert {r.status_code for r in results} == {200}
    assert len({json.dumps(r.get_json(), sort_keys=True) for r in results}) == 1
    assert results[0].get_json()["state"] == "submitted"
    assert _count(AuditEntry.id, AuditEntry.action == "exam.attempt_submitted") == 1
    assert _count(AuditEntry.id, AuditEntry.action.like("exam.attempt_%submitted")) == 1
    final = _item_state(attempt.id)
    assert [(p, r, s) for p, r, s, _score in final] == answered
    db.session.commit()
    done = db.session.get(Attempt, attempt.id)
    assert done.state == "submitted" and str(done.score) == "3.0"


def test_sweeper_racing_the_candidate_gives_one_result(file_app):
    world, exam = _setup(time_limit_minutes=30)
    attempt = _started(file_app, exam)
    engine.save_answers(attempt, world.trainee, [{"position": 1, "seq": 1, "response": [0]}],
                        now=utcnow())
    attempt.deadline = utcnow() - timedelta(minutes=5)
    db.session.commit()
    url = f"/exams/attempts/{attempt.id}/submit"
    clients, token = _logged_in_clients(file_app, 10)

    def work(i: int):
        if i < 10:
            return clients[i].post(url, data="{}",
                                   headers={"X-CSRFToken": token},
                                   content_type="application/json").status_code
        with file_app.app_context():
            write_intent.set(True)
            done = engine.finalise_overdue(utcnow())
            db.session.commit()
            return done

    results = _in_parallel(15, work)
    assert all(not isinstance(r, Exception) for r in results), results
    assert set(results[:10]) == {200}
    assert sum(results[10:]) <= 1
    assert _count(AuditEntry.id, AuditEntry.action.like("exam.attempt_%submitted")) == 1
    db.session.commit()
    done = db.session.get(Attempt, attempt.id)
    assert done.state == "auto_submitted" and str(done.score) == "1.0"


def test_a_database_locked_longer_than_the_busy_timeout_gives_503_then_the_retry_works(
        tmp_path):
    path = tmp_path / "locked.sqlite3"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "SQLITE_BUSY_TIMEOUT_MS": 200, "TESTING": False})
    with app.app_context():
        db.create_all()
        world, exam = _setup()
        attempt = _started(app, exam)
        attempt_id = attempt.id
        clients, token = _logged_in_clients(app, 1)
        url = f"/exams/attempts/{attempt_id}/save"
        body = json.dumps({"answers": [{"position": 1, "seq": 1, "response": [2]}]})
        db.session.remove()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")

        def save(_i: int):  # from another thread: a request context of its own
            return clients[0].post(url, data=body, headers={"X-CSRFToken": token},
                                   content_type="application/json")

        try:
            (resp,) = _in_parallel(1, save)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert not isinstance(resp, Exception), resp
        assert resp.status_code == 503 and resp.get_json()["error"]
        assert [r[1] for r in _item_state(attempt_id)] == [None] * 5
        (retry,) = _in_parallel(1, save)
        assert retry.status_code == 200
        assert [r[1] for r in _item_state(attempt_id)][0] == [2]
        db.session.remove()
        db.engine.dispose()


# ---------------------------------------------------------------- a 150-minute exam (P6)

def test_a_150_minute_exam_keeps_its_session_and_csrf_token(client, world, monkeypatch):
    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank) for _ in range(3)],
                     time_limit_minutes=150)
    db.session.commit()
    assert client.login("13800000001").status_code == 302
    token = client.csrf()  # the page's token, fetched once when the exam opened
    assert client.post(f"/exams/{exam.id}/start").status_code == 302
    attempt = db.session.execute(select(Attempt)).scalar_one()
    # Minute 150: the exam started 149 minutes ago, the phone was locked for the last 40
    # minutes (no poll, no save), and the token's signing clock is 150 minutes later too.
    now = utcnow()
    attempt.started_at = now - timedelta(minutes=149)
    attempt.deadline = now + timedelta(minutes=1)
    row = db.session.execute(select(UserSession)).scalar_one()
    row.created_at = now - timedelta(minutes=150)
    row.last_seen_at = now - timedelta(minutes=40)
    db.session.commit()
    real = itsdangerous.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp",
                        lambda self: real(self) + 150 * 60)
    client._fresh_g()
    resp = client.http.post(f"/exams/attempts/{attempt.id}/save",
                            json={"answers": [{"position": 1, "seq": 1, "response": [0]}]},
                            headers={"X-CSRFToken": token})
    assert resp.status_code == 200 and resp.get_json()["remaining_seconds"] <= 60
    assert client.get(f"/exams/attempts/{attempt.id}/state").status_code == 200
    client._fresh_g()
    done = client.http.post(f"/exams/attempts/{attempt.id}/submit", json={},
                            headers={"X-CSRFToken": token})
    assert done.status_code == 200 and done.get_json()["state"] == "submitted"


def test_without_a_running_exam_the_idle_timeout_still_applies(client, world):
    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank)], time_limit_minutes=150)
    db.session.commit()
    client.login("13800000001")
    client.post(f"/exams/{exam.id}/start")
    attempt = db.session.execute(select(Attempt)).scalar_one()
    attempt.deadline = utcnow() - timedelta(minutes=10)  # the exam time is over
    row = db.session.execute(select(UserSession)).scalar_one()
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    resp = client.get(f"/exams/attempts/{attempt.id}/state")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_the_absolute_timeout_is_not_extended(client, world):
    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank)], time_limit_minutes=150)
    db.session.commit()
    client.login("13800000001")
    client.post(f"/exams/{exam.id}/start")
    row = db.session.execute(select(UserSession)).scalar_one()
    row.created_at = utcnow() - timedelta(hours=12, minutes=1)
    db.session.commit()
    assert client.get("/").status_code == 302


# ---------------------------------------------------------------- SIGKILL mid-exam (P1)

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app as a real server process (``flask run``) on a file SQLite database."""

    def __init__(self, db_path: Path, instance: Path) -> None:
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("LMS_", "FLASK_"))}
        self.env.update({
            "LMS_DATABASE_URL": f"sqlite:///{db_path}", "LMS_INSTANCE_PATH": str(instance),
            "LMS_SECRET_KEY": TEST_CONFIG["SECRET_KEY"], "LMS_AUDIT_KEY": TEST_CONFIG["AUDIT_KEY"],
            "LMS_PII_KEY": TEST_CONFIG["PII_KEY"], "LMS_ARGON2_TIME_COST": "1",
            "LMS_ARGON2_MEMORY_KIB": "8", "LMS_ARGON2_PARALLELISM": "1",
        })
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(self.port),
             "--no-reload", "--no-debugger"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


class Browser:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())
        self.token = ""

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.server.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def refresh_token(self) -> None:
        _status, html = self.call("GET", "/privacy")
        self.token = re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()

    def form(self, path: str, fields: dict) -> int:
        self.refresh_token()
        body = urllib.parse.urlencode({**fields, "csrf_token": self.token}).encode()
        return self.call("POST", path, body,
                         {"Content-Type": "application/x-www-form-urlencoded"})[0]

    def save(self, attempt_id: int, answers: list) -> int:
        return self.call("POST", f"/exams/attempts/{attempt_id}/save",
                         json.dumps({"answers": answers}).encode(),
                         {"Content-Type": "application/json", "X-CSRFToken": self.token})[0]


def _wait_for(condition, seconds: float) -> None:  # noqa: ANN001
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.02)


def _drive(browser: Browser, attempt_id: int, n_items: int, seq: list[int],
           acked: dict[int, tuple[int, list]], stop: threading.Event) -> None:
    """Save answers one after another, like the page; record each acknowledged one."""
    rng = random.Random()  # noqa: S311 - test data
    while not stop.is_set():
        seq[0] += 1
        position, value = rng.randint(1, n_items), [rng.randint(0, 3)]
        try:
            status = browser.save(attempt_id, [{"position": position, "seq": seq[0],
                                                "response": value}])
        except (OSError, http.client.HTTPException):
            return  # the server is gone (refused, reset, or killed halfway through a reply)
        if status == 200:
            acked[position] = (seq[0], value)
            seq[1] += 1


def test_sigkill_mid_exam_loses_no_acknowledged_answer(tmp_path):
    n_items = 100
    db_path = tmp_path / "server.sqlite3"
    setup = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    with setup.app_context():
        db.create_all()
        _world, exam = _setup(n_items)
        exam_id = exam.id
        db.session.remove()
        db.engine.dispose()
    server = Server(db_path, tmp_path)
    acked: dict[int, tuple[int, list]] = {}
    try:
        server.start()
        browser = Browser(server)
        assert browser.form("/auth/login", {"login": "13800000001",
                                            "password": factories.PASSWORD}) == 302
        assert browser.form(f"/exams/{exam_id}/start", {}) == 302
        with sqlite3.connect(db_path) as conn:
            attempt_id = conn.execute("SELECT id FROM exam_attempt").fetchone()[0]
        seq = [0, 0]  # the last sequence number sent, the number of acknowledged saves
        for _round in range(3):
            target = seq[1] + 3
            stop = threading.Event()
            driver = threading.Thread(target=_drive,
                                      args=(browser, attempt_id, n_items, seq, acked, stop))
            driver.start()
            _wait_for(lambda t=target: seq[1] >= t, 30)
            time.sleep(random.uniform(0.0, 0.5))  # noqa: S311
            server.kill()  # mid-save, at a random moment
            stop.set()
            driver.join(10)
            server.start()
            browser.refresh_token()
        status, body = browser.call("GET", f"/exams/attempts/{attempt_id}/state")
        assert status == 200
        state = json.loads(body)
    finally:
        server.kill()
    assert len(acked) >= 6 and state["state"] == "in_progress"
    responses = {i["position"]: i["response"] for i in state["items"]}
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(conn.execute(
            "SELECT position, client_seq FROM attempt_item WHERE attempt_id = ?",
            (attempt_id,)).fetchall())
    for position, (acked_seq, value) in acked.items():
        assert stored[position] >= acked_seq
        if stored[position] == acked_seq:
            assert responses[position] == value

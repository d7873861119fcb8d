"""Fault injection (issue 8 point 3; security.md R42, P4, P5): a database error at each write of
the exam submission and of the evaluation confirmation, through the services and through HTTP,
leaves the database exactly as it was, answers a retryable error (503 + ``Retry-After``, never a
500), and the retry without the fault succeeds exactly once. A SQLite database locked longer
than the busy timeout answers the same retryable error.

The writes are found by a dry run whose COMMIT fails (itself a fault: nothing may be stored), with
a ``before_cursor_execute`` listener recording every INSERT, UPDATE and DELETE; then the run is
repeated once per write k, failing at the k-th write with ``OperationalError``. "Nothing partial"
is checked against a dump of every table taken just before the faulty call."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from lms import create_app
from lms.audit import AuditEntry
from lms.auth.models import UserSession
from lms.db import utcnow
from lms.exams import attempts as engine
from lms.exams.models import Attempt, AttemptItem
from lms.extensions import db
from lms.grading import cycle, policy_store
from lms.grading.models import EvaluationPolicy, EvaluationRound, RoundStatus
from lms.grading.views import rounds as round_views
from lms.onboarding.models import ReplacementCase
from lms.training.models import Completion, Enrollment
from tests import factories
from tests.conftest import TEST_CONFIG, Client
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.grading.cycle_world import OPENED, build, day, score_all
from tests.training.completion_factories import make_program, ready

WRITES = ("INSERT", "UPDATE", "DELETE")
BUSY = "系统繁忙"
CONFIRM_DAY = day(date(2026, 12, 9))
#: A session last seen long enough ago to be refreshed, fixed per test (set by ``_fresh_age``;
#: computed at import it grew older than the idle timeout in a long CI run: a 401 flake).
AGED = utcnow() - timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _fresh_age() -> None:
    global AGED  # noqa: PLW0603
    AGED = utcnow() - timedelta(minutes=5)


def _is_write(statement: str) -> bool:
    head = statement.lstrip().split(None, 1)
    return bool(head) and head[0].upper() in WRITES


class Faults:
    """Records the writes sent to the database; fails the *fail_at*-th one (1-based), or the
    COMMIT when *fail_commit*, like a database that is locked or gone."""

    def __init__(self, fail_at: int | None = None, *, fail_commit: bool = False) -> None:
        self.fail_at, self.fail_commit = fail_at, fail_commit
        self.writes: list[str] = []
        self.fired = False

    def _execute(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202, PLR0913
        if not _is_write(statement):
            return
        self.writes.append(statement)
        if len(self.writes) == self.fail_at:
            self.fired = True
            raise OperationalError(statement, parameters, Exception("injected fault"))

    def _commit(self, conn):  # noqa: ANN001, ANN202
        if self.fail_commit:
            self.fired = True
            raise OperationalError("COMMIT", {}, Exception("injected fault at commit"))

    def __enter__(self) -> Faults:
        event.listen(db.engine, "before_cursor_execute", self._execute)
        event.listen(db.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(db.engine, "before_cursor_execute", self._execute)
        event.remove(db.engine, "commit", self._commit)

    def tables(self) -> set[str]:
        found = set()
        for s in self.writes:
            m = re.match(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", s, re.I)
            if m:
                found.add(m.group(1))
        return found


def dump() -> dict[str, list[tuple]]:
    """Every row of every table (a small test database), read outside any pending change."""
    db.session.rollback()
    out = {}
    for table in db.metadata.sorted_tables:
        key = [c for c in table.primary_key.columns] or list(table.columns)
        rows = db.session.execute(select(table).order_by(*key)).all()
        out[table.name] = [tuple(r) for r in rows]
    db.session.rollback()
    return out


def assert_unchanged(before: dict[str, list[tuple]]) -> None:
    after = dump()
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"partial state stored in {changed}"


def fault_runs(prepare, check) -> list[str]:  # noqa: ANN001
    """A dry run failing at COMMIT, then one run per write failing at that write; each answer
    goes through *check* and must leave the database unchanged. ``prepare()`` runs before the
    dump and outside the faults (a CSRF token, an aged session) and returns the call to fault.
    Returns the writes of the dry run."""
    call = prepare()
    before = dump()
    with Faults(fail_commit=True) as dry:
        check(call())
    assert dry.fired and dry.writes
    assert_unchanged(before)
    for k in range(1, len(dry.writes) + 1):
        call = prepare()
        with Faults(fail_at=k) as faults:
            check(call())
        assert faults.fired, f"write {k} of {len(dry.writes)} was never reached"
        assert faults.writes == dry.writes[:k], f"write {k}: another path than the dry run"
        assert_unchanged(before)
    print(f"{len(dry.writes)} writes:", *dry.writes, sep="\n  ")  # shown with -s
    return dry.writes


def _count(model, *where) -> int:  # noqa: ANN001
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _service_failure(outcome: Any) -> None:
    assert isinstance(outcome, OperationalError), outcome


def _service(fn):  # noqa: ANN001, ANN202
    """Run a service call and commit as the edge does; the OperationalError is returned."""
    def call():  # noqa: ANN202
        try:
            fn()
            db.session.commit()
        except OperationalError as exc:
            db.session.rollback()
            return exc
        return None
    return call


# ---------------------------------------------------------------- the exam submission

@pytest.fixture
def program_exam(world):
    """A closing exam of a program whose requirements person A has met: passing it completes
    the program (completion, certificate serial, enrolment, audit entries in one transaction)."""
    setup = make_program(world.town_a, requires_exam=True)
    ready(setup, world.person_a)
    bank = make_bank(world.town_a)
    questions = [make_question(bank, points="50"), make_question(bank, points="50"),
                 make_question(bank, type="true_false", points="0")]
    exam = make_exam(world.town_a, questions, pass_score=Decimal("60"),
                     program_id=setup.program.id)
    db.session.commit()
    return exam


def _answered_attempt(exam, world, *, answered: bool = True) -> int:  # noqa: ANN001
    """Person A's attempt in progress, every answer right (and saved when *answered*)."""
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    if answered:
        for item in db.session.scalars(
                select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)):
            item.response = True if item.position == 3 else [0]
        attempt.last_seq = 3
    db.session.commit()
    return attempt.id


def _assert_submitted_once(attempt_id: int) -> None:
    db.session.expire_all()
    person_id = db.session.get(Attempt, attempt_id).person_id
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == "submitted" and attempt.score == Decimal("100.0") and attempt.passed
    assert _count(AuditEntry, AuditEntry.action == "exam.attempt_submitted") == 1
    assert _count(Completion, Completion.person_id == person_id) == 1
    assert _count(AuditEntry, AuditEntry.action == "completion.create") == 1
    assert db.session.scalar(select(Enrollment.status).where(
        Enrollment.person_id == person_id)) == "completed"


def test_submit_service_fault_at_each_write_stores_nothing_then_retry_once(program_exam, world):
    attempt_id = _answered_attempt(program_exam, world)

    def submit():  # noqa: ANN202
        engine.submit_attempt(db.session.get(Attempt, attempt_id), now=utcnow(),
                              actor=db.session.get(type(world.trainee), world.trainee.id))

    writes = fault_runs(lambda: _service(submit), _service_failure)
    assert {"exam_attempt", "attempt_item", "audit_entry", "completion",
            "enrollment"} <= _tables(writes)
    assert _service(submit)() is None
    assert _service(submit)() is None  # a repeated submission changes nothing (P4)
    _assert_submitted_once(attempt_id)


# ---------------------------------------------------------------- submission over HTTP

@pytest.fixture
def trainee(client, world):
    assert client.login("13800000001").status_code == 302
    return client


def _age_session() -> None:
    """Make the next request refresh the session's last_seen_at: one more write in the path
    (always the same old time, so the database is the same before every faulty request)."""
    db.session.execute(update(UserSession).values(last_seen_at=AGED))
    db.session.commit()


def _post(client: Client, url: str, *, data: dict | None = None, as_json: bool = False):  # noqa: ANN202
    """POST with a token fetched beforehand, so that only this request runs under the faults."""
    token = client.csrf()
    _age_session()
    client._fresh_g()
    if as_json:
        return lambda: client.http.post(url, data=json.dumps(data or {}),
                                        headers={"X-CSRFToken": token},
                                        content_type="application/json")
    return lambda: client.http.post(url, data={**(data or {}), "csrf_token": token})


def _retryable_json(resp) -> None:  # noqa: ANN001
    assert resp.status_code == 503, resp.get_data(as_text=True)[:300]
    assert resp.headers["Retry-After"].isdigit()
    body = resp.get_json()  # the exam API's own answer, or the app's handler (error + message)
    text = body["error"] + body.get("message", "")
    assert BUSY in body["error"] and "重试" in text


def _retryable_page(resp) -> None:  # noqa: ANN001
    page = resp.get_data(as_text=True)
    assert resp.status_code == 503, page[:300]
    assert resp.headers["Retry-After"].isdigit() and resp.mimetype == "text/html"
    assert BUSY in page and "重试" in page and "Traceback" not in page


def _http_runs(client: Client, url: str, check, **kw: Any) -> list[str]:  # noqa: ANN001
    return fault_runs(lambda: _post(client, url, **kw), check)


def test_submit_json_fault_at_each_write_is_503_then_retry_once(trainee, program_exam, world):
    attempt_id = _answered_attempt(program_exam, world)
    url = f"/exams/attempts/{attempt_id}/submit"
    writes = _http_runs(trainee, url, _retryable_json, as_json=True)
    assert any(w.lstrip().upper().startswith("UPDATE USER_SESSION") for w in writes)
    resp = _post(trainee, url, as_json=True)()
    assert resp.status_code == 200 and resp.get_json()["state"] == "submitted"
    again = _post(trainee, url, as_json=True)()
    assert again.status_code == 200 and again.get_json()["state"] == "submitted"
    _assert_submitted_once(attempt_id)


def _back_to_the_paper_with_the_reason(client: Client, attempt_id: int):  # noqa: ANN202
    def check(resp) -> None:  # noqa: ANN001
        if resp.status_code == 503:  # failed before the view: the app's retryable page
            _retryable_page(resp)
            return
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt_id}")
        with client.http.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        assert any(cat == "error" and BUSY in msg and "稍后" in msg for cat, msg in flashes), \
            flashes
    return check


@pytest.mark.parametrize("form", ["submit", "answers"])
def test_submit_form_fault_at_each_write_goes_back_to_the_paper_then_retry_once(
        trainee, program_exam, world, form):
    """Without JavaScript the paper posts a form: a fault sends the candidate back to the paper
    with the reason (the answers and the attempt as before), and the retry hands in once. The
    paper form saves its answers and hands in within one transaction."""
    attempt_id = _answered_attempt(program_exam, world, answered=form == "submit")
    if form == "submit":
        url, data = f"/exams/attempts/{attempt_id}/submit", {}
    else:
        url = f"/exams/attempts/{attempt_id}/answers"
        data = {"q1": "0", "q2": "0", "q3": "true", "action": "submit", "confirm": "1"}
    _http_runs(trainee, url, _back_to_the_paper_with_the_reason(trainee, attempt_id), data=data)
    resp = _post(trainee, url, data=data)()
    assert resp.status_code == 302 and "/review" in resp.headers["Location"]
    _assert_submitted_once(attempt_id)


# ---------------------------------------------------------------- the evaluation confirmation

@pytest.fixture
def published(world):
    """A published 2026 round past its window: one assistant incompetent (a replacement case on
    confirmation), the city's 2026 policy effective (locked on confirmation). Regression: with a
    stored policy the county's confirmation was refused (locking asked for the city's policy
    right, which a county user does not hold)."""
    row = policy_store.create_policy(world.city, 2026, copy_previous=False,
                                     actor=world.city_admin, now=OPENED - timedelta(days=30))
    policy_store.activate_policy(row, actor=world.city_admin, now=OPENED - timedelta(days=30))
    db.session.commit()
    c = build(world)
    rnd = cycle.open_round(c.county, 2026, actor=c.county_hr, now=OPENED)
    db.session.commit()
    score_all(c, rnd, {i: (30, 12, 8, 12) for i in range(7)})
    score_all(c, rnd, {1: (10, 5, 5, 5)})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    db.session.commit()
    return c, rnd.id


def _assert_confirmed_once(round_id: int, c) -> None:  # noqa: ANN001
    db.session.expire_all()
    rnd = db.session.get(EvaluationRound, round_id)
    assert rnd.status == RoundStatus.CONFIRMED and rnd.confirmed_at is not None
    assert _count(ReplacementCase) == 1
    assert _count(AuditEntry, AuditEntry.action == "evaluation.confirm") == 1
    assert _count(AuditEntry, AuditEntry.action == "replacement.open") == 1
    assert db.session.scalar(select(EvaluationPolicy.status)) == "locked"


def _assert_still_published(round_id: int) -> None:
    db.session.expire_all()
    rnd = db.session.get(EvaluationRound, round_id)
    assert rnd.status == RoundStatus.PUBLISHED and rnd.confirmed_at is None
    assert _count(ReplacementCase) == 0
    assert _count(AuditEntry, AuditEntry.action == "evaluation.confirm") == 0
    assert db.session.scalar(select(EvaluationPolicy.status)) == "effective"


def test_confirm_service_fault_at_each_write_stores_nothing_then_retry_once(published):
    c, round_id = published

    def confirm():  # noqa: ANN202
        cycle.confirm(db.session.get(EvaluationRound, round_id),
                      actor=db.session.get(type(c.county_hr), c.county_hr.id), now=CONFIRM_DAY)

    writes = fault_runs(lambda: _service(confirm), _service_failure)
    assert {"evaluation_round", "evaluation_policy", "replacement_case",
            "audit_entry"} <= _tables(writes)
    _assert_still_published(round_id)
    assert _service(confirm)() is None
    _assert_confirmed_once(round_id, c)


def _tables(writes: list[str]) -> set[str]:
    f = Faults()
    f.writes = writes
    return f.tables()


def test_confirm_route_fault_at_each_write_is_503_then_retry_once(client, published,
                                                                   monkeypatch):
    c, round_id = published
    monkeypatch.setattr(round_views, "utcnow", lambda: CONFIRM_DAY)
    assert client.login(c.county_hr.username).status_code == 302
    url = f"/grading/rounds/{round_id}/confirm"
    writes = _http_runs(client, url, _retryable_page)
    assert "evaluation_policy" in _tables(writes)
    _assert_still_published(round_id)
    resp = _post(client, url)()
    assert resp.status_code == 302
    with client.http.session_transaction() as session:
        assert any("已审定" in msg for _cat, msg in session.pop("_flashes", []))
    again = _post(client, url)()  # a second click: refused with the reason, nothing changes
    assert again.status_code == 302
    _assert_confirmed_once(round_id, c)


# ---------------------------------------------------------------- SQLite locked too long

@pytest.fixture
def locked_app(tmp_path, database_url):
    if database_url.startswith("postgresql"):
        pytest.skip("SQLite's busy timeout: a file SQLite database only")
    path = tmp_path / "locked.sqlite3"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "SQLITE_BUSY_TIMEOUT_MS": 150})
    with app.app_context():
        db.create_all()
        yield app, path
        db.session.remove()
        db.engine.dispose()


class Locker:
    """Another process's writer holding SQLite's write lock (BEGIN IMMEDIATE)."""

    def __init__(self, path) -> None:  # noqa: ANN001
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=5)

    def __enter__(self) -> Locker:
        db.session.remove()  # the app holds no transaction of its own meanwhile
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_sqlite_locked_longer_than_the_busy_timeout_is_503_then_the_retry_works(locked_app):
    app, path = locked_app
    world = factories.build_world()
    db.session.commit()
    setup = make_program(world.town_a, requires_exam=True)
    ready(setup, world.person_a)
    bank = make_bank(world.town_a)
    exam = make_exam(world.town_a, [make_question(bank, points="50"),
                                    make_question(bank, points="50"),
                                    make_question(bank, type="true_false", points="0")],
                     pass_score=Decimal("60"), program_id=setup.program.id)
    db.session.commit()
    client = Client(app)
    assert client.login("13800000001").status_code == 302
    assert client.post(f"/exams/{exam.id}/start").status_code == 302
    attempt_id = db.session.scalar(select(Attempt.id))
    save_url = f"/exams/attempts/{attempt_id}/save"
    answers = {"answers": [{"position": 1, "seq": 1, "response": [0]},
                           {"position": 2, "seq": 2, "response": [0]},
                           {"position": 3, "seq": 3, "response": True}]}
    submit_url = f"/exams/attempts/{attempt_id}/submit"

    save = _post(client, save_url, data=answers, as_json=True)
    before = dump()
    with Locker(path):
        _retryable_json(save())
    assert_unchanged(before)
    assert _post(client, save_url, data=answers, as_json=True)().status_code == 200

    for attempt in range(2):  # the JSON submit, then the form
        send = _post(client, submit_url, as_json=attempt == 0)
        before = dump()
        with Locker(path):
            resp = send()
        if attempt == 0:
            _retryable_json(resp)
        else:
            _back_to_the_paper_with_the_reason(client, attempt_id)(resp)
        assert_unchanged(before)
    resp = _post(client, submit_url, as_json=True)()
    assert resp.status_code == 200 and resp.get_json()["state"] == "submitted"
    _assert_submitted_once(attempt_id)


def test_a_read_refreshing_its_session_while_another_writer_commits_is_not_an_error(locked_app):
    """Regression (found by the benchmark): a GET's session refresh used to upgrade its read
    transaction; when another connection committed a write meanwhile, SQLite refused at once
    ("database is locked") and the page was a 5xx. The refresh now runs after the response in
    its own write transaction."""
    app, path = locked_app
    world = factories.build_world()
    db.session.commit()
    town_id = world.town_a.id
    client = Client(app)
    assert client.login("a_admin").status_code == 302

    def other_writer() -> None:  # after the guard's reads: the request's snapshot is now stale
        conn = sqlite3.connect(path, isolation_level=None, timeout=5)
        conn.execute("UPDATE org_unit SET name = name WHERE id = ?", (town_id,))
        conn.close()

    app.before_request_funcs.setdefault(None, []).append(other_writer)
    session_row = db.session.scalar(select(UserSession).order_by(UserSession.id.desc()))
    session_row.last_seen_at = utcnow() - timedelta(minutes=5)
    session_id = session_row.id
    db.session.commit()
    db.session.remove()
    resp = client.get(f"/org/units/{town_id}")
    assert resp.status_code == 200
    db.session.remove()
    refreshed = db.session.get(UserSession, session_id).last_seen_at
    assert utcnow() - refreshed < timedelta(seconds=30)

"""Statement budgets of the scenario endpoints (performance.md §4.1; issue 7, part 5).

Each scenario endpoint is requested over HTTP as its user: logged in through the login form, the
CSRF token in the form or header, the server-side session resolved, and its once-a-minute
``last_seen_at`` touch forced due before every measured request (the worst case). The SQL
statements of that one request are counted (transaction control excluded, tests/querycount.py)
twice: with one and with twenty of what the endpoint reads (the trainee's enrolments, the exam's
attempts and questions, the report's assistants; the HR report also in county and in city scope).

(a) The counts must be equal: nothing grows with the data.
(b) Each count must be at most its budget below. A budget is the count measured when it was set,
    so a change that adds a statement fails here; lower the budget when a statement goes, raise it
    only on purpose, with the reason in its comment.

Older tests assert (a) for some of these endpoints in their own areas (exams/test_attempt_engine,
exams/test_results_pages, training/test_home, grading/test_report_pages); this file is the one
place that states the budgets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from lms.auth.models import UserSession
from lms.db import utcnow
from lms.exams.models import Attempt, Exam
from lms.extensions import db
from lms.grading import integrity
from lms.org.models import PostType
from lms.training.models import Enrollment
from tests.conftest import Client
from tests.exams.factories import make_bank, make_exam, make_question
from tests.exams.marking_factories import candidate, finished
from tests.factories import make_person, make_unit
from tests.grading.report_world import line, round_of, sheet
from tests.querycount import count_queries
from tests.training.completion_factories import enrol, finish, make_course, make_program

SMALL, LARGE = 1, 20

#: Statements per request (see the module docstring for how they are counted), measured on SQLite.
#: Every request starts with 2: the session row by token with its user and the user's roles
#: (with their units) in one statement, and the forced ``last_seen_at`` touch (an UPDATE, written
#: with the request's own commit or, for a read, by the after-request commit).
SQLITE_BUDGETS: dict[str, int] = {
    # POST /exams/<id>/start: 2 + the person, the audience once (the route's ownership check:
    # enrolled programs, post types, exam; the engine trusts it), the open attempt, the attempt
    # floor, count and last number, extra time, the attempt INSERT, paper items and question
    # versions, all attempt items in one INSERT, max score, the audit chain head and entry.
    "exam_start": 17,
    # POST /exams/attempts/<id>/save (JSON): 2 + the attempt with its exam (ownership; read
    # again under a row lock on PostgreSQL only), the items to save with their types, one UPDATE
    # per saved answer (three here, the same in both sizes) and the attempt's last_seq.
    "autosave": 8,
    # POST /exams/attempts/<id>/submit (JSON): 2 + the attempt with its exam, the state
    # change and re-read, the items, score and passed, item scores in one executemany, the
    # audit chain head and entry, then the closing exam's completion check (enrolment,
    # program, lessons, sessions, progress, attendance, closing exams, results).
    "submit": 18,
    # GET / as a trainee: 2 + posts, person, post types, courses, lessons with progress, hours,
    # enrolments, program lessons with progress, sessions, published evaluations, replacement
    # cases.
    "trainee_home": 13,
    # GET /exams/<id>/results as the organiser (one page of 50): 2 + the exam, the unit filter,
    # the result counts, the page of people with their attempts, their posts.
    "trainer_results": 7,
    # GET /grading/reports/grades?year=2026 as HR (county or city): 2 + the scope's top unit,
    # the years, the grade sums grouped in SQL, the units of the rows, the breadcrumbs.
    "hr_grades_page": 7,
    # GET /grading/reports/grades.xlsx?year=2026: 2 + top unit, years, the integrity walk (one
    # streamed statement per table), the grade sums, the units, then a write transaction for
    # the audit chain head and entry (the read transaction's commit expires the user, reloaded
    # with its roles), and the session refresh in its own transaction after the response (a GET
    # never upgrades its read lock).
    "hr_grades_xlsx": 13,
    # the same export again with no row changed: the same on SQLite (it walks every time)
    "hr_grades_xlsx_again": 13,
    # GET /grading/reports/grades.png?year=2026: 2 + top unit, years, grade sums, units.
    "hr_grades_png": 6,
}
#: PostgreSQL serialises audit appends with ``pg_advisory_xact_lock`` (lms/audit.py): one more
#: statement on every audited request (exam start and submit, the export), the rest the same.
#: The export's integrity check on PostgreSQL (lms/grading/verified.py): the counties'
#: fingerprints and the last recorded ones replace the walk when nothing changed (again: 14);
#: after a change, the walk of the changed counties, their fingerprints once more and the
#: appended entry (lock, chain head, insert) come on top (19).
POSTGRESQL_BUDGETS = {**SQLITE_BUDGETS, "exam_start": 18, "submit": 19, "hr_grades_xlsx": 19,
                      "hr_grades_xlsx_again": 14,
                      # and the attempt read again under its row lock before a save
                      "autosave": 9}
BUDGETS = {"sqlite": SQLITE_BUDGETS, "postgresql": POSTGRESQL_BUDGETS}

#: Question types marked at submit, so the attempt passes and the closing exam's completion
#: check runs in both sizes.
AUTO_MARKED = ("single_choice", "multiple_choice", "true_false", "fill_blank")
#: Positions 1–3 answered correctly (single, multiple, true/false) in every save.
ANSWERS = [{"position": 1, "seq": 1, "response": [0]},
           {"position": 2, "seq": 2, "response": [0, 2]},
           {"position": 3, "seq": 3, "response": True}]


def _budget(endpoint: str) -> int:
    return BUDGETS[db.engine.dialect.name][endpoint]


def _session_touch_due() -> None:
    """Make every live session's ``last_seen_at`` older than a minute, so the measured request
    writes the touch (at most once a minute in real use; the budget holds the worst case)."""
    db.session.execute(update(UserSession).where(UserSession.revoked_at.is_(None))
                       .values(last_seen_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()


def _count(send: Callable[[], object], status: int) -> int:
    _session_touch_due()
    db.session.expire_all()
    with count_queries() as counter:
        resp = send()
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    return counter.count


def _get(client: Client, url: str) -> int:
    return _count(lambda: client.get(url), 200)


def _post_form(client: Client, url: str, status: int = 302) -> int:
    data = {"csrf_token": client.csrf()}  # fetched before counting (Client.post would not)

    def send():  # noqa: ANN202
        client._fresh_g()
        return client.http.post(url, data=data)

    return _count(send, status)


def _post_json(client: Client, url: str, body: dict) -> int:
    headers = {"X-CSRFToken": client.csrf()}

    def send():  # noqa: ANN202
        client._fresh_g()
        return client.http.post(url, data=json.dumps(body), headers=headers,
                                content_type="application/json")

    return _count(send, 200)


def _login(app, username: str) -> Client:  # noqa: ANN001
    client = Client(app)
    assert client.login(username).status_code == 302
    return client


# ---------------------------------------------------------------- the candidate's data


def _enrol_trainee_upto(world, n: int) -> None:
    """Programs (a course of two lessons each, the first finished) until the trainee has *n*
    enrolments; every third one completed."""
    person = world.person_a
    have = db.session.scalar(select(func.count(Enrollment.id))
                             .where(Enrollment.person_id == person.id))
    for i in range(have, n):
        setup = make_program(world.county_a, title=f"第{i + 1}期轮训班",
                             courses=[make_course(f"第{i + 1}期课程", ["第一课", "第二课"])])
        enrol(setup.program, person, "completed" if i % 3 == 2 else "enrolled")
        finish(person, setup.lessons[:1])
    db.session.flush()


def _closing_exam(world, n: int) -> Exam:
    """A program's closing exam with 4×n auto-marked questions, n attempts of other candidates
    and n − 1 finished attempts of the trainee, who is enrolled in the program (one lesson of
    two finished, so a pass does not yet complete it)."""
    person = world.person_a
    setup = make_program(world.county_a, title=f"结业考试培训班{n}",
                         courses=[make_course(f"结业课程{n}", ["第一课", "第二课"])])
    enrol(setup.program, person)
    finish(person, setup.lessons[:1])
    bank = make_bank(world.county_a)
    questions = [make_question(bank, type=t) for _ in range(n) for t in AUTO_MARKED]
    exam = make_exam(world.county_a, questions, title=f"结业考试{n}", program_id=setup.program.id,
                     attempts_allowed=LARGE + 5, pass_score=Decimal("1"))
    for number in range(1, n):
        finished(exam, person, world.trainee.id, {1: [1]}, number=number,
                 submitted_at=utcnow() - timedelta(hours=number))
    for i in range(n):
        other, user = candidate(world.village_a, f"考生{n}-{i}")
        finished(exam, other, user.id, {1: [i % 2]})
    db.session.commit()
    return exam


def _candidate_counts(app, trainee: Client, world, n: int) -> dict[str, int]:
    _enrol_trainee_upto(world, n - 1)
    exam = _closing_exam(world, n)
    exam_id = exam.id
    assert db.session.scalar(select(func.count(Enrollment.id))
                             .where(Enrollment.person_id == world.person_a.id)) == n
    counts = {"exam_start": _post_form(trainee, f"/exams/{exam_id}/start")}
    attempt_id = db.session.scalar(select(Attempt.id).where(
        Attempt.exam_id == exam_id, Attempt.person_id == world.person_a.id,
        Attempt.state == "in_progress"))
    counts["autosave"] = _post_json(trainee, f"/exams/attempts/{attempt_id}/save",
                                    {"answers": ANSWERS})
    counts["submit"] = _post_json(trainee, f"/exams/attempts/{attempt_id}/submit", {})
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == "submitted" and attempt.passed is True
    counts["trainee_home"] = _get(trainee, "/")
    staff = _login(app, "a_admin")
    counts["trainer_results"] = _get(staff, f"/exams/{exam_id}/results")
    assert db.session.scalar(select(func.count(Attempt.id))
                             .where(Attempt.exam_id == exam_id)) == 2 * n
    return counts


def test_candidate_and_trainer_endpoints_keep_their_budget(app, world):
    trainee = _login(app, "13800000001")
    trainee.get("/")  # warm up what the process caches once (not per request)
    small = _candidate_counts(app, trainee, world, SMALL)
    large = _candidate_counts(app, trainee, world, LARGE)
    assert small == large, (small, large)
    over = {k: (v, _budget(k)) for k, v in small.items() if v > _budget(k)}
    assert not over, f"over budget (count, budget): {over}"


# ---------------------------------------------------------------- the HR report

REPORT = "/grading/reports/grades"
GRADES = ("excellent", "competent", "basically_competent", "incompetent")


def _graded_assistants(world, n: int) -> None:
    """*n* more graded and paid assistants, alternately in county A and county B."""
    for i in range(n):
        county, town = (world.county_a, world.town_a) if i % 2 else (world.county_b, world.town_b)
        village = make_unit(f"{town.code}{100 + i:03d}", f"加{i}村", "village", town)
        person = make_person(village, f"加{i}", post_type=PostType.VILLAGE_ASSISTANT.value)
        grade = GRADES[i % len(GRADES)]
        sheet(round_of(county, 2026, "confirmed"), person, grade, replace=grade == "incompetent")
        line(county, person, 2026, 1, 21600)
    db.session.commit()


def _report_counts(clients: dict[str, Client]) -> dict[str, dict[str, int]]:
    counts = {}
    for scope, client in clients.items():
        counts[scope] = {
            "hr_grades_page": _get(client, f"{REPORT}?year=2026"),
            "hr_grades_xlsx": _get(client, f"{REPORT}.xlsx?year=2026"),
            "hr_grades_xlsx_again": _get(client, f"{REPORT}.xlsx?year=2026"),
            "hr_grades_png": _get(client, f"{REPORT}.png?year=2026"),
        }
    return counts


def test_hr_grade_report_keeps_its_budget(app, world, monkeypatch):
    # The export's integrity walk streams in batches: make twenty rows span several of them
    # (it once paged with one statement per batch, so the count grew every 5,000 rows).
    monkeypatch.setattr(integrity, "BATCH", 3)
    sheet(round_of(world.county_a, 2026, "confirmed"), world.person_a, "competent")
    line(world.county_a, world.person_a, 2026, 1, 21600)
    # county B has a row too, so the city's first export has a county to walk, as later
    sheet(round_of(world.county_b, 2026, "confirmed"), world.person_b, "competent")
    db.session.commit()
    clients = {"county": _login(app, "a_hr"), "city": _login(app, "city_admin")}
    for client in clients.values():
        client.get("/grading/reports")  # warm up
    small = _report_counts(clients)
    _graded_assistants(world, LARGE - SMALL)
    large = _report_counts(clients)
    assert small["county"] == small["city"] == large["county"] == large["city"], (small, large)
    counts = small["county"]
    over = {k: (v, _budget(k)) for k, v in counts.items() if v > _budget(k)}
    assert not over, f"over budget (count, budget): {over}"

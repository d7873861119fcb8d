"""Security figure F4: the XSS corpus (``corpus_xss.PAYLOADS``, 302 payloads: OWASP filter-evasion
set, HTML5/SVG/MathML vectors and Markdown-specific ones) through every rich-text sink, every
stored plain-text sink, every reflected query parameter and the forms that echo their input.

The assertion is parser-based (``corpus_xss.dangers``): each page is parsed and compared with the
same page holding a harmless value, and fails on any script not from ``/static/js/``, any ``on*``
attribute, any ``javascript:``/``vbscript:``/non-image ``data:`` URL (read as a browser reads it),
active elements (iframe, object, embed, base, svg, math, meta refresh, …) and active styles.

Measured (SQLite, CI counts; ``LMS_FULL_CORPORA=1`` gives the full counts in brackets):

* Markdown pipeline (``render_markdown``, which every Markdown sink calls): 302 payloads, each
  alone; sanitising is idempotent on all of them.
* Markdown sinks over HTTP — 7 sinks: 5 stored (lesson body, course-file library lesson, exam
  instructions, question stem, question explanation) on 9 pages, plus the live editor preview
  and the lesson editor after a refused save. All 302 payloads reach every sink, 30 per stored
  value (11 values per sink) [each payload alone: 302 values per sink]. Each page is first
  checked to really show the field (a marker value), so a page that is not a sink fails.
* Plain-text stored sinks over HTTP — 17 fields (course title and summary, lesson title, exam
  title, question options and reference answer, the candidate's short answer, the marker's
  comment, score query and reply, appeal and reply, evaluation comment and evidence, external
  training title, provider and evidence file name) on 23 pages: 30 payloads spread over the
  corpus [all 302], packed to the column length.
* Reflected parameters: every GET route (as an actor holding its permission; 106 answer
  HTML 200) × 37 query parameters (every name the code reads plus common ones), one request per
  route with a different payload in each parameter [every payload in every parameter: 302
  requests per route].
* Forms echoing input: every POST route with a GET form (41), every field set to the payload, 3
  payloads [all 302].

CI runtime on an idle 2-core machine is well under a minute; on the shared development machine
(load 10) the file took about 2 minutes.

Result: 0 executable outputs.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from lms.courses.content import render_markdown, sanitize
from lms.extensions import db
from tests.arch.test_hostile_input import PARAMS as HOSTILE_PARAMS
from tests.arch.test_hostile_input import _actor, _routes
from tests.arch.test_routes import _objects, _url
from tests.conftest import Client
from tests.security.corpus_xss import PAYLOADS, dangers, new_dangers, sample

FULL = os.environ.get("LMS_FULL_CORPORA") == "1"
#: Payloads packed into one stored value (1 = each payload alone).
PACK = 1 if FULL else 30
#: Plain-text fields (autoescaped; short columns hold few payloads per value): CI sends them a
#: spread-out sample of the corpus.
PLAIN_SAMPLE = None if FULL else 30
BASELINE = "基线文本"
#: Query parameters read somewhere in lms/ (request.args.get), plus the usual suspects.
PARAMS = sorted(set(HOSTILE_PARAMS) | {
    "unit", "page", "entry", "township", "q", "year", "village", "version", "status", "slot",
    "short", "serial", "seed", "next", "id", "enrolment", "download", "tab", "sort", "kind",
    "type", "error", "message", "msg", "return", "back", "lang", "search"})


def test_corpus_size():
    assert len(PAYLOADS) >= 200
    assert len(set(PAYLOADS)) == len(PAYLOADS)


def test_markdown_pipeline_renders_no_payload_executable():
    """Every payload alone through the one Markdown pipeline, and sanitising is idempotent."""
    bad = {}
    for payload in PAYLOADS:
        html = str(render_markdown(payload))
        found = new_dangers(html, "")
        if found:
            bad[payload] = (found, html)
        assert sanitize(html) == html or sanitize(sanitize(html)) == sanitize(html)
    assert bad == {}


def test_the_checker_catches_what_it_should():
    """The oracle itself: raw vectors are flagged, the app's own script files are not."""
    assert dangers('<script src="/static/js/app.js" defer></script>') == {}
    for raw in ('<script>alert(1)</script>', '<img src=x onerror=alert(1)>',
                '<a href="java&#9;script:alert(1)">x</a>', '<a href=" JAVASCRIPT:x">x</a>',
                '<a href="data:text/html,x">x</a>', '<iframe src=x>', '<svg onload=x>',
                '<meta http-equiv="refresh" content="0;url=x">', '<base href=x>',
                '<div style="width:expression(alert(1))">', '<form action="javascript:x">',
                '<button formaction="vbscript:x">', '<a xlink:href="javascript:x">',
                '<iframe srcdoc="x">', '<script src="/static/js/app.js">alert(1)</script>'):
        assert dangers(raw), raw
    assert not dangers('<a href="java    script:alert(1)">x</a>')  # inner spaces: relative URL
    assert not dangers('<img src="data:image/png;base64,AAAA">')


# ---------------------------------------------------------------- stored sinks


def packs(payloads: list[str], size: int, limit: int | None, sep: str) -> list[list[str]]:
    """Payloads grouped *size* at a time, each group's joined text within *limit* characters
    (a payload longer than the limit is cut to it, as the column would hold it)."""
    out: list[list[str]] = []
    group: list[str] = []
    for p in payloads:
        p = p if limit is None else p[:limit]
        if group and (len(group) >= size or (limit is not None
                                             and len(sep.join([*group, p])) > limit)):
            out.append(group)
            group = []
        group.append(p)
    if group:
        out.append(group)
    return out


@dataclass
class Sink:
    name: str
    #: Writes a value (the joined payloads) into the stored field.
    write: Callable[[str], None]
    #: (username, url) of each page showing the field.
    pages: list[tuple[str, str]]
    limit: int | None = None
    sep: str = "\n\n"
    #: Most payloads in one value (options: one payload per option).
    size: int | None = None
    posts: list[tuple[str, str, str]] = field(default_factory=list)  # (user, url, form field)


def _setter(model: Any, obj_id: int, attr: str) -> Callable[[str], None]:
    def write(value: str) -> None:
        obj = db.session.get(model, obj_id)
        setattr(obj, attr, value)
        db.session.commit()
    return write


def _length(model: Any, attr: str) -> int | None:
    return getattr(model.__table__.c[attr].type, "length", None)


@pytest.fixture
def stage(app, world):
    """Every object a sink needs, in county A, plus a logged-in client per user."""
    from lms.courses.models import Course, Lesson
    from lms.exams.models import Attempt, Exam, Question, ScoreQuery
    from lms.grading.models import Appeal, ChangeRequest, Evaluation
    from lms.training.models import ExternalTraining
    from tests.courses.author_factories import make_course, make_lesson
    from tests.exams.factories import make_attempt, make_exam, make_question
    from tests.exams.marking_factories import finished

    objs = _objects(world, "in")
    library = make_course(None, source="file")
    library_lesson = make_lesson(library)
    bank = objs[Question].bank
    short = make_question(bank, type="short_answer", reference_answer="参考")
    essay_exam = make_exam(world.county_a, [objs[Question], short])
    essay = finished(essay_exam, world.person_a, world.trainee.id, {1: [0], 2: "作答"})
    live_exam = make_exam(world.county_a, [objs[Question], short])
    live = make_attempt(live_exam, world.person_a, world.trainee.id)
    entry = ExternalTraining(person_id=world.person_a.id, org_unit_id=world.person_a.org_unit_id,
                             title="外部培训", provider="省厅", credit_hours=8,
                             completed_on=__import__("datetime").date(2026, 1, 5),
                             status="pending", submitted_by_id=world.trainee.id,
                             evidence_name="x" * 32, evidence_original="证明.pdf")
    db.session.add(entry)
    db.session.flush()
    db.session.commit()
    ids = {k.__name__: v.id for k, v in objs.items()}
    ids.update(library=library.id, library_slug=library.slug, library_lesson=library_lesson.id,
               short=short.id, essay=essay.id, essay_exam=essay_exam.id, live=live.id,
               live_exam=live_exam.id, entry=entry.id, person=world.person_a.id)
    clients: dict[str, Client] = {}

    def client_for(username: str) -> Client:
        if username not in clients:
            clients[username] = Client(app)
            clients[username].login(username)
        return clients[username]

    models = {"Course": Course, "Lesson": Lesson, "Exam": Exam, "Question": Question,
              "Attempt": Attempt, "ScoreQuery": ScoreQuery, "Appeal": Appeal,
              "Evaluation": Evaluation, "ChangeRequest": ChangeRequest,
              "ExternalTraining": ExternalTraining}
    return ids, client_for, models


def _version_setter(qid: int, attr: str, *, as_list: bool = False) -> Callable[[str], None]:
    from lms.exams.models import Question

    def write(value: str) -> None:
        v = db.session.get(Question, qid).current
        if as_list:  # options: one payload per option, four options
            parts = value.split("\x1e")
            v.options = [*parts, *["乙", "丙", "丁"]][:max(4, len(parts))]
        else:
            setattr(v, attr, value)
        db.session.commit()
    return write


def _item_setter(attempt_id: int, position: int, attr: str) -> Callable[[str], None]:
    from lms.exams.models import Attempt

    def write(value: str) -> None:
        item = next(i for i in db.session.get(Attempt, attempt_id).items if i.position == position)
        setattr(item, attr, value)
        db.session.commit()
    return write


def _sinks(ids: dict, models: dict) -> tuple[list[Sink], list[Sink]]:
    from lms.exams.models import AttemptItem, QuestionVersion

    t, a = "13800000001", "a_admin"
    les, crs, ex, q = ids["Lesson"], ids["Course"], ids["Exam"], ids["Question"]
    att, essay, live = ids["Attempt"], ids["essay"], ids["live"]
    stem_pages = [(a, f"/exams/questions/{q}"), (a, f"/exams/{ex}/preview"),
                  (a, f"/exams/results/attempts/{att}"), (t, f"/exams/attempts/{live}")]

    def both_exams(value: str) -> None:
        for key in ("Exam", "live_exam"):
            db.session.get(models["Exam"], ids[key]).description = value
        db.session.commit()

    markdown = [
        Sink("lesson body", _setter(models["Lesson"], les, "body"),
             [(t, f"/courses/learn/lesson/{les}"), (a, f"/courses/manage/lessons/{les}/edit")]),
        Sink("course-file lesson body (library)",
             _setter(models["Lesson"], ids["library_lesson"], "body"),
             [(a, f"/courses/manage/library/{ids['library_slug']}")]),
        Sink("exam instructions", both_exams,
             [(t, f"/exams/{ex}"), (a, f"/exams/{ex}/manage")]),
        Sink("question stem", _version_setter(q, "stem"), stem_pages),
        Sink("question explanation", _version_setter(q, "explanation"),
             [(a, f"/exams/questions/{q}")]),
    ]
    essay_pages = [(a, f"/exams/marking/attempts/{essay}"),
                   (a, f"/exams/results/attempts/{essay}")]
    course_pages = [(t, f"/courses/learn/course/{crs}"), (a, f"/courses/manage/{crs}")]
    sq, ap, ev = ids["ScoreQuery"], ids["Appeal"], ids["Evaluation"]
    entry_pages = [(a, f"/training/people/{ids['person']}/record"), (t, "/training/my-record")]

    def plain(name: str, model: Any, key: str, attr: str, pages: list) -> Sink:
        return Sink(name, _setter(model, ids[key], attr), pages, limit=_length(model, attr),
                    sep="\n")

    plain_sinks = [
        plain("course title", models["Course"], "Course", "title",
              [*course_pages, (t, "/courses/learn/"), (a, "/courses/manage/")]),
        plain("course summary", models["Course"], "Course", "summary", course_pages),
        plain("lesson title", models["Lesson"], "Lesson", "title",
              [(t, f"/courses/learn/course/{crs}"), (t, f"/courses/learn/lesson/{les}"),
               (a, f"/courses/manage/{crs}")]),
        plain("exam title", models["Exam"], "Exam", "title",
              [(t, "/exams/my"), (a, "/exams/manage"), (a, f"/exams/{ex}/manage"),
               (t, f"/exams/{ex}")]),
        Sink("question options", _version_setter(q, "options", as_list=True), stem_pages,
             limit=None, sep="\x1e", size=4),
        Sink("reference answer", _version_setter(ids["short"], "reference_answer"),
             [(a, f"/exams/questions/{ids['short']}"), *essay_pages], limit=None, sep="\n"),
        Sink("short answer (candidate's text)", _item_setter(essay, 2, "response"), essay_pages,
             limit=None, sep="\n"),
        Sink("marker's comment", _item_setter(essay, 2, "comment"), essay_pages,
             limit=_length(AttemptItem, "comment"), sep="\n"),
        plain("score query", models["ScoreQuery"], "ScoreQuery", "message",
              [(a, f"/exams/score-queries/{sq}"), (a, "/exams/score-queries"),
               (t, f"/exams/attempts/{att}/review")]),
        plain("score query reply", models["ScoreQuery"], "ScoreQuery", "reply",
              [(a, f"/exams/score-queries/{sq}"), (t, f"/exams/attempts/{att}/review")]),
        plain("appeal", models["Appeal"], "Appeal", "text",
              [(a, f"/grading/appeals/{ap}"), (a, f"/grading/sheets/{ev}")]),
        plain("appeal reply", models["Appeal"], "Appeal", "reply",
              [(a, f"/grading/appeals/{ap}"), (a, f"/grading/sheets/{ev}")]),
        plain("evaluation comment", models["Evaluation"], "Evaluation", "comment",
              [(a, f"/grading/sheets/{ev}")]),
        plain("evaluation evidence", models["Evaluation"], "Evaluation", "evidence",
              [(a, f"/grading/sheets/{ev}")]),
        plain("external training title", models["ExternalTraining"], "entry", "title",
              entry_pages),
        plain("external training provider", models["ExternalTraining"], "entry", "provider",
              entry_pages),
        plain("evidence file name", models["ExternalTraining"], "entry", "evidence_original",
              entry_pages),
    ]
    del QuestionVersion
    return markdown, plain_sinks


def _run_sink(sink: Sink, client_for: Callable[[str], Client], payloads: list[str],
              size: int) -> int:
    if sink.sep != "\n\n" and PLAIN_SAMPLE:  # a plain-text sink
        payloads = sample(PLAIN_SAMPLE)
    """Write each pack of payloads, fetch every page, compare with the baseline; returns the
    number of payloads delivered."""
    sink.write(BASELINE)
    base = {}
    missing: list[str] = []
    for user, url in sink.pages:
        resp = client_for(user).get(url)
        assert resp.status_code == 200, f"{sink.name}: {user} GET {url} → {resp.status_code}"
        html = resp.get_data(as_text=True)
        if BASELINE not in html:
            missing.append(url)
        base[(user, url)] = dangers(html)
    assert not missing, f"{sink.name}: not shown on {missing} (not a sink there)"
    delivered = 0
    for group in packs(payloads, sink.size or size, sink.limit, sink.sep):
        # NUL never reaches storage (lms.web.guard answers 400; PostgreSQL refuses it)
        sink.write(sink.sep.join(group).replace("\x00", ""))
        for user, url in sink.pages:
            resp = client_for(user).get(url)
            assert resp.status_code == 200, f"{sink.name}: {user} GET {url} → {resp.status_code}"
            found = new_dangers(resp.get_data(as_text=True), base[(user, url)])
            assert not found, f"{sink.name} on {url}: {found} from {group!r}"
        delivered += len(group)
    return delivered


@pytest.mark.parametrize("kind", ["markdown", "plain"])
def test_stored_sinks_render_no_payload_executable(stage, kind):
    ids, client_for, models = stage
    markdown, plain = _sinks(ids, models)
    sinks = markdown if kind == "markdown" else plain
    counts = {}
    started = time.perf_counter()
    for sink in sinks:
        counts[sink.name] = (_run_sink(sink, client_for, PAYLOADS, PACK), len(sink.pages))
    expected = len(PAYLOADS) if kind == "markdown" or not PLAIN_SAMPLE else PLAIN_SAMPLE
    assert all(n == expected for n, _pages in counts.values()), counts
    print(f"\nF4 {kind}: {len(sinks)} sinks × {expected} payloads on "
          f"{len({p for s in sinks for p in s.pages})} pages, pack {PACK}, "
          f"{time.perf_counter() - started:.1f}s")


def test_editor_preview_and_refused_save_render_no_payload_executable(stage):
    """The live preview (JSON) and the lesson editor shown again after a refused save (the body
    is echoed in the textarea and rendered in the preview pane)."""
    ids, client_for, _models = stage
    c = client_for("a_admin")
    lesson = ids["Lesson"]
    base = dangers(c.get(f"/courses/manage/lessons/{lesson}/edit").get_data(as_text=True))
    for group in packs(PAYLOADS, PACK, None, "\n\n"):
        body = "\n\n".join(group)
        resp = c.post(f"/courses/manage/{ids['Course']}/preview", {"body": body})
        if "\x00" in body:  # the request guard refuses NUL before any view
            assert resp.status_code == 400
            body = body.replace("\x00", "")
            resp = c.post(f"/courses/manage/{ids['Course']}/preview", {"body": body})
        assert resp.status_code == 200
        assert new_dangers(resp.get_json()["html"], "") == [], group
        # an empty title refuses the save: the page comes back with the body and its preview
        resp = c.post(f"/courses/manage/lessons/{lesson}/edit",
                      {"title": "", "minutes": "5", "body": body})
        assert resp.status_code == 200
        assert new_dangers(resp.get_data(as_text=True), base) == [], group


# ---------------------------------------------------------------- reflected


def _get_rules(app):
    return [(rule, access) for rule, access in _routes(app, "GET")]


def _logged_in(clients: dict[str, Client], app, username: str) -> Client:  # noqa: ANN001
    """One logged-in client per user name, reused across routes."""
    if username not in clients:
        clients[username] = Client(app)
        clients[username].login(username)
    return clients[username]


def test_reflected_query_parameters_render_no_payload_executable(app, client, world):
    """Every GET route × every query parameter the code reads, as an actor of county A."""
    inside = _objects(world, "in")
    db.session.commit()
    # CI: one request per route, each parameter a different payload (37 payloads per route);
    # full: every payload in every parameter.
    # NUL makes the request guard answer 400 before any view: leave it out so views run
    payloads = [p.replace("\x00", "") for p in (PAYLOADS if FULL else sample(len(PARAMS)))]
    clients: dict[str, Client] = {}
    checked = routes = 0
    html_routes: set[str] = set()
    for rule, access in _get_rules(app):
        actor = _actor(world, access.perm)
        if actor is None:
            continue
        c = _logged_in(clients, app, actor.username)
        url = _url(rule, inside)
        if FULL:
            queries = [{p: payload for p in PARAMS} for payload in payloads]
        else:
            queries = [{p: payloads[i % len(payloads)] for i, p in enumerate(PARAMS)}]
        routes += 1
        for query in queries:
            resp = c.get(url, query_string=query)
            assert resp.status_code < 500, f"GET {url} with {query!r} → {resp.status_code}"
            if resp.mimetype.startswith("text/html"):
                # the app's own pages hold nothing the check flags: no baseline needed
                found = new_dangers(resp.get_data(as_text=True), "")
                assert not found, f"GET {url}?{query!r}: {found}"
                if resp.status_code == 200:
                    html_routes.add(url)
            checked += 1
    routes = len(html_routes)
    print(f"\nF4 reflected: {routes} HTML GET routes × {len(PARAMS)} parameters, "
          f"{len(payloads)} payloads per route, {checked} requests")
    assert routes >= 100


def test_forms_echoing_input_render_no_payload_executable(app, world):
    """Every POST route that has a GET form: all its fields set to the payload; the refused or
    accepted page (form errors echo the input) must not run it."""
    inside = _objects(world, "in")
    db.session.commit()
    payloads = [p.replace("\x00", "") for p in (PAYLOADS if FULL else sample(3))]
    clients: dict[str, Client] = {}
    checked = 0
    skip = {"auth.logout"}
    for rule, access in _routes(app, "POST"):
        if rule.endpoint in skip or "GET" not in rule.methods:
            continue
        actor = _actor(world, access.perm)
        if actor is None:
            continue
        c = _logged_in(clients, app, actor.username)
        url = _url(rule, inside)
        page = c.get(url)
        if page.status_code != 200 or not page.mimetype.startswith("text/html"):
            continue
        html = page.get_data(as_text=True)
        base = dangers(html)
        fields = set(re.findall(r'name="([a-z_]+)"', html)) - {"csrf_token"}
        token = c.csrf()
        for payload in payloads:
            resp = c.post(url, {**{f: payload for f in fields}, "csrf_token": token})
            assert resp.status_code < 500, f"POST {url} with {payload!r} → {resp.status_code}"
            if resp.mimetype.startswith("text/html"):
                found = new_dangers(resp.get_data(as_text=True), base)
                assert not found, f"POST {url} fields={sorted(fields)} {payload!r}: {found}"
            checked += 1
        clients.pop(actor.username) if rule.endpoint.startswith("auth.") else None
    print(f"\nF4 forms: {checked} POSTs ({len(payloads)} payloads)")
    assert checked >= 10 * len(payloads)



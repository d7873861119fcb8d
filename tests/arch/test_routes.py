"""Every route declares its access; out-of-scope objects are 404 on every route that loads one.

Both tests enumerate ``app.url_map``, so a new route is covered the day it is added.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from lms.auth.access import RouteCheckError, check_routes, public, rule_of
from lms.auth.models import User
from lms.org.models import OrgUnit, Person, Post

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_route_declares_access(app):
    missing = [r.rule for r in app.url_map.iter_rules()
               if r.endpoint != "static" and rule_of(app.view_functions[r.endpoint]) is None]
    assert missing == []


def test_startup_refuses_an_undeclared_route():
    bare = Flask("bare")
    bare.add_url_rule("/x", "x", lambda: "x")
    with pytest.raises(RouteCheckError):
        check_routes(bare)


def test_startup_refuses_an_id_not_loaded_through_the_scope():
    bare = Flask("bare")
    bare.add_url_rule("/p/<int:person_id>", "p", public(lambda person_id: "x"))
    with pytest.raises(RouteCheckError, match="person_id"):
        check_routes(bare)


def _objects(world, side: str) -> dict:
    """An object of each scoped model in county A ("in") or county B ("out")."""
    a = side == "in"
    person = world.person_a if a else world.person_b
    b_user = None if a else _b_user(world)
    return {
        OrgUnit: world.town_a if a else world.town_b,
        Person: person,
        Post: person.posts[0],
        User: world.trainee if a else b_user,
        **_course_objects(world.town_a if a else world.town_b),
        **_program_objects(world.county_a if a else world.county_b),
        **_exam_objects(world.county_a if a else world.county_b, person,
                        world.trainee if a else b_user),
        **_onboarding_objects(world.county_a if a else world.county_b,
                              world.town_a if a else world.town_b, person),
        **_grading_objects(world.city if a else _other_city()),
        **_cycle_objects(world.county_a if a else world.county_b, person, world.sysadmin.id),
    }


def _cycle_objects(county, person, proposer_id: int) -> dict:
    """A published 2026 round of *county* with *person*'s sheet and an appeal, a confirmed 2026 Q1
    stipend quarter with the person's line and quarterly grade, and a change request on each."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from lms.extensions import db
    from lms.grading import integrity
    from lms.grading.models import (
        Appeal,
        ChangeRequest,
        Evaluation,
        EvaluationRound,
        QuarterGrade,
        StipendLine,
        StipendQuarter,
    )

    now = datetime(2026, 12, 1, tzinfo=UTC)
    post = person.posts[0]
    town_id = post.org_unit.parent_id
    rnd = EvaluationRound(org_unit_id=county.id, year=2026, status="published", opened_at=now,
                          published_at=now, publish_until=date(2099, 1, 1))
    db.session.add(rnd)
    db.session.flush()
    sheet = Evaluation(round_id=rnd.id, year=2026, post_id=post.id, person_id=person.id,
                       org_unit_id=post.org_unit_id, township_id=town_id, county_id=county.id,
                       level=3, work=Decimal(30), diligence=Decimal(12), integrity=Decimal(8),
                       satisfaction=Decimal(12), competence=Decimal(10), total=Decimal(72),
                       grade="basically_competent", new_level=3)
    db.session.add(sheet)
    db.session.flush()
    integrity.seal(sheet)
    appeal = Appeal(evaluation_id=sheet.id, person_id=person.id, org_unit_id=post.org_unit_id,
                    text="申诉", submitted_at=now)
    run = StipendQuarter(org_unit_id=county.id, year=2026, quarter=1, status="confirmed",
                         computed_at=now, lines=1, total_fen=21600)
    db.session.add_all([appeal, run])
    db.session.flush()
    grade = QuarterGrade(post_id=post.id, person_id=person.id, org_unit_id=post.org_unit_id,
                         township_id=town_id, year=2026, quarter=1, grade="competent",
                         entered_at=now)
    line = StipendLine(run_id=run.id, post_id=post.id, person_id=person.id,
                       org_unit_id=post.org_unit_id, township_id=town_id, county_id=county.id,
                       year=2026, quarter=1, level=3, months=3, grade="competent",
                       amount_fen=21600)
    db.session.add_all([grade, line])
    db.session.flush()
    integrity.seal(line)
    change = ChangeRequest(kind="quarter", stipend_line_id=line.id, org_unit_id=post.org_unit_id,
                           county_id=county.id, person_id=person.id,
                           before={"grade": "competent", "amount_fen": 21600},
                           after={"grade": "excellent", "amount_fen": 22320}, reason="更正",
                           proposed_at=now, proposed_by_id=proposer_id)
    db.session.add(change)
    db.session.flush()
    return {EvaluationRound: rnd, Evaluation: sheet, Appeal: appeal, StipendQuarter: run,
            StipendLine: line, QuarterGrade: grade, ChangeRequest: change}


#: Models owned by a city (a yearly policy): their "out of scope" side is another city, and the
#: actor is the city's own staff (county staff never see a city's policy).
CITY_OWNED = frozenset({"EvaluationPolicy"})


def _other_city():
    from tests.factories import make_unit

    return make_unit("3714", "德州市", "city")


def _grading_objects(city) -> dict:
    """The evaluation policy of 2027 of *city* (a draft)."""
    from datetime import date

    from lms.extensions import db
    from lms.grading.models import EvaluationPolicy
    from lms.grading.policy import default_policy
    from lms.grading.policy_store import from_policy

    row = EvaluationPolicy(org_unit_id=city.id, year=2027, data=from_policy(default_policy(2027)),
                           effective_from=date(2027, 1, 1))
    db.session.add(row)
    db.session.flush()
    return {EvaluationPolicy: row}


def _onboarding_objects(county, town, person) -> dict:
    """A director consultation at *town*, and a filing, a replacement case and an onboarding
    record on *person*'s village assistant post."""
    from datetime import date

    from lms.extensions import db
    from lms.onboarding.models import Consultation, Filing, OnboardingRecord, ReplacementCase
    from tests.onboarding.factories import nominee

    _director, post = nominee(town, "赵主任", "office_director")
    assistant = person.posts[0]
    rows = {
        Consultation: Consultation(post_id=post.id, person_id=post.person_id,
                                   org_unit_id=town.id, county_unit_id=county.id,
                                   reason="人选", due_on=date(2030, 1, 1)),
        Filing: Filing(post_id=assistant.id, person_id=person.id,
                       org_unit_id=assistant.org_unit_id, county_unit_id=county.id,
                       details={}, due_on=date(2030, 1, 1)),
        ReplacementCase: ReplacementCase(post_id=assistant.id, person_id=person.id,
                                         org_unit_id=assistant.org_unit_id,
                                         township_unit_id=town.id, trigger="manual",
                                         evidence="连续三个月无故缺勤",
                                         statement_due_on=date(2030, 1, 1)),
        OnboardingRecord: OnboardingRecord(post_id=assistant.id, person_id=person.id,
                                           org_unit_id=assistant.org_unit_id),
    }
    db.session.add_all(rows.values())
    db.session.flush()
    return rows


def _exam_objects(county, person, user) -> dict:
    """A county bank with a question, a published exam, a finished attempt of *person* with its
    item, and a score query on it."""
    from lms.exams.models import (
        Attempt,
        AttemptItem,
        Exam,
        Question,
        QuestionBank,
        ScoreQuery,
    )
    from lms.extensions import db
    from tests.exams.factories import make_attempt, make_bank, make_exam, make_question

    bank = make_bank(county)
    question = make_question(bank)
    exam = make_exam(county, [question])
    attempt = make_attempt(exam, person, user.id, state="submitted")
    query = ScoreQuery(attempt_id=attempt.id, org_unit_id=county.id, person_id=person.id,
                       message="请复核")
    db.session.add(query)
    db.session.flush()
    return {QuestionBank: bank, Question: question, Exam: exam, Attempt: attempt,
            AttemptItem: attempt.items[0], ScoreQuery: query}


def _program_objects(county) -> dict:
    """A county program for township staff and one of its sessions."""
    from datetime import UTC, datetime

    from lms.extensions import db
    from lms.training.models import Program, TrainingSession

    program = Program(org_unit_id=county.id, title="轮训班", kind="rotation",
                      audience_post_type="township_staff", mode="blended", status="open")
    db.session.add(program)
    db.session.flush()
    session = TrainingSession(program_id=program.id, org_unit_id=county.id, title="第一讲",
                              starts_at=datetime(2030, 3, 1, 1, tzinfo=UTC),
                              ends_at=datetime(2030, 3, 1, 3, tzinfo=UTC))
    db.session.add(session)
    db.session.flush()
    return {Program: program, TrainingSession: session}


def _course_objects(unit) -> dict:
    """A browser course of *unit*, one of its lessons and one attachment (no file on disk)."""
    from lms.courses.models import Attachment, Course, Lesson
    from tests.courses.author_factories import make_attachment, make_course, make_lesson

    course = make_course(unit)
    lesson = make_lesson(course)
    return {Course: course, Lesson: lesson,
            Attachment: make_attachment(course, lesson, write=False)}


def _b_user(world):
    from tests.factories import make_user

    return make_user("b_someone", world.town_b)


def _url(rule, objs: dict) -> str:
    url = rule.rule
    view_rule = rule_of_view(rule)
    for arg, model in view_rule.loads.items():
        url = url.replace(f"<int:{arg}>", str(objs[model].id))
    return re.sub(r"<[^>]+>", "x", url)


def rule_of_view(rule):
    from flask import current_app

    return rule_of(current_app.view_functions[rule.endpoint])


def _county_a_actor(world, perm):
    from lms.auth.access import scope_for

    for user in (world.a_admin, world.a_hr, world.town_a_admin):
        scope = scope_for(user, perm)
        if scope.covers(world.town_a) and not scope.is_global:
            return user
    return None


def _scoped_rules(app):
    return [r for r in app.url_map.iter_rules()
            if r.endpoint != "static" and rule_of(app.view_functions[r.endpoint]).loads]


def test_out_of_scope_objects_are_404_and_in_scope_are_not(app, client, world):
    outside = _objects(world, "out")
    inside = _objects(world, "in")
    from lms.extensions import db

    db.session.commit()
    checked = 0
    for rule in _scoped_rules(app):
        access = rule_of(app.view_functions[rule.endpoint])
        missing = [m for m in access.loads.values() if m not in inside]
        assert not missing, f"add a factory for {missing} to tests/arch/test_routes.py"
        if access.kind == "own":
            actor = world.trainee
        elif {m.__name__ for m in access.loads.values()} & CITY_OWNED:
            actor = world.city_admin
        else:
            actor = _county_a_actor(world, access.perm)
        if actor is None:
            continue  # a global-only permission has no "other county"
        client.login(actor.username)
        for method in sorted(rule.methods & {"GET", "POST"}):
            send = client.get if method == "GET" else client.post
            resp = send(_url(rule, outside))
            assert resp.status_code == 404, f"{method} {rule.rule} out of scope gave {resp.status_code}"
            checked += 1
        resp = client.get(_url(rule, inside)) if "GET" in rule.methods else None
        if resp is not None:
            assert resp.status_code in (200, 302), f"GET {rule.rule} in scope gave {resp.status_code}"
        client.logout()
    assert checked > 0


def test_post_without_csrf_token_is_refused_everywhere(app, client, world):
    from lms.extensions import db

    inside = _objects(world, "in")
    db.session.commit()
    client.login("city_admin")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not (rule.methods & UNSAFE):
            continue
        access = rule_of(app.view_functions[rule.endpoint])
        url = _url(rule, inside) if access.loads else re.sub(r"<[^>]+>", "x", rule.rule)
        resp = client.post(url, {}, csrf=False)
        assert resp.status_code in (400, 404), f"POST {rule.rule} without token gave {resp.status_code}"

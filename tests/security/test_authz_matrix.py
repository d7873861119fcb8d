"""F1 — the authorization matrix: every route of ``app.url_map`` × 11 principals × scope relation.

Principals (``tests/security/corpus.py``): anon, trainee, trainer at the township, county and
city, county HR, county unit administrator, city HR + unit administrator, system, security and
audit administrators. Objects come in two bundles: county A (the principals' own county: for
each principal the object is in its own unit, a child, or a parent, depending on the model's
level) and the sibling county B (the city policy: another city). Each route is requested once
per principal and bundle with its GET form, or a POST with a valid CSRF token and an empty body
when it has no GET; a route without an object is requested once per principal. Each principal
meets a freshly built database, so one principal's POSTs never change another's cells.

The expected outcome of a cell comes from ``tests/security/oracle.py`` (area of the endpoint ×
areas of the role from the specification × does the principal's unit cover the object's unit),
never from the route decorator. A deny is 401/403/404 or a redirect to the login page; an allow
is any other status below 500; 5xx fails.

Measured (SQLite, this commit):
* full (``LMS_FULL_CORPORA=1``): 251 routes (100 % covered), 4,466 cells — own 333, child 857,
  parent 199, sibling 769, other user 12, global (administrators) 1,240, no object 1,056 —
  0 unexpected allows, 0 unexpected denies; about 300 s on the shared box;
* CI (``CI_PLAN``: anon, trainee, township trainer, security admin on county A, county unit
  administrator on A and B): 251 routes (100 %), 1,410 cells, 0 unexpected; about 33 s of CPU.
"""

from __future__ import annotations

import collections
import time

import pytest

from lms.auth.access import rule_of
from tests.security import oracle
from tests.security.corpus import (
    FULL,
    _model,
    bundles,
    is_deny,
    object_args,
    principals,
    rules,
    unit_tree,
    url_for_rule,
)

MIN_CELLS = 4_400 if FULL else 1_400


class Oracle:
    """The expected outcome of a cell, from ``oracle`` tables and the unit tree (by parent ids)."""

    def __init__(self, tree: dict[int, tuple[int | None, str]]) -> None:
        self.tree = tree

    def ancestors(self, unit: int | None) -> list[int]:
        chain = []
        while unit is not None:
            chain.append(unit)
            unit = self.tree[unit][0]
        return chain

    def covers(self, held_at: int | None, unit: int | None) -> bool:
        if held_at is None:  # a global role
            return True
        return unit is not None and held_at in self.ancestors(unit)

    def at_level(self, unit: int | None, level: str) -> int | None:
        return next((u for u in self.ancestors(unit) if self.tree[u][1] == level), None)

    def relation(self, principal, unit: int | None) -> str:  # noqa: ANN001
        if principal.home is None:
            return "global"
        if unit is None:
            return "no unit"
        if unit == principal.home:
            return "own"
        if self.covers(principal.home, unit):
            return "child"
        if self.covers(unit, principal.home):
            return "parent"
        return "sibling"

    def judged_unit(self, area: str, obj) -> int | None:  # noqa: ANN001
        if area in oracle.COUNTY_SIDE:
            return self.at_level(obj.unit, "county")
        if area in oracle.CITY_SIDE:
            return self.at_level(obj.unit, "city")
        return obj.unit

    def course_visible(self, principal, course_unit: int | None) -> bool:  # noqa: ANN001
        """A learner sees a live course of a unit at or above the person's (or account's) unit;
        a course author also sees the courses of the units in the subtree."""
        if any(oracle.COURSES in oracle.ROLE_AREAS[r] and self.covers(at, course_unit)
               for r, at in principal.roles):
            return True
        return course_unit is not None and any(self.covers(course_unit, h)
                                               for h in principal.home_units)

    def shared_below(self, area: str, held_at: int | None, obj) -> bool:  # noqa: ANN001
        """A county's evaluation round and stipend quarter are worked on by its townships too."""
        if area != oracle.EVAL_SCORE or obj.model not in ("EvaluationRound", "StipendQuarter"):
            return False
        return held_at is not None and self.covers(obj.unit, held_at)

    def allow(self, principal, endpoint: str, objs: list) -> bool:  # noqa: ANN001
        """Should *principal* reach *endpoint* on *objs* (the URL's objects)?"""
        area = oracle.AREAS[endpoint]
        if area == oracle.PUBLIC:
            return True
        if principal.username is None:
            return False
        if endpoint == "courses.attachment_file":
            return self.course_visible(principal, objs[0].course_unit)
        if area == oracle.LOGIN:
            return True
        if area == oracle.PERSONAL:
            return principal.person_id is not None
        if area == oracle.LEARN:
            return principal.person_id is not None and self.course_visible(
                principal, objs[0].course_unit)
        if area == oracle.OWN:  # the person's own rows; an exam offered to the person's unit
            return principal.person_id is not None and all(
                self.covers(o.unit, principal.home_units[0]) if o.model == "Exam"
                else o.person_id == principal.person_id for o in objs)
        for role, held_at in principal.roles:
            if area not in oracle.ROLE_AREAS[role]:
                continue
            if all(self.covers(held_at, self.judged_unit(area, o))
                   or self.shared_below(area, held_at, o) for o in objs):
                return True
        return False


def _request(client, rule, url: str, token: str):  # noqa: ANN001, ANN202
    if "GET" in rule.methods:
        return "GET", client.get(url)
    return "POST", client.post(url, {"csrf_token": token})


def _order(rule) -> tuple:  # noqa: ANN001
    """GETs first; then learner and self-service POSTs; destructive POSTs last; logout last."""
    ep = rule.endpoint
    if ep == "auth.logout":
        return (3, ep)
    if "GET" in rule.methods:
        return (0, ep)
    destructive = any(w in ep for w in ("retire", "archive", "delete", "disable", "withdraw",
                                        "decide", "confirm", "lock", "activate", "status",
                                        "reset", "end_sessions", "revoke", "submit", "reopen"))
    return (2 if destructive else 1, ep)


#: CI plan: every route for five principals (county A objects), the county unit administrator
#: also on county B's objects; LMS_FULL_CORPORA=1 runs all ten principals on both bundles.
CI_PLAN = {"anon": "A", "trainee": "A", "trainer-township": "A", "unit-admin-county": "AB",
           "secadmin": "A"}


def run_matrix(app, client, world, *, plan: dict[str, str] | None = None,  # noqa: ANN001
               only_objects: bool = False, record: list | None = None,
               ) -> tuple[collections.Counter, list[str], int]:
    """Request every cell of *plan* (principal → bundles); returns (cells per relation, unexpected
    outcomes, endpoints covered). *only_objects* keeps the routes that name an object; *record*
    receives (principal, bundle, relation, method, url, status, allowed) per cell."""
    names = [p.name for p in principals(world)]
    if plan is None:
        plan = {n: "AB" for n in names}
    names = [n for n in names if n in plan]
    cells: collections.Counter = collections.Counter()
    wrong: list[str] = []
    all_rules = sorted(rules(app), key=_order)
    covered = set()
    for name in names:
        # each principal meets a fresh world: the POSTs of one never change another's cells
        world = fresh_world()
        objs_by_bundle = bundles(world)
        principal = next(p for p in principals(world) if p.name == name)
        judge = Oracle(unit_tree())
        token = ""
        if principal.username is not None:
            resp = client.login(principal.username)
            assert resp.status_code == 302, principal.name
        token = client.csrf()
        for rule in all_rules:
            obj_args = object_args(app, rule)
            if only_objects and not obj_args:
                continue
            sides = list(plan[name]) if obj_args else ["A"]
            for side in sides:
                objs = objs_by_bundle[side]
                access = rule_of(app.view_functions[rule.endpoint])
                url = url_for_rule(app, rule, objs)
                targets = [objs[access.loads[a]] if a in access.loads else
                           _learn_target(a, objs) for a in obj_args]
                method, resp = _request(client, rule, url, token)
                resp.close()
                assert resp.status_code < 500, f"{name} {method} {url}: {resp.status_code}"
                want = judge.allow(principal, rule.endpoint, targets)
                got = not is_deny(resp)
                if rule.endpoint == "auth.logout":  # signed out: back to the login page
                    got = resp.status_code not in (401, 403, 404)
                elif want and rule.endpoint in oracle.EMPTY_FORM_404:
                    got = got or resp.status_code == 404
                if principal.name == "trainee" and access.kind == "own":
                    relation = "own" if side == "A" else "other user"
                elif targets:
                    relation = judge.relation(principal, targets[0].unit)
                else:
                    relation = "no object"
                cells[relation] += 1
                if record is not None:
                    record.append((name, side, relation, method, url, resp.status_code, got))
                covered.add(rule.endpoint)
                if want != got:
                    wrong.append(f"{principal.name:18} {relation:10} {method} {url} -> "
                                 f"{resp.status_code} (expected {'allow' if want else 'deny'})")
        if principal.username is not None and client.get("/auth/account").status_code == 200:
            client.logout()
    return cells, wrong, len(covered)


def fresh_world():  # noqa: ANN201
    from lms.extensions import db
    from tests.factories import build_world

    db.session.remove()
    db.drop_all()
    db.create_all()
    world = build_world()
    db.session.commit()
    return world


def _learn_target(arg: str, objs: dict):  # noqa: ANN202
    return {"course": objs[_model("Course")], "lesson": objs[_model("Lesson")],
            "file_no": objs[_model("Attachment")]}[arg]


@pytest.fixture
def uploads(app, tmp_path):  # noqa: ANN001, ANN201
    app.config["UPLOAD_DIR"] = str(tmp_path)
    return tmp_path


def test_every_route_has_an_oracle_area(app):
    endpoints = {r.endpoint for r in rules(app)}
    assert endpoints - set(oracle.AREAS) == set(), "classify new routes in tests/security/oracle.py"
    assert set(oracle.AREAS) - endpoints == set(), "stale endpoints in tests/security/oracle.py"


def test_authorization_matrix(app, client, world, uploads, capsys):
    started = time.monotonic()
    cells, wrong, covered = run_matrix(app, client, world, plan=None if FULL else CI_PLAN)
    total = sum(cells.values())
    with capsys.disabled():
        print(f"\nF1: {len(rules(app))} routes, {covered} covered, {total} cells {dict(cells)}, "
              f"{len(wrong)} unexpected, {time.monotonic() - started:.1f} s")
    assert wrong == [], "\n".join(wrong)
    assert covered == len(rules(app))
    assert total >= MIN_CELLS

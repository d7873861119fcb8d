"""No input produces a 500, and no list, search or export of county A shows county B.

Both walk ``app.url_map``: every GET route gets hostile query strings, every unsafe route gets
hostile form bodies, as an actor of county A who holds the route's permission.
"""

from __future__ import annotations

import re

import pytest

from lms.auth.access import rule_of, scope_for
from tests.arch.test_routes import _objects, _url

HOSTILE = [
    "", "-1", "0", "99999999999999999999999", "abc", "1e9", "<script>alert(1)</script>",
    "' OR 1=1 --", "%", "_", "\\", "\x00", "\u202e", "=cmd|'/c calc'!A1", "x" * 5000, "../../etc/passwd",
]
PARAMS = ["page", "q", "unit", "status", "post_type", "qualified", "level", "action", "role",
          "next", "short", "format", "from", "to", "actor"]
COUNTY_B_MARKERS = ["罗庄区", "罗庄街道", "前村村委会", "王五", "b_admin", "13800000002"]


def _actor(world, perm):
    if perm is None:
        return world.a_admin
    for user in (world.a_admin, world.a_hr, world.town_a_admin, world.auditor, world.security):
        if not scope_for(user, perm).is_empty:
            return user
    return None


def _routes(app, method):
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static" and method in rule.methods:
            yield rule, rule_of(app.view_functions[rule.endpoint])


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_query_strings_never_give_500(app, client, world, value):
    inside = _objects(world, "in")
    from lms.extensions import db

    db.session.commit()
    for rule, access in _routes(app, "GET"):
        actor = _actor(world, access.perm)
        if actor is None:
            continue
        client.login(actor.username)
        url = _url(rule, inside)
        resp = client.http.get(url, query_string={p: value for p in PARAMS})
        assert resp.status_code < 500, f"GET {url} with {value[:20]!r} gave {resp.status_code}"
        client.logout()


def test_hostile_form_bodies_never_give_500(app, client, world):
    inside = _objects(world, "in")
    from lms.extensions import db

    db.session.commit()
    for rule, access in _routes(app, "POST"):
        if rule.endpoint in ("auth.logout",):
            continue
        actor = _actor(world, access.perm)
        if actor is None:
            continue
        client.login(actor.username)
        url = _url(rule, inside)
        fields = re.findall(r'name="([a-z_]+)"', client.get(url).get_data(as_text=True)) \
            if "GET" in rule.methods else []
        for value in HOSTILE[::3]:
            data = {f: value for f in set(fields) | {"name", "org_unit", "role", "unit", "reason"}
                    if f != "csrf_token"}
            resp = client.post(url, data)
            assert resp.status_code < 500, f"POST {url} with {value[:20]!r} gave {resp.status_code}"
        client.logout()


def test_county_a_lists_and_searches_never_show_county_b(app, client, world):
    from lms.extensions import db

    probes = {"q": "罗庄", "unit": str(world.county_b.id), "action": "", "actor": "b_admin"}
    db.session.commit()
    for user in (world.a_admin, world.a_hr):
        client.login(user.username)
        for rule, access in _routes(app, "GET"):
            if access.loads or access.kind == "public":
                continue
            for query in ({}, probes, {"q": "王五"}, {"q": "b_admin"}, {"q": "13800000002"}):
                resp = client.http.get(rule.rule, query_string=query)
                body = resp.get_data(as_text=resp.mimetype.startswith("text/"))
                if isinstance(body, bytes):  # exports: look inside the XLSX
                    body = _xlsx_text(body) if body[:2] == b"PK" else ""
                body = re.sub(r'(value|href)="[^"]*"', "", body)  # the user's own input, echoed
                leaks = [m for m in COUNTY_B_MARKERS if m in body]
                assert not leaks, f"{user.username} GET {rule.rule}?{query} shows {leaks}"
        client.logout()


def _xlsx_text(data: bytes) -> str:
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True)
    return " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                    for c in row if c is not None)

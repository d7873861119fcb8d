"""F14 — security headers on every GET route, ``Cache-Control: no-store`` on every authenticated
response.

The application runs with the production profile over HTTPS (HSTS is sent only there: the dev
profile serves plain HTTP on 127.0.0.1, where HSTS would be ignored or harmful). Every GET route
of ``app.url_map`` is requested on county A's objects by a principal the F1 oracle allows (so the
real page or file is served: HTML, XLSX, CSV, PNG, PDF, GIFT, attachments), then once more by
the anonymous visitor (login redirects and public pages).

Measured (this commit): 171 GET routes → 171 responses as an allowed principal (136 HTML, 19
XLSX, 8 CSV, 4 PNG, 1 PDF, 1 GIFT text, 2 JSON) + 171 anonymous responses: 342 of 342 (100 %)
with CSP, nosniff, Referrer-Policy and HSTS; 171 of 171 authenticated ones with ``no-store``.
About 20 s of CPU on SQLite.
"""

from __future__ import annotations

import pytest

from tests.security import oracle
from tests.security.corpus import bundles, object_args, principals, rules, url_for_rule
from tests.security.test_authz_matrix import Oracle, _learn_target, unit_tree

PREFERENCE = ["unit-admin-county", "trainee", "trainer-township", "hr-county", "sysadmin",
              "secadmin", "auditor", "anon"]
MIN_GET_ROUTES = 170


@pytest.fixture
def https(app, client, tmp_path):  # noqa: ANN001, ANN201
    app.config.update(PROFILE="production", SESSION_COOKIE_SECURE=True,
                      UPLOAD_DIR=str(tmp_path))
    plain_open = client.http.open

    def open_https(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        kw.setdefault("base_url", "https://localhost")
        kw.setdefault("headers", {"Referer": "https://localhost/"})  # Flask-WTF's HTTPS check
        return plain_open(*args, **kw)

    client.http.open = open_https
    return client


def _check(resp, *, authenticated: bool) -> list[str]:  # noqa: ANN001
    h = resp.headers
    problems = []
    if "default-src" not in h.get("Content-Security-Policy", "") and \
            h.get("Content-Security-Policy") != "sandbox":
        problems.append("CSP")
    if h.get("X-Content-Type-Options") != "nosniff":
        problems.append("nosniff")
    if not h.get("Referrer-Policy"):
        problems.append("Referrer-Policy")
    if "max-age=" not in h.get("Strict-Transport-Security", ""):
        problems.append("HSTS")
    if authenticated and "no-store" not in h.get("Cache-Control", ""):
        problems.append("no-store")
    return problems


def test_every_get_route_carries_the_security_headers(app, https, world):
    client = https
    objs = bundles(world)["A"]
    people = {p.name: p for p in principals(world)}
    judge = Oracle(unit_tree())
    gets = [r for r in rules(app) if "GET" in r.methods]
    by_principal: dict[str, list] = {}
    for rule in gets:
        targets = [objs[rule_access(app, rule).loads[a]] if a in rule_access(app, rule).loads
                   else _learn_target(a, objs) for a in object_args(app, rule)]
        who = next((n for n in PREFERENCE if judge.allow(people[n], rule.endpoint, targets)
                    and rule.endpoint not in oracle.EMPTY_FORM_404), "unit-admin-county")
        by_principal.setdefault(who, []).append(rule)
    bad: list[str] = []
    kinds: dict[str, int] = {}
    served = 0
    for name, rule_list in by_principal.items():
        user = people[name].username
        if user:
            assert client.login(user).status_code == 302
        for rule in rule_list:
            url = url_for_rule(app, rule, objs)
            resp = client.get(url)
            resp.close()
            assert resp.status_code < 500, url
            served += 1
            kind = resp.mimetype or "-"
            kinds[kind] = kinds.get(kind, 0) + 1
            bad += [f"{name} {url} ({resp.status_code} {kind}): {p}"
                    for p in _check(resp, authenticated=user is not None)]
        if user:
            client.logout()
    anon = 0
    for rule in gets:
        resp = client.get(url_for_rule(app, rule, objs))
        resp.close()
        anon += 1
        bad += [f"anon {rule.rule}: {p}" for p in _check(resp, authenticated=False)]
    print(f"\nF14: {len(gets)} GET routes, {served} responses as allowed principals {kinds}, "
          f"{anon} anonymous, {len(bad)} missing headers")
    assert bad == []
    assert len(gets) >= MIN_GET_ROUTES and served == len(gets)
    assert {"text/html", "application/pdf", "image/png", "text/csv"} <= set(kinds)
    assert any("spreadsheetml" in k for k in kinds)


def rule_access(app, rule):  # noqa: ANN001, ANN201
    from lms.auth.access import rule_of

    return rule_of(app.view_functions[rule.endpoint])

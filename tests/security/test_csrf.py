"""F13 — CSRF: every state-changing rule refuses a missing and an invalid token.

Extends ``tests/arch/test_routes.py`` (missing token, city administrator only) to three token
variants — missing, garbage, and a well-formed token of another session — and to the principals
that can reach the rule (the F1 oracle on county A's objects, so the request would otherwise
pass the guard and reach the view), plus the anonymous visitor. CI sends each rule as one
reaching principal; ``LMS_FULL_CORPORA=1`` as every reaching principal.

Measured (this commit, CI): 126 unsafe rules, 100 % covered; 126 × 3 variants as a reaching
principal + 126 × 3 anonymously = 756 requests, 756 refused with 400 (100 %), nothing written.
Full (``LMS_FULL_CORPORA=1``): every reaching principal, 1,734 requests, 1,734 refused.
"""

from __future__ import annotations

from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.extensions import db
from tests.conftest import Client
from tests.security.corpus import FULL, UNSAFE, bundles, object_args, principals, rules
from tests.security.corpus import url_for_rule as concrete
from tests.security.test_authz_matrix import Oracle, _learn_target, unit_tree

MIN_RULES = 126


def _reaching(app, rule, objs, people, judge) -> list:  # noqa: ANN001
    from lms.auth.access import rule_of

    access = rule_of(app.view_functions[rule.endpoint])
    targets = [objs[access.loads[a]] if a in access.loads else _learn_target(a, objs)
               for a in object_args(app, rule)]
    return [p for p in people if p.username and judge.allow(p, rule.endpoint, targets)]


def test_every_unsafe_rule_refuses_missing_and_invalid_tokens(app, client, world, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    objs = bundles(world)["A"]
    people = principals(world)
    judge = Oracle(unit_tree())
    unsafe = [r for r in rules(app) if r.methods & UNSAFE]
    plan: dict[str, list] = {}
    for rule in unsafe:
        reach = _reaching(app, rule, objs, people, judge)
        for p in reach if FULL else reach[:1]:
            plan.setdefault(p.name, []).append(rule)
    other = Client(app)
    other.login("b_admin")
    foreign_token = other.csrf()  # well formed, signed with this key, bound to another session
    entries_before = db.session.scalar(select(func.count(AuditEntry.id)))
    bad: list[str] = []
    sent = 0
    reached = set()
    variants = {"missing": None, "garbage": "not-a-token", "other session": foreign_token}
    for name, rule_list in [*plan.items(), ("anon", unsafe)]:
        user = next((p.username for p in people if p.name == name), None)
        if user:
            assert client.login(user).status_code == 302
        for rule in rule_list:
            url = concrete(app, rule, objs)
            for variant, token in variants.items():
                data = {} if token is None else {"csrf_token": token}
                resp = client.post(url, data, csrf=False)
                resp.close()
                sent += 1
                if resp.status_code != 400:
                    bad.append(f"{name} {variant} POST {url} -> {resp.status_code}")
            if user:
                reached.add(rule.endpoint)
        if user:
            client.logout()
    # logins and logouts write audit entries; the refused POSTs none
    written = db.session.scalar(select(func.count(AuditEntry.id))) - entries_before
    logins = 2 * len(plan)
    print(f"\nF13: {len(unsafe)} unsafe rules, {len(reached)} sent by a reaching principal, "
          f"{sent} requests, {sent - len(bad)} refused")
    assert bad == []
    assert len(unsafe) >= MIN_RULES
    assert reached == {r.endpoint for r in unsafe}  # 100 % of the rules by a reaching principal
    assert written <= logins

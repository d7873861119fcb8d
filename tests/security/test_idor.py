"""F2 — IDOR probes: foreign ids on every object route, foreign rows in every list and export.

1. Every route that names an object (``*_id`` loaded through the scope, the owner, or a learner's
   course/lesson/file number) is requested with county B's objects (its policy: another city's)
   by the county-A trainer, HR officer and unit administrator, and with another user's objects
   by the trainee (GET, or POST with a valid token and an empty body): every answer must be
   401/403/404 (or the login page).
2. Every list and export route (GET without an object; HTML, CSV and XLSX — workbooks opened with
   openpyxl, every cell of every sheet) is requested by the county-A unit administrator and must
   contain none of county B's rows (its person, village, township, accounts), while county A's
   own rows do show up in the lists that hold them (so the check is not vacuous).

Measured (this commit): 155 object routes × 4 principals = 620 foreign-id probes, 620 refused
(0 leaks); 81 list and export responses (55 HTML, 13 XLSX, 8 CSV, 4 PNG, 1 JSON) with 0 foreign
rows; county A's rows seen in 36 of them. About 30 s of CPU on SQLite.
"""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.security.corpus import bundles, object_args, principals, rules, url_for_rule
from tests.security.test_authz_matrix import Oracle, fresh_world, run_matrix, unit_tree

#: County B's rows as they appear in pages and files (person, village, township, accounts).
FOREIGN = ("王五", "13800000002", "前村村委会", "罗庄街道", "sec_target_b", "b_someone")
#: County A's counterparts (the lists are not empty).
OWN = ("李四", "金雀山社区居委会", "兰山街道", "sec_target_a")
MIN_PROBES = 620


def test_foreign_ids_are_refused_on_every_object_route(app, client, world, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    record: list = []
    plan = {"trainee": "B", "trainer-county": "B", "hr-county": "B", "unit-admin-county": "B"}
    run_matrix(app, client, world, plan=plan, only_objects=True, record=record)
    leaks = [r for r in record if r[-1]]
    routes = {r[4].split("?")[0] for r in record}
    print(f"\nF2: {len(record)} foreign-id probes on {len(routes)} object URLs, "
          f"{len(leaks)} answered")
    assert leaks == [], "\n".join(map(str, leaks))
    assert len(record) >= MIN_PROBES


def _text(resp) -> tuple[str, str]:  # noqa: ANN001
    kind = resp.mimetype or ""
    body = resp.get_data()
    if "spreadsheetml" in kind:
        wb = load_workbook(io.BytesIO(body), read_only=True)
        cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                 for v in row if v is not None]
        return "xlsx", "\n".join(cells)
    if kind == "text/csv":
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = body.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        return "csv", "\n".join(",".join(r) for r in csv.reader(io.StringIO(text)))
    if kind.startswith("text/") or kind == "application/json":
        return kind.split("/")[-1], body.decode("utf-8", "replace")
    return kind, ""  # images, PDFs: no text rows to read


def test_lists_and_exports_hold_no_foreign_rows(app, client, world, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    world = fresh_world()
    objs = bundles(world)["A"]
    actor = next(p for p in principals(world) if p.name == "unit-admin-county")
    judge = Oracle(unit_tree())
    lists = [r for r in rules(app) if "GET" in r.methods and not object_args(app, r)
             and r.arguments <= {"name"} and judge.allow(actor, r.endpoint, [])]
    assert client.login(actor.username).status_code == 302
    kinds: dict[str, int] = {}
    leaks, with_own = [], 0
    for rule in lists:
        url = url_for_rule(app, rule, objs)
        resp = client.get(url)
        assert resp.status_code in (200, 302), f"{url}: {resp.status_code}"
        kind, text = _text(resp)
        resp.close()
        kinds[kind] = kinds.get(kind, 0) + 1
        leaks += [f"{url} ({kind}): {m}" for m in FOREIGN if m in text]
        with_own += any(m in text for m in OWN)
    print(f"\nF2: {len(lists)} list/export responses {kinds}, {len(leaks)} foreign rows, "
          f"own rows in {with_own}")
    assert leaks == []
    assert kinds.get("xlsx", 0) >= 10 and kinds.get("csv", 0) >= 5
    assert with_own >= 10

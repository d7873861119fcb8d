"""Scope and hostile input on every person and post route (security R16, R17, R29, R30)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.extensions import db
from lms.org import services
from lms.org.models import Person, Post, PostType, Qualification

#: Every person route: (method, path template, form data). ``{p}`` is a person id, ``{q}`` a
#: qualification id, ``{unit}`` a unit in the same county as the target.
PERSON_ROUTES = [
    ("GET", "/org/people/{p}", {}),
    ("GET", "/org/people/{p}/edit", {}),
    ("POST", "/org/people/{p}/edit", {"name": "改名", "phone": "13900000000"}),
    ("POST", "/org/people/{p}/reveal-id", {"reason": "核对"}),
    ("GET", "/org/people/{p}/qualifications/new", {}),
    ("POST", "/org/people/{p}/qualifications/new", {"level": "sw_senior"}),
    ("POST", "/org/people/{p}/qualifications/remove", {"qualification": "{q}"}),
    ("GET", "/org/people/{p}/posts/new", {}),
    ("POST", "/org/people/{p}/posts/new", {"unit": "{unit}", "post_type": "township_staff"}),
    ("GET", "/org/people/{p}/transfer", {}),
    ("POST", "/org/people/{p}/transfer", {"unit": "{unit}", "post_type": "township_staff"}),
]
POST_ROUTES = [
    ("GET", "/org/posts/{post}/status", {}),
    ("POST", "/org/posts/{post}/status", {"status": "removed", "reason": "x"}),
    ("POST", "/org/posts/{post}/acting", {"acting": "1"}),
]
VIEW_ROUTES = {"/org/people/{p}"}


def _fill(text: str, ids: dict[str, int]) -> str:
    for key, value in ids.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _ids(world, side: str) -> dict[str, int]:  # noqa: ANN001
    person = world.person_a if side == "a" else world.person_b
    town = world.town_a if side == "a" else world.town_b
    q = db.session.execute(select(Qualification.id).where(
        Qualification.person_id == person.id)).scalar()
    return {"p": person.id, "q": q, "unit": town.id, "post": person.posts[0].id}


def _snapshot() -> tuple:
    db.session.expire_all()
    people = db.session.execute(select(Person.id, Person.name, Person.phone, Person.org_unit_id)
                                .order_by(Person.id)).all()
    posts = db.session.execute(select(Post.id, Post.status, Post.is_acting, Post.org_unit_id)
                               .order_by(Post.id)).all()
    quals = db.session.execute(select(func.count(Qualification.id))).scalar()
    audits = db.session.execute(select(func.count(AuditEntry.id))).scalar()
    return people, posts, quals, audits


@pytest.fixture
def seeded(world):  # noqa: ANN001, ANN201
    for person in (world.person_a, world.person_b):
        db.session.add(Qualification(person_id=person.id, level="sw_junior"))
    services.set_id_number(world.person_b, "11010519491231002X")
    db.session.commit()
    return world


def _table(resp) -> str:  # noqa: ANN001
    """The rows of a list page (the query itself is echoed in the search box and footer)."""
    page = resp.get_data(as_text=True)
    start = page.find("<tbody>")
    return page[start:page.find("</tbody>")] if start >= 0 else ""


def _send(client, method: str, url: str, data: dict):  # noqa: ANN001, ANN202
    return client.get(url) if method == "GET" else client.post(url, data)


@pytest.mark.parametrize("actor", ["a_admin", "town_a_admin"])
def test_county_a_managers_get_404_for_every_county_b_route(client, seeded, actor):
    ids = _ids(seeded, "b")
    client.login(actor)
    before = _snapshot()
    for method, path, data in PERSON_ROUTES + POST_ROUTES:
        url = _fill(path, ids)
        resp = _send(client, method, url, {k: _fill(v, ids) for k, v in data.items()})
        assert resp.status_code == 404, f"{actor} {method} {url}: {resp.status_code}"
    assert _snapshot() == before


def test_county_a_hr_sees_nothing_of_county_b_and_cannot_manage_anywhere(client, seeded):
    client.login("a_hr")
    b, a = _ids(seeded, "b"), _ids(seeded, "a")
    before = _snapshot()
    for method, path, data in PERSON_ROUTES + POST_ROUTES:
        expected_b = 404 if path in VIEW_ROUTES else 403
        resp = _send(client, method, _fill(path, b), {k: _fill(v, b) for k, v in data.items()})
        assert resp.status_code == expected_b, f"{method} {path}: {resp.status_code}"
        if path not in VIEW_ROUTES:  # no management right at all: the same answer in county A
            resp = _send(client, method, _fill(path, a), {k: _fill(v, a) for k, v in data.items()})
            assert resp.status_code == 403
    assert _snapshot() == before
    assert client.get(_fill("/org/people/{p}", a)).status_code == 200


def test_in_scope_routes_answer(client, seeded):
    ids = _ids(seeded, "a")
    client.login("a_admin")
    for method, path, _data in PERSON_ROUTES + POST_ROUTES:
        if method == "GET":
            assert client.get(_fill(path, ids)).status_code == 200, path


def test_a_post_left_behind_in_county_a_is_hidden_once_the_person_moved_to_b(client, world):
    old = world.person_a.posts[0]
    services.transfer_person(world.person_a, world.village_b, PostType.VILLAGE_ASSISTANT,
                             actor=world.city_admin, now=utcnow())
    db.session.commit()
    client.login("a_admin")
    assert client.get(f"/org/posts/{old.id}/status").status_code == 404
    assert client.get(f"/org/people/{world.person_a.id}").status_code == 404
    client.logout()
    client.login("b_admin")
    assert client.get(f"/org/people/{world.person_a.id}").status_code == 200


@pytest.mark.parametrize("actor", ["a_admin", "a_hr", "town_a_admin"])
@pytest.mark.parametrize("query", ["", "q=王五", "q=13800000002", "q=王", "status=in_post",
                                   "post_type=village_assistant", "qualified=sw_junior"])
def test_lists_and_exports_never_show_county_b(client, seeded, actor, query):
    client.login(actor)
    resp = client.get("/org/people?" + query)
    rows = _table(resp)
    assert "王五" not in rows and "13800000002" not in rows and "罗庄" not in rows
    if not query.startswith("q="):  # the same filter still finds county A's person
        assert "李四" in rows
    resp = client.get("/org/people/export.xlsx?" + query)
    assert resp.status_code == 200
    cells = repr(list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True)))
    assert "王五" not in cells and "罗庄" not in cells


@pytest.mark.parametrize("actor", ["a_admin", "a_hr"])
@pytest.mark.parametrize("target", ["county_b", "town_b", "village_b"])
def test_unit_filter_pointing_at_county_b_does_not_widen_the_scope(client, seeded, actor, target):
    client.login(actor)
    unit_id = getattr(seeded, target).id
    for url in (f"/org/people?unit={unit_id}", f"/org/people/export.xlsx?unit={unit_id}",
                f"/org/people?unit={unit_id}&q=王五"):
        resp = client.get(url)
        assert resp.status_code == 404
        assert _table(resp) == ""


def test_forms_offer_only_units_in_scope(client, seeded):
    client.login("a_admin")
    for url in ("/org/people/new", f"/org/people/{seeded.person_a.id}/posts/new",
                f"/org/people/{seeded.person_a.id}/transfer", "/org/people"):
        page = client.get(url).get_data(as_text=True)
        assert "兰山街道" in page and "罗庄" not in page and "前村" not in page
    assert client.get(f"/org/people/new?unit={seeded.village_b.id}").status_code == 404


def test_city_user_sees_both_counties(client, seeded):
    client.login("city_admin")
    page = client.get("/org/people").get_data(as_text=True)
    assert "李四" in page and "王五" in page and "共 2 条" in page
    rows = list(load_workbook(io.BytesIO(client.get("/org/people/export.xlsx").data))
                .active.iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {"李四", "王五"}
    assert "11010519491231002X" not in repr(rows)
    for person in (seeded.person_a, seeded.person_b):
        assert client.get(f"/org/people/{person.id}").status_code == 200


@pytest.mark.parametrize("url", ["/org/people", "/org/people/export.xlsx", "/org/people/new"])
def test_trainee_gets_403_on_the_people_pages(client, seeded, url):
    client.login("13800000001")
    assert client.get(url).status_code == 403
    assert client.get(f"/org/people/{seeded.person_a.id}").status_code == 403


def test_anonymous_is_sent_to_login(client, seeded):
    resp = client.get("/org/people")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert client.get("/org/people/export.xlsx").status_code == 302


@pytest.mark.parametrize("path", [
    "/org/people/abc", "/org/people/-1", "/org/people/0", "/org/people/99999999999999999999",
    "/org/people/2147483648", "/org/people/1.5", "/org/posts/99999999999999999999/status",
    "/org/posts/abc/status", "/org/people/%00", "/org/people/1%0a",
])
def test_non_numeric_and_huge_ids_are_404(client, seeded, path):
    client.login("city_admin")
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("data", [
    {"unit": "abc", "post_type": "township_staff"},
    {"unit": "99999999999999999999", "post_type": "township_staff"},
    {"unit": "-1", "post_type": "township_staff"},
    {"unit": "{unit}", "post_type": "mayor"},
    {"unit": "{unit}", "post_type": "township_staff\x00"},
    {"unit": "{unit}"},
])
def test_post_forms_refuse_bad_ids_and_enums(client, seeded, data):
    ids = _ids(seeded, "a")
    client.login("a_admin")
    before = _snapshot()
    for path in ("/org/people/{p}/posts/new", "/org/people/{p}/transfer"):
        resp = client.post(_fill(path, ids), {k: _fill(v, ids) for k, v in data.items()})
        if any("\x00" in v for v in data.values()):  # NUL: refused before any view runs
            assert resp.status_code == 400
            continue
        assert resp.status_code == 200
        assert 'class="error"' in resp.get_data(as_text=True)
    assert _snapshot() == before


@pytest.mark.parametrize("data", [
    {"status": "in_post\x00"}, {"status": "x" * 10_000}, {"status": ""},
    {"status": "removed", "reason": "r" * 201}, {"status": "removed", "reason": "a\x1b"},
])
def test_status_form_refuses_bad_values(client, seeded, data):
    client.login("a_admin")
    before = _snapshot()
    resp = client.post(f"/org/posts/{seeded.person_a.posts[0].id}/status", data)
    if any("\x00" in v for v in data.values()):  # NUL: refused before any view runs
        assert resp.status_code == 400
    else:
        assert resp.status_code == 200 and 'class="error"' in resp.get_data(as_text=True)
    assert _snapshot() == before


@pytest.mark.parametrize("data", [
    {"reason": "x" * 10_000}, {"reason": "\x00"}, {"reason": ""}, {},
])
def test_reveal_refuses_bad_reasons(client, world, data):
    services.set_id_number(world.person_a, "11010519491231002X")
    db.session.commit()
    client.login("a_admin")
    before = _snapshot()
    resp = client.post(f"/org/people/{world.person_a.id}/reveal-id", data)
    assert resp.status_code == (400 if "\x00" in data.get("reason", "") else 200)
    assert "11010519491231002X" not in resp.get_data(as_text=True)
    assert _snapshot() == before


def test_remove_qualification_with_hostile_ids_changes_nothing(client, seeded):
    client.login("a_admin")
    before = _snapshot()
    for value in ("abc", "-1", "99999999999999999999", "", "1 OR 1=1"):
        resp = client.post(f"/org/people/{seeded.person_a.id}/qualifications/remove",
                           {"qualification": value})
        assert resp.status_code == 302
    assert _snapshot() == before

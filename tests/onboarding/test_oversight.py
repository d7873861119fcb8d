"""Oversight pages (issue 5 §7): every count equals the rows of its list and rolls up
township → county → city; scope; acting posts shown as acting; fixed query budgets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from lms.auth.access import scope_for
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.extensions import db
from lms.onboarding import oversight
from lms.onboarding.models import Consultation, Filing, OnboardingRecord
from lms.org.models import OrgUnit, Post, PostStatus, PostType
from lms.training.completion import local_date
from lms.training.coverage import Cutoffs
from tests.factories import make_person, make_unit
from tests.onboarding.factories import nominee, onboarding_program
from tests.querycount import count_queries
from tests.training.test_coverage import complete

DIRECTOR = PostType.OFFICE_DIRECTOR.value
STAFF = PostType.TOWNSHIP_STAFF.value
VA = PostType.VILLAGE_ASSISTANT.value


def today() -> date:
    return local_date(utcnow())


def filters(**kw) -> oversight.Filters:
    day = today()
    return oversight.Filters(day, Cutoffs.of(day, 3), **kw)


@dataclass
class Data:
    town_a2: OrgUnit
    village_a2: OrgUnit
    village_a3: OrgUnit
    village_b2: OrgUnit
    acting_name: str
    waiting_post: Post


def consult(post: Post, town: OrgUnit, county: OrgUnit, due: date,
            status: str = "submitted") -> Consultation:
    row = Consultation(post_id=post.id, person_id=post.person_id, org_unit_id=town.id,
                       county_unit_id=county.id, status=status, reason="人选", due_on=due)
    db.session.add(row)
    return row


def file(post: Post, county: OrgUnit, due: date, status: str = "submitted",
         note: str = "") -> Filing:
    row = Filing(post_id=post.id, person_id=post.person_id, org_unit_id=post.org_unit_id,
                 county_unit_id=county.id, status=status, details={}, due_on=due, note=note)
    db.session.add(row)
    return row


def assistant(village: OrgUnit, name: str, **post_fields) -> Post:
    person = make_person(village, name, post_type=VA)
    post = person.posts[0]
    for k, v in post_fields.items():
        setattr(post, k, v)
    db.session.flush()
    return post


def build(world) -> Data:
    """Rows of every list in two townships of county A (and at town A itself) and in county B."""
    day = today()
    yesterday, tomorrow = day - timedelta(days=1), day + timedelta(days=1)
    ca, cb, ta, tb = world.county_a, world.county_b, world.town_a, world.town_b
    town_a2 = make_unit("371302002", "金雀山街道", "township", ca)
    village_a2 = make_unit("371302001002", "银雀山社区居委会", "village", ta)
    village_a3 = make_unit("371302002001", "东关村委会", "village", town_a2)
    make_unit("371302002002", "西关村委会", "village", town_a2)
    village_b2 = make_unit("371311001002", "后村村委会", "village", tb)

    # pending: a director at town A (its own row), an assistant in a village of town A with
    # its program, township staff in town A2, an assistant in county B
    _p, director = nominee(ta, "赵主任", DIRECTOR)
    program = onboarding_program(ta, VA)
    _p, waiting = nominee(village_a2, "钱候补", VA)
    waiting.status = PostStatus.PENDING_ONBOARDING.value
    waiting.status_changed_at = utcnow() - timedelta(days=5)
    db.session.add(OnboardingRecord(post_id=waiting.id, person_id=waiting.person_id,
                                    org_unit_id=village_a2.id, program_id=program.id))
    nominee(town_a2, "孙干事", STAFF)
    nominee(village_b2, "周候补", VA)

    # acting: an acting holder in village A2 (does not fill the vacancy) and an acting nominee
    # in town A2 (also in the pending list)
    assistant(village_a2, "吴代理", is_acting=True, is_legacy=False)
    _p, acting_nominee = nominee(town_a2, "郑代理", DIRECTOR)
    acting_nominee.is_acting = True
    # vacancies: village A2 (acting only, last assistant left 10 days ago), A4 (never held),
    # B2 (acting only); village A, A3 and B keep an assistant in post
    assistant(village_a2, "冯离任", status=PostStatus.REMOVED.value,
              ended_on=day - timedelta(days=10))

    # consultations: overdue at town A and A2 (one asking for more) and county B; not yet due,
    # and answered ones are not listed
    consult(director, ta, ca, yesterday)
    consult(acting_nominee, town_a2, ca, day - timedelta(days=3), "info_requested")
    _p, d2 = nominee(ta, "陈候选", DIRECTOR)
    consult(d2, ta, ca, tomorrow)
    _p, d3 = nominee(tb, "褚候选", DIRECTOR)
    consult(d3, tb, cb, yesterday)
    _p, d4 = nominee(town_a2, "卫候选", DIRECTOR)
    consult(d4, town_a2, ca, yesterday, "concurred")

    # filings: overdue in village A, returned in village A3, acknowledged / not yet due (not
    # listed), returned in county B
    file(world.person_a.posts[0], ca, yesterday)
    file(assistant(village_a3, "蒋退回", is_legacy=False), ca, tomorrow, "returned", "身份证号有误")
    file(assistant(village_a3, "沈已收", is_legacy=False), ca, yesterday, "acknowledged")
    file(assistant(village_a3, "韩未到期", is_legacy=False), ca, tomorrow)
    file(world.person_b.posts[0], cb, tomorrow, "returned")

    # legacy: person A and B (from build_world), one with a recent completion; a legacy post
    # with an onboarding record is not listed
    complete(world.person_a, VA, day - timedelta(days=100))
    kept = assistant(village_a3, "杨有记录")
    db.session.add(OnboardingRecord(post_id=kept.id, person_id=kept.person_id,
                                    org_unit_id=village_a3.id))
    assistant(village_b2, "朱代理", is_acting=True)  # legacy and acting: B2 stays vacant
    db.session.commit()
    return Data(town_a2, village_a2, village_a3, village_b2, "吴代理", waiting)


@pytest.fixture
def data(world) -> Data:
    return build(world)


def rows_of(name: str, scope, unit) -> list:
    return list(db.session.execute(oversight.BUILDERS[name](scope, unit, filters())).all())


def test_every_count_equals_its_list_and_rolls_up(app, world, data):
    scope = scope_for(world.city_admin, Perm.ONBOARDING_VIEW)
    f = filters()
    city = oversight.hub(world.city, scope, f)
    county_a = oversight.hub(world.county_a, scope, f)
    county_b = oversight.hub(world.county_b, scope, f)
    town_a = oversight.hub(world.town_a, scope, f)
    for name in oversight.LIST_NAMES:
        for unit, report in ((world.city, city), (world.county_a, county_a),
                             (world.county_b, county_b), (world.town_a, town_a)):
            rows = rows_of(name, scope, unit)
            assert report.total[name] == len(rows), (name, unit.name)
            total, page = oversight.list_page(name, scope, unit, f, page=1, size=500)
            assert total == len(page) == len(rows)
        # township → county → city: a unit is the sum of its children plus its own rows
        assert city.total[name] == county_a.total[name] + county_b.total[name], name
        assert dict((u.id, c[name]) for u, c in city.rows) == {
            world.county_a.id: county_a.total[name], world.county_b.id: county_b.total[name]}
        by_child = {u.id: c[name] for u, c in county_a.rows}
        assert by_child[world.town_a.id] == town_a.total[name]
        assert county_a.total[name] == sum(by_child.values()) + (
            county_a.own[name] if county_a.own else 0)
        own = town_a.own[name] if town_a.own else 0
        assert town_a.total[name] == sum(c[name] for _u, c in town_a.rows) + own
    # the numbers themselves
    assert {n: town_a.total[n] for n in oversight.LIST_NAMES} == {
        "pending": 3, "acting": 1, "overdue-consultations": 1, "filings-attention": 1,
        "vacancies": 1, "legacy": 1}
    assert {n: county_a.total[n] for n in oversight.LIST_NAMES} == {
        "pending": 6, "acting": 2, "overdue-consultations": 2, "filings-attention": 2,
        "vacancies": 2, "legacy": 1}
    assert {n: county_b.total[n] for n in oversight.LIST_NAMES} == {
        "pending": 2, "acting": 1, "overdue-consultations": 1, "filings-attention": 1,
        "vacancies": 1, "legacy": 2}
    assert town_a.own == {"pending": 2, "acting": 0, "overdue-consultations": 1,
                          "filings-attention": 0, "vacancies": 0, "legacy": 0}


def _body_rows(html: str) -> int:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return 0 if body is None else body.group(1).count("<tr>")


def _body(resp) -> str:
    assert resp.status_code == 200
    found = re.search(r"<tbody>(.*?)</tbody>", resp.get_data(as_text=True), re.S)
    return found.group(1) if found else ""


def _card(html: str, title: str) -> int:
    found = re.search(r'<span class="n">([\d,]+)</span>' + re.escape(title), html)
    assert found, title
    return int(found.group(1).replace(",", ""))


def test_pages_show_the_same_numbers(app, client, world, data):
    client.login("city_admin")
    for unit in (world.city, world.county_a, world.town_a):
        hub = client.get(f"/onboarding/?unit={unit.id}")
        assert hub.status_code == 200
        html = hub.get_data(as_text=True)
        for name in oversight.LIST_NAMES:
            shown = _card(html, str(oversight.TITLES[name]))
            page = client.get(f"/onboarding/{name}?unit={unit.id}")
            assert page.status_code == 200, name
            assert _body_rows(page.get_data(as_text=True)) == shown, (name, unit.name)
            assert f"共 {shown} 条" in page.get_data(as_text=True)
    # the roll-up table links each count to the list filtered to the child
    html = client.get(f"/onboarding/?unit={world.city.id}").get_data(as_text=True)
    assert f"/onboarding/pending?unit={world.county_a.id}" in html
    assert world.county_b.name in html


def test_filters_narrow_the_list(app, client, world, data):
    client.login("a_admin")
    html = client.get("/onboarding/pending?post_type=office_director").get_data(as_text=True)
    assert "赵主任" in html and "钱候补" not in html
    html = client.get("/onboarding/pending?status=pending_onboarding").get_data(as_text=True)
    assert "钱候补" in html and "赵主任" not in html
    html = client.get("/onboarding/pending?q=钱").get_data(as_text=True)
    assert _body_rows(html) == 1
    # an unknown filter value is flagged and ignored, never a 500
    resp = client.get("/onboarding/legacy?status=bogus&post_type=x&page=abc")
    assert resp.status_code == 200
    assert "请从列表中选择" in resp.get_data(as_text=True)


def test_pending_shows_days_waiting_and_program(app, client, world, data):
    client.login("a_admin")
    html = client.get("/onboarding/pending?q=钱候补").get_data(as_text=True)
    row = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    assert '<td class="num">5</td>' in row
    assert "兰山街道岗前培训班" in row
    assert "兰山区 › 兰山街道 › 银雀山社区居委会" in row


def test_legacy_shows_rotation_status(app, client, world, data):
    client.login("city_admin")
    html = _body(client.get(f"/onboarding/legacy?unit={world.city.id}"))
    assert re.search(r"李四.*周期内", html, re.S)  # a completion 100 days ago
    assert re.search(r"王五.*从未培训", html, re.S)
    assert re.search(r"朱代理.*代理，不计轮训", html, re.S)
    assert "杨有记录" not in html  # has an onboarding record
    html = client.get("/onboarding/legacy?status=never_trained").get_data(as_text=True)
    assert "王五" in html and "李四" not in html


def test_county_b_cannot_see_county_a(app, client, world, data):
    client.login("b_admin")
    for url in (f"/onboarding/?unit={world.county_a.id}",
                f"/onboarding/pending?unit={world.town_a.id}",
                f"/onboarding/vacancies?unit={data.village_a2.id}",
                f"/onboarding/?unit={world.city.id}"):
        assert client.get(url).status_code == 404, url
    html = client.get("/onboarding/pending").get_data(as_text=True)
    assert "周候补" in html and "钱候补" not in html and "赵主任" not in html
    html = client.get("/onboarding/").get_data(as_text=True)
    assert world.county_a.name not in html
    # a trainee (no oversight permission) is refused
    client.logout()
    client.login(world.trainee.username)
    assert client.get("/onboarding/").status_code == 403


def test_acting_posts_appear_as_acting(app, client, world, data):
    client.login("a_admin")
    html = client.get("/onboarding/acting").get_data(as_text=True)
    assert "吴代理" in html and "郑代理" in html and "代理</span>" in html
    # the acting nominee is pending too, marked acting
    html = client.get("/onboarding/pending?q=郑代理").get_data(as_text=True)
    assert "郑代理" in html and "代理</span>" in html
    # an acting holder does not fill a vacancy; it is shown as the acting holder
    html = client.get("/onboarding/vacancies").get_data(as_text=True)
    assert "银雀山社区居委会" in html and "吴代理" in html
    assert '<td class="num">10</td>' in html  # vacant since the last assistant left
    assert "金雀山社区居委会" not in html  # village A has its assistant in post


def _make_rows(world, start: int, n: int) -> None:
    """*n* more rows in each list, all in town A."""
    day = today()
    for i in range(start, start + n):
        village = make_unit(f"3713020019{i:02d}", f"测试{i}村委会", "village", world.town_a)
        _p, post = nominee(village, f"候补{i}", VA)  # pending, acting, and a vacancy
        post.is_acting = True
        _p, director = nominee(world.town_a, f"主任{i}", DIRECTOR)
        consult(director, world.town_a, world.county_a, day - timedelta(days=1))
        legacy = make_person(world.town_a, f"老员{i}", post_type=STAFF)
        file(legacy.posts[0], world.county_a, day - timedelta(days=1))
    db.session.commit()


@pytest.mark.parametrize("url", ["/onboarding/", "/onboarding/pending", "/onboarding/acting",
                                 "/onboarding/vacancies", "/onboarding/legacy",
                                 "/onboarding/overdue-consultations",
                                 "/onboarding/filings-attention"])
def test_query_count_does_not_grow_with_rows(app, client, world, url):
    client.login("a_admin")
    _make_rows(world, 0, 1)
    client.get(url)
    with count_queries() as one:
        assert client.get(url).status_code == 200
    _make_rows(world, 1, 9)
    client.get(url)  # the same warm session as for the first count
    with count_queries() as ten:
        resp = client.get(url)
    assert resp.status_code == 200
    if url != "/onboarding/":
        assert _body_rows(resp.get_data(as_text=True)) >= 10
    assert ten.count == one.count, (one.statements, ten.statements)


def test_whole_scope_and_a_village(app, client, world, data):
    """A user over two counties sees both as rows of the whole scope; a village has no rows."""
    from lms.auth.models import RoleAssignment

    db.session.add(RoleAssignment(user_id=world.a_hr.id, role="hr", org_unit_id=world.county_b.id))
    db.session.commit()
    scope = scope_for(world.a_hr, Perm.ONBOARDING_VIEW)
    report = oversight.hub(None, scope, filters())
    city = oversight.hub(world.city, scope_for(world.city_admin, Perm.ONBOARDING_VIEW), filters())
    assert [u.id for u, _c in report.rows] == [world.county_a.id, world.county_b.id]
    assert report.total == city.total
    client.login("a_hr")
    html = client.get("/onboarding/").get_data(as_text=True)
    assert world.county_a.name in html and world.county_b.name in html
    resp = client.get(f"/onboarding/?unit={data.village_a2.id}")
    assert resp.status_code == 200
    assert _card(resp.get_data(as_text=True), str(oversight.TITLES["vacancies"])) == 1
    assert client.get("/onboarding/?unit=99999999999").status_code == 200  # not an id: ignored
    assert client.get("/onboarding/?unit=999999").status_code == 404

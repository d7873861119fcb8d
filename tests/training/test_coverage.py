"""Rotation coverage: roll-up over the tree, status boundaries, transfers, scope, query budget."""

from __future__ import annotations

import io
import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from lms.auth.access import scope_for
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.extensions import db
from lms.org import services
from lms.org.export import TZ
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType
from lms.training import coverage
from lms.training.coverage import Cutoffs, Tally, latest_start
from lms.training.models import Completion, Program
from lms.training.rules import Rotation, rotation_due_on, rotation_status
from tests.factories import make_person, make_unit
from tests.querycount import count_queries

VA, TS, OD = (PostType.VILLAGE_ASSISTANT.value, PostType.TOWNSHIP_STAFF.value,
              PostType.OFFICE_DIRECTOR.value)
TIER_OF = {OD: "city", TS: "county", VA: "township"}
_serial = itertools.count(1)


def today() -> date:
    return utcnow().astimezone(TZ).date()


def complete(person: Person, post_type: str, on: date, *, kind: str = "rotation",
             unit: OrgUnit | None = None, hours: str = "16", score: str | None = "88.5",
             title: str | None = None) -> Completion:
    """A completion of a new program (test data straight into the models)."""
    n = next(_serial)
    program = Program(org_unit_id=unit.id if unit else person.org_unit_id,
                      title=title or f"轮训班{n}", kind=kind, audience_post_type=post_type,
                      mode="online", credit_hours=Decimal(hours), status="closed")
    db.session.add(program)
    db.session.flush()
    done = Completion(person_id=person.id, program_id=program.id,
                      org_unit_id=person.org_unit_id, tier=TIER_OF[post_type], kind=kind,
                      post_type=post_type, completed_on=on, credit_hours=Decimal(hours),
                      exam_score=Decimal(score) if score else None,
                      serial_no=f"3713-{on.year}-{n:06d}", verify_code=f"V{n:09d}")
    db.session.add(done)
    db.session.flush()
    return done


def years_ago(years: int, days: int = 0, base: date | None = None) -> date:
    base = base or today()
    return base.replace(year=base.year - years, day=min(base.day, 28)) + timedelta(days=days)


def counts(tally: Tally) -> tuple[int, int, int, int]:
    return (tally.current, tally.due, tally.overdue, tally.never_trained)


@pytest.fixture
def tree(world):
    """County A: two townships (with a village each); county B: one township and village.
    Directors and staff at townships, assistants at villages, in every rotation state."""
    w = world
    ta2 = make_unit("371302002", "东关街道", "township", w.county_a, 90_000)
    va2 = make_unit("371302002001", "东关社区居委会", "village", ta2)
    people = {
        # town A: a current director, an overdue staff member, a never-trained staff member
        "dir_a": (w.town_a, OD, years_ago(1)), "staff_a": (w.town_a, TS, years_ago(4)),
        "staff_a2": (w.town_a, TS, None),
        # town A2 and its village: a due director, a current assistant, an overdue assistant
        "dir_a2": (ta2, OD, years_ago(2, -10)), "va_a2": (va2, VA, years_ago(0, -30)),
        "va_a2b": (va2, VA, years_ago(5)),
        # county B: a current staff member and a due assistant
        "staff_b": (w.town_b, TS, years_ago(1)), "va_b": (w.village_b, VA, years_ago(2, -1)),
    }
    made = {}
    for name, (unit, post_type, last) in people.items():
        made[name] = make_person(unit, name, post_type=post_type)
        if last is not None:
            complete(made[name], post_type, last)
    complete(w.person_a, VA, years_ago(1))  # 李四 in village A: current
    db.session.commit()
    return {"w": w, "ta2": ta2, "va2": va2, **made}


def _report(unit, user):
    cut = Cutoffs.of(today(), 3)
    return coverage.report(unit, scope=scope_for(user, Perm.TRAINING_VIEW), cut=cut)


def _sum(rows):
    total = coverage.UnitTally()
    for _unit, tally in rows:
        total.add(tally)
    return total


def test_county_numbers_are_the_sum_over_its_townships(tree):
    w = tree["w"]
    rep = _report(w.county_a, w.city_admin)
    assert [u.name for u, _t in rep.rows] == ["兰山街道", "东关街道"]
    assert rep.own is None
    summed = _sum(rep.rows)
    for p in coverage.POST_TYPES:
        assert counts(rep.total.by_type[p]) == counts(summed.by_type[p])
    assert counts(rep.total.by_type[OD]) == (1, 1, 0, 0)
    assert counts(rep.total.by_type[TS]) == (0, 0, 1, 1)
    assert counts(rep.total.by_type[VA]) == (2, 0, 1, 0)
    assert rep.total.total().in_post == 7
    assert rep.total.total().coverage == Decimal("57.1")


def test_city_numbers_are_the_sum_over_its_counties(tree):
    w = tree["w"]
    rep = _report(w.city, w.city_admin)
    assert [u.name for u, _t in rep.rows] == ["兰山区", "罗庄区"]
    summed = _sum(rep.rows)
    for p in coverage.POST_TYPES:
        assert counts(rep.total.by_type[p]) == counts(summed.by_type[p])
    assert rep.total.total().in_post == 10
    assert counts(rep.total.total()) == (4, 2, 2, 2)
    b = dict((u.name, t) for u, t in rep.rows)["罗庄区"].total()
    assert counts(b) == (1, 1, 0, 1)


def test_a_township_shows_its_own_posts_beside_its_villages(tree):
    w = tree["w"]
    rep = _report(w.town_a, w.city_admin)
    assert [u.name for u, _t in rep.rows] == ["金雀山社区居委会"]
    assert rep.own is not None
    assert counts(rep.own.total()) == (1, 0, 1, 1)
    assert counts(rep.total.total()) == counts(_sum(rep.rows).add(rep.own).total())


def test_only_in_post_non_acting_people_with_tier_appropriate_completions_count(world):
    w = world
    acting = make_person(w.town_a, "代理", post_type=TS)
    acting.posts[0].is_acting = True
    make_person(w.town_a, "待培训", post_type=TS, status=PostStatus.PENDING_ONBOARDING.value)
    wrong_tier = make_person(w.town_a, "换岗", post_type=OD)
    complete(wrong_tier, TS, years_ago(1))  # a staff rotation does not cover a director post
    in_service = make_person(w.town_a, "在岗培训", post_type=TS)
    complete(in_service, TS, years_ago(1), kind="in_service")
    onboarded = make_person(w.town_a, "新上岗", post_type=TS)
    complete(onboarded, TS, years_ago(0, -5), kind="onboarding")
    db.session.commit()
    rep = _report(w.town_a, w.city_admin)
    assert counts(rep.own.by_type[OD]) == (0, 0, 0, 1)
    assert counts(rep.own.by_type[TS]) == (1, 0, 0, 1)


@pytest.mark.parametrize("years", [2, 3])
@pytest.mark.parametrize("day", [date(2026, 6, 1), date(2027, 2, 28), date(2028, 2, 29),
                                 date(2028, 3, 1), date(2029, 1, 1)])
def test_latest_start_matches_the_rule(years, day):
    cut = latest_start(day, years)
    assert rotation_due_on(cut, years) <= day < rotation_due_on(cut + timedelta(days=1), years)


@pytest.mark.parametrize("years", [2, 3])
def test_sql_status_equals_the_rule_at_every_boundary(world, years):
    w = world
    day = date(2027, 2, 28)  # 2024-02-29 lies years=3 back: the leap day edge
    cut = Cutoffs.of(day, years)
    lasts = sorted({years_ago(years, d, day) for d in range(-3, 4)}
                   | {years_ago(years - 1, d, day) for d in range(-3, 4)}
                   | {date(2024, 2, 29), date(2024, 2, 28), date(2024, 3, 1), date(2025, 2, 28),
                      day, day + timedelta(days=3)})
    expected = {}
    for i, last in enumerate(lasts):
        person = make_person(w.town_a, f"边界{i}", post_type=TS)
        complete(person, TS, last)
        expected[person.id] = rotation_status(last, day, years).value
    db.session.commit()
    rows = db.session.execute(coverage.people_select(
        w.town_a, None, scope=scope_for(w.city_admin, Perm.TRAINING_VIEW), cut=cut,
        post_type=TS)).all()
    got = {r.person_id: r.status for r in coverage.as_rows(rows, cut)}
    assert got == expected
    assert set(got.values()) == {"current", "due", "overdue"}


def test_due_and_overdue_boundaries_by_day(world):
    w = world
    day = date(2026, 6, 1)
    cases = {date(2023, 6, 1): Rotation.OVERDUE, date(2023, 6, 2): Rotation.DUE,
             date(2024, 6, 1): Rotation.DUE, date(2024, 6, 2): Rotation.CURRENT}
    people = {}
    for last, _status in cases.items():
        people[last] = make_person(w.village_a, f"助理{last}", post_type=VA)
        complete(people[last], VA, last)
    db.session.commit()
    for person in people.values():
        rows = coverage.person_rotation(person.id, cut=Cutoffs.of(day, 3))
        last = rows[0].last_on
        assert rows[0].status == cases[last].value
        assert rows[0].due_on == rotation_due_on(last, 3)


def test_a_transfer_does_not_reset_rotation(world):
    w = world
    done = complete(w.person_a, VA, years_ago(1))
    db.session.commit()
    services.transfer_person(w.person_a, w.village_b, PostType.VILLAGE_ASSISTANT, actor=None,
                             now=utcnow(), reason="调动")
    new_post = db.session.query(Post).filter_by(person_id=w.person_a.id,
                                                org_unit_id=w.village_b.id).one()
    new_post.status = PostStatus.IN_POST.value
    db.session.commit()
    assert done.org_unit_id == w.village_a.id  # the record keeps its unit
    city = _report(w.city, w.city_admin)
    by = {u.name: t.total() for u, t in city.rows}
    assert counts(by["兰山区"]) == (0, 0, 0, 0)
    assert counts(by["罗庄区"]) == (1, 0, 0, 1)  # 李四 current in B, 王五 never trained
    rows = coverage.person_rotation(w.person_a.id, cut=Cutoffs.of(today(), 3))
    assert [(r.unit_name, r.status) for r in rows] == [("前村村委会", "current")]


def test_cycle_years_comes_from_config(app):
    assert coverage.cycle_years(app.config) == 3
    assert coverage.cycle_years({"ROTATION_CYCLE_YEARS": 2}) == 2
    with pytest.raises(ValueError):
        coverage.cycle_years({"ROTATION_CYCLE_YEARS": 4})


def test_a_two_year_cycle_changes_the_status(app, client, tree):
    app.config["ROTATION_CYCLE_YEARS"] = 2
    client.login("city_admin")
    html = client.get("/training/coverage/people?status=overdue").get_data(as_text=True)
    assert "dir_a2" in html and "staff_a" in html  # two years ago is overdue on a 2-year cycle


# ---------------------------------------------------------------- pages


def test_coverage_page_has_cards_table_drilldown_and_print(client, tree):
    w = tree["w"]
    client.login("city_admin")
    html = client.get("/training/coverage").get_data(as_text=True)
    assert "兰山区" in html and "罗庄区" in html
    assert f"/training/coverage?unit={w.county_a.id}" in html
    assert "60.0%" in html  # 6 of 10 covered
    assert "data-print" in html and "/training/coverage/export.xlsx" in html
    assert f"/training/coverage/people?unit={w.city.id}&amp;status=overdue" in html
    html = client.get(f"/training/coverage?unit={w.county_a.id}").get_data(as_text=True)
    assert "东关街道" in html and "兰山街道" in html and "罗庄街道" not in html
    html = client.get(f"/training/coverage?unit={tree['ta2'].id}&post_type={VA}") \
        .get_data(as_text=True)
    assert "东关社区居委会" in html and "50.0%" in html


def test_lists_and_exports(client, tree):
    w = tree["w"]
    client.login("city_admin")
    html = client.get(f"/training/coverage/people?unit={w.county_a.id}&status=never_trained") \
        .get_data(as_text=True)
    assert "staff_a2" in html and "共 1 条" in html
    html = client.get("/training/coverage/people?q=staff_a").get_data(as_text=True)
    assert "staff_a2" in html and "staff_b" not in html and "共 2 条" in html
    resp = client.get(f"/training/coverage/people/export.xlsx?unit={w.county_a.id}&status=overdue")
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.data), read_only=True).worksheets[0]
    names = sorted(r[0] for r in list(sheet.iter_rows(values_only=True))[1:])
    assert names == ["staff_a", "va_a2b"]
    resp = client.get("/training/coverage/export.xlsx")
    rows = list(load_workbook(io.BytesIO(resp.data), read_only=True).worksheets[0]
                .iter_rows(values_only=True))
    assert rows[2][1] == "兰山区" and rows[-1][1] == "合计"
    assert rows[-1][2] == 10 and rows[-1][4] == 60.0


def test_export_cells_cannot_become_formulas(client, world):
    make_person(world.town_a, "=HYPERLINK(\"x\")", post_type=TS)
    db.session.commit()
    client.login("city_admin")
    resp = client.get("/training/coverage/people/export.xlsx?status=never_trained")
    values = [r[0] for r in load_workbook(io.BytesIO(resp.data), read_only=True)
              .worksheets[0].iter_rows(values_only=True)]
    assert "'=HYPERLINK(\"x\")" in values


def test_county_a_sees_nothing_of_county_b(client, tree):
    w = tree["w"]
    client.login("a_hr")
    html = client.get("/training/coverage").get_data(as_text=True)
    assert "兰山区" in html and "罗庄" not in html
    for url in (f"/training/coverage?unit={w.county_b.id}",
                f"/training/coverage?unit={w.town_b.id}", f"/training/coverage?unit={w.city.id}",
                f"/training/coverage/people?unit={w.county_b.id}",
                f"/training/coverage/export.xlsx?unit={w.county_b.id}",
                f"/training/coverage/people/export.xlsx?unit={w.village_b.id}"):
        assert client.get(url).status_code == 404, url
    html = client.get("/training/coverage/people").get_data(as_text=True)
    assert "staff_a" in html and "staff_b" not in html and "va_b" not in html
    for url in ("/training/coverage/people/export.xlsx", "/training/coverage/export.xlsx"):
        book = load_workbook(io.BytesIO(client.get(url).data), read_only=True)
        text = " ".join(str(c) for row in book.worksheets[0].iter_rows(values_only=True)
                        for c in row if c is not None)
        assert "staff_b" not in text and "va_b" not in text and "罗庄" not in text


def _grow(world, n: int) -> None:
    for i in range(n):
        t = make_unit(f"371302{100 + i:03d}", f"第{i}镇", "township", world.county_a, 30_000 + i)
        v = make_unit(f"{t.code}001", f"第{i}村村委会", "village", t)
        director = make_person(t, f"主任{i}", post_type=OD)
        complete(director, OD, years_ago(i % 5))
        make_person(v, f"助理{i}", post_type=VA)
        make_person(t, f"工作人员{i}", post_type=TS)
    db.session.commit()


def _count(client, url: str) -> int:
    db.session.expire_all()
    with count_queries() as c:
        assert client.get(url).status_code == 200, url
    return c.count


def test_query_counts_do_not_grow_with_people(client, world):
    client.login("city_admin")
    urls = ["/training/coverage", f"/training/coverage?unit={world.county_a.id}",
            f"/training/coverage/people?unit={world.county_a.id}&status=never_trained",
            "/training/coverage/people?status=overdue", "/training/coverage/export.xlsx",
            "/training/coverage/people/export.xlsx"]
    _grow(world, 2)
    small = {u: _count(client, u) for u in urls}
    _grow_more(world, 25)
    large = {u: _count(client, u) for u in urls}
    assert large == small


def _grow_more(world, n: int) -> None:
    for i in range(n):
        t = make_unit(f"371302{300 + i:03d}", f"新{i}镇", "township", world.county_a, 30_000)
        v = make_unit(f"{t.code}001", f"新{i}村村委会", "village", t)
        make_person(t, f"新主任{i}", post_type=OD)
        assistant = make_person(v, f"新助理{i}", post_type=VA)
        complete(assistant, VA, years_ago(i % 4))
    db.session.commit()

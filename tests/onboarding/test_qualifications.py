"""Qualification preference (domain §2.6): candidate lists sorted by social-work certificate and
the qualified share per unit and post type."""

from __future__ import annotations

from datetime import date

from lms.auth.access import scope_for
from lms.auth.perms import Perm
from lms.extensions import db
from lms.onboarding import qualifications as quals
from lms.org.models import Person, Qualification
from tests.factories import make_person, make_unit
from tests.onboarding.factories import nominee
from tests.querycount import count_queries


def _qualify(person: Person, level: str, no: str = "") -> None:
    db.session.add(Qualification(person_id=person.id, level=level,
                                 certificate_no=no or f"SW{person.id}{level}",
                                 obtained_on=date(2020, 6, 1)))
    db.session.flush()


def _share_world(world):  # noqa: ANN001, ANN202
    """County A: 兰山街道 with two villages, a second township with one village and a director.

    Hand counts, in post only:
      兰山街道: assistants 2 (one junior) → 1 / 2; directors 0.
      second township: assistants 3 (one senior with two certificates, one junior) → 2 / 3;
        director 1 (intermediate) → 1 / 1; a removed and a nominated assistant are not counted.
    County B: 罗庄街道 1 assistant, none qualified.
    """
    village_a2 = make_unit("371302001002", "银雀山社区居委会", "village", world.town_a)
    _qualify(make_person(village_a2, "周一", post_type="village_assistant"), "sw_junior")
    town2 = make_unit("371302002", "兰山镇", "township", world.county_a)
    v21 = make_unit("371302002001", "东村村委会", "village", town2)
    senior = make_person(v21, "吴二", post_type="village_assistant")
    _qualify(senior, "sw_junior")
    _qualify(senior, "sw_senior")
    _qualify(make_person(v21, "郑三", post_type="village_assistant"), "sw_junior")
    make_person(v21, "冯四", post_type="village_assistant")
    _qualify(make_person(v21, "陈五", post_type="village_assistant", status="removed"),
             "sw_senior")
    _qualify(make_person(v21, "褚六", post_type="village_assistant", status="nominated"),
             "sw_senior")
    _qualify(make_person(town2, "卫主任", post_type="office_director"), "sw_intermediate")
    db.session.commit()
    return town2


def test_share_numbers_equal_hand_counts(world):
    town2 = _share_world(world)
    rows, totals = quals.share_table(world.county_a)
    by_unit = {r.unit.id: r.cells for r in rows}
    assert set(by_unit) == {world.town_a.id, town2.id}
    a = by_unit[world.town_a.id]
    assert (a["village_assistant"].in_post, a["village_assistant"].qualified) == (2, 1)
    assert a["village_assistant"].share == 50.0
    assert a["office_director"].in_post == 0 and a["office_director"].share is None
    b = by_unit[town2.id]
    assert (b["village_assistant"].in_post, b["village_assistant"].qualified) == (3, 2)
    assert b["village_assistant"].share == 66.7
    assert (b["office_director"].in_post, b["office_director"].qualified) == (1, 1)
    assert (totals["village_assistant"].in_post, totals["village_assistant"].qualified) == (5, 3)
    # One level up: the counties roll up their townships.
    rows, totals = quals.share_table(world.city)
    by_unit = {r.unit.id: r.cells for r in rows}
    assert by_unit[world.county_a.id]["village_assistant"].in_post == 5
    assert by_unit[world.county_a.id]["village_assistant"].qualified == 3
    assert by_unit[world.county_b.id]["village_assistant"].in_post == 1
    assert by_unit[world.county_b.id]["village_assistant"].qualified == 0
    assert totals["village_assistant"].in_post == 6


def test_share_page_defaults_to_the_top_unit_and_drills_down(client, world):
    town2 = _share_world(world)
    client.login("a_admin")
    page = client.get("/onboarding/qualified-share").get_data(as_text=True)
    assert "兰山区" in page and "兰山镇" in page and "66.7%" in page and "50.0%" in page
    page = client.get(f"/onboarding/qualified-share?unit={town2.id}").get_data(as_text=True)
    assert "东村村委会" in page
    page = client.get(f"/onboarding/qualified-share?post_type=office_director"
                      f"&unit={world.county_a.id}").get_data(as_text=True)
    assert "100.0%" in page and "66.7%" not in page
    assert client.get("/onboarding/qualified-share?unit=abc").status_code == 404


def test_county_b_cannot_see_county_a(client, world):
    _share_world(world)
    nominee(world.village_a, "甲候选", "village_assistant")
    db.session.commit()
    client.login("b_admin")
    assert client.get(f"/onboarding/qualified-share?unit={world.county_a.id}").status_code == 404
    assert client.get(f"/onboarding/qualified-share?unit={world.town_a.id}").status_code == 404
    page = client.get("/onboarding/qualified-share").get_data(as_text=True)
    assert "罗庄区" in page and "兰山" not in page
    page = client.get("/onboarding/candidates").get_data(as_text=True)
    assert "甲候选" not in page


def _candidates(world):  # noqa: ANN001, ANN202
    """Nominated or pending candidates in county A with different certificates."""
    nominee(world.town_a, "甲", "office_director")
    _p, post = nominee(world.village_a, "乙", "village_assistant")
    post.status = "pending_onboarding"
    _qualify(_p, "sw_senior")
    _qualify(nominee(world.village_a, "丙", "village_assistant")[0], "sw_junior")
    nominee(world.village_a, "丁", "village_assistant")
    _qualify(nominee(world.town_a, "戊", "office_director")[0], "sw_intermediate")
    # Not candidates: a township staff nominee, a person in post, county B.
    _qualify(nominee(world.town_a, "己", "township_staff")[0], "sw_senior")
    _qualify(nominee(world.village_b, "庚", "village_assistant")[0], "sw_senior")
    db.session.commit()


def test_candidates_sorted_with_qualified_first(world):
    _candidates(world)
    scope = scope_for(world.a_admin, Perm.PERSON_VIEW)
    rows = quals.candidates(scope)
    assert [r.person.name for r in rows] == ["乙", "戊", "丙", "丁", "甲"]
    assert [r.best for r in rows] == ["sw_senior", "sw_intermediate", "sw_junior", None, None]
    by_name = quals.candidates(scope, sort="name")
    assert [r.person.name for r in by_name] == sorted(["乙", "戊", "丙", "丁", "甲"])
    directors = quals.candidates(scope, post_type="office_director")
    assert [r.person.name for r in directors] == ["戊", "甲"]
    assert quals.candidate_count(scope) == 5


def test_candidates_page(client, world):
    _candidates(world)
    client.login("town_a_admin")
    page = client.get("/onboarding/candidates").get_data(as_text=True)
    assert page.index("乙") < page.index("丙") < page.index("甲")
    assert "高级社会工作师" in page and "助理社会工作师" in page
    assert "己" not in page and "庚" not in page
    page = client.get("/onboarding/candidates?post_type=office_director").get_data(as_text=True)
    assert "戊" in page and "丙" not in page
    # An unknown filter value is ignored, not a 500.
    assert client.get("/onboarding/candidates?sort=zzz&post_type=x").status_code == 200


def test_candidates_query_count_does_not_grow(client, world):
    nominee(world.village_a, "单一", "village_assistant")
    db.session.commit()
    client.login("a_admin")
    client.get("/onboarding/candidates")
    db.session.expire_all()
    with count_queries() as one:
        client.get("/onboarding/candidates")
    for i in range(6):
        town = make_unit(f"37130220{i}", f"新镇{i}", "township", world.county_a)
        village = make_unit(f"37130220{i}001", f"新村{i}", "village", town)
        person, _post = nominee(village, f"候选{i}", "village_assistant")
        _qualify(person, "sw_junior")
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        page = client.get("/onboarding/candidates").get_data(as_text=True)
    assert "候选5" in page
    assert many.count == one.count, "\n".join(many.statements)


def test_share_query_count_does_not_grow_with_units(client, world):
    client.login("a_admin")
    client.get("/onboarding/qualified-share")
    db.session.expire_all()
    with count_queries() as one:
        client.get("/onboarding/qualified-share")
    for i in range(6):
        town = make_unit(f"37130230{i}", f"另镇{i}", "township", world.county_a)
        village = make_unit(f"37130230{i}001", f"另村{i}", "village", town)
        _qualify(make_person(village, f"在岗{i}", post_type="village_assistant"), "sw_junior")
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        page = client.get("/onboarding/qualified-share").get_data(as_text=True)
    assert "另镇5" in page
    assert many.count == one.count, "\n".join(many.statements)


def test_a_township_shows_its_own_posts_and_its_villages(client, world):
    town2 = _share_world(world)
    rows, totals = quals.share_table(town2)
    assert [r.unit.name for r in rows] == ["兰山镇", "东村村委会"]
    own, village = rows
    assert (own.cells["office_director"].in_post, own.cells["office_director"].qualified) == (1, 1)
    assert own.cells["village_assistant"].in_post == 0
    assert village.cells["village_assistant"].in_post == 3
    assert totals["office_director"].in_post == 1 and totals["village_assistant"].qualified == 2
    # No posts at the county itself: no own row.
    assert world.county_a.id not in {r.unit.id for r in quals.share_table(world.county_a)[0]}
    client.login("a_admin")
    page = client.get(f"/onboarding/qualified-share?unit={town2.id}").get_data(as_text=True)
    assert "兰山镇（本级）" in page

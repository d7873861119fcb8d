"""A page's statement count does not grow with the data it shows."""

from __future__ import annotations

from lms.extensions import db
from lms.org.models import PostType
from tests.factories import make_person, make_unit
from tests.querycount import count_queries


def _grow(world, n: int) -> None:
    for i in range(n):
        t = make_unit(f"371302{100 + i:03d}", f"第{i}镇", "township", world.county_a, 30_000 + i)
        v = make_unit(f"{t.code}001", f"第{i}村村委会", "village", t)
        make_person(t, f"主任{i}", post_type=PostType.OFFICE_DIRECTOR.value)
        make_person(v, f"助理{i}", post_type=PostType.VILLAGE_ASSISTANT.value)
    db.session.commit()


def _count(client, url: str) -> int:
    db.session.expire_all()  # each request starts as a fresh one would: nothing loaded
    with count_queries() as c:
        assert client.get(url).status_code == 200
    return c.count


def test_unit_quota_and_people_pages_have_fixed_query_counts(client, world):
    client.login("city_admin")
    urls = [f"/org/units/{world.county_a.id}", "/org/quota", "/org/people", "/",
            f"/org/units/{world.city.id}"]
    small = {u: _count(client, u) for u in urls}
    _grow(world, 20)
    large = {u: _count(client, u) for u in urls}
    assert large == small

"""A county with two townships of assistants, for the evaluation cycle and ledger tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from lms.auth.models import User
from lms.extensions import db
from lms.grading import cycle
from lms.org.models import OrgUnit, Person, PostType
from tests.factories import make_person, make_unit, make_user

OPENED = datetime(2026, 12, 1, 2, tzinfo=UTC)


@dataclass
class Cycle:
    county: OrgUnit
    town: OrgUnit
    town2: OrgUnit
    villages: list[OrgUnit]
    people: list[Person]
    town_user: User
    town2_user: User
    county_hr: User
    county_hr2: User


def build(world, n: int = 6) -> Cycle:
    """*n* assistants in county A's township (villages 1..n) and one in a second township, plus
    township and county users (two county HR staff for maker-checker)."""
    town2 = make_unit("371302002", "银雀山街道", "township", world.county_a)
    villages = [world.village_a] + [
        make_unit(f"371302001{i:03d}", f"第{i}村", "village", world.town_a) for i in range(2, n + 1)]
    v2 = make_unit("371302002001", "东关村", "village", town2)
    people = [world.person_a] + [
        make_person(v, f"助理{i}", post_type=PostType.VILLAGE_ASSISTANT.value)
        for i, v in enumerate(villages[1:], 2)]
    people.append(make_person(v2, "东关助理", post_type=PostType.VILLAGE_ASSISTANT.value))
    c = Cycle(county=world.county_a, town=world.town_a, town2=town2, villages=villages + [v2],
              people=people, town_user=world.town_a_admin,
              town2_user=make_user("town2_hr", town2, [("hr", town2)]),
              county_hr=world.a_hr,
              county_hr2=make_user("a_hr2", world.county_a, [("hr", world.county_a)]))
    db.session.commit()
    return c


def score_all(c: Cycle, rnd, scores: dict[int, tuple], *, now=OPENED) -> None:
    """scores: person index → (work, diligence, integrity, satisfaction[, veto])."""
    rows = {r.person_id: r for r in cycle.rows_of(rnd)}
    for i, values in scores.items():
        row = rows[c.people[i].id]
        user = c.town2_user if row.township_id == c.town2.id else c.town_user
        veto = len(values) > 4 and values[4]
        cycle.enter_scores(row, cycle.ScoreSheet(*values[:3], veto=veto,
                                                 veto_reason="优亲厚友" if veto else ""),
                           actor=user, now=now)
        cycle.enter_satisfaction(rnd, row.org_unit, values[3], actor=user, now=now)
    db.session.commit()


def day(d: date, hour: int = 2) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)

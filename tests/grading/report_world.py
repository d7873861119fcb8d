"""Sealed evaluation and stipend rows for the report tests, inserted directly (the reports only
read them): county A (cycle_world: six assistants in 兰山街道, one in 银雀山街道) and county B
(王五), years 2025 and 2026, and a third county without any round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from lms.extensions import db
from lms.grading import integrity
from lms.grading.models import Evaluation, EvaluationRound, StipendLine, StipendQuarter
from lms.onboarding.models import ReplacementCase
from lms.org.models import OrgUnit, Person, Post, PostType
from tests.factories import make_person, make_unit
from tests.grading.cycle_world import Cycle, build

NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)


@dataclass
class ReportWorld:
    c: Cycle
    county_c: OrgUnit
    case_id: int


def post_of(person: Person) -> Post:
    return db.session.scalar(select(Post).where(Post.person_id == person.id))


def round_of(county: OrgUnit, year: int, status: str) -> EvaluationRound:
    rnd = db.session.scalar(select(EvaluationRound).where(
        EvaluationRound.org_unit_id == county.id, EvaluationRound.year == year))
    if rnd is None:
        rnd = EvaluationRound(org_unit_id=county.id, year=year, status=status, opened_at=NOW)
        db.session.add(rnd)
        db.session.flush()
    return rnd


def sheet(rnd: EvaluationRound, person: Person, grade: str | None, *, level: int = 3,
          new_level: int | None = 3, total: str | None = "80", replace: bool = False,
          case_id: int | None = None) -> Evaluation:
    post = post_of(person)
    village = db.session.get(OrgUnit, post.org_unit_id)
    row = Evaluation(round_id=rnd.id, year=rnd.year, post_id=post.id, person_id=person.id,
                     org_unit_id=village.id, township_id=village.parent_id,
                     county_id=rnd.org_unit_id, level=level, prior_grades="", since_change=0,
                     total=Decimal(total) if total is not None and grade else None, grade=grade,
                     new_level=new_level if grade else None, replace=replace,
                     replacement_case_id=case_id, veto=False, hours=Decimal(0), mac="")
    db.session.add(row)
    db.session.flush()
    integrity.seal(row)
    return row


def line(county: OrgUnit, person: Person, year: int, quarter: int, fen: int) -> StipendLine:
    run = db.session.scalar(select(StipendQuarter).where(
        StipendQuarter.org_unit_id == county.id, StipendQuarter.year == year,
        StipendQuarter.quarter == quarter))
    if run is None:
        run = StipendQuarter(org_unit_id=county.id, year=year, quarter=quarter, computed_at=NOW)
        db.session.add(run)
        db.session.flush()
    post = post_of(person)
    village = db.session.get(OrgUnit, post.org_unit_id)
    row = StipendLine(run_id=run.id, post_id=post.id, person_id=person.id,
                      org_unit_id=village.id, township_id=village.parent_id, county_id=county.id,
                      year=year, quarter=quarter, level=3, months=3, grade="competent",
                      amount_fen=fen, mac="")
    db.session.add(row)
    db.session.flush()
    integrity.seal(row)
    return row


def build_reports(world) -> ReportWorld:
    c = build(world)
    p = c.people
    county_c = make_unit("371321", "沂南县", "county", world.city)
    post4 = post_of(p[4])
    case = ReplacementCase(post_id=post4.id, person_id=p[4].id, org_unit_id=post4.org_unit_id,
                           township_unit_id=c.town.id, trigger="annual_incompetent",
                           evidence="年度考评不称职", statement_due_on=date(2027, 1, 10))
    db.session.add(case)
    db.session.flush()
    a26 = round_of(c.county, 2026, "confirmed")
    sheet(a26, p[0], "excellent", total="92", new_level=2)
    sheet(a26, p[1], "competent")
    sheet(a26, p[2], "competent", level=2, new_level=2)
    sheet(a26, p[3], "basically_competent", level=2, new_level=3, total="65")
    sheet(a26, p[4], "incompetent", total="50", replace=True, case_id=case.id)
    sheet(a26, p[5], None)
    sheet(a26, p[6], "competent", level=1, new_level=1)
    sheet(round_of(c.county, 2025, "confirmed"), p[0], "competent")
    b26 = round_of(world.county_b, 2026, "open")
    sheet(b26, world.person_b, "excellent", total="95", replace=True)
    line(c.county, p[0], 2026, 1, 21600)
    line(c.county, p[1], 2026, 1, 21600)
    line(c.county, p[6], 2026, 1, 30000)
    line(c.county, p[0], 2026, 2, 22000)
    line(world.county_b, world.person_b, 2026, 1, 25000)
    db.session.commit()
    return ReportWorld(c, county_c, case.id)


def more_assistants(world, n: int, start: int = 100) -> None:
    """*n* more graded, paid and flagged assistants in county A's township (query budgets)."""
    rnd = round_of(world.county_a, 2026, "confirmed")
    for i in range(start, start + n):
        village = make_unit(f"371302001{i:03d}", f"加{i}村", "village", world.town_a)
        person = make_person(village, f"加{i}", post_type=PostType.VILLAGE_ASSISTANT.value)
        sheet(rnd, person, "incompetent", total="50", replace=True)
        line(world.county_a, person, 2026, 1, 21600)
    db.session.commit()

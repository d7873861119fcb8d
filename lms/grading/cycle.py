"""The annual evaluation round of a county (issue 6 point 3; reference/domain.md §3.4;
docs/grading.md).

open → (township scores, satisfaction per village, competence from the system; totals, grades,
the 优秀 cap and levels recomputed per township on every entry) → published for
``PUBLISH_DAYS`` working days (the assistant sees the result and may appeal) → confirmed by the
county (the year's policy is locked, replacement flags open replacement cases). Reopening a
published round (for an upheld appeal) needs a reason. After confirmation, grades change only
through ``lms.grading.changes`` (maker-checker).

Services check the actor, flush and never commit; the caller commits once, so a round's state,
its rows, their integrity codes and the audit entries are stored together or not at all (R42).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert, select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.db import local_date
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.grading import integrity, policy_store, roster, rules
from lms.grading.labels import grade_label
from lms.grading.models import Appeal, AppealStatus, Evaluation, EvaluationRound, RoundStatus
from lms.grading.policy import Grade, Policy
from lms.i18n import _
from lms.onboarding.replacements import open_from_flag
from lms.onboarding.rules import add_working_days
from lms.org.importing.columns import digits
from lms.org.models import Level, OrgUnit, Post

PUBLISH_DAYS = 5
MAX_TEXT = 2000
#: The components the township enters on the score sheet (satisfaction comes per village,
#: competence from the system).
TOWNSHIP_COMPONENTS = ("work", "diligence", "integrity")


# ---------------------------------------------------------------- helpers


def policy_of(rnd: EvaluationRound) -> Policy:
    return policy_store.policy_for(rnd.org_unit, rnd.year)


def township_unit(row: Evaluation) -> OrgUnit:
    unit = db.session.get(OrgUnit, row.township_id)
    assert unit is not None
    return unit


def _check_county(unit: OrgUnit) -> None:
    if unit.level != Level.COUNTY.value:
        raise ValidationFailed(_("年度考评由县级民政部门开启，请选择一个县（市、区）。"), "unit")


def _check_status(rnd: EvaluationRound, *allowed: str) -> None:
    if rnd.status not in allowed:
        messages = {
            RoundStatus.OPEN: _("该年度考评正在评分，此操作不可用。"),
            RoundStatus.PUBLISHED: _(
                "该年度考评已进入公示，不能再修改评分；如需更正，请县级先撤回公示。"),
            RoundStatus.CONFIRMED: _(
                "该年度考评已审定，结果只能通过更正申请（经另一人审核）修改。"),
        }
        raise InvalidState(messages[rnd.status])


def clean_text(value: str | None, field: str, *, required: str | None = None) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(required, field)
    if len(text) > MAX_TEXT:
        raise ValidationFailed(_("内容不能超过 %(n)s 个字。", n=MAX_TEXT), field)
    return text


SCORE_TEXT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?")


def parse_score(raw: Any, component: str, policy: Policy) -> Decimal:
    """A component score from a form: a number with at most one decimal, within 0…maximum
    (full-width digits accepted; signs, exponents and long numbers refused)."""
    text = digits(str(raw if raw is not None else "")).strip()
    if not SCORE_TEXT.fullmatch(text):
        raise ValidationFailed(_("分数应为数字，例如 35 或 35.5。"), component)
    value = Decimal(text)
    if value != value.quantize(rules.TENTH):
        raise ValidationFailed(_("分数最多保留一位小数。"), component)
    if not rules.in_range(component, value, policy):
        raise ValidationFailed(_("分数应在 0 到 %(max)s 之间。",
                                 max=policy.component_max[component]), component)
    return value.quantize(rules.TENTH)


# ---------------------------------------------------------------- opening


def round_for(county: OrgUnit, year: int) -> EvaluationRound | None:
    return db.session.scalar(select(EvaluationRound).where(
        EvaluationRound.org_unit_id == county.id, EvaluationRound.year == year))


def check_previous_confirmed(county: OrgUnit, year: int) -> None:
    """Levels of *year* come from *year* − 1: refuse while that year's round is not confirmed."""
    before = round_for(county, year - 1)
    if before is not None and before.status != RoundStatus.CONFIRMED:
        raise InvalidState(_(
            "%(year)s年度考评尚未审定，等级和往年等次还不确定，请先完成上一年度的审定。",
            year=year - 1))


def open_round(county: OrgUnit, year: int, *, actor: Any, now: datetime) -> EvaluationRound:
    """Open *year* for the county's village assistants in post during that year."""
    ensure(actor, Perm.EVALUATION_REVIEW, county)
    _check_county(county)
    if not 2000 <= year <= local_date(now).year:
        raise ValidationFailed(_("只能开启今年或以前年度的考评。"), "year")
    if round_for(county, year) is not None:
        raise InvalidState(_("该县（市、区）%(year)s年度考评已开启。", year=year))
    check_previous_confirmed(county, year)
    rnd = EvaluationRound(org_unit_id=county.id, year=year, status=RoundStatus.OPEN,
                          opened_at=now, opened_by_id=getattr(actor, "id", None))
    db.session.add(rnd)
    db.session.flush()
    added = add_missing(rnd, now=now)
    audit.record(actor, "evaluation.open", rnd, now=now, year=year, assistants=added)
    return rnd


def add_missing(rnd: EvaluationRound, *, now: datetime) -> int:
    """Add a score sheet for every assistant in post during the year who has none yet, with the
    level and history from earlier confirmed years and the competence from the records."""
    policy = policy_of(rnd)
    have = set(db.session.scalars(select(Evaluation.post_id).where(
        Evaluation.round_id == rnd.id)))
    posts = [p for p in roster.assistant_posts(rnd.org_unit, date(rnd.year, 1, 1),
                                               date(rnd.year, 12, 31)) if p.post_id not in have]
    if not posts:
        return 0
    people = _people_subquery(rnd)
    history = roster.histories(people, rnd.year)
    inputs = roster.competence_inputs(people, rnd.year)
    rows = []
    for p in posts:
        row = SimpleNamespace(
            round_id=rnd.id, year=rnd.year, post_id=p.post_id, person_id=p.person_id,
            org_unit_id=p.village_id, township_id=p.township_id, county_id=rnd.org_unit_id,
            **_standing(history.get(p.person_id, [])), veto=False, replace=False, veto_reason="",
            comment="", evidence="", work=None, diligence=None, integrity=None,
            satisfaction=None, total=None, grade=None, new_level=None)
        _fill_competence(row, inputs.get(p.person_id), policy)
        row.mac = integrity.mac_of("evaluation", row)
        rows.append(vars(row))
    # One executemany for the whole county (a Core insert: the rows are complete, so the ORM's
    # bulk path would only add per-row bookkeeping).
    db.session.execute(insert(Evaluation.__table__), rows)
    return len(rows)


STANDING = ("level", "prior_grades", "since_change")


def _standing(past: list[roster.Past]) -> dict[str, Any]:
    """Level held, earlier grades and years at the level, from the confirmed earlier years."""
    pairs = [(h.level, h.new_level) for h in past]
    return {"level": rules.level_held(pairs), "prior_grades": "|".join(h.grade.value for h in past),
            "since_change": rules.since_change(pairs)}


def refresh_history(rnd: EvaluationRound) -> int:
    """Bring level and history up to date with the earlier years as confirmed now (a correction
    approved after this round opened); returns how many sheets changed."""
    history = roster.histories(_people_subquery(rnd), rnd.year)
    changed = 0
    # The standing columns only (no sheet objects with their joined round, person and village):
    # a sheet is loaded only when its standing changed.
    for row_id, person_id, *held in db.session.execute(
            select(Evaluation.id, Evaluation.person_id, Evaluation.level,
                   Evaluation.prior_grades, Evaluation.since_change)
            .where(Evaluation.round_id == rnd.id).order_by(Evaluation.id)).all():
        standing = _standing(history.get(person_id, []))
        if held != [standing[k] for k in STANDING]:
            row = db.session.get(Evaluation, row_id)
            assert row is not None
            for k, v in standing.items():
                setattr(row, k, v)
            changed += 1
    return changed


def _people_subquery(rnd: EvaluationRound) -> Any:
    sub = roster.assistant_posts_select(rnd.org_unit, date(rnd.year, 1, 1),
                                        date(rnd.year, 12, 31)).subquery()
    return select(sub.c.person_id)


def _fill_competence(row: Any, found: roster.CompetenceInputs | None,
                     policy: Policy) -> None:
    hours = found.hours if found else Decimal(0)
    fraction = found.exam_fraction if found else None
    row.hours = min(hours, Decimal("99999.9")).quantize(rules.TENTH)
    row.exam_percent = (None if fraction is None
                        else (fraction * 100).quantize(rules.TENTH))
    row.competence = rules.competence(hours, fraction, policy.component_max["competence"])


def refresh(rnd: EvaluationRound, *, actor: Any, now: datetime) -> tuple[int, int]:
    """While open: add assistants set in post since, and refill competence from the records.
    Returns (added, competence scores changed)."""
    ensure(actor, Perm.EVALUATION_REVIEW, rnd.org_unit)
    _check_status(rnd, RoundStatus.OPEN)
    added = add_missing(rnd, now=now)
    history_changed = refresh_history(rnd)
    policy = policy_of(rnd)
    rows = rows_of(rnd)
    inputs = roster.competence_inputs(_people_subquery(rnd), rnd.year)
    changed = []
    for row in rows:
        before = row.competence
        _fill_competence(row, inputs.get(row.person_id), policy)
        if row.competence != before:
            changed.append(row)
    recompute(rnd, None, policy)
    audit.record(actor, "evaluation.refresh", rnd, now=now, added=added,
                 competence_changed=len(changed), history_changed=history_changed)
    return added, len(changed)


def rows_of(rnd: EvaluationRound, township_ids: Iterable[int] | None = None) -> list[Evaluation]:
    query = select(Evaluation).where(Evaluation.round_id == rnd.id)
    if township_ids is not None:
        query = query.where(Evaluation.township_id.in_(list(township_ids)))
    return list(db.session.scalars(query.order_by(Evaluation.id)))


# ---------------------------------------------------------------- computing


def recompute(rnd: EvaluationRound, township_ids: Iterable[int] | None,
              policy: Policy | None = None) -> list[int]:
    """Totals, grades (veto, the 优秀 cap per township), new levels and replacement flags of the
    given townships (all when None); reseal every row that changed. Returns the ids of the rows
    whose outcome changed."""
    policy = policy or policy_of(rnd)
    ids = None if township_ids is None else set(township_ids)
    if ids is not None and not ids:
        return []
    # The sheets as rows of their coded columns (autoflushed first, so a writer's pending change
    # is in them), and the codes checked against what is stored (writers change fields, sometimes
    # flush, then call this).
    coded = (Evaluation.__table__.c[f] for f in integrity.EVALUATION_FIELDS)
    query = select(Evaluation.id, *coded, Evaluation.mac).where(Evaluation.round_id == rnd.id)
    if ids is not None:
        query = query.where(Evaluation.township_id.in_(ids))
    rows = db.session.execute(query.order_by(Evaluation.id)).all()
    complete = [r for r in rows if None not in (r.work, r.diligence, r.integrity, r.satisfaction,
                                                r.competence)]
    totals = [rules.total({c: getattr(r, c) for c in rules.COMPONENTS}) for r in complete]
    standings = [rules.Standing(str(r.township_id), rules.id_key(r.person_id), t, r.competence,
                                rules.grade(t, r.veto, policy))
                 for r, t in zip(complete, totals, strict=True)]
    grades = rules.apply_excellent_cap(standings, policy)
    result: dict[int, tuple[Decimal | None, str | None, int | None, bool]] = {
        r.id: (None, None, None, False) for r in rows}
    for r, t, g in zip(complete, totals, grades, strict=True):
        prior = [Grade(x) for x in r.prior_grades.split("|") if x]
        outcome = rules.level_outcome(r.level, prior, r.since_change, g, policy)
        result[r.id] = (t, g.value, outcome.new_level, outcome.replace)
    key = integrity.code_key()
    changed, updates = [], []
    for r in rows:
        values = dict(zip(integrity.EVALUATION_FIELDS, r[1:-1], strict=True))
        if (r.total, r.grade, r.new_level, r.replace) != result[r.id]:
            changed.append(r.id)
            values.update(zip(OUTCOME, result[r.id], strict=True))
        mac = integrity.mac_of_values("evaluation", values.values(), key)
        if mac == r.mac:
            continue
        obj = db.session.identity_map.get(db.session.identity_key(Evaluation, r.id))
        if obj is not None:  # keep the object in the session current
            for k in OUTCOME:
                setattr(obj, k, values[k])
            obj.mac = mac
        else:
            updates.append({"b_id": r.id, "mac": mac, **{k: values[k] for k in OUTCOME}})
    if updates:  # one executemany for the sheets not loaded as objects
        table = Evaluation.__table__
        db.session.execute(table.update().where(table.c.id == bindparam("b_id")), updates)
    db.session.flush()
    return changed


OUTCOME = ("total", "grade", "new_level", "replace")


# ---------------------------------------------------------------- entering scores


@dataclass(frozen=True)
class ScoreSheet:
    """The township's entries for one assistant (raw form values)."""

    work: Any
    diligence: Any
    integrity: Any
    veto: bool = False
    veto_reason: str = ""
    comment: str = ""
    evidence: str = ""


def enter_scores(row: Evaluation, sheet: ScoreSheet, *, actor: Any, now: datetime) -> bool:
    """Store the township's scores of one assistant; returns whether anything changed."""
    rnd = row.round
    ensure(actor, Perm.EVALUATION_SCORE, township_unit(row))
    _check_status(rnd, RoundStatus.OPEN)
    policy = policy_of(rnd)
    values: dict[str, Any] = {c: parse_score(getattr(sheet, c), c, policy)
                              for c in TOWNSHIP_COMPONENTS}
    values["veto"] = bool(sheet.veto)
    values["veto_reason"] = clean_text(sheet.veto_reason, "veto_reason", required=_(
        "选择了一票否决事项，请写明事实。") if sheet.veto else None) if sheet.veto else ""
    values["comment"] = clean_text(sheet.comment, "comment")
    values["evidence"] = clean_text(sheet.evidence, "evidence")
    before = {k: getattr(row, k) for k in values}
    if before == values:
        return False
    for key, value in values.items():
        setattr(row, key, value)
    row.scored_at, row.scored_by_id = now, getattr(actor, "id", None)
    recompute(rnd, {row.township_id}, policy)
    audit.record(actor, "evaluation.score", row, now=now, person_id=row.person_id,
                 year=row.year, before=_plain(before), after=_plain(values),
                 total=row.total, grade=row.grade)
    return True


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()}


def enter_satisfaction(rnd: EvaluationRound, village: OrgUnit, raw: Any, *, actor: Any,
                       now: datetime) -> int:
    """The resident-satisfaction result of one village, for every assistant of that village in
    the round. Returns how many score sheets it was written to."""
    town = village.parent
    if town is None or village.level != Level.VILLAGE.value:
        raise ValidationFailed(_("请选择一个村（社区）。"), "village")
    ensure(actor, Perm.EVALUATION_SCORE, town)
    _check_status(rnd, RoundStatus.OPEN)
    policy = policy_of(rnd)
    value = parse_score(raw, "satisfaction", policy)
    rows = [r for r in rows_of(rnd, {town.id}) if r.org_unit_id == village.id]
    if not rows:
        raise InvalidState(_("该村（社区）本年度没有参加考评的民政助理员。"))
    before = sorted({str(r.satisfaction) for r in rows if r.satisfaction is not None})
    for r in rows:
        r.satisfaction = value
    recompute(rnd, {town.id}, policy)
    audit.record(actor, "evaluation.satisfaction", rnd, now=now, org_unit_id=village.id,
                 village_id=village.id, before=before, after=str(value), assistants=len(rows))
    return len(rows)


# ---------------------------------------------------------------- publication and sign-off


def progress(rnd: EvaluationRound) -> dict[str, int]:
    """How many sheets the round has, how many are complete (one aggregate query)."""
    total, complete = db.session.execute(
        select(func.count(Evaluation.id), func.count(Evaluation.total))
        .where(Evaluation.round_id == rnd.id)).one()
    return {"assistants": total, "scored": complete}


def publish(rnd: EvaluationRound, *, actor: Any, now: datetime) -> None:
    ensure(actor, Perm.EVALUATION_REVIEW, rnd.org_unit)
    _check_status(rnd, RoundStatus.OPEN)
    counts = progress(rnd)
    if counts["assistants"] == 0:
        raise InvalidState(_("本年度考评没有参评人员，不能公示。"))
    if counts["scored"] < counts["assistants"]:
        raise InvalidState(_("还有 %(n)s 名民政助理员的评分未填完整，不能公示。",
                             n=counts["assistants"] - counts["scored"]))
    refresh_history(rnd)
    recompute(rnd, None)
    rnd.status = RoundStatus.PUBLISHED
    rnd.published_at, rnd.published_by_id = now, getattr(actor, "id", None)
    rnd.publish_until = add_working_days(local_date(now), PUBLISH_DAYS)
    db.session.flush()
    audit.record(actor, "evaluation.publish", rnd, now=now, year=rnd.year,
                 publish_until=rnd.publish_until.isoformat(), assistants=counts["assistants"])


def reopen(rnd: EvaluationRound, reason: str, *, actor: Any, now: datetime) -> None:
    """Withdraw the publication so that scores can be corrected (e.g. an appeal was upheld)."""
    ensure(actor, Perm.EVALUATION_REVIEW, rnd.org_unit)
    _check_status(rnd, RoundStatus.PUBLISHED)
    text = clean_text(reason, "reason", required=_("请写明撤回公示的理由。"))
    rnd.status = RoundStatus.OPEN
    rnd.published_at = rnd.published_by_id = rnd.publish_until = None
    db.session.flush()
    audit.record(actor, "evaluation.reopen", rnd, now=now, year=rnd.year, reason=text)


def open_appeals(rnd: EvaluationRound) -> int:
    return db.session.scalar(select(func.count(Appeal.id)).join(Evaluation).where(
        Evaluation.round_id == rnd.id, Appeal.status == AppealStatus.OPEN)) or 0


def confirm(rnd: EvaluationRound, *, actor: Any, now: datetime) -> int:
    """审定: after the publication window, with every appeal answered. Locks the year's policy and
    opens a replacement case for every flagged assistant. Returns the number of cases opened."""
    ensure(actor, Perm.EVALUATION_REVIEW, rnd.org_unit)
    _check_status(rnd, RoundStatus.PUBLISHED)
    assert rnd.publish_until is not None
    if local_date(now) <= rnd.publish_until:
        raise InvalidState(_("公示期到 %(day)s 结束，公示期满后才能审定。",
                             day=rnd.publish_until.isoformat()))
    if (n := open_appeals(rnd)) > 0:
        raise InvalidState(_("还有 %(n)s 件申诉未答复，答复后才能审定。", n=n))
    recompute(rnd, None)
    rnd.status = RoundStatus.CONFIRMED
    rnd.confirmed_at, rnd.confirmed_by_id = now, getattr(actor, "id", None)
    stored = policy_store.stored(policy_store.city_of(rnd.org_unit), rnd.year)
    if stored is not None and not stored.is_locked:
        policy_store.lock_on_confirmation(stored, actor=actor, now=now)
    cases = open_flagged(rnd, actor=actor, now=now)
    grades = dict(db.session.execute(
        select(Evaluation.grade, func.count(Evaluation.id)).where(Evaluation.round_id == rnd.id)
        .group_by(Evaluation.grade)).all())
    audit.record(actor, "evaluation.confirm", rnd, now=now, year=rnd.year, grades=grades,
                 replacement_cases=cases)
    return cases


def flag_trigger(row: Evaluation) -> str:
    if row.veto:
        return "veto"
    return "annual_incompetent" if row.grade == Grade.INCOMPETENT else "basic_twice"


def open_flagged(rnd: EvaluationRound, *, actor: Any, now: datetime) -> int:
    """A replacement case (lms.onboarding) for every flagged row without one."""
    opened = 0
    flagged = list(db.session.execute(
        select(Evaluation, Post).join(Post, Post.id == Evaluation.post_id)
        .where(Evaluation.round_id == rnd.id, Evaluation.replace.is_(True),
               Evaluation.replacement_case_id.is_(None))).all())
    for row, post in flagged:
        evidence = _("%(year)s年度考评：总分 %(total)s，等次 %(grade)s。%(veto)s",
                     year=rnd.year, total=row.total, grade=grade_label(row.grade),
                     veto=row.veto_reason)
        case = open_from_flag(post, flag_trigger(row), evidence, actor=actor, now=now)
        if case is not None:
            row.replacement_case_id = case.id
            opened += 1
    db.session.flush()
    return opened

"""Stored evaluation policies: one per city and year, draft → effective → locked (docs/grading.md).

Plain functions: they take the actor and ``now``, check ``Perm.GRADING_POLICY`` on the city unit
(so county and township staff cannot change a city's policy), flush only and audit every change.
A locked policy (the year was confirmed) refuses every change. ``policy_for`` is what the
computations use: the stored effective or locked policy of the unit's city, else the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.grading.labels import COMPONENT_LABELS, GRADE_LABELS, LEVEL_LABELS
from lms.grading.models import EvaluationPolicy, PolicyStatus
from lms.grading.policy import COMPONENTS, LEVELS, Grade, Policy, default_policy
from lms.i18n import _, _l
from lms.org.models import Level, OrgUnit

MIN_YEAR, MAX_YEAR = 2000, 2100
#: Largest amount in fen anywhere in a policy (1,000,000 yuan).
MAX_FEN = 100_000_000
DECIMAL_TEXT = re.compile(r"[0-9]{1,7}(\.[0-9]{1,6})?")

#: Optional rules of reference/domain.md §2.3–2.4 (decision 6: off by default).
SWITCHES = ("probation_year_ungraded", "early_promotion_limit", "certificate_uplift",
            "certificate_allowance", "training_hours_prerequisite", "competence_cap_unrotated")

SWITCH_LABELS = {
    "probation_year_ungraded": _l("试用期当年只写评语、不定等次"),
    "early_promotion_limit": _l("提前晋级一生最多两次"),
    "certificate_uplift": _l("取得社会工作者职业资格证书晋升一级（仅一次）"),
    "certificate_allowance": _l("按社会工作者职业资格发放每月证书津贴"),
    "training_hours_prerequisite": _l("当年学时未达标不得晋级"),
    "competence_cap_unrotated": _l("未按期轮训的能力素质得分封顶"),
}
FIELD_LABELS: dict[str, Any] = {
    "excellent_min": _l("优秀分数线"), "competent_min": _l("称职分数线"),
    "basically_competent_min": _l("基本称职分数线"), "excellent_cap_share": _l("优秀比例上限"),
    "promote_after": _l("正常晋级所需连续年数"),
    "early_promote_after": _l("提前晋级所需连续年数"),
    "topup_share": _l("绩效补贴比例"), "floor_fen_per_month": _l("每月最低补贴"),
    "price_step_fen": _l("物价调整取整单位"), "effective_from": _l("生效日期"),
    **{f"component_max.{c}": COMPONENT_LABELS[c] for c in COMPONENTS},
    **{f"level_base_fen.{n}": _l("%(level)s每月基本补贴", level=LEVEL_LABELS[n]) for n in LEVELS},
    **{f"quarterly_coefficient.{g.value}": _l("季度%(grade)s系数", grade=GRADE_LABELS[g])
       for g in Grade},
    **{s: SWITCH_LABELS[s] for s in SWITCHES},
}


def form_field(key: str) -> str:
    """The form field of a data key: ``component_max.work`` → ``component_max_work``."""
    return key.replace(".", "_")


# ---------------------------------------------------------------- conversion


def from_policy(policy: Policy) -> dict[str, Any]:
    """A policy as stored in ``data`` (JSON): Decimals as their exact text, fen as integers."""
    return {
        "component_max": {c: str(policy.component_max[c]) for c in COMPONENTS},
        "excellent_min": str(policy.excellent_min),
        "competent_min": str(policy.competent_min),
        "basically_competent_min": str(policy.basically_competent_min),
        "excellent_cap_share": str(policy.excellent_cap_share),
        "promote_after": policy.promote_after,
        "early_promote_after": policy.early_promote_after,
        "level_base_fen": {str(n): policy.level_base_fen[n] for n in LEVELS},
        "topup_share": str(policy.topup_share),
        "quarterly_coefficient": {g.value: str(policy.quarterly_coefficient[g]) for g in Grade},
        "floor_fen_per_month": policy.floor_fen_per_month,
        "price_step_fen": policy.price_step_fen,
        **{s: bool(getattr(policy, s)) for s in SWITCHES},
    }


def to_policy(row: EvaluationPolicy) -> Policy:
    return parse(row.data, row.year)


def _bad(key: str, reason: str) -> ValidationFailed:
    return ValidationFailed(_("%(name)s：%(reason)s", name=FIELD_LABELS.get(key, key),
                              reason=reason), form_field(key))


def _decimal(data: Mapping[str, Any], key: str, low: Decimal, high: Decimal,
             places: int) -> Decimal:
    value = data.get(key)
    text = value if isinstance(value, str) else None
    if text is None or not DECIMAL_TEXT.fullmatch(text):
        raise _bad(key, _("应为不小于 0 的数字。"))
    number = Decimal(text)
    if -number.as_tuple().exponent > places:
        raise _bad(key, _("最多 %(n)s 位小数。", n=places))
    if not low <= number <= high:
        raise _bad(key, _("应在 %(low)s 到 %(high)s 之间。", low=low, high=high))
    return number


def _integer(data: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(key, _("应为整数。"))
    if not low <= value <= high:
        raise _bad(key, _("应在 %(low)s 到 %(high)s 之间。", low=low, high=high))
    return value


def _fen(data: Mapping[str, Any], key: str, low: int = 0) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(key, _("金额应精确到分。"))
    if not low <= value <= MAX_FEN:
        raise _bad(key, _("金额应在 %(low)s 到 %(high)s 元之间。", low=_yuan(low),
                          high=_yuan(MAX_FEN)))
    return value


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _sub(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise _bad(key, _("缺少该项。"))
    return {f"{key}.{k}": v for k, v in value.items()}


def parse(data: Mapping[str, Any], year: int) -> Policy:
    """Check stored or submitted *data* field by field and build the year's ``Policy``.

    Every problem is a ``ValidationFailed`` naming the field (its ``field`` is the form field)."""
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("政策数据无效。"))
    hundred = Decimal(100)
    components = _sub(data, "component_max")
    maxima = {c: _decimal(components, f"component_max.{c}", Decimal("0.5"), hundred, 1)
              for c in COMPONENTS}
    if sum(maxima.values()) != hundred:
        raise ValidationFailed(_("评分表各项满分之和应为 100 分，现为 %(sum)s 分。",
                                 sum=sum(maxima.values())), form_field("component_max.work"))
    thresholds = [_decimal(data, k, Decimal(0), hundred, 1)
                  for k in ("excellent_min", "competent_min", "basically_competent_min")]
    if not thresholds[0] > thresholds[1]:
        raise _bad("excellent_min", _("应高于称职分数线。"))
    if not thresholds[1] > thresholds[2]:
        raise _bad("competent_min", _("应高于基本称职分数线。"))
    cap = _decimal(data, "excellent_cap_share", Decimal(0), Decimal(1), 4)
    promote = _integer(data, "promote_after", 1, 10)
    early = _integer(data, "early_promote_after", 1, 10)
    if early > promote:
        raise _bad("early_promote_after", _("不能多于正常晋级所需年数。"))
    bases = _sub(data, "level_base_fen")
    base = {n: _fen(bases, f"level_base_fen.{n}") for n in LEVELS}
    topup = _decimal(data, "topup_share", Decimal(0), Decimal(1), 4)
    coefficients = _sub(data, "quarterly_coefficient")
    coefficient = {g: _decimal(coefficients, f"quarterly_coefficient.{g.value}", Decimal(0),
                               Decimal(10), 2) for g in Grade}
    floor = _fen(data, "floor_fen_per_month")
    step = _fen(data, "price_step_fen", low=1)
    switches = {}
    for s in SWITCHES:
        if not isinstance(data.get(s, False), bool):
            raise _bad(s, _("应为开或关。"))
        switches[s] = data.get(s, False)
    try:
        return Policy(year=year, component_max=maxima, excellent_min=thresholds[0],
                      competent_min=thresholds[1], basically_competent_min=thresholds[2],
                      excellent_cap_share=cap, promote_after=promote, early_promote_after=early,
                      level_base_fen=base, topup_share=topup, quarterly_coefficient=coefficient,
                      floor_fen_per_month=floor, price_step_fen=step, **switches)
    except ValueError as exc:  # the dataclass's own checks (already covered above)
        raise ValidationFailed(_("政策数据无效：%(reason)s", reason=str(exc))) from exc


# ---------------------------------------------------------------- lookup


def city_of(unit: OrgUnit | None) -> OrgUnit | None:
    """The city-level unit at or above *unit* (None above a city, e.g. a province root)."""
    while unit is not None and unit.level != Level.CITY.value:
        unit = unit.parent
    return unit


def deployment_city() -> OrgUnit | None:
    """The city of a deployment for the CLI: the single ``city`` unit, else the single root."""
    cities = db.session.execute(
        select(OrgUnit).where(OrgUnit.level == Level.CITY.value).limit(2)).scalars().all()
    if len(cities) == 1:
        return cities[0]
    if cities:
        return None  # several cities: no single policy applies
    roots = db.session.execute(
        select(OrgUnit).where(OrgUnit.parent_id.is_(None)).limit(2)).scalars().all()
    return roots[0] if len(roots) == 1 else None


IN_FORCE = (PolicyStatus.EFFECTIVE, PolicyStatus.LOCKED)


def stored(city: OrgUnit | None, year: int) -> EvaluationPolicy | None:
    """The city's policy row of *year* in force (effective or locked), if any."""
    if city is None:
        return None
    return db.session.execute(select(EvaluationPolicy).where(
        EvaluationPolicy.org_unit_id == city.id, EvaluationPolicy.year == year,
        EvaluationPolicy.status.in_(IN_FORCE))).scalar()


def policy_for(unit: OrgUnit | None, year: int) -> Policy:
    """The policy of *year* for *unit*: its city's stored effective or locked policy, else the
    defaults of decisions 6–7. (A draft is never used.)"""
    row = stored(city_of(unit), year)
    return to_policy(row) if row is not None else default_policy(year)


def policy_on(unit: OrgUnit | None, day: date) -> Policy:
    """The policy in force on *day*: the city's effective or locked policy with the latest
    ``effective_from`` not after *day*, else the defaults of *day*'s year."""
    city = city_of(unit)
    row = None if city is None else db.session.execute(
        select(EvaluationPolicy).where(
            EvaluationPolicy.org_unit_id == city.id, EvaluationPolicy.status.in_(IN_FORCE),
            EvaluationPolicy.effective_from <= day)
        .order_by(EvaluationPolicy.effective_from.desc(), EvaluationPolicy.year.desc())
        .limit(1)).scalar()
    return to_policy(row) if row is not None else default_policy(day.year)


def deployment_policy(year: int) -> Policy:
    """What ``flask grading simulate`` uses: the deployment city's policy of *year*."""
    row = stored(deployment_city(), year)
    return to_policy(row) if row is not None else default_policy(year)


# ---------------------------------------------------------------- changes


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed(_("年度应在 %(low)s 到 %(high)s 之间。", low=MIN_YEAR,
                                 high=MAX_YEAR), "year")


def _check_open(row: EvaluationPolicy) -> None:
    if row.status == PolicyStatus.LOCKED:
        raise InvalidState(_("%(year)s 年度已确认，评价政策已锁定，不能再修改。", year=row.year))


def previous(city: OrgUnit, year: int) -> EvaluationPolicy | None:
    """The city's stored policy of the latest year before *year* (any status)."""
    return db.session.execute(select(EvaluationPolicy).where(
        EvaluationPolicy.org_unit_id == city.id, EvaluationPolicy.year < year)
        .order_by(EvaluationPolicy.year.desc()).limit(1)).scalar()


def create_policy(city: OrgUnit, year: int, *, copy_previous: bool, actor: Any,
                  now: datetime) -> EvaluationPolicy:
    """A draft policy for *year*: the defaults, or a copy of the latest earlier year's policy."""
    ensure(actor, Perm.GRADING_POLICY, city)
    if city.level != Level.CITY.value:
        raise ValidationFailed(_("评价政策由市级单位制定。"), "unit")
    _check_year(year)
    if db.session.execute(select(EvaluationPolicy.id).where(
            EvaluationPolicy.org_unit_id == city.id, EvaluationPolicy.year == year)).first():
        raise ValidationFailed(_("%(city)s %(year)s 年度的评价政策已存在。", city=city.name,
                                 year=year), "year")
    source = default_policy(year)
    copied = previous(city, year) if copy_previous else None
    if copy_previous:
        if copied is None:
            raise ValidationFailed(_("没有更早年度的评价政策可以复制，请选择按默认值新建。"),
                                   "source")
        source = parse(copied.data, year)
    row = EvaluationPolicy(org_unit_id=city.id, year=year, data=from_policy(source),
                           effective_from=date(year, 1, 1), status=PolicyStatus.DRAFT,
                           created_at=now, updated_at=now, created_by_id=getattr(actor, "id", None),
                           updated_by_id=getattr(actor, "id", None))
    try:
        with db.session.begin_nested():  # two people creating the same year at once
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed(_("%(city)s %(year)s 年度的评价政策已存在。", city=city.name,
                                 year=year), "year") from None
    audit.record(actor, "grading.policy_create", row, now=now, year=year,
                 source=f"copy:{copied.year}" if copied is not None else "defaults")
    return row


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _keep_equal(old: Any, new: Any) -> Any:
    """*new*, keeping the old text of every number that did not change ("0.20" stays "0.20"
    when "0.2" is submitted), so an unchanged form writes nothing."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return {k: _keep_equal(old.get(k), v) for k, v in new.items()}
    if isinstance(old, str) and isinstance(new, str) and DECIMAL_TEXT.fullmatch(old):
        return old if Decimal(old) == Decimal(new) else new
    return new


def update_policy(row: EvaluationPolicy, data: Mapping[str, Any], effective_from: date, *,
                  actor: Any, now: datetime) -> list[str]:
    """Replace the policy's values (checked by ``parse``) and its effective date; returns the
    changed keys (empty when nothing changed, and then nothing is written)."""
    ensure(actor, Perm.GRADING_POLICY, row.org_unit)
    _check_open(row)
    new = _keep_equal(row.data, from_policy(parse(data, row.year)))
    if not isinstance(effective_from, date) or effective_from.year != row.year:
        raise _bad("effective_from", _("应在 %(year)s 年内。", year=row.year))
    before = {**_flat(row.data), "effective_from": row.effective_from.isoformat()}
    after = {**_flat(new), "effective_from": effective_from.isoformat()}
    changed = sorted(k for k in after.keys() | before.keys() if before.get(k) != after.get(k))
    if not changed:
        return []
    audit.record(actor, "grading.policy_update", row, now=now, year=row.year,
                 before={k: before.get(k) for k in changed},
                 after={k: after.get(k) for k in changed})
    row.data = new
    row.effective_from = effective_from
    row.updated_at, row.updated_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    return changed


def activate_policy(row: EvaluationPolicy, *, actor: Any, now: datetime) -> None:
    """Draft → effective: the computations of the year use it from now on."""
    ensure(actor, Perm.GRADING_POLICY, row.org_unit)
    _check_open(row)
    if row.status != PolicyStatus.DRAFT:
        raise InvalidState(_("该政策已经生效。"))
    parse(row.data, row.year)
    row.status = PolicyStatus.EFFECTIVE
    row.updated_at, row.updated_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "grading.policy_activate", row, now=now, year=row.year,
                 effective_from=row.effective_from.isoformat())


def lock_policy(row: EvaluationPolicy, *, actor: Any, now: datetime) -> None:
    """Effective → locked (the year is confirmed); irreversible."""
    ensure(actor, Perm.GRADING_POLICY, row.org_unit)
    lock_on_confirmation(row, actor=actor, now=now)


def lock_on_confirmation(row: EvaluationPolicy, *, actor: Any, now: datetime) -> None:
    """The lock that a county's confirmation of the year implies: the caller has checked the
    county's authority (the county may confirm its round, not edit the city's policy)."""
    _check_open(row)
    if row.status != PolicyStatus.EFFECTIVE:
        raise InvalidState(_("请先使政策生效，再锁定。"))
    row.status = PolicyStatus.LOCKED
    row.updated_at, row.updated_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "grading.policy_lock", row, now=now, year=row.year)

"""Display labels for every enum value, in one place (translated lazily)."""

from __future__ import annotations

from typing import Any

from lms.auth.perms import ROLE_LABELS
from lms.i18n import _l
from lms.org.models import Gender, Level, PostStatus, PostType, QualificationLevel, UnitKind

#: Levels apart: ``Level.VILLAGE`` and ``UnitKind.VILLAGE`` share the raw value "village", so
#: in LABELS the kind's label wins; use ``level_label`` where a level is meant.
LEVEL_LABELS: dict[str, Any] = {
    Level.PROVINCE: _l("省"), Level.CITY: _l("市"), Level.COUNTY: _l("县（市、区）"),
    Level.TOWNSHIP: _l("乡镇（街道）"), Level.VILLAGE: _l("村（社区）"),
}

LABELS: dict[str, Any] = {
    **LEVEL_LABELS,
    UnitKind.TOWN: _l("镇"), UnitKind.RURAL_TOWNSHIP: _l("乡"), UnitKind.SUBDISTRICT: _l("街道"),
    UnitKind.VILLAGE: _l("行政村"), UnitKind.COMMUNITY: _l("社区"),
    PostType.OFFICE_DIRECTOR: _l("乡镇民政办主任"),
    PostType.TOWNSHIP_STAFF: _l("乡镇民政工作人员"),
    PostType.VILLAGE_ASSISTANT: _l("村(社区)民政助理员"),
    PostStatus.NOMINATED: _l("已提名"), PostStatus.PENDING_ONBOARDING: _l("待培训"),
    PostStatus.ONBOARDED: _l("已通过岗前培训"), PostStatus.IN_POST: _l("已上岗"),
    PostStatus.SUSPENDED: _l("暂停"), PostStatus.REMOVED: _l("已免职"),
    QualificationLevel.JUNIOR: _l("助理社会工作师"),
    QualificationLevel.INTERMEDIATE: _l("社会工作师"),
    QualificationLevel.SENIOR: _l("高级社会工作师"),
    Gender.MALE: _l("男"), Gender.FEMALE: _l("女"),
    **{k.value: v for k, v in ROLE_LABELS.items()},
}


def label(value: Any) -> Any:
    """The translated label of an enum value (or its raw value if it has none)."""
    if value is None:
        return ""
    return LABELS.get(getattr(value, "value", value), value)


def level_label(value: Any) -> Any:
    """The translated label of a unit level (never the unit kind of the same raw value)."""
    return LEVEL_LABELS.get(getattr(value, "value", value), label(value))

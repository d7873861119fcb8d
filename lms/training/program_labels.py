"""Display words for program, enrolment and attendance values (translated lazily), and the
colour class that goes with each status (status is always shown as words and colour together)."""

from __future__ import annotations

from typing import Any

from lms.i18n import _l

KINDS: dict[str, Any] = {
    "onboarding": _l("岗前培训"), "rotation": _l("轮训"), "in_service": _l("在岗培训"),
    "qualification_prep": _l("职业资格考前培训"),
}
MODES: dict[str, Any] = {
    "online": _l("线上"), "in_person": _l("线下面授"), "blended": _l("线上线下混合"),
}
PROGRAM_STATUSES: dict[str, Any] = {
    "draft": _l("草稿"), "open": _l("进行中"), "closed": _l("已结束"),
}
ENROLMENT_STATUSES: dict[str, Any] = {
    "enrolled": _l("已报名"), "waitlisted": _l("候补"), "removed": _l("已移出"),
    "completed": _l("已结业"),
}
ATTENDANCE_STATUSES: dict[str, Any] = {
    "present": _l("出勤"), "late": _l("迟到"), "absent": _l("缺勤"),
}
METHODS: dict[str, Any] = {
    "roll": _l("点名"), "code": _l("签到码"), "sheet": _l("纸质签到表"),
}

GROUPS: dict[str, dict[str, Any]] = {
    "kind": KINDS, "mode": MODES, "program": PROGRAM_STATUSES, "enrolment": ENROLMENT_STATUSES,
    "attendance": ATTENDANCE_STATUSES, "method": METHODS,
}

#: The colour class (see app.css ``.status-*``) of each status value.
TONES: dict[str, str] = {
    "draft": "muted", "open": "ok", "closed": "muted",
    "enrolled": "ok", "waitlisted": "warn", "removed": "muted", "completed": "info",
    "present": "ok", "late": "warn", "absent": "bad",
}


def training_label(group: str, value: Any) -> Any:
    """The words for *value* in *group* (``kind``, ``mode``, ``program``, ``enrolment``,
    ``attendance``, ``method``); the raw value when it has none."""
    if value is None:
        return ""
    return GROUPS.get(group, {}).get(str(value), value)


def tone(value: Any) -> str:
    return TONES.get(str(value), "muted")

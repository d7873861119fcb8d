"""Chinese names of grades, levels and states of the evaluation (shown on every page and sheet)."""

from __future__ import annotations

from typing import Any

from lms.grading.models import AppealStatus, ChangeStatus, PayStatus, RoundStatus
from lms.grading.policy import Grade
from lms.i18n import _l

GRADE_LABELS = {Grade.EXCELLENT: _l("优秀"), Grade.COMPETENT: _l("称职"),
                Grade.BASICALLY_COMPETENT: _l("基本称职"), Grade.INCOMPETENT: _l("不称职")}
LEVEL_LABELS = {3: _l("三级"), 2: _l("二级"), 1: _l("一级")}
ROUND_LABELS = {RoundStatus.OPEN: _l("评分中"), RoundStatus.PUBLISHED: _l("公示中"),
                RoundStatus.CONFIRMED: _l("已审定")}
APPEAL_LABELS = {AppealStatus.OPEN: _l("待答复"), AppealStatus.ANSWERED: _l("已答复")}
QUARTER_LABELS = {1: _l("一季度"), 2: _l("二季度"), 3: _l("三季度"), 4: _l("四季度")}
PAY_LABELS = {PayStatus.COMPUTED: _l("已计算"), PayStatus.CONFIRMED: _l("已确认发放")}
CHANGE_LABELS = {ChangeStatus.PROPOSED: _l("待审核"), ChangeStatus.APPROVED: _l("已批准"),
                 ChangeStatus.REJECTED: _l("已驳回")}
COMPONENT_LABELS = {"work": _l("工作实绩"), "competence": _l("能力素质"),
                    "diligence": _l("工作态度"), "satisfaction": _l("群众满意度"),
                    "integrity": _l("廉洁自律")}


def grade_label(value: str | None) -> Any:
    return GRADE_LABELS[Grade(value)] if value else "—"


def level_label(value: int | None) -> Any:
    return LEVEL_LABELS.get(value, "—") if value is not None else "—"

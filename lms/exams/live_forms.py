"""Forms of the exam-day pages: the live view's filters, the roster's room, and the organiser's
extend / reopen actions (minutes and a reason)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from lms.exams.exam_day import MAX_MINUTES, MAX_REASON, MIN_MINUTES
from lms.i18n import _l
from lms.org.models import OrgUnit
from lms.org.people_forms import NoControlChars, opt_int, strip

LIVE_STATE_LABELS: dict[str, Any] = {
    "not_started": _l("未开始"), "in_progress": _l("答题中"), "submitted": _l("已交卷"),
    "auto_submitted": _l("自动交卷"), "abandoned": _l("已作废"),
}


def _unit_select(label_text: Any) -> SelectField:
    message = _l("请从列表中选择单位。")
    return SelectField(label_text, coerce=opt_int, default="", invalid_choice_message=message,
                       invalid_value_message=message)


class LiveFilterForm(FlaskForm):
    """GET filters; an unknown value is ignored (and shown as an error on its field)."""

    class Meta:
        csrf = False

    unit = _unit_select(_l("单位"))
    state = SelectField(_l("状态"), default="", invalid_choice_message=_l("请从列表中选择状态。"),
                        choices=[SelectChoice("", _l("全部")),
                                 *(SelectChoice(k, v) for k, v in LIVE_STATE_LABELS.items())])

    def set_units(self, units: list[OrgUnit]) -> None:
        self.unit.choices = [SelectChoice("", _l("全部"))] + [
            SelectChoice(u.id, u.name) for u in units]

    def value(self, name: str) -> Any:
        f = self[name]
        return None if f.errors else (f.data or None)


class RoomForm(LiveFilterForm):
    unit = _unit_select(_l("按单位分考场"))


class MinutesField(IntegerField):
    """Whole minutes; anything else gets the same translated message as an out-of-range value."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            self.data = None
            raise ValueError(str(MINUTES_MESSAGE)) from exc


MINUTES_MESSAGE = _l("时间须为 1 到 600 分钟之间的整数。")


class OperateForm(FlaskForm):
    minutes = MinutesField(_l("时间（分钟）"), validators=[
        DataRequired(_l("请填写 1 到 600 之间的分钟数。")),
        NumberRange(MIN_MINUTES, MAX_MINUTES, MINUTES_MESSAGE)],
        render_kw={"inputmode": "numeric", "min": MIN_MINUTES, "max": MAX_MINUTES})
    reason = StringField(_l("原因"), filters=[strip], validators=[
        DataRequired(_l("请填写原因，例如：考生手机断电。")),
        Length(max=MAX_REASON, message=_l("原因不能超过500个字符。")), NoControlChars()],
        render_kw={"maxlength": MAX_REASON})

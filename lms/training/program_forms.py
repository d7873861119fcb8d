"""Forms for programs, their courses and enrolments, sessions, roll call and the trainee's
sign-in. Foreign keys come only from choices the view builds from the actor's scope; every
enum is a select whose unknown values are form errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from lms.i18n import _, _l
from lms.labels import label
from lms.org.models import PostType
from lms.org.people_forms import NoControlChars, opt_int, strip
from lms.training.enrolment import TZ
from lms.training.program_labels import (
    ATTENDANCE_STATUSES,
    ENROLMENT_STATUSES,
    KINDS,
    MODES,
    PROGRAM_STATUSES,
)


def _choices(words: dict[str, Any], blank: Any = None) -> list[SelectChoice]:
    items = [SelectChoice("", blank)] if blank is not None else []
    return items + [SelectChoice(k, v) for k, v in words.items()]


def _select(label_text: Any, message: Any, **kw: Any) -> SelectField:
    return SelectField(label_text, invalid_choice_message=message, invalid_value_message=message,
                       **kw)


def _id_field(message: Any) -> SelectField:
    """A hidden-style id posted by a button; the view fills the allowed choices."""
    return _select("", message, coerce=opt_int, validators=[DataRequired(message)])


class HoursField(DecimalField):
    """Credit hours: a decimal with one place; NaN and infinity are invalid values too."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(self.invalid_value_message)


def hours_field(label_text: Any, example: Any) -> HoursField:
    return HoursField(label_text, places=1, default=Decimal("0"), validators=[
        Optional(), NumberRange(0, 999.9, _l("学时应在 0 到 999.9 之间。"))],
        invalid_value_message=example, render_kw={"inputmode": "decimal"})


AUDIENCE = [SelectChoice(p.value, label(p)) for p in PostType]


#: The first is what ``<input type="datetime-local">`` needs to show a stored value.
TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _sane_year(form: Any, field: Any) -> None:
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_("请填写 2000 到 2100 年之间的日期。"))


def _local(value: datetime | None) -> datetime | None:
    """A form's naive Beijing time → aware UTC."""
    return None if value is None else value.replace(tzinfo=TZ).astimezone(UTC)


def to_form_time(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(TZ).replace(tzinfo=None)


# ---------------------------------------------------------------- programs


class ProgramForm(FlaskForm):
    title = StringField(_l("培训班名称"), filters=[strip], validators=[
        DataRequired(_l("请填写培训班名称。")),
        Length(max=200, message=_l("名称不能超过200个字符。")), NoControlChars()])
    kind = _select(_l("培训类别"), _l("请从列表中选择培训类别。"),
                   validators=[DataRequired(_l("请选择培训类别。"))],
                   choices=_choices(KINDS, _l("请选择")))
    audience_post_type = _select(_l("培训对象"), _l("请从列表中选择培训对象。"),
                                 validators=[DataRequired(_l("请选择培训对象。"))],
                                 choices=[SelectChoice("", _l("请选择")), *AUDIENCE])
    mode = _select(_l("培训方式"), _l("请从列表中选择培训方式。"), default="online",
                   validators=[DataRequired(_l("请选择培训方式。"))], choices=_choices(MODES))
    starts_on = DateField(_l("开始日期"), validators=[Optional(), _sane_year],
                          invalid_value_message=_l("日期格式应为 2026-03-01。"))
    ends_on = DateField(_l("结束日期"), validators=[Optional(), _sane_year],
                        invalid_value_message=_l("日期格式应为 2026-03-31。"))
    capacity = IntegerField(_l("名额"), validators=[
        Optional(),
        NumberRange(1, 100_000, _l("名额应为 1 到 100000 之间的整数；不限名额请留空。"))],
        invalid_value_message=_l("名额应为整数，例如 60；不限名额请留空。"),
        render_kw={"inputmode": "numeric"})
    credit_hours = hours_field(_l("学时"), _l("学时应为数字，最多一位小数，例如 12.5。"))
    attendance_threshold_pct = IntegerField(_l("出勤率要求（%）"), default=80, validators=[
        Optional(), NumberRange(0, 100, _l("出勤率要求应为 0 到 100 之间的整数。"))],
        invalid_value_message=_l("出勤率要求应为整数，例如 80。"),
        render_kw={"inputmode": "numeric"})
    requires_exam = BooleanField(_l("须通过结业考试"))
    description = TextAreaField(_l("说明"), filters=[strip], validators=[
        Length(max=5000, message=_l("说明不能超过5000个字符。")), NoControlChars("\r\n\t")])

    def validate_ends_on(self, field: Any) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_("结束日期不能早于开始日期。"))

    def program_data(self) -> dict[str, Any]:
        return {
            "title": self.title.data, "kind": self.kind.data,
            "audience_post_type": self.audience_post_type.data, "mode": self.mode.data,
            "description": self.description.data or "", "starts_on": self.starts_on.data,
            "ends_on": self.ends_on.data, "capacity": self.capacity.data,
            "credit_hours": self.credit_hours.data, "requires_exam": self.requires_exam.data,
            "attendance_threshold_pct": self.attendance_threshold_pct.data,
        }


class NewProgramForm(ProgramForm):
    unit = _select(_l("组织单位"), _l("请从列表中选择单位。"), coerce=opt_int,
                   validators=[DataRequired(_l("请选择组织单位。"))])


class ProgramFilterForm(FlaskForm):
    """The list filters (GET, no CSRF); a field with an unknown value is ignored and flagged."""

    class Meta:
        csrf = False

    q = StringField(_l("培训班名称"), filters=[strip], validators=[
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])
    status = _select(_l("状态"), _l("请从列表中选择状态。"), default="",
                     choices=_choices(PROGRAM_STATUSES, _l("全部")))
    kind = _select(_l("培训类别"), _l("请从列表中选择培训类别。"), default="",
                   choices=_choices(KINDS, _l("全部")))
    audience = _select(_l("培训对象"), _l("请从列表中选择培训对象。"), default="",
                       choices=[SelectChoice("", _l("全部")), *AUDIENCE])

    def value(self, name: str) -> Any:
        field = self[name]
        return None if field.errors else (field.data or None)


class StatusForm(FlaskForm):
    action = _select("", _l("请刷新页面后重试。"), choices=[
        SelectChoice("open", _l("开班")), SelectChoice("close", _l("结束培训班"))])


class CourseForm(FlaskForm):
    course = _select(_l("课程"), _l("请从列表中选择课程。"), coerce=opt_int,
                     validators=[DataRequired(_l("请选择课程。"))])


class CourseMoveForm(FlaskForm):
    course = _id_field(_l("该课程不在本培训班中，请刷新页面后重试。"))
    step = _select("", _l("请刷新页面后重试。"), choices=[
        SelectChoice("up", _l("上移")), SelectChoice("down", _l("下移")),
        SelectChoice("remove", _l("移除"))])


class AutoEnrolForm(FlaskForm):
    """Only the CSRF token: the button starts auto-enrolment."""


# ---------------------------------------------------------------- enrolment


class PersonSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("姓名或手机号"), filters=[strip], validators=[
        DataRequired(_l("请输入姓名或手机号。")),
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])


class AddPersonForm(FlaskForm):
    person = HiddenField(validators=[DataRequired(_l("请从搜索结果中选择人员。"))])

    def person_id(self) -> int | None:
        try:
            return opt_int(self.person.data)
        except ValueError:
            return None


class RemoveForm(FlaskForm):
    enrolment = HiddenField()
    reason = StringField(_l("移出原因"), filters=[strip], validators=[
        DataRequired(_l("请填写移出原因，例如：已调离岗位。")),
        Length(max=200, message=_l("原因不能超过200个字符。")), NoControlChars()])

    def enrolment_id(self) -> int | None:
        try:
            return opt_int(self.enrolment.data)
        except ValueError:
            return None


class EnrolmentFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = _select(_l("名单"), _l("请从列表中选择。"), default="enrolled",
                     choices=_choices(ENROLMENT_STATUSES))


# ---------------------------------------------------------------- sessions


class SessionForm(FlaskForm):
    title = StringField(_l("课次名称"), filters=[strip], validators=[
        DataRequired(_l("请填写课次名称，例如：第一讲 低保政策解读。")),
        Length(max=200, message=_l("名称不能超过200个字符。")), NoControlChars()])
    location = StringField(_l("地点"), filters=[strip], validators=[
        Length(max=200, message=_l("地点不能超过200个字符。")), NoControlChars()])
    starts_at = DateTimeLocalField(
        _l("开始时间"), validators=[DataRequired(_l("请填写开始时间。")), _sane_year],
        format=TIME_FORMATS, invalid_value_message=_l("时间格式应为 2026-03-01 09:00。"))
    ends_at = DateTimeLocalField(
        _l("结束时间"), validators=[DataRequired(_l("请填写结束时间。")), _sane_year],
        format=TIME_FORMATS, invalid_value_message=_l("时间格式应为 2026-03-01 11:30。"))
    credit_hours = hours_field(_l("学时"), _l("学时应为数字，最多一位小数，例如 2。"))

    def session_data(self) -> dict[str, Any]:
        return {"title": self.title.data, "location": self.location.data or "",
                "starts_at": _local(self.starts_at.data), "ends_at": _local(self.ends_at.data),
                "credit_hours": self.credit_hours.data}


class SigninOpenForm(FlaskForm):
    minutes = IntegerField(_l("签到时长（分钟）"), default=15, validators=[
        DataRequired(_l("请填写签到时长。")),
        NumberRange(1, 180, _l("签到时长应为 1 到 180 分钟。"))],
        invalid_value_message=_l("签到时长应为整数，例如 15。"), render_kw={"inputmode": "numeric"})


class SigninCloseForm(FlaskForm):
    """Only the CSRF token: the button ends sign-in now."""


ROLL_CHOICES = [SelectChoice("", _l("未点名")), *_choices(ATTENDANCE_STATUSES)]


def roll_call_form(person_ids: list[int], current: dict[int, str]) -> FlaskForm:
    """One select per person on the roll (``p<person id>``), preset to the recorded status."""
    fields = {f"p{pid}": _select("", _l("请从列表中选择出勤情况。"), default=current.get(pid, ""),
                                 choices=ROLL_CHOICES) for pid in person_ids}
    return type("RollCallForm", (FlaskForm,), fields)()


def roll_marks(form: FlaskForm, person_ids: list[int]) -> dict[int, str]:
    """The chosen statuses (people left at 未点名 are not changed)."""
    return {pid: form[f"p{pid}"].data for pid in person_ids if form[f"p{pid}"].data}


# ---------------------------------------------------------------- trainee sign-in


class SigninForm(FlaskForm):
    code = StringField(_l("签到码"), filters=[strip], validators=[
        DataRequired(_l("请输入培训老师公布的6位签到码。")),
        Length(max=20, message=_l("签到码是6位数字。")), NoControlChars()],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6,
                   "pattern": "[0-9]*", "class": "code-input"})

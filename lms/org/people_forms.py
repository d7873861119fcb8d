"""Forms for people, qualifications and posts, and the scoped unit picker they share.

Foreign keys (units, qualifications) are only ever chosen from choices the view builds from the
actor's scope; every enum is a select whose unknown values are form errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from lms.auth.access import MAX_ID
from lms.db import utcnow
from lms.i18n import _, _l
from lms.labels import label
from lms.org.models import Gender, PostStatus, PostType, QualificationLevel
from lms.org.queries import UnitChoice
from lms.org.rules import has_control_chars, normalize_id_number, normalize_phone

# ---------------------------------------------------------------- helpers


def opt_int(value: Any) -> int | None:
    """Coerce a select value to an id; the empty choice is ``None``. Raises ValueError otherwise."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > MAX_ID:
        raise ValueError(text)
    return int(text)


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def enum_choices(values: Iterable[Any], blank: Any = None) -> list[SelectChoice]:
    items = [SelectChoice("", blank)] if blank is not None else []
    return items + [SelectChoice(v.value, label(v)) for v in values]


def unit_choices(rows: list[UnitChoice], blank: Any = None) -> list[SelectChoice]:
    """Units in code order, indented by depth (ideographic spaces survive in <option>)."""
    top = min((r.path.count("/") for r in rows), default=0)
    items = [SelectChoice("", blank)] if blank is not None else []
    for r in rows:
        indent = "\u3000" * (r.path.count("/") - top)
        items.append(SelectChoice(str(r.id), f"{indent}{r.name}（{r.code}）"))
    return items


class NoControlChars:
    """Refuse line breaks and other control characters (those in *allowed* excepted)."""

    def __init__(self, allowed: str = "") -> None:
        self.allowed = allowed

    def __call__(self, form: Any, field: Any) -> None:
        if isinstance(field.data, str) and has_control_chars(field.data, self.allowed):
            raise StopValidation(_("不能包含换行或控制字符，请删除后重试。"))


def _birth_year(form: Any, field: Any) -> None:
    if field.data is not None and not 1900 <= field.data <= utcnow().year:
        raise ValidationError(_("出生年份应为 1900 年到今年之间的四位数字，例如 1985。"))


def _phone(form: Any, field: Any) -> None:
    value = normalize_phone(field.data or "")
    if value is None:
        raise ValidationError(_("手机号应为11位数字，以1开头，例如 13800000000。"))
    field.data = value


def _id_number(form: Any, field: Any) -> None:
    if normalize_id_number(field.data or "") is None:
        raise ValidationError(_("身份证号码应为18位（最后一位可以是X），请核对后重新填写。"))


def _past_date(form: Any, field: Any) -> None:
    if field.data is not None and not date(1980, 1, 1) <= field.data <= utcnow().date():
        raise ValidationError(_("取得日期应在 1980-01-01 到今天之间。"))


def _select(label_text: Any, message: Any, **kw: Any) -> SelectField:
    return SelectField(label_text, invalid_choice_message=message, invalid_value_message=message,
                       **kw)


def _unit_field(label_text: Any) -> SelectField:
    return _select(label_text, _l("请从列表中选择单位。"), coerce=opt_int,
                   validators=[DataRequired(_l("请选择单位。"))])


def _post_type_field(blank: Any, required: bool) -> SelectField:
    validators = [DataRequired(_l("请选择岗位。"))] if required else []
    return _select(_l("岗位"), _l("请从列表中选择岗位。"), validators=validators, default="",
                   choices=enum_choices(PostType, blank))


def _reason_field(label_text: Any, validators: list[Any]) -> StringField:
    return StringField(label_text, filters=[strip], validators=[
        *validators, Length(max=200, message=_l("原因不能超过200个字符。")), NoControlChars()])


# ---------------------------------------------------------------- people


class PersonForm(FlaskForm):
    name = StringField(_l("姓名"), filters=[strip], validators=[
        DataRequired(_l("请填写姓名。")), Length(max=50, message=_l("姓名不能超过50个字符。")),
        NoControlChars()])
    gender = _select(_l("性别"), _l("请从列表中选择性别。"), default="",
                     choices=enum_choices(Gender, _l("未填写")))
    birth_year = IntegerField(_l("出生年份"), validators=[Optional(), _birth_year],
                              invalid_value_message=_l("出生年份应为四位数字，例如 1985。"),
                              render_kw={"inputmode": "numeric"})
    phone = TelField(_l("手机号"), filters=[strip],
                     validators=[Optional(), NoControlChars(), _phone])
    education = StringField(_l("学历"), filters=[strip], validators=[
        Length(max=30, message=_l("学历不能超过30个字符。")), NoControlChars()])
    id_number = StringField(_l("身份证号码"), filters=[strip], validators=[
        Optional(), Length(max=40, message=_l("身份证号码应为18位。")), NoControlChars(),
        _id_number], render_kw={"autocomplete": "off"})
    note = TextAreaField(_l("备注"), filters=[strip], validators=[
        Length(max=500, message=_l("备注不能超过500个字符。")), NoControlChars("\r\n\t")])

    def person_data(self) -> dict[str, Any]:
        """The validated values as the service expects them (empty text → None)."""
        return {
            "name": self.name.data, "gender": self.gender.data or None,
            "birth_year": self.birth_year.data, "phone": self.phone.data or None,
            "education": self.education.data or None, "note": self.note.data or None,
            "id_number": self.id_number.data or None,
        }


class NewPersonForm(PersonForm):
    unit = _unit_field(_l("所在单位"))
    post_type = _post_type_field(_l("暂不设岗位"), required=False)


class QualificationForm(FlaskForm):
    level = _select(_l("等级"), _l("请从列表中选择证书等级。"),
                    validators=[DataRequired(_l("请选择证书等级。"))],
                    choices=enum_choices(QualificationLevel, _l("请选择")))
    certificate_no = StringField(_l("证书编号"), filters=[strip], validators=[
        Length(max=50, message=_l("证书编号不能超过50个字符。")), NoControlChars()])
    obtained_on = DateField(_l("取得日期"), validators=[Optional(), _past_date],
                            invalid_value_message=_l("日期格式应为 2024-06-30。"))


class RemoveQualificationForm(FlaskForm):
    qualification = _select(_l("证书"), _l("该证书不存在，请刷新页面后重试。"), coerce=opt_int,
                            validators=[DataRequired(_l("请选择要删除的证书。"))])


class RevealForm(FlaskForm):
    reason = _reason_field(_l("查看原因"), [
        DataRequired(_l("请填写查看原因，例如：核对社保登记信息。"))])


# ---------------------------------------------------------------- posts


class PostForm(FlaskForm):
    unit = _unit_field(_l("岗位所在单位"))
    post_type = _post_type_field(_l("请选择"), required=True)


class TransferForm(PostForm):
    reason = _reason_field(_l("调动原因"), [Optional()])


class StatusForm(FlaskForm):
    status = _select(_l("新的状态"), _l("请从列表中选择状态。"),
                     validators=[DataRequired(_l("请选择新的状态。"))])
    reason = _reason_field(_l("原因"), [])

    def validate_reason(self, field: Any) -> None:
        if self.status.data == PostStatus.REMOVED.value and not field.data:
            raise ValidationError(_("免职须填写原因。"))


class ActingForm(FlaskForm):
    acting = _select(_l("代理"), _l("请刷新页面后重试。"),
                     choices=[SelectChoice("1", _l("是")), SelectChoice("0", _l("否"))])


class PeopleFilterForm(FlaskForm):
    """The list filters (GET, no CSRF); a field with an unknown value is ignored and flagged."""

    class Meta:
        csrf = False

    q = StringField(_l("姓名或手机号"), filters=[strip],
                    validators=[Length(max=50, message=_l("搜索词不能超过50个字符。")),
                                NoControlChars()])
    unit = _select(_l("单位"), _l("请从列表中选择单位。"), coerce=opt_int)
    post_type = _select(_l("岗位"), _l("请从列表中选择岗位。"), default="",
                        choices=enum_choices(PostType, _l("全部")))
    status = _select(_l("岗位状态"), _l("请从列表中选择岗位状态。"), default="",
                     choices=enum_choices(PostStatus, _l("全部")))
    qualified = _select(_l("社工证"), _l("请从列表中选择。"), default="", choices=[
        SelectChoice("", _l("全部")), SelectChoice("yes", _l("持证")),
        SelectChoice("no", _l("未持证")), *enum_choices(QualificationLevel)])

    def value(self, name: str) -> Any:
        """A field's value, or None when it is empty or was refused."""
        field = self[name]
        return None if field.errors else (field.data or None)

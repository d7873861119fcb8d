"""Forms for account management and the audit log; unit and role choices come from the scope."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, Form, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from lms.auth.access import Scope
from lms.auth.perms import ADMIN_ROLES, ROLE_LABELS, Role
from lms.extensions import db
from lms.i18n import _l
from lms.labels import label
from lms.org.models import LEVEL_RANK, Level, OrgUnit
from lms.org.rules import has_control_chars

MAX_UNIT_CHOICES = 3000
NO_UNIT = 0
BAD_DATE = _l("日期格式应为 2026-01-31。")

#: Filter values for the account list ("trainee" = an account linked to a person).
ACCOUNT_STATES = ("active", "disabled", "locked", "must_change")
STATE_LABELS = {
    "active": _l("正常"), "disabled": _l("已停用"), "locked": _l("已锁定"),
    "must_change": _l("待修改初始密码"),
}


def scoped_units(scope: Scope, lowest: Level = Level.TOWNSHIP) -> list[OrgUnit]:
    """Units inside the scope down to *lowest*, in code order (a subtree's units stay together)."""
    levels = [lv.value for lv in Level if LEVEL_RANK[lv] <= LEVEL_RANK[lowest]]
    return list(db.session.execute(
        select(OrgUnit).where(scope.where(OrgUnit.path), OrgUnit.level.in_(levels))
        .order_by(OrgUnit.code).limit(MAX_UNIT_CHOICES)).scalars())


def unit_choices(scope: Scope, *, blank: Any = None) -> list[tuple[int, str]]:
    """(id, indented name) for a select; *blank* adds a first choice with value 0."""
    units = scoped_units(scope)
    top = min((LEVEL_RANK[Level(u.level)] for u in units), default=0)
    out = [(NO_UNIT, str(blank))] if blank is not None else []
    out += [(u.id, "\u3000" * (LEVEL_RANK[Level(u.level)] - top) + u.name) for u in units]
    return out


def grantable_roles(is_security_admin: bool) -> list[tuple[str, str]]:
    roles = [r for r in Role if is_security_admin or r not in ADMIN_ROLES]
    return [(r.value, str(ROLE_LABELS[r])) for r in roles]


def refused_choice(field: SelectField) -> bool:
    """A value was sent that is not among the choices: outside what the actor may use (→ 403)."""
    return bool(field.errors and field.raw_data and field.raw_data[0] not in ("", str(NO_UNIT)))


def _int_or_zero(value: Any) -> int:
    return int(value) if value not in (None, "") else NO_UNIT


def _unit_field(text: Any, **kw: Any) -> SelectField:
    return SelectField(text, coerce=_int_or_zero, validate_choice=True,
                       invalid_choice_message=_l("请从列表中选择您管辖范围内的单位。"),
                       invalid_value_message=_l("请从列表中选择您管辖范围内的单位。"), **kw)


def no_control_chars(form: Form, field: Any) -> None:
    """Refuse NUL, line breaks and other control characters (PostgreSQL cannot even compare NUL)."""
    if isinstance(field.data, str) and has_control_chars(field.data):
        raise ValidationError(_l("不能包含换行符或其他控制字符。"))


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


USERNAME_RULES = [
    DataRequired(_l("请填写用户名。")), no_control_chars,
    Length(min=2, max=64, message=_l("用户名应为 2–64 个字符。")),
    Regexp(r"^[\w.@-]+$", message=_l("用户名只能包含汉字、字母、数字和 . _ - @。")),
]


class AccountForm(FlaskForm):
    """A staff account at a unit of the actor's scope (roles are granted afterwards)."""

    username = StringField(_l("用户名"), validators=USERNAME_RULES, filters=[_strip])
    display_name = StringField(_l("姓名"), filters=[_strip], validators=[
        DataRequired(_l("请填写姓名。")), no_control_chars,
        Length(max=50, message=_l("姓名不能超过50个字符。"))])
    phone = StringField(_l("手机号"), filters=[_strip], validators=[
        Optional(), no_control_chars,
        Regexp(r"^1\d{10}$", message=_l("手机号应为11位数字，以1开头。"))])
    org_unit = _unit_field(_l("所属单位"))


class GrantRoleForm(FlaskForm):
    role = SelectField(_l("角色"), validate_choice=True,
                       invalid_choice_message=_l("请从列表中选择您可以授予的角色。"))
    org_unit = _unit_field(_l("授权单位"), default=NO_UNIT)

    def fill(self, scope: Scope, *, security_admin: bool) -> GrantRoleForm:
        self.role.choices = grantable_roles(security_admin)
        self.org_unit.choices = unit_choices(scope, blank=_l("（不需要单位：仅管理员角色）"))
        return self


class BulkAccountsForm(FlaskForm):
    org_unit = _unit_field(_l("单位"))


class AccountFilterForm(Form):
    """GET filters of the account list; the unit choices never reach outside the scope."""

    q = StringField(_l("用户名、姓名或手机号"), validators=[
        Optional(), no_control_chars, Length(max=50, message=_l("不能超过50个字符。"))])
    unit = _unit_field(_l("单位"), default=NO_UNIT)
    role = SelectField(_l("角色"), default="", validate_choice=True,
                       invalid_choice_message=_l("请从列表中选择角色。"))
    state = SelectField(_l("状态"), default="", validate_choice=True,
                        invalid_choice_message=_l("请从列表中选择状态。"))

    def fill(self, scope: Scope) -> AccountFilterForm:
        self.unit.choices = unit_choices(scope, blank=_l("全部单位"))
        self.role.choices = [("", str(_l("全部角色"))), ("trainee", str(_l("学员")))] + [
            (r.value, str(label(r.value))) for r in Role]
        self.state.choices = [("", str(_l("全部状态")))] + [
            (s, str(STATE_LABELS[s])) for s in ACCOUNT_STATES]
        return self


def _sane_year(form: Form, field: DateField) -> None:
    if field.data and not 2000 <= field.data.year <= 2999:
        raise ValidationError(_l("请填写 2000 年至 2999 年之间的日期。"))


class AuditFilterForm(Form):
    action = StringField(_l("操作类型（前缀）"), validators=[
        Optional(), no_control_chars, Length(max=50, message=_l("不能超过50个字符。"))])
    actor = StringField(_l("操作人用户名"), validators=[
        Optional(), no_control_chars, Length(max=64, message=_l("不能超过64个字符。"))])
    object_type = StringField(_l("对象类型"), validators=[
        Optional(), no_control_chars, Length(max=30, message=_l("不能超过30个字符。"))])
    date_from = DateField(_l("起始日期"), validators=[Optional(), _sane_year],
                          invalid_value_message=BAD_DATE)
    date_to = DateField(_l("截止日期"), validators=[Optional(), _sane_year],
                        invalid_value_message=BAD_DATE)

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("截止日期不能早于起始日期。"))

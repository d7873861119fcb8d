"""Forms for the yearly evaluation policy. Numbers are read as text and converted exactly
(``Decimal``; yuan → integer fen, refusing fractions of a fen); ranges and the relations between
fields are checked by ``lms.grading.policy_store.parse``, which names the field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, NumberRange, ValidationError

from lms.grading.policy import COMPONENTS, LEVELS, Grade
from lms.grading.policy_store import (
    COMPONENT_LABELS,
    GRADE_LABELS,
    LEVEL_LABELS,
    MAX_YEAR,
    MIN_YEAR,
    SWITCH_LABELS,
    SWITCHES,
    form_field,
)
from lms.i18n import _, _l
from lms.org.people_forms import opt_int, strip

NUMBER = re.compile(r"[0-9]{1,7}(\.[0-9]{1,6})?")
MONEY = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")
HUNDRED = Decimal(100)


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 20.00 → "20", 0.50 → "0.5"."""
    text = format(value.normalize(), "f")
    return text


def yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class NumberText(StringField):
    """A non-negative decimal typed as text (no exponent, no sign); ``number`` is the Decimal."""

    def __init__(self, label: Any, message: Any, **kw: Any) -> None:
        super().__init__(label, filters=[strip], render_kw={"inputmode": "decimal"}, **kw)
        self.message = message

    def pre_validate(self, form: Any) -> None:
        if not self.data or not NUMBER.fullmatch(self.data):
            raise ValidationError(self.message)

    @property
    def number(self) -> Decimal:
        return Decimal(self.data)


class YuanText(NumberText):
    """An amount in yuan with at most two decimals, converted exactly to integer fen."""

    def pre_validate(self, form: Any) -> None:
        if not self.data or not MONEY.fullmatch(self.data):
            raise ValidationError(_("金额应为以元为单位的数字，例如 60 或 60.50。"))
        if (Decimal(self.data) * 100) % 1:
            raise ValidationError(_("金额最小单位为分（最多两位小数）。"))

    @property
    def fen(self) -> int:
        return int(Decimal(self.data) * 100)


def _score(label: Any) -> NumberText:
    return NumberText(label, _l("应为分数，例如 40 或 37.5。"))


def _percent(label: Any) -> NumberText:
    return NumberText(label, _l("应为百分数（不带 %），例如 20。"))


def unit_field(label: Any) -> SelectField:
    """A unit picked from the choices the view fills in (units of one level in scope)."""
    return SelectField(label, coerce=opt_int, validators=[DataRequired(_l("请选择单位。"))],
                       invalid_choice_message=_l("请从列表中选择单位。"),
                       invalid_value_message=_l("请从列表中选择单位。"))


def year_field() -> IntegerField:
    return IntegerField(_l("年度"), validators=[
        InputRequired(_l("请填写年度。")),
        NumberRange(MIN_YEAR, MAX_YEAR, _l("年度应在 2000 到 2100 之间。"))],
        invalid_value_message=_l("年度应为四位数字，例如 2026。"),
        render_kw={"inputmode": "numeric"})


class NewPolicyForm(FlaskForm):
    unit = unit_field(_l("适用单位（市）"))
    year = year_field()
    source = SelectField(_l("内容来源"), default="defaults", choices=[
        SelectChoice("defaults", _l("按系统默认值")),
        SelectChoice("copy", _l("复制上一年度政策"))],
        invalid_choice_message=_l("请从列表中选择内容来源。"))


def _policy_form_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for c in COMPONENTS:
        fields[form_field(f"component_max.{c}")] = _score(COMPONENT_LABELS[c])
    fields["excellent_min"] = _score(_l("优秀：总分不低于"))
    fields["competent_min"] = _score(_l("称职：总分不低于"))
    fields["basically_competent_min"] = _score(_l("基本称职：总分不低于"))
    fields["excellent_cap_share"] = _percent(_l("每个乡镇优秀人数不超过参评人数的（%）"))
    fields["promote_after"] = IntegerField(_l("连续称职及以上满几年晋升一级"), validators=[
        InputRequired(_l("请填写年数。")), NumberRange(1, 10, _l("应为 1 到 10 的整数。"))],
        invalid_value_message=_l("应为整数，例如 3。"), render_kw={"inputmode": "numeric"})
    fields["early_promote_after"] = IntegerField(
        _l("其中有优秀的，满几年即可提前晋升一级"), validators=[
            InputRequired(_l("请填写年数。")), NumberRange(1, 10, _l("应为 1 到 10 的整数。"))],
        invalid_value_message=_l("应为整数，例如 2。"), render_kw={"inputmode": "numeric"})
    for n in LEVELS:
        fields[form_field(f"level_base_fen.{n}")] = YuanText(
            _l("%(level)s每月基本补贴（元）", level=LEVEL_LABELS[n]), "")
    fields["topup_share"] = _percent(_l("绩效补贴占基本补贴的比例（%）"))
    for g in Grade:
        fields[form_field(f"quarterly_coefficient.{g.value}")] = NumberText(
            _l("季度%(grade)s的绩效系数", grade=GRADE_LABELS[g]),
            _l("应为系数，例如 1.2。"))
    fields["floor_fen_per_month"] = YuanText(_l("每在岗月最低补贴（元）"), "")
    fields["price_step_fen"] = YuanText(_l("物价调整后向上取整到（元）的整数倍"), "")
    for s in SWITCHES:
        fields[s] = BooleanField(SWITCH_LABELS[s])
    fields["effective_from"] = DateField(
        _l("生效日期"), validators=[InputRequired(_l("请填写生效日期。"))],
        invalid_value_message=_l("日期格式应为 2027-01-01。"))
    return fields


PolicyForm = type("PolicyForm", (FlaskForm,), _policy_form_fields())
PolicyForm.__doc__ = "Every field of the year's policy, in plain Chinese; money in yuan."


def fill(form: Any, data: dict[str, Any], effective_from: Any) -> None:
    """Show the stored *data* in the form (shares as percentages, fen as yuan)."""
    for c in COMPONENTS:
        form[form_field(f"component_max.{c}")].data = data["component_max"][c]
    for key in ("excellent_min", "competent_min", "basically_competent_min"):
        form[key].data = data[key]
    for key in ("excellent_cap_share", "topup_share"):
        form[key].data = plain(Decimal(data[key]) * HUNDRED)
    for key in ("promote_after", "early_promote_after"):
        form[key].data = data[key]
    for n in LEVELS:
        form[form_field(f"level_base_fen.{n}")].data = yuan_text(data["level_base_fen"][str(n)])
    for g in Grade:
        form[form_field(f"quarterly_coefficient.{g.value}")].data = (
            data["quarterly_coefficient"][g.value])
    for key in ("floor_fen_per_month", "price_step_fen"):
        form[key].data = yuan_text(data[key])
    for s in SWITCHES:
        form[s].data = bool(data.get(s, False))
    form.effective_from.data = effective_from


def policy_data(form: Any) -> dict[str, Any]:
    """The validated form as the stored data shape (``policy_store.parse`` checks the rest)."""
    return {
        "component_max": {c: plain(form[form_field(f"component_max.{c}")].number)
                          for c in COMPONENTS},
        **{k: plain(form[k].number)
           for k in ("excellent_min", "competent_min", "basically_competent_min")},
        **{k: plain(form[k].number / HUNDRED) for k in ("excellent_cap_share", "topup_share")},
        "promote_after": form.promote_after.data,
        "early_promote_after": form.early_promote_after.data,
        "level_base_fen": {str(n): form[form_field(f"level_base_fen.{n}")].fen for n in LEVELS},
        "quarterly_coefficient": {
            g.value: plain(form[form_field(f"quarterly_coefficient.{g.value}")].number)
            for g in Grade},
        "floor_fen_per_month": form.floor_fen_per_month.fen,
        "price_step_fen": form.price_step_fen.fen,
        **{s: bool(form[s].data) for s in SWITCHES},
    }


class ActionForm(FlaskForm):
    """Activate or lock: only the CSRF token."""

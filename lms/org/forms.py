"""Forms for units (people and import forms live beside their views' modules)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from lms.i18n import _l

POP = [Optional(), NumberRange(min=0, max=50_000_000, message=_l("人口数应为 0 到 5000 万之间的整数。"))]


class UnitForm(FlaskForm):
    code = StringField(_l("区划代码"), validators=[
        DataRequired(_l("请填写区划代码。")),
        Regexp(r"^\d{2,12}$", message=_l("区划代码应为数字（2、4、6、9 或 12 位）。"))])
    name = StringField(_l("单位名称"), validators=[
        DataRequired(_l("请填写单位名称。")), Length(max=100, message=_l("单位名称不能超过100个字符。"))])
    resident_population = IntegerField(_l("常住人口"), validators=POP)
    registered_population = IntegerField(_l("户籍人口"), validators=POP)


class UnitEditForm(FlaskForm):
    name = StringField(_l("单位名称"), validators=[
        DataRequired(_l("请填写单位名称。")), Length(max=100, message=_l("单位名称不能超过100个字符。"))])
    resident_population = IntegerField(_l("常住人口"), validators=POP)
    registered_population = IntegerField(_l("户籍人口"), validators=POP)


class MoveForm(FlaskForm):
    parent = SelectField(_l("新的上级单位"), coerce=int, validate_choice=True)

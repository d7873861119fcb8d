"""Forms of the annual round pages: open a year, the township's score sheet, satisfaction per
village, reopen, appeals and their answers, change requests and their decisions. Scores are read
as text; ``lms.grading.cycle.parse_score`` checks them against the year's policy and names the
field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.grading.cycle import MAX_TEXT
from lms.grading.forms import unit_field, year_field
from lms.i18n import _l
from lms.org.people_forms import opt_int, strip

TOO_LONG = _l("内容不能超过 2000 个字。")


def _score(label: object) -> StringField:
    return StringField(label, filters=[strip], validators=[Length(max=20, message=_l(
        "分数应为数字，例如 35 或 35.5。"))], render_kw={"inputmode": "decimal"})


def _text(label: object) -> TextAreaField:
    return TextAreaField(label, filters=[strip],
                         validators=[Length(max=MAX_TEXT, message=TOO_LONG)])


class OpenRoundForm(FlaskForm):
    unit = unit_field(_l("县（市、区）"))
    year = year_field()


class ScoreForm(FlaskForm):
    work = _score(_l("工作实绩"))
    diligence = _score(_l("工作态度"))
    integrity = _score(_l("廉洁自律"))
    veto = BooleanField(_l("有一票否决事项"))
    veto_reason = _text(_l("一票否决事项（事实）"))
    comment = _text(_l("评语"))
    evidence = _text(_l("依据材料"))


class SatisfactionForm(FlaskForm):
    village = SelectField(_l("村（社区）"), coerce=opt_int,
                          validators=[DataRequired(_l("请选择村（社区）。"))],
                          invalid_choice_message=_l("请从列表中选择村（社区）。"),
                          invalid_value_message=_l("请从列表中选择村（社区）。"))
    satisfaction = _score(_l("群众满意度得分"))


class ReasonForm(FlaskForm):
    reason = _text(_l("理由"))


class AppealForm(FlaskForm):
    text = _text(_l("申诉的事实和理由"))


class AnswerForm(FlaskForm):
    reply = _text(_l("答复意见"))


class ProposeForm(FlaskForm):
    work = _score(_l("工作实绩"))
    diligence = _score(_l("工作态度"))
    integrity = _score(_l("廉洁自律"))
    satisfaction = _score(_l("群众满意度"))
    veto = BooleanField(_l("有一票否决事项"))
    veto_reason = _text(_l("一票否决事项（事实）"))
    reason = _text(_l("更正的理由和依据"))


class DecisionForm(FlaskForm):
    note = _text(_l("审核意见"))

"""Forms of the marking, key correction, results and score query pages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.exams.score_queries import CHANGED, MAX_MESSAGE, MAX_REPLY, UPHELD
from lms.i18n import _, _l
from lms.org.people_forms import NoControlChars, opt_int, strip

STATE_LABELS: dict[str, Any] = {
    "in_progress": _l("答题中"), "submitted": _l("已交卷"), "auto_submitted": _l("自动交卷"),
    "abandoned": _l("已作废"),
}
RESULT_LABELS: dict[str, Any] = {
    "passed": _l("通过"), "failed": _l("未通过"), "pending": _l("待阅卷"), "none": _l("无成绩"),
}
QUERY_STATUS_LABELS: dict[str, Any] = {
    "open": _l("待答复"), "upheld": _l("维持原成绩"), "changed": _l("已更改成绩"),
}


class CsrfOnlyForm(FlaskForm):
    """A POST whose fields are read by the view (the marking page's per-item fields)."""


class KeyForm(FlaskForm):
    answer = StringField(_l("正确答案"), filters=[strip], validators=[
        DataRequired(_l("请填写正确答案。")), Length(max=2000, message=_l("答案太长。")),
        NoControlChars()])
    reason = StringField(_l("更正原因"), filters=[strip], validators=[
        DataRequired(_l("请填写更正原因，例如：政策已调整，原答案有误。")),
        Length(max=500, message=_l("原因不能超过500个字符。")), NoControlChars()],
        render_kw={"maxlength": 500})


def _select(label_text: Any, choices: list[SelectChoice], message: Any) -> SelectField:
    return SelectField(label_text, default="", choices=choices, invalid_choice_message=message,
                       invalid_value_message=message)


class ResultsFilterForm(FlaskForm):
    """GET filters; an unknown value is ignored (and shown as an error on its field)."""

    class Meta:
        csrf = False

    unit = SelectField(_l("考生单位"), coerce=opt_int, default="",
                       invalid_choice_message=_l("请从列表中选择单位。"),
                       invalid_value_message=_l("请从列表中选择单位。"))
    state = _select(_l("答卷状态"), [SelectChoice("", _l("全部")), *(
        SelectChoice(k, v) for k, v in STATE_LABELS.items())], _l("请从列表中选择状态。"))
    result = _select(_l("是否通过"), [SelectChoice("", _l("全部")), *(
        SelectChoice(k, v) for k, v in RESULT_LABELS.items())], _l("请从列表中选择结果。"))
    q = StringField(_l("姓名"), filters=[strip], validators=[
        Optional(), Length(max=50, message=_l("姓名不能超过50个字。")), NoControlChars()])

    def set_units(self, units: list[Any]) -> None:
        self.unit.choices = [SelectChoice("", _l("全部"))] + [
            SelectChoice(u.id, u.name) for u in units]

    def value(self, name: str) -> Any:
        f = self[name]
        return None if f.errors else (f.data or None)


class QueryFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = _select(_l("状态"), [SelectChoice("", _l("全部")), *(
        SelectChoice(k, v) for k, v in QUERY_STATUS_LABELS.items())],
        _l("请从列表中选择状态。"))


class ScoreQueryForm(FlaskForm):
    position = SelectField(_l("题号"), coerce=opt_int, default="",
                           invalid_choice_message=_l("请从列表中选择题号。"),
                           invalid_value_message=_l("请从列表中选择题号。"))
    message = TextAreaField(_l("复核说明"), filters=[strip], validators=[
        DataRequired(_l("请写明需要复核的内容。")),
        Length(max=MAX_MESSAGE, message=_l("复核说明不能超过1000个字。")),
        NoControlChars(allowed="\r\n")], render_kw={"maxlength": MAX_MESSAGE, "rows": 4})

    def set_items(self, count: int) -> None:
        self.position.choices = [SelectChoice("", _l("整份答卷"))] + [
            SelectChoice(n, _("第 %(n)s 题", n=n)) for n in range(1, count + 1)]


class AnswerQueryForm(FlaskForm):
    reply = TextAreaField(_l("答复"), filters=[strip], validators=[
        DataRequired(_l("请填写答复内容。")),
        Length(max=MAX_REPLY, message=_l("答复不能超过1000个字。")),
        NoControlChars(allowed="\r\n")], render_kw={"maxlength": MAX_REPLY, "rows": 4})
    outcome = RadioField(_l("复核结果"), choices=[SelectChoice(UPHELD, _l("维持原成绩")),
                                                 SelectChoice(CHANGED, _l("更改成绩"))],
                         validators=[DataRequired(_l("请选择复核结果。"))],
                         invalid_choice_message=_l("请选择复核结果。"))
    position = SelectField(_l("改分题目"), coerce=opt_int, default="",
                           invalid_choice_message=_l("请从列表中选择题目。"),
                           invalid_value_message=_l("请从列表中选择题目。"))
    score = StringField(_l("新得分"), filters=[strip], validators=[
        Optional(), Length(max=10, message=_l("得分应为数字，例如 3 或 2.5。"))],
        render_kw={"inputmode": "decimal"})

    def set_items(self, items: list[Any]) -> None:
        self.position.choices = [SelectChoice("", _l("请选择"))] + [
            SelectChoice(i.position, _("第 %(n)s 题（满分 %(p)s）", n=i.position,
                                     p=i.max_points)) for i in items]

"""Forms of the question-bank pages: a bank, the bank list filters, archive / restore."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.exams.banks import MAX_CODE, MAX_DESCRIPTION, MAX_TITLE, BankData
from lms.i18n import _l
from lms.org.people_forms import NoControlChars, opt_int, strip


def select(label_text: Any, message: Any, **kw: Any) -> SelectField:
    return SelectField(label_text, invalid_choice_message=message, invalid_value_message=message,
                       **kw)


class BankForm(FlaskForm):
    code = StringField(_l("题库编号"), filters=[strip], validators=[
        DataRequired(_l("请填写题库编号。")),
        Length(max=MAX_CODE, message=_l("题库编号最多40个字符。")), NoControlChars()])
    title = StringField(_l("题库名称"), filters=[strip], validators=[
        DataRequired(_l("请填写题库名称。")),
        Length(max=MAX_TITLE, message=_l("题库名称不能超过200个字符。")), NoControlChars()])
    description = TextAreaField(_l("说明"), filters=[strip], validators=[
        Length(max=MAX_DESCRIPTION, message=_l("说明不能超过2000个字符。"))])

    def bank_data(self) -> BankData:
        return BankData(code=self.code.data or "", title=self.title.data or "",
                        description=self.description.data or "")


class NewBankForm(BankForm):
    unit = select(_l("所属单位"), _l("请从列表中选择单位。"), coerce=opt_int,
                  validators=[DataRequired(_l("请选择所属单位。"))])


class BankFilterForm(FlaskForm):
    """The list filters (GET, no CSRF); a field with an unknown value is ignored and flagged."""

    class Meta:
        csrf = False

    q = StringField(_l("名称或编号"), filters=[strip], validators=[
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])
    status = select(_l("状态"), _l("请从列表中选择状态。"), default="", choices=[
        SelectChoice("", _l("使用中")), SelectChoice("archived", _l("已归档")),
        SelectChoice("all", _l("全部"))])

    def value(self, name: str) -> Any:
        field = self[name]
        return None if field.errors else (field.data or None)


class ArchiveForm(FlaskForm):
    action = select("", _l("请刷新页面后重试。"), choices=[
        SelectChoice("archive", _l("归档")), SelectChoice("restore", _l("恢复"))])

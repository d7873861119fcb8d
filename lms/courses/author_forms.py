"""Forms of the trainer pages: course, lesson (Markdown), attachment upload, video poster."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from lms.courses.authoring import (
    MAX_BODY,
    MAX_MINUTES,
    MAX_SUMMARY,
    MAX_TITLE,
    CourseData,
    LessonData,
)
from lms.i18n import _l
from lms.org.models import PostType
from lms.org.people_forms import NoControlChars, enum_choices, opt_int, strip


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CourseForm(FlaskForm):
    title = StringField(_l("课程名称"), filters=[strip], validators=[
        DataRequired(_l("请填写课程名称。")),
        Length(max=MAX_TITLE, message=_l("课程名称不能超过200个字符。")), NoControlChars()])
    code = StringField(_l("课程编号"), filters=[strip], validators=[
        Optional(), Regexp(r"^[A-Za-z0-9_-]{1,30}$", message=_l(
            "课程编号只能由字母、数字、“-”和“_”组成，最多30个字符；不填则自动生成。"))])
    summary = TextAreaField(_l("简介"), filters=[strip], validators=[
        Length(max=MAX_SUMMARY, message=_l("简介不能超过2000个字符。"))])
    post_types = CheckboxesField(
        _l("适用岗位"), choices=enum_choices(PostType),
        invalid_choice_message=_l("请从列表中选择适用岗位。"))
    credit_hours = DecimalField(
        _l("学时"), places=1, default=Decimal("0"), validators=[
            Optional(), NumberRange(min=0, max=200, message=_l("学时应在 0 到 200 之间。"))],
        invalid_value_message=_l("学时应为数字，例如 2 或 1.5。"))

    def course_data(self) -> CourseData:
        return CourseData(title=self.title.data or "", code=self.code.data or "",
                          summary=self.summary.data or "",
                          post_types=tuple(self.post_types.data or ()),
                          credit_hours=self.credit_hours.data or Decimal("0"))


class NewCourseForm(CourseForm):
    unit = SelectField(_l("所属单位"), coerce=opt_int, validate_choice=True,
                       invalid_choice_message=_l("请从列表中选择单位。"),
                       invalid_value_message=_l("请从列表中选择单位。"),
                       validators=[DataRequired(_l("请选择课程所属单位。"))])


class LessonForm(FlaskForm):
    title = StringField(_l("课时标题"), filters=[strip], validators=[
        DataRequired(_l("请填写课时标题。")),
        Length(max=MAX_TITLE, message=_l("课时标题不能超过200个字符。")), NoControlChars()])
    minutes = IntegerField(
        _l("学习时长（分钟）"), default=0, validators=[
            Optional(), NumberRange(min=0, max=MAX_MINUTES,
                                    message=_l("学习时长应在 0 到 600 分钟之间。"))],
        invalid_value_message=_l("学习时长应为整数分钟，例如 20。"),
        render_kw={"inputmode": "numeric"})
    body = TextAreaField(_l("正文（Markdown）"), validators=[
        Length(max=MAX_BODY, message=_l("正文不能超过100000个字符，请拆成几个课时。"))])

    def lesson_data(self) -> LessonData:
        return LessonData(title=self.title.data or "", minutes=self.minutes.data or 0,
                          body=self.body.data or "")


class UploadForm(FlaskForm):
    file = FileField(_l("选择文件"), validators=[FileRequired(_l("请选择要上传的文件。"))])


class PosterForm(FlaskForm):
    poster = FileField(_l("封面图片"), validators=[FileRequired(_l("请选择封面图片。"))])


def fill_course(form: CourseForm, course: Any) -> None:
    """Show a stored course in the form (GET)."""
    form.title.data, form.code.data, form.summary.data = course.title, course.code, course.summary
    form.post_types.data = course.post_type_list
    form.credit_hours.data = course.credit_hours

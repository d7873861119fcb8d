"""Forms for exam authoring: settings, status buttons, the paper editor, blueprint slots and
extra time. Times are typed as Beijing local time and stored in UTC. Ids arrive only as choices
the view builds from the actor's scope (or are re-checked by the services)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    Field,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from lms.exams.exam_admin import ExamSettings
from lms.exams.paper_admin import QuestionFilter, SlotData
from lms.exams.question_forms import DIFFICULTY_LABELS, TYPE_LABELS, CheckboxesField
from lms.i18n import _, _l
from lms.labels import label
from lms.org.models import PostType
from lms.org.people_forms import NoControlChars, opt_int, strip

TZ = ZoneInfo("Asia/Shanghai")
TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

EXAM_STATUSES = {"draft": _l("草稿"), "published": _l("已发布"), "archived": _l("已归档")}
GRADING_LABELS = {"highest": _l("取最高分"), "first": _l("取第一次"), "last": _l("取最后一次"),
                  "average": _l("取平均分")}
MC_RULE_LABELS = {"all_or_nothing": _l("全部选对才得分"),
                  "partial_half": _l("错选不得分，少选每个正确选项得 0.5 分")}
REVIEW_LABELS = {"immediately": _l("交卷后立即"), "after_close": _l("考试结束后"),
                 "never": _l("不公布")}
PAPER_MODE_LABELS = {"fixed": _l("固定试卷（逐题选择）"),
                     "blueprint": _l("随机组卷（按规则抽题）")}


def _choices(words: dict[Any, Any], blank: Any = None) -> list[SelectChoice]:
    items = [SelectChoice("", blank)] if blank is not None else []
    return items + [SelectChoice(str(k), v) for k, v in words.items()]


def _select(label_text: Any, **kw: Any) -> SelectField:
    message = _l("请从列表中选择。")
    return SelectField(label_text, invalid_choice_message=message,
                       invalid_value_message=message, **kw)


def _sane_year(form: Any, field: Any) -> None:
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_("请填写 2000 到 2100 年之间的日期。"))


def to_utc(value: datetime | None) -> datetime | None:
    """A form's naive Beijing time → aware UTC."""
    return None if value is None else value.replace(tzinfo=TZ).astimezone(UTC)


def to_local(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(TZ).replace(tzinfo=None)


class ScoreField(DecimalField):
    """A decimal typed by a person; NaN and infinity are invalid values."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(self.invalid_value_message)


def _int(label_text: Any, lo: int, hi: int, message: Any, *, required: bool = True,
         default: int | None = None) -> IntegerField:
    return IntegerField(label_text, default=default, validators=[
        InputRequired(message) if required else Optional(),
        NumberRange(lo, hi, message)], invalid_value_message=message,
        render_kw={"inputmode": "numeric"})


class IdListField(Field):
    """Checked ids (``name=1&name=2``); anything that is not an id is a form error."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            self.data = [opt_int(v) for v in valuelist if v != ""]
        except ValueError:
            self.data = []
            raise ValueError(_("请刷新页面后重新勾选。")) from None

    def _value(self) -> str:
        return ""


# ---------------------------------------------------------------- settings


class ExamForm(FlaskForm):
    title = StringField(_l("考试名称"), filters=[strip], validators=[
        DataRequired(_l("请填写考试名称。")),
        Length(max=200, message=_l("考试名称不能超过200个字符。")), NoControlChars()])
    description = TextAreaField(_l("考试须知"), filters=[strip], validators=[
        Length(max=20000, message=_l("考试须知不能超过20000个字符。")),
        NoControlChars("\r\n\t")])
    opens_at = DateTimeLocalField(_l("开始时间"), validators=[Optional(), _sane_year],
                                  format=TIME_FORMATS,
                                  invalid_value_message=_l("时间格式应为 2026-03-01 09:00。"))
    closes_at = DateTimeLocalField(_l("结束时间"), validators=[Optional(), _sane_year],
                                   format=TIME_FORMATS,
                                   invalid_value_message=_l("时间格式应为 2026-03-01 11:00。"))
    time_limit_minutes = _int(_l("答题限时（分钟）"), 1, 600,
                              _l("限时应为 1 到 600 分钟；不限时请留空。"), required=False,
                              default=60)
    grace_seconds = _int(_l("交卷宽限（秒）"), 0, 600, _l("宽限时间应为 0 到 600 秒。"),
                         default=60)
    attempts_allowed = _int(_l("允许作答次数"), 0, 20,
                            _l("作答次数应为 0 到 20（0 表示不限次数）。"), default=1)
    grading_method = _select(_l("多次作答时计分"), default="highest",
                             choices=_choices(GRADING_LABELS))
    pass_score = ScoreField(_l("及格分"), places=1, default=Decimal("60"), validators=[
        InputRequired(_l("请填写及格分。")),
        NumberRange(0, 9999.9, _l("及格分应为 0 到 9999.9 之间的数。"))],
        invalid_value_message=_l("及格分应为数字，最多一位小数，例如 60。"),
        render_kw={"inputmode": "decimal"})
    multiple_choice_rule = _select(_l("多选题计分"), default="all_or_nothing",
                                   choices=_choices(MC_RULE_LABELS))
    shuffle_questions = BooleanField(_l("打乱试题顺序"), default=True)
    shuffle_options = BooleanField(_l("打乱选项顺序"), default=True)
    show_score = _select(_l("何时公布成绩"), default="immediately",
                         choices=_choices(REVIEW_LABELS))
    show_answers = _select(_l("何时公布答案"), default="after_close",
                           choices=_choices(REVIEW_LABELS))
    passcode = StringField(_l("考场口令"), filters=[strip], validators=[
        Length(max=20, message=_l("考场口令最多20位。")), NoControlChars()],
        render_kw={"autocomplete": "off", "maxlength": 20})
    query_window_days = _int(_l("成绩复核期限（天）"), 0, 60, _l("复核期限应为 0 到 60 天。"),
                             default=7)
    paper_mode = _select(_l("组卷方式"), default="fixed", choices=_choices(PAPER_MODE_LABELS))
    audience_unit = _select(_l("考试对象单位"), coerce=opt_int)
    audience_post_types = CheckboxesField(
        _l("考试对象岗位"), choices=[SelectChoice(p.value, label(p)) for p in PostType],
        validate_choice=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.audience_post_types.pre_validate = self._check_posts  # type: ignore[method-assign]

    def _check_posts(self, form: Any) -> None:
        allowed = {p.value for p in PostType}
        if any(v not in allowed for v in self.audience_post_types.data or []):
            raise ValidationError(_("请从列表中选择岗位类型。"))

    def validate_closes_at(self, field: Any) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_("结束时间必须晚于开始时间。"))

    def fill(self, exam: Any) -> None:
        """Show a stored exam (GET of the edit page)."""
        for name in ("title", "description", "time_limit_minutes", "grace_seconds",
                     "attempts_allowed", "grading_method", "pass_score", "multiple_choice_rule",
                     "shuffle_questions", "shuffle_options", "show_score", "show_answers",
                     "query_window_days", "paper_mode"):
            getattr(self, name).data = getattr(exam, name)
        self.passcode.data = exam.passcode or ""
        self.opens_at.data = to_local(exam.opens_at)
        self.closes_at.data = to_local(exam.closes_at)
        self.audience_unit.data = exam.audience_unit_id or exam.org_unit_id
        self.audience_post_types.data = exam.post_type_list

    def settings(self) -> ExamSettings:
        return ExamSettings(
            title=self.title.data or "", description=self.description.data or "",
            opens_at=to_utc(self.opens_at.data), closes_at=to_utc(self.closes_at.data),
            time_limit_minutes=self.time_limit_minutes.data,
            grace_seconds=self.grace_seconds.data or 0,
            attempts_allowed=self.attempts_allowed.data or 0,
            grading_method=self.grading_method.data, pass_score=self.pass_score.data,
            multiple_choice_rule=self.multiple_choice_rule.data,
            shuffle_questions=bool(self.shuffle_questions.data),
            shuffle_options=bool(self.shuffle_options.data), show_score=self.show_score.data,
            show_answers=self.show_answers.data, passcode=self.passcode.data or None,
            query_window_days=self.query_window_days.data or 0,
            paper_mode=self.paper_mode.data, audience_unit_id=self.audience_unit.data,
            audience_post_types=tuple(self.audience_post_types.data or ()))


class NewExamForm(ExamForm):
    unit = _select(_l("组织单位"), coerce=opt_int,
                   validators=[DataRequired(_l("请选择组织单位。"))])


class ExamFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("考试名称"), filters=[strip], validators=[
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])
    status = _select(_l("状态"), choices=_choices(EXAM_STATUSES, _l("全部")), default="")
    unit = _select(_l("单位"), coerce=opt_int)

    def value(self, name: str) -> Any:
        field = getattr(self, name)
        return None if field.errors else field.data


class StatusForm(FlaskForm):
    action = HiddenField()


# ---------------------------------------------------------------- paper


class QuestionFilterForm(FlaskForm):
    class Meta:
        csrf = False

    bank = _select(_l("题库"), coerce=opt_int)
    type = _select(_l("题型"), choices=_choices(TYPE_LABELS, _l("全部")), default="")
    category = StringField(_l("分类"), filters=[strip], validators=[
        Length(max=200, message=_l("不能超过200个字符。")), NoControlChars()])
    knowledge_point = StringField(_l("知识点"), filters=[strip], validators=[
        Length(max=200, message=_l("不能超过200个字符。")), NoControlChars()])
    difficulty = _select(_l("难度"), coerce=opt_int,
                         choices=_choices(DIFFICULTY_LABELS, _l("全部")))
    q = StringField(_l("题干包含"), filters=[strip], validators=[
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])

    def question_filter(self) -> QuestionFilter:
        def ok(name: str) -> Any:
            field = getattr(self, name)
            return None if field.errors else field.data

        return QuestionFilter(bank_id=ok("bank"), type=ok("type") or "",
                              category=ok("category") or "",
                              knowledge_point=ok("knowledge_point") or "",
                              difficulty=ok("difficulty"), text=ok("q") or "")


class AddQuestionsForm(FlaskForm):
    questions = IdListField(_l("试题"))


class ItemForm(FlaskForm):
    item = HiddenField()
    points = ScoreField(_l("本卷分值"), places=1, validators=[Optional()],
                        invalid_value_message=_l("分值应为数字，最多一位小数，例如 2.5。"),
                        render_kw={"inputmode": "decimal", "class": "short"})

    def item_id(self) -> int | None:
        try:
            return opt_int(self.item.data)
        except ValueError:
            return None


class SlotForm(FlaskForm):
    bank = _select(_l("题库"), coerce=opt_int, validators=[DataRequired(_l("请选择题库。"))])
    type = _select(_l("题型"), choices=_choices(TYPE_LABELS, _l("请选择")),
                   validators=[DataRequired(_l("请选择题型。"))])
    category = StringField(_l("分类"), filters=[strip], validators=[
        Length(max=200, message=_l("不能超过200个字符。")), NoControlChars()])
    knowledge_point = StringField(_l("知识点"), filters=[strip], validators=[
        Length(max=200, message=_l("不能超过200个字符。")), NoControlChars()])
    difficulty = _select(_l("难度"), coerce=opt_int,
                         choices=_choices(DIFFICULTY_LABELS, _l("不限")))
    count = _int(_l("抽题数"), 1, 200, _l("抽题数应为 1 到 200。"), default=5)
    points = ScoreField(_l("每题分值"), places=1, default=Decimal("1"), validators=[
        DataRequired(_l("请填写每题分值。")),
        NumberRange(0.1, 999.9, _l("分值应为 0.1 到 999.9 之间的数。"))],
        invalid_value_message=_l("分值应为数字，最多一位小数，例如 2.5。"),
        render_kw={"inputmode": "decimal"})

    def slot_data(self) -> SlotData:
        return SlotData(self.bank.data, self.type.data, self.category.data or "",
                        self.knowledge_point.data or "", self.difficulty.data,
                        self.count.data, self.points.data)


# ---------------------------------------------------------------- extra time


class PersonSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("姓名或手机号"), filters=[strip], validators=[
        DataRequired(_l("请输入姓名或手机号。")),
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])


def _minutes() -> IntegerField:
    return _int(_l("延长时间（分钟）"), 1, 600, _l("延长时间应为 1 到 600 分钟。"), default=15)


def _reason() -> StringField:
    return StringField(_l("原因"), filters=[strip], validators=[
        DataRequired(_l("请填写延时原因，例如：视力障碍，需读屏。")),
        Length(max=500, message=_l("原因不能超过500个字符。")), NoControlChars()])


class PersonOverrideForm(FlaskForm):
    person = HiddenField(validators=[DataRequired(_l("请从搜索结果中选择人员。"))])
    extra_minutes = _minutes()
    reason = _reason()

    def person_id(self) -> int | None:
        try:
            return opt_int(self.person.data)
        except ValueError:
            return None


class GroupOverrideForm(FlaskForm):
    unit = _select(_l("单位"), coerce=opt_int, validators=[DataRequired(_l("请选择单位。"))])
    extra_minutes = _minutes()
    reason = _reason()


class RemoveOverrideForm(FlaskForm):
    override = HiddenField()

    def override_id(self) -> int | None:
        try:
            return opt_int(self.override.data)
        except ValueError:
            return None

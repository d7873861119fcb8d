"""Forms of the question pages: a question (every type in one form), the bank page filters,
retire / restore, and the import upload and confirmation."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.validators import DataRequired, Length

from lms.exams.bank_forms import select
from lms.exams.formats import FORMATS
from lms.exams.formats.fields import tags as split_tags
from lms.exams.formats.model import (
    CHOICE_TYPES,
    DEFAULT_POINTS,
    FILL,
    MULTIPLE,
    OPTION_LETTERS,
    SHORT,
    SINGLE,
    TRUE_FALSE,
    ParsedQuestion,
    points_text,
)
from lms.exams.models import QuestionVersion
from lms.i18n import _, _l
from lms.org.models import PostType
from lms.org.people_forms import NoControlChars, enum_choices, opt_int, strip

TYPE_LABELS = {SINGLE: _l("单选题"), MULTIPLE: _l("多选题"), TRUE_FALSE: _l("判断题"),
               FILL: _l("填空题"), SHORT: _l("简答题")}
DIFFICULTY_LABELS = {1: _l("1 易"), 2: _l("2 较易"), 3: _l("3 中等"), 4: _l("4 较难"),
                     5: _l("5 难")}
FORMAT_LABELS = {"auto": _l("自动识别"), "xlsx": _l("Excel 模板（.xlsx）"),
                 "csv": _l("CSV 模板（.csv）"), "gift": _l("Moodle GIFT"), "aiken": _l("Aiken")}
_BLANK_SEPARATORS = re.compile(r"[\n|｜]")
_SYNONYM_SEPARATORS = re.compile(r"[;；]")
_POINTS = re.compile(r"^[+-]?\d{1,6}(\.\d{1,3})?$")


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _label_field(text: Any) -> StringField:
    return StringField(text, filters=[strip], validators=[NoControlChars()])


def parse_points(value: str | None) -> Decimal | None:
    """``2``, ``1.5``, ``２分`` → Decimal; None when empty or not a finite number."""
    text = unicodedata.normalize("NFKC", value or "").replace(" ", "").removesuffix("分")
    if not _POINTS.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def blanks_answer(text: str | None) -> tuple[tuple[str, ...], ...]:
    """One blank per line (or per ``|``), accepted answers of a blank separated by ；or ;."""
    blanks = []
    for line in _BLANK_SEPARATORS.split((text or "").replace("\r", "")):
        accepted = tuple(dict.fromkeys(a.strip() for a in _SYNONYM_SEPARATORS.split(line)
                                       if a.strip()))
        if accepted:
            blanks.append(accepted)
    return tuple(blanks)


class QuestionForm(FlaskForm):
    type = select(_l("题型"), _l("请从列表中选择题型。"), default=SINGLE,
                  choices=[SelectChoice(k, v) for k, v in TYPE_LABELS.items()])
    stem = TextAreaField(_l("题干"), validators=[DataRequired(_l("题干不能为空"))])
    option_a = _label_field(_l("选项A"))
    option_b = _label_field(_l("选项B"))
    option_c = _label_field(_l("选项C"))
    option_d = _label_field(_l("选项D"))
    option_e = _label_field(_l("选项E"))
    option_f = _label_field(_l("选项F"))
    option_g = _label_field(_l("选项G"))
    option_h = _label_field(_l("选项H"))
    #: Letters outside A–H are ignored (only the choice types read them).
    correct = CheckboxesField(_l("正确答案"), validate_choice=False,
                              choices=[SelectChoice(ch, ch) for ch in OPTION_LETTERS])
    truth = RadioField(_l("答案"), choices=[SelectChoice("true", _l("对")),
                                           SelectChoice("false", _l("错"))],
                       validate_choice=False)
    blanks = TextAreaField(_l("每个空的答案"))
    reference_answer = TextAreaField(_l("参考答案"))
    explanation = TextAreaField(_l("解析"))
    points = StringField(_l("分值"), filters=[strip])
    difficulty = select(_l("难度"), _l("请从列表中选择难度。"), coerce=opt_int, default="",
                        choices=[SelectChoice("", _l("不设")),
                                 *(SelectChoice(str(k), v) for k, v in
                                   DIFFICULTY_LABELS.items())])
    knowledge_point = _label_field(_l("知识点"))
    category = _label_field(_l("分类"))
    post_types = CheckboxesField(_l("适用岗位"), choices=enum_choices(PostType),
                                 invalid_choice_message=_l("请从列表中选择适用岗位。"))
    tags = _label_field(_l("标签"))
    source = _label_field(_l("来源 / 政策依据"))

    def option_fields(self) -> list[Any]:
        return [self[f"option_{ch.lower()}"] for ch in OPTION_LETTERS]

    def validate_points(self, field: Any) -> None:
        if field.data and parse_points(field.data) is None:
            raise ValidationError(_("分值应为数字，例如 1 或 0.5。"))

    def question(self, title: str = "") -> ParsedQuestion:
        """The question as entered (the service tidies and checks it)."""
        qtype = self.type.data
        options: tuple[str, ...] = ()
        answer: Any = None
        if qtype in CHOICE_TYPES:
            values = [f.data or "" for f in self.option_fields()]
            while values and not values[-1]:
                values.pop()
            options = tuple(values)
            answer = tuple(sorted(OPTION_LETTERS.index(ch) for ch in self.correct.data or ()
                                  if ch in OPTION_LETTERS))
        elif qtype == TRUE_FALSE:
            answer = {"true": True, "false": False}.get(self.truth.data or "")
        elif qtype == FILL:
            answer = blanks_answer(self.blanks.data)
        elif qtype == SHORT:
            answer = self.reference_answer.data or None
        points = parse_points(self.points.data)
        if points is None:
            points = DEFAULT_POINTS.get(qtype, Decimal(1))
        return ParsedQuestion(
            type=qtype or "", stem=self.stem.data or "", options=options, answer=answer,
            points=points, explanation=self.explanation.data or "",
            difficulty=self.difficulty.data, knowledge_point=self.knowledge_point.data or "",
            category=self.category.data or "", post_types=tuple(self.post_types.data or ()),
            tags=split_tags(self.tags.data or ""), source=self.source.data or "", title=title)

    def show(self, v: QuestionVersion) -> None:
        """Fill the form with a stored version (GET of the edit page)."""
        self.type.data, self.stem.data = v.type, v.stem
        for field, text in zip(self.option_fields(), v.options or [], strict=False):
            field.data = text
        if v.type in CHOICE_TYPES:
            self.correct.data = [OPTION_LETTERS[i] for i in v.answer or ()]
        elif v.type == TRUE_FALSE:
            self.truth.data = "true" if v.answer else "false"
        elif v.type == FILL:
            self.blanks.data = "\n".join("；".join(accepted) for accepted in v.answer or ())
        self.reference_answer.data = v.reference_answer
        self.explanation.data, self.points.data = v.explanation, points_text(v.points)
        self.difficulty.data = v.difficulty
        self.knowledge_point.data, self.category.data = v.knowledge_point, v.category
        self.post_types.data = [p for p in v.post_types.split(",") if p]
        self.tags.data = "、".join(t for t in v.tags.split(",") if t)
        self.source.data = v.source


class QuestionFilterForm(FlaskForm):
    """The bank page filters (GET, no CSRF); the view fills category and knowledge point."""

    class Meta:
        csrf = False

    q = StringField(_l("题干包含"), filters=[strip], validators=[
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])
    type = select(_l("题型"), _l("请从列表中选择题型。"), default="",
                  choices=[SelectChoice("", _l("全部")),
                           *(SelectChoice(k, v) for k, v in TYPE_LABELS.items())])
    difficulty = select(_l("难度"), _l("请从列表中选择难度。"), default="", choices=[
        SelectChoice("", _l("全部")), *(SelectChoice(str(k), v)
                                        for k, v in DIFFICULTY_LABELS.items()),
        SelectChoice("none", _l("未设"))])
    category = select(_l("分类"), _l("请从列表中选择分类。"), default="")
    knowledge_point = select(_l("知识点"), _l("请从列表中选择知识点。"), default="")
    status = select(_l("状态"), _l("请从列表中选择状态。"), default="", choices=[
        SelectChoice("", _l("在用")), SelectChoice("retired", _l("已停用")),
        SelectChoice("all", _l("全部"))])

    def value(self, name: str) -> Any:
        field = self[name]
        return None if field.errors else (field.data or None)


class RetireForm(FlaskForm):
    action = select("", _l("请刷新页面后重试。"), choices=[
        SelectChoice("retire", _l("停用")), SelectChoice("restore", _l("恢复"))])


class ImportForm(FlaskForm):
    file = FileField(_l("试题文件"), validators=[FileRequired(_l("请选择要导入的文件。"))])
    format = select(_l("文件格式"), _l("请从列表中选择文件格式。"), default="auto",
                    choices=[SelectChoice(k, FORMAT_LABELS[k]) for k in ("auto", *FORMATS)])


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])

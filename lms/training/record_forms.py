"""Forms of the training record pages: entering external training, deciding on it."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, DecimalField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation, ValidationError

from lms.i18n import _l
from lms.org.people_forms import NoControlChars, strip
from lms.training.records import MAX_HOURS, ExternalData


def _hours(form: object, field: DecimalField) -> None:
    """0 < hours ≤ 999.9 with at most one decimal; NaN and infinities are refused too."""
    value = field.data
    if value is None:  # not a number: the field already says so
        raise StopValidation()
    if not (value.is_finite() and Decimal("0") < value <= MAX_HOURS
            and value == value.quantize(Decimal("0.1"))):
        raise ValidationError(_l("学时应大于 0、不超过 999.9，最多一位小数，例如 12 或 7.5。"))


class ExternalForm(FlaskForm):
    """Staff entry: the evidence file may be left out when the paper original was seen."""

    title = StringField(_l("培训名称"), filters=[strip], validators=[
        DataRequired(_l("请填写培训名称，例如“全国民政干部网络学院社会救助专题”。")),
        Length(max=200, message=_l("培训名称不能超过200个字符。")), NoControlChars()])
    provider = StringField(_l("举办单位或平台"), filters=[strip], validators=[
        DataRequired(_l("请填写举办单位或平台，例如“山东省民政厅”。")),
        Length(max=200, message=_l("举办单位不能超过200个字符。")), NoControlChars()])
    credit_hours = DecimalField(
        _l("学时"), places=1, validators=[InputRequired(_l("请填写学时。")), _hours],
        invalid_value_message=_l("学时应为数字，例如 12 或 7.5。"),
        render_kw={"inputmode": "decimal"})
    completed_on = DateField(_l("完成日期"), validators=[DataRequired(_l("请填写完成日期。"))],
                             invalid_value_message=_l("日期格式应为 2024-06-30。"))
    evidence = FileField(_l("培训证明（PDF 或图片）"))

    def data_object(self) -> ExternalData:
        return ExternalData(title=self.title.data or "", provider=self.provider.data or "",
                            credit_hours=self.credit_hours.data or Decimal("0"),
                            completed_on=self.completed_on.data)


class OwnExternalForm(ExternalForm):
    """The person's own entry: the evidence is required."""

    evidence = FileField(_l("培训证明（PDF 或图片）"), validators=[
        FileRequired(_l("请上传培训证明（证书或结业证明的扫描件、照片）。"))])


class DecisionForm(FlaskForm):
    entry = HiddenField()
    decision = SelectField(
        _l("审核结果"), choices=[SelectChoice("approve", _l("认定")),
                             SelectChoice("reject", _l("不通过"))],
        invalid_choice_message=_l("请选择“认定”或“不通过”。"))
    note = StringField(_l("审核意见"), filters=[strip], validators=[
        Length(max=500, message=_l("审核意见不能超过500个字符。")), NoControlChars()])
    back = HiddenField()

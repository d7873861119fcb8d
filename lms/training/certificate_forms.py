"""Forms of the completion and certificate pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from lms.auth.access import MAX_ID
from lms.i18n import _l


class IssueForm(FlaskForm):
    """Issue certificates: to one enrolment, or (left empty) to everyone who is eligible."""

    enrollment = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(1, MAX_ID)])


class VerifyForm(FlaskForm):
    """The public verification form (a GET search: no session, so no CSRF token)."""

    class Meta:
        csrf = False

    code = StringField(_l("查验码"), validators=[
        DataRequired(_l("请输入证书上的查验码。")),
        Length(max=30, message=_l("查验码为证书上印的 10 位字母和数字。"))])

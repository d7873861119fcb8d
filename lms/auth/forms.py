"""Login and password forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from lms.i18n import _l


class LoginForm(FlaskForm):
    login = StringField(_l("用户名或手机号"), validators=[
        DataRequired(_l("请输入用户名或手机号。")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[
        DataRequired(_l("请输入密码。")), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[
        DataRequired(_l("请输入当前密码。")), Length(max=256)])
    new = PasswordField(_l("新密码"), validators=[
        DataRequired(_l("请输入新密码。")), Length(max=256)])
    confirm = PasswordField(_l("再次输入新密码"), validators=[
        DataRequired(_l("请再次输入新密码。")), EqualTo("new", _l("两次输入的新密码不一致。"))])

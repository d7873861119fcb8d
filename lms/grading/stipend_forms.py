"""Forms of the quarterly grades and stipend pages: the pickers (township or county, year,
quarter; GET, no CSRF, values kept as text and checked against their lists), the grade sheet
(only the CSRF token: the ``grade-<post id>`` fields are read by ``read_grades``) and a change
proposal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import Length

from lms.errors import ValidationFailed
from lms.grading.labels import GRADE_LABELS, QUARTER_LABELS
from lms.grading.policy import Grade
from lms.i18n import _, _l
from lms.org.people_forms import NoControlChars, opt_int, strip

GRADE_PREFIX = "grade-"
#: How many years back the pickers offer.
YEARS_BACK = 10


def last_ended_quarter(today: date) -> tuple[int, int]:
    quarter = (today.month - 1) // 3 + 1
    return (today.year - 1, 4) if quarter == 1 else (today.year, quarter - 1)


def grade_choices(blank: Any = None) -> list[SelectChoice]:
    items = [SelectChoice("", blank)] if blank is not None else []
    return items + [SelectChoice(g.value, GRADE_LABELS[g]) for g in Grade]


class Pick(FlaskForm):
    """A unit, a year and (on the quarterly grades page) a quarter, in the query string."""

    class Meta:
        csrf = False

    unit = SelectField(_l("单位"), default="",
                       invalid_choice_message=_l("请从列表中选择单位。"))
    year = SelectField(_l("年度"), invalid_choice_message=_l("请选择有效的年度。"))
    quarter = SelectField(_l("季度"), invalid_choice_message=_l("请选择有效的季度。"),
                          choices=[SelectChoice(str(q), v) for q, v in QUARTER_LABELS.items()])

    def setup(self, units: list[SelectChoice], today: date, *, unit_label: Any) -> None:
        """Fill the lists; a single unit is chosen by default; the default year and quarter are
        those of the last ended quarter."""
        self.unit.label.text = unit_label
        self.unit.choices = units
        if len(units) == 2 and not self.unit.data:
            self.unit.data = units[1].value
        self.year.choices = [SelectChoice(str(y), _("%(year)s 年", year=y))
                             for y in range(today.year, today.year - YEARS_BACK, -1)]
        year, quarter = last_ended_quarter(today)
        if not self.year.data:
            self.year.data = str(year)
        if not self.quarter.data:
            self.quarter.data = str(quarter)

    def values(self) -> tuple[int | None, int, int] | None:
        """(unit id or None, year, quarter) when every field is valid, else None."""
        if not self.validate():
            return None
        return opt_int(self.unit.data), int(self.year.data), int(self.quarter.data)


class GradeSheetForm(FlaskForm):
    """The quarterly grades of a township: the CSRF token; the grades are read by read_grades."""


def _post_id(key: str) -> int | None:
    try:
        return opt_int(key[len(GRADE_PREFIX):])
    except ValueError:
        return None


def read_grades(formdata: Mapping[str, str], roster: Iterable[tuple[int, str]]) -> dict[int, str]:
    """The posted ``grade-<post id>`` values. Every id must be a post of *roster* (post id, name)
    and every post of the roster needs one of the four grades; otherwise ValidationFailed."""
    names = dict(roster)
    wanted = {g.value for g in Grade}
    grades: dict[int, str] = {}
    for key, value in formdata.items():
        if not key.startswith(GRADE_PREFIX):
            continue
        post_id = _post_id(key)
        if post_id is None or post_id not in names:
            raise ValidationFailed(
                _("名单中有不属于本乡镇该季度在岗的人员，请刷新页面后重试。"), "grades")
        if value == "":
            continue
        if value not in wanted:
            raise ValidationFailed(_("请从列表中选择季度等次。"), "grades")
        grades[post_id] = value
    missing = [name for post_id, name in names.items() if post_id not in grades]
    if missing:
        shown = "、".join(missing[:10]) + ("……" if len(missing) > 10 else "")
        raise ValidationFailed(_(
            "还有 %(n)s 人没有选择季度等次（%(names)s），请为每个人选择后再保存。",
            n=len(missing), names=shown), "grades")
    return grades


class ChangeForm(FlaskForm):
    """提出更正: another quarterly grade for a line of a confirmed quarter, with the reason."""

    grade = SelectField(_l("更正后的季度考核等次"), choices=grade_choices(_l("请选择")),
                        invalid_choice_message=_l("请从列表中选择季度等次。"))
    reason = TextAreaField(_l("更正理由和依据"), filters=[strip], validators=[
        Length(max=2000, message=_l("理由不能超过2000个字符。")),
        NoControlChars(allowed="\n\r\t")])

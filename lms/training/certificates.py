"""Certificate PDFs (结业证书): A4 landscape, one page per completion, Chinese text in the CJK font
shipped with the package and embedded as a subset (spec decision 20). The PDF references no
remote resource: the verification address is printed as text, not as a link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, WrapMode
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms.extensions import db
from lms.fonts import cjk_font_path
from lms.i18n import _
from lms.org.models import Level, OrgUnit
from lms.training.models import Completion, Program

FONT = "cjk"
PAGE_W, PAGE_H = 297.0, 210.0
LEFT, TEXT_W = 30.0, 237.0
RED = (179, 38, 30)
INK = (31, 35, 40)
MUTED = (87, 96, 106)
#: Levels named in a person's unit on the certificate (county › township › village).
UNIT_LEVELS = (Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE)
#: Height available to the main paragraph; a long program title makes the type smaller.
PARAGRAPH_H = 34.0
PARAGRAPH_SIZES = (16, 14, 12, 10)


@dataclass(frozen=True)
class Certificate:
    name: str
    unit: str
    program: str
    organiser: str
    credit_hours: Decimal
    starts_on: date | None
    ends_on: date | None
    completed_on: date
    valid_until: date | None
    serial_no: str
    verify_code: str
    verify_url: str


# ---------------------------------------------------------------- data

def unit_titles(unit_ids: Iterable[int]) -> dict[int, str]:
    """Unit id → its name with its county and township in front (two queries for any number)."""
    units = list(db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(set(unit_ids)))))
    ancestor_ids = {a for u in units for a in u.ancestor_ids}
    by_id = {u.id: u for u in db.session.scalars(
        select(OrgUnit).where(OrgUnit.id.in_(ancestor_ids)))}
    titles = {}
    for u in units:
        names = [by_id[a].name for a in u.ancestor_ids
                 if a in by_id and by_id[a].level in UNIT_LEVELS]
        titles[u.id] = "".join(names) or u.name
    return titles


def organiser_name(program: Program) -> str:
    return _("%(unit)s民政部门", unit=program.org_unit.name)


def certificates_for(completions: Sequence[Completion],
                     verify_url: Callable[[str], str]) -> list[Certificate]:
    """Certificate data for *completions* (person and program loaded); *verify_url* gives the
    verification address for a code."""
    units = unit_titles(c.org_unit_id for c in completions)
    return [Certificate(
        name=c.person.name, unit=units.get(c.org_unit_id, ""), program=c.program.title,
        organiser=organiser_name(c.program), credit_hours=c.credit_hours,
        starts_on=c.program.starts_on, ends_on=c.program.ends_on, completed_on=c.completed_on,
        valid_until=c.valid_until, serial_no=c.serial_no, verify_code=c.verify_code,
        verify_url=verify_url(c.verify_code)) for c in completions]


def program_completions(program: Program, serial_no: str | None = None) -> list[Completion]:
    """The completions of *program* in serial-number order (person loaded); only the one with
    *serial_no* when given."""
    query = (select(Completion).options(joinedload(Completion.person))
             .where(Completion.program_id == program.id).order_by(Completion.serial_no))
    if serial_no is not None:
        query = query.where(Completion.serial_no == serial_no)
    return list(db.session.scalars(query))


def person_completions(person_id: int | None) -> list[Completion]:
    """A person's completions, newest first (none for an account without a person)."""
    if person_id is None:
        return []
    return list(db.session.scalars(
        select(Completion).options(joinedload(Completion.person))
        .where(Completion.person_id == person_id)
        .order_by(Completion.completed_on.desc(), Completion.id.desc())))


def own_completion(person_id: int | None, serial_no: str) -> Completion | None:
    """The completion with *serial_no* if it belongs to *person_id*, else None."""
    if person_id is None:
        return None
    return db.session.scalar(
        select(Completion).options(joinedload(Completion.person))
        .where(Completion.person_id == person_id, Completion.serial_no == serial_no))


# ---------------------------------------------------------------- words

def chinese_date(day: date | None) -> str:
    if day is None:
        return "—"
    return _("%(y)s年%(m)s月%(d)s日", y=day.year, m=day.month, d=day.day)


def hours_text(value: Decimal) -> str:
    """12.0 → "12", 12.5 → "12.5"."""
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


def paragraph(cert: Certificate) -> str:
    if cert.starts_on and cert.ends_on:
        return _("于%(start)s至%(end)s参加%(organiser)s组织的“%(program)s”培训，"
                 "完成规定的学习任务，达到结业要求，准予结业。", start=chinese_date(cert.starts_on),
                 end=chinese_date(cert.ends_on), organiser=cert.organiser, program=cert.program)
    return _("参加%(organiser)s组织的“%(program)s”培训，完成规定的学习任务，"
             "达到结业要求，准予结业。", organiser=cert.organiser, program=cert.program)


def detail_lines(cert: Certificate) -> list[str]:
    return [
        _("单位：%(unit)s", unit=cert.unit),
        _("学时：%(hours)s 学时", hours=hours_text(cert.credit_hours)),
        _("结业日期：%(date)s", date=chinese_date(cert.completed_on)),
        _("有效期至：%(date)s", date=chinese_date(cert.valid_until)),
    ]


# ---------------------------------------------------------------- drawing

def _document() -> FPDF:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(LEFT, 20.0, PAGE_W - LEFT - TEXT_W)
    pdf.add_font(FONT, fname=str(cjk_font_path()))
    pdf.set_title(_("结业证书"))
    pdf.set_lang("zh-CN")
    pdf.set_creator(_("民政培训考核系统"))
    return pdf


def _text(pdf: FPDF, size: float, colour: tuple[int, int, int] = INK) -> None:
    pdf.set_font(FONT, size=size)
    pdf.set_text_color(*colour)


def _frame(pdf: FPDF) -> None:
    pdf.set_draw_color(*RED)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, PAGE_W - 16, PAGE_H - 16)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, PAGE_W - 22, PAGE_H - 22)


def _heading(pdf: FPDF, cert: Certificate) -> None:
    _text(pdf, 10, MUTED)
    pdf.set_xy(LEFT, 15)
    pdf.cell(TEXT_W, 6, _("证书编号：%(serial)s", serial=cert.serial_no), align=Align.R)
    _text(pdf, 34, RED)
    pdf.set_char_spacing(6)
    pdf.set_xy(LEFT, 28)
    pdf.cell(TEXT_W, 16, _("结业证书"), align=Align.C)
    pdf.set_char_spacing(0)


def _paragraph_size(pdf: FPDF, text: str) -> int:
    for size in PARAGRAPH_SIZES:
        _text(pdf, size)
        lines = pdf.multi_cell(TEXT_W, size * 0.6, text, wrapmode=WrapMode.CHAR, dry_run=True,
                               output=MethodReturnValue.LINES)
        if len(lines) * size * 0.6 <= PARAGRAPH_H:
            break
    return size


def _body(pdf: FPDF, cert: Certificate) -> None:
    _text(pdf, 20)
    pdf.set_xy(LEFT, 60)
    pdf.cell(TEXT_W, 10, _("%(name)s同志：", name=cert.name))
    text = "\u3000\u3000" + paragraph(cert)
    size = _paragraph_size(pdf, text)
    pdf.set_xy(LEFT, 74)
    pdf.multi_cell(TEXT_W, size * 0.6, text, wrapmode=WrapMode.CHAR, align=Align.L)


def _details(pdf: FPDF, cert: Certificate) -> None:
    _text(pdf, 13)
    pdf.set_xy(LEFT, 114)
    for line in detail_lines(cert):
        pdf.set_x(LEFT)
        pdf.multi_cell(140, 7.5, line, wrapmode=WrapMode.CHAR, align=Align.L)


def _signature(pdf: FPDF, cert: Certificate) -> None:
    _text(pdf, 15)
    pdf.set_xy(180, 146)
    pdf.multi_cell(87, 8, cert.organiser, wrapmode=WrapMode.CHAR, align=Align.C)
    _text(pdf, 13)
    pdf.set_xy(180, 158)
    pdf.cell(87, 7, chinese_date(cert.completed_on), align=Align.C)


def _footer(pdf: FPDF, cert: Certificate) -> None:
    _text(pdf, 9, MUTED)
    pdf.set_xy(LEFT, 178)
    pdf.cell(TEXT_W, 5, _("查验码：%(code)s", code=cert.verify_code))
    pdf.set_xy(LEFT, 183)
    pdf.cell(TEXT_W, 5, _("查验网址：%(url)s", url=cert.verify_url))
    pdf.set_xy(LEFT, 188)
    pdf.cell(TEXT_W, 5, _("在查验网址输入查验码，可核对持证人姓名、培训班、结业日期和有效期。"))


def certificates_pdf(certs: Sequence[Certificate]) -> bytes:
    """One A4 landscape page per certificate, in one PDF."""
    pdf = _document()
    for cert in certs:
        pdf.add_page()
        _frame(pdf)
        _heading(pdf, cert)
        _body(pdf, cert)
        _details(pdf, cert)
        _signature(pdf, cert)
        _footer(pdf, cert)
    return bytes(pdf.output())

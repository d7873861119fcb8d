"""Journey 2: a township trainer authors a lesson with an image and a PDF, builds an exam from a
question bank imported from the Chinese Excel template (downloaded from the page, filled in,
uploaded, previewed, confirmed), schedules an in-person session and takes the roll."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fpdf import FPDF
from openpyxl import load_workbook
from PIL import Image

from lms.db import utcnow
from lms.extensions import db
from lms.org.models import PostType
from lms.training.enrolment import TZ, add_person
from lms.training.models import Attendance, Program
from tests.browser.conftest import WIDTHS
from tests.factories import PASSWORD, build_world, make_person, make_user

COURSE = "村级社会救助实务"
LESSON = "低保申请受理流程"
BANK = "兰山街道助理员题库"
EXAM = "社会救助实务测验"
SESSION = "第一讲 低保入户调查"
ROWS = [  # 题型, 题干, options, 答案
    ("单选", "低保审核确认由哪一级负责？", ["县级民政部门", "村委会", "乡镇政府", "市民政局"], "A"),
    ("多选", "入户调查要核实哪些情况？", ["家庭成员", "收入", "财产", "爱好"], "ABC"),
    ("判断", "困难群众的信息可以随意公开。", [], "错误"),
]


def _setup(live) -> dict:  # noqa: ANN001
    with live.ctx():
        world = build_world()
        now = utcnow()
        today = now.astimezone(TZ).date()
        make_user("town_trainer", world.town_a, [("trainer", world.town_a)])
        program = Program(org_unit_id=world.town_a.id, title="2026年兰山街道助理员轮训班",
                          kind="rotation", mode="blended",
                          audience_post_type=PostType.VILLAGE_ASSISTANT.value, status="open",
                          starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=30),
                          credit_hours=Decimal("8"))
        db.session.add(program)
        db.session.flush()
        second = make_person(world.village_a, "赵敏", post_type=PostType.VILLAGE_ASSISTANT.value)
        for person in (world.person_a, second):
            add_person(program, person, actor=world.town_a_admin, now=now)
        db.session.commit()
        return {"program": program.title, "program_id": program.id,
                "people": [world.person_a.name, second.name]}


def _files(tmp: Path) -> tuple[Path, Path]:
    image = tmp / "入户调查流程图.png"
    Image.new("RGB", (120, 80), (200, 40, 30)).save(image)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="Dibao application form")
    doc = tmp / "低保申请表.pdf"
    doc.write_bytes(bytes(pdf.output()))
    return image, doc


def _fill_template(template: Path, out: Path) -> None:
    """What the trainer does in Excel: the questions under the header of the template."""
    book = load_workbook(io.BytesIO(template.read_bytes()))
    sheet = book.worksheets[0]
    header = [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]
    for kind, stem, options, answer in ROWS:
        values = {"题型": kind, "题干": stem, "答案": answer, "分值": 10}
        values.update({f"选项{letter}": text
                       for letter, text in zip("ABCD", options, strict=False)})
        sheet.append([values.get(h) for h in header])
    book.save(out)


def _local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("width", WIDTHS)
def test_trainer_authors_builds_an_exam_schedules_and_takes_the_roll(live, journey, width):  # noqa: ANN001
    d = _setup(live)
    image, doc = _files(live.tmp)
    j = journey(width)
    page = j.page
    j.login("town_trainer", PASSWORD)
    j.shot("home")

    # a course and a lesson with an image and a PDF
    j.nav("课程")
    page.get_by_role("link", name="新建课程").click()
    j.shot("new-course")
    page.locator("#title").fill(COURSE)
    page.locator("#summary").fill("面向村级民政助理员的社会救助实务课程。")
    page.locator("#credit_hours").fill("2")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text().startswith(COURSE)
    j.shot("course")
    page.get_by_role("link", name="添加课时").click()
    page.locator("#title").fill(LESSON)
    page.locator("#minutes").fill("30")
    page.locator("#body").fill(
        "## 受理\n\n申请人向户籍所在地乡镇人民政府提出申请。\n\n- 核对材料\n- 登记受理")
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_load_state("load")
    j.shot("lesson-saved")
    for upload in (image, doc):
        page.locator("form[enctype] input[type=file]").last.set_input_files(str(upload))
        page.get_by_role("button", name="上传", exact=True).click()
        page.wait_for_load_state("load")
        assert upload.name in page.content()
    j.shot("lesson-with-files")

    # a bank imported from the template, then an exam built from it
    j.nav("题库")
    page.get_by_role("link", name="新建题库").click()
    page.locator("#code").fill("LSJD-ZLY")
    page.locator("#title").fill(BANK)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    j.shot("bank")
    page.get_by_role("link", name="导入试题").click()
    j.shot("import")
    with page.expect_download() as info:
        page.get_by_role("link", name="下载导入模板（Excel）").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    filled = live.tmp / "试题导入.xlsx"
    _fill_template(Path(info.value.path()), filled)
    page.locator("input[type=file]").set_input_files(str(filled))
    page.get_by_role("button", name="上传并检查").click()
    page.wait_for_load_state("load")
    j.shot("import-preview")
    page.get_by_role("button", name="确认导入").click()
    page.wait_for_load_state("load")
    j.shot("imported")
    assert all(stem[:6] in page.content() for _k, stem, _o, _a in ROWS)

    j.nav("考试管理")
    page.get_by_role("link", name="新建考试").click()
    page.locator("#title").fill(EXAM)
    page.locator("#time_limit_minutes").fill("30")
    page.locator("#pass_score").fill("18")
    j.shot("new-exam")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    j.shot("exam-paper")  # a new exam opens on its paper
    assert "请从列表中选择" not in page.content()  # the search said so before any search
    page.locator("input[name=questions]").first.wait_for()
    for box in page.locator("input[name=questions]").all():
        box.check()
    page.get_by_role("button", name="把勾选的试题加入试卷").click()
    page.wait_for_load_state("load")
    j.shot("paper")
    page.get_by_role("link", name="返回考试").click()
    page.get_by_role("button", name="发布考试").click()
    page.wait_for_load_state("load")
    j.shot("exam-published")
    assert page.get_by_role("button", name="撤回为草稿").count() == 1

    # an in-person session of the program, then the roll
    j.nav("培训班")
    page.get_by_role("link", name=d["program"]).click()
    j.shot("program")
    page.get_by_role("link", name="安排课次").first.click()
    now = utcnow()
    page.locator("#title").fill(SESSION)
    page.locator("#location").fill("兰山街道便民服务中心二楼")
    page.locator("#starts_at").fill(_local(now - timedelta(hours=1)))
    page.locator("#ends_at").fill(_local(now + timedelta(hours=1)))
    page.locator("#credit_hours").fill("2")
    j.shot("new-session")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    j.shot("session")
    first, second = d["people"]
    page.get_by_label(first, exact=True).select_option("present")
    page.get_by_label(second, exact=True).select_option("absent")
    page.get_by_role("button", name="保存点名").click()
    page.wait_for_load_state("load")
    j.shot("roll-taken")
    with live.ctx():
        marks = sorted(a.status for a in db.session.query(Attendance).all())
    assert marks == ["absent", "present"]
    j.check()

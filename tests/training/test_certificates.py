"""Certificate PDFs (Chinese text with rare characters, embedded font, no remote resources), the
trainer's completion page, the trainee's own certificates and the public verification page."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from lms.extensions import db
from lms.fonts import LICENCE_FILE, cjk_font_path
from lms.training import certificates, completion
from lms.training.models import Completion, Enrollment
from tests.factories import make_person, make_user
from tests.querycount import count_queries
from tests.training.completion_factories import NOW, attend, enrol, finish, make_program, ready

#: Names with characters outside GB2312 (堃 喆 赟 are in GBK only; 䶮 is in Extension A).
RARE_NAMES = ["王堃", "李赟", "欧阳喆", "刘䶮"]


def _pages(data: bytes) -> list[str]:
    """The text of each page, without the spaces and NULs pypdf puts between CJK glyphs."""
    reader = PdfReader(io.BytesIO(data))
    return [re.sub(r"[\s\x00]", "", page.extract_text()) for page in reader.pages]


def _pdf_of(completions: list[Completion]) -> bytes:
    return certificates.certificates_pdf(certificates.certificates_for(
        completions, lambda code: f"https://lms.example/training/verify?code={code}"))


@pytest.fixture
def issued(app, world):
    """Person A (renamed 王堃) completed a township program; the trainer is town_a_admin."""
    world.person_a.name = "王堃"
    setup = make_program(world.town_a, sessions=2)
    e = ready(setup, world.person_a)
    c = completion.complete(e, actor=world.town_a_admin, now=NOW)
    db.session.commit()
    return setup.program, c


# ---------------------------------------------------------------- the font

def test_the_font_ships_with_its_licence_and_covers_rare_characters():
    from fontTools.ttLib import TTFont

    path = cjk_font_path()
    assert path.is_file() and (path.parent / LICENCE_FILE).is_file()
    assert "SIL OPEN FONT LICENSE Version 1.1" in (path.parent / LICENCE_FILE).read_text()
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap()
    gbk_hanzi = range(0x4E00, 0x9FA6)  # every CJK Unified Ideograph in GBK
    ext_a = range(0x3400, 0x4DB6)
    assert [hex(cp) for cp in (*gbk_hanzi, *ext_a) if cp not in cmap] == []
    assert all(ord(ch) in cmap for ch in "".join(RARE_NAMES) + "证书编号：（）“”0123456789ABC")


def test_matplotlib_can_use_the_font():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(cjk_font_path()))
    assert font.family_name == "Noto Sans CJK SC"
    assert font.get_char_index(ord("堃")) != 0
    assert font_manager.FontProperties(fname=str(cjk_font_path())).get_file() == str(
        cjk_font_path())


# ---------------------------------------------------------------- the PDF

def test_pdf_text_extracts_as_the_right_names(app, world):
    setup = make_program(world.town_a)
    people = [make_person(world.village_a, n, post_type="village_assistant") for n in RARE_NAMES]
    for p in people:
        ready(setup, p)
    made = completion.complete_all_eligible(setup.program, actor=world.town_a_admin, now=NOW)
    made.sort(key=lambda c: c.serial_no)
    pages = _pages(_pdf_of(made))
    assert len(pages) == len(RARE_NAMES)
    for text, c in zip(pages, made, strict=True):
        assert f"{c.person.name}同志：" in text
        assert setup.program.title in text and c.serial_no in text and c.verify_code in text
        assert "兰山区兰山街道金雀山社区居委会" in text and "学时：24学时" in text
        assert "2026年3月20日" in text and "有效期至：2029年3月20日" in text
        assert f"verify?code={c.verify_code}" in text


def test_pdf_embeds_a_subset_of_the_cjk_font_and_references_nothing_remote(app, issued):
    _program, c = issued
    data = _pdf_of([c])
    reader = PdfReader(io.BytesIO(data))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    (font,) = [f.get_object() for f in fonts.values()]
    descendant = font["/DescendantFonts"][0].get_object()
    assert "NotoSansCJK" in font["/BaseFont"]
    assert re.match(r"/[A-Z]{6}\+", font["/BaseFont"])  # a subset tag
    assert "/FontFile3" in descendant["/FontDescriptor"].get_object()  # embedded CFF outlines
    assert len(data) < 200_000
    assert b"/URI" not in data and b"/Launch" not in data and b"/GoToR" not in data
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # landscape


def test_long_program_titles_still_fit(app, world):
    setup = make_program(world.town_a, title="关于加强基层民政能力建设的专题培训" * 8)
    c = completion.complete(ready(setup, world.person_a), actor=None, now=NOW)
    (text,) = _pages(_pdf_of([c]))
    assert setup.program.title in text and c.verify_code in text


# ---------------------------------------------------------------- the trainer's pages

def test_completion_page_shows_who_is_missing_what(app, client, world):
    setup = make_program(world.town_a, sessions=5)
    ready(setup, make_person(world.village_a, "王堃", post_type="village_assistant"))
    e = enrol(setup.program, world.person_a)
    finish(world.person_a, setup.lessons[:1])
    attend(world.person_a, setup.sessions[:3])
    db.session.commit()
    client.login("town_a_admin")
    html = client.get(f"/training/programs/{setup.program.id}/completion").get_data(as_text=True)
    assert "王堃" in html and "可结业" in html
    assert "还有 2 课未学完：特困人员救助供养、临时救助" in html
    assert "出勤 3/5 次，至少需要 4 次" in html
    assert "为全部可结业学员颁发证书（1 人）" in html
    assert f'name="enrollment" value="{e.id}"' not in html  # no issue button for person A


def test_trainer_issues_one_and_then_the_rest(app, client, world):
    setup = make_program(world.town_a)
    first = ready(setup, world.person_a)
    ready(setup, make_person(world.village_a, "李赟", post_type="village_assistant"))
    db.session.commit()
    client.login("town_a_admin")
    url = f"/training/programs/{setup.program.id}/completion"
    resp = client.post(url, {"enrollment": str(first.id)})
    assert resp.status_code == 302
    assert db.session.scalar(select(db.func.count(Completion.id))) == 1
    client.post(url, {})
    assert db.session.scalar(select(db.func.count(Completion.id))) == 2
    html = client.get(url).get_data(as_text=True)
    assert "已颁发证书 2 人" in html and "3713-2026-000002" in html


def test_issuing_to_someone_not_ready_flashes_the_reason(app, client, world):
    setup = make_program(world.town_a, sessions=1)
    e = enrol(setup.program, world.person_a)
    db.session.commit()
    client.login("town_a_admin")
    url = f"/training/programs/{setup.program.id}/completion"
    client.post(url, {"enrollment": str(e.id)})
    html = client.get(url).get_data(as_text=True)
    assert "李四尚不能结业" in html
    assert db.session.scalar(select(db.func.count(Completion.id))) == 0


def test_issuing_an_enrolment_of_another_program_is_404(app, client, world):
    mine = make_program(world.town_a)
    other = make_program(world.town_a, title="另一个培训班")
    e = ready(other, world.person_a)
    db.session.commit()
    client.login("town_a_admin")
    resp = client.post(f"/training/programs/{mine.program.id}/completion",
                       {"enrollment": str(e.id)})
    assert resp.status_code == 404
    assert db.session.get(Enrollment, e.id).status == "enrolled"


def test_trainer_downloads_one_or_all_certificates(app, client, world, issued):
    program, c = issued
    client.login("town_a_admin")
    one = client.get(f"/training/programs/{program.id}/certificates.pdf?serial={c.serial_no}")
    assert one.status_code == 200 and one.mimetype == "application/pdf"
    assert "attachment" in one.headers["Content-Disposition"]
    assert "王堃同志：" in _pages(one.data)[0]
    assert client.get(f"/training/programs/{program.id}/certificates.pdf").status_code == 200
    assert client.get(f"/training/programs/{program.id}/certificates.pdf?serial=nope"
                      ).status_code == 404


def test_out_of_scope_trainer_gets_404(app, client, world, issued):
    program, c = issued
    client.login("b_admin")
    for url in (f"/training/programs/{program.id}/completion",
                f"/training/programs/{program.id}/certificates.pdf",
                f"/training/programs/{program.id}/certificates.pdf?serial={c.serial_no}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/training/programs/{program.id}/completion", {}).status_code == 404


def test_completion_page_queries_do_not_grow_with_people(app, client, world):
    def build(n: int) -> int:
        setup = make_program(world.town_a, sessions=2, title=f"培训班{n}")
        for i in range(n):
            p = make_person(world.village_a, f"学员{n}-{i}", post_type="village_assistant")
            if i % 2:
                ready(setup, p)
            else:
                enrol(setup.program, p)
                finish(p, setup.lessons[:1])
                attend(p, setup.sessions[:1], "late")
        completion.complete_all_eligible(setup.program, actor=None, now=NOW)
        for i in range(n, n + 2):  # two more ready but not yet issued
            ready(setup, make_person(world.village_a, f"学员{n}-{i}"))
        db.session.commit()
        return setup.program.id

    small, large = build(2), build(12)
    client.login("town_a_admin")
    counts = []
    for program_id in (small, large):
        with count_queries() as counter:
            assert client.get(f"/training/programs/{program_id}/completion").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


# ---------------------------------------------------------------- the trainee's certificates

def test_trainee_sees_and_downloads_only_their_own(app, client, world, issued):
    _program, c = issued
    other = completion.complete(ready(make_program(world.town_b, title="罗庄培训班"),
                                      world.person_b), actor=None, now=NOW)
    db.session.commit()
    client.login(world.trainee.username)
    html = client.get("/training/my-certificates").get_data(as_text=True)
    assert c.serial_no in html and other.serial_no not in html
    own = client.get(f"/training/my-certificates/{c.serial_no}.pdf")
    assert own.status_code == 200 and "王堃同志：" in _pages(own.data)[0]
    assert client.get(f"/training/my-certificates/{other.serial_no}.pdf").status_code == 404
    assert client.get("/training/my-certificates/nope.pdf").status_code == 404


def test_an_account_without_a_person_has_no_certificates(app, client, world, issued):
    _program, c = issued
    client.login("a_admin")
    assert "您还没有结业证书" in client.get("/training/my-certificates").get_data(as_text=True)
    assert client.get(f"/training/my-certificates/{c.serial_no}.pdf").status_code == 404


# ---------------------------------------------------------------- public verification

def test_verification_finds_the_certificate_and_shows_nothing_else(app, client, world, issued):
    program, c = issued
    world.person_a.phone = "13800000001"
    db.session.commit()
    resp = client.get(f"/training/verify?code={c.verify_code.lower()}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "王堃" in html and program.title in html and "2026-03-20" in html
    assert "2029-03-20" in html and "证书真实有效" in html
    for private in ("13800000001", "金雀山社区居委会", "兰山街道", c.serial_no, "371302"):
        assert private not in html, private


def test_verification_of_an_unknown_code(app, client, world, issued):
    for code in ("ABCDEFGHJK", "not-a-code", "'; DROP TABLE completion; --"):
        html = client.get("/training/verify", query_string={"code": code}).get_data(as_text=True)
        assert "未找到该证书" in html and "王堃" not in html


def test_verification_form_without_a_code(app, client):
    html = client.get("/training/verify").get_data(as_text=True)
    assert "查验码" in html and "未找到该证书" not in html
    assert "请输入证书上的查验码" in client.get("/training/verify?code=").get_data(as_text=True)


def test_expired_certificate_says_so(app, client, world, issued):
    _program, c = issued
    c.valid_until = c.completed_on
    db.session.commit()
    html = client.get(f"/training/verify?code={c.verify_code}").get_data(as_text=True)
    assert "已过有效期" in html


# ---------------------------------------------------------------- end to end

def test_trainee_completes_a_blended_program_end_to_end(app, client, world):
    """Lessons and attendance → the trainer issues → the trainee's PDF names them → the public
    page verifies the code. (The closing exam joins once the exams domain lands.)"""
    world.person_a.name = "张喆赟"
    setup = make_program(world.town_a, sessions=3, threshold=60)
    e = enrol(setup.program, world.person_a)
    finish(world.person_a, setup.lessons)
    attend(world.person_a, setup.sessions[:1], "present")
    attend(world.person_a, setup.sessions[1:2], "late")
    attend(world.person_a, setup.sessions[2:], "absent")
    db.session.commit()

    client.login("town_a_admin")
    client.post(f"/training/programs/{setup.program.id}/completion", {"enrollment": str(e.id)})
    client.logout()
    c = db.session.scalars(select(Completion)).one()

    client.login(world.trainee.username)
    pdf = client.get(f"/training/my-certificates/{c.serial_no}.pdf")
    text = _pages(pdf.data)[0]
    assert "张喆赟同志：" in text and c.verify_code in text
    client.logout()

    html = client.get(f"/training/verify?code={c.verify_code}").get_data(as_text=True)
    assert "张喆赟" in html and setup.program.title in html


def test_a_person_without_account_can_still_be_verified(app, client, world):
    person = make_person(world.village_a, "周堃", post_type="village_assistant")
    c = completion.complete(ready(make_program(world.town_a), person), actor=None, now=NOW)
    make_user("someone", world.town_a)
    db.session.commit()
    assert "周堃" in client.get(f"/training/verify?code={c.verify_code}").get_data(as_text=True)

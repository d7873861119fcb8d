"""The bank and question pages: list with counts, create / edit / archive a bank, the bank page
(filters, pages, constant query count), the question form (errors at the field, nothing saved),
detail with key and versions, retire; import upload → preview → confirm (GBK CSV, bad rows,
duplicates, confirming twice); downloads; another county gets 404."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from lms.exams.formats.model import duplicate_key
from lms.exams.models import Question, QuestionBank, QuestionVersion
from lms.exams.questions import dup_key, to_parsed
from lms.extensions import db
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.exams.test_exams_import_cli import BAD_CSV, GOOD_CSV
from tests.querycount import count_queries


@pytest.fixture
def admin(app, client, world, tmp_path):  # noqa: ANN001, ANN201
    app.config["UPLOAD_DIR"] = str(tmp_path)
    bank = make_bank(world.county_a, code="SJ01", title="社会救助题库")
    db.session.commit()
    client.login("a_admin")
    return bank


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _upload(client, bank, data: bytes, name: str, fmt: str = "auto"):
    return client.post(f"/exams/banks/{bank.id}/import",
                       {"file": (io.BytesIO(data), name), "format": fmt},
                       content_type="multipart/form-data")


# ---------------------------------------------------------------- banks


def test_nav_link_and_list_with_counts(client, world, admin):
    make_question(admin, type="single_choice")
    make_question(admin, type="true_false")
    make_bank(world.county_b, code="LZ01", title="罗庄题库")
    db.session.commit()
    html = _text(client.get("/exams/banks"))
    assert 'href="/exams/banks"' in html and "社会救助题库" in html and "罗庄题库" not in html
    client.logout()
    client.login(world.trainee.username)
    assert 'href="/exams/banks"' not in _text(client.get("/"))
    assert client.get("/exams/banks").status_code in (403, 404)


def test_create_edit_and_archive_a_bank(client, world, admin):
    resp = client.post("/exams/banks/new", {"unit": world.county_a.id, "code": "bad code",
                                            "title": "新题库"})
    assert resp.status_code == 200 and "题库编号只能由字母" in _text(resp)
    assert _count(QuestionBank) == 1
    resp = client.post("/exams/banks/new", {"unit": world.county_b.id, "code": "B1",
                                            "title": "越权"})
    assert resp.status_code == 200 and _count(QuestionBank) == 1
    resp = client.post("/exams/banks/new", {"unit": world.county_a.id, "code": "mz-02",
                                            "title": "民政业务"})
    assert resp.status_code == 302
    bank = db.session.execute(select(QuestionBank).where(QuestionBank.code == "MZ-02")).scalar_one()
    resp = client.post(f"/exams/banks/{bank.id}/edit", {"code": "MZ-02", "title": "民政业务二"})
    assert resp.status_code == 302
    db.session.refresh(bank)
    assert bank.title == "民政业务二"
    client.post(f"/exams/banks/{bank.id}/archive", {"action": "archive"})
    db.session.refresh(bank)
    assert bank.is_archived
    assert "新增试题" not in _text(client.get(f"/exams/banks/{bank.id}"))


def test_another_county_gets_404(client, world, admin):
    question = make_question(admin)
    db.session.commit()
    client.logout()
    client.login("b_admin")
    for url in (f"/exams/banks/{admin.id}", f"/exams/banks/{admin.id}/edit",
                f"/exams/banks/{admin.id}/import", f"/exams/banks/{admin.id}/export.xlsx",
                f"/exams/banks/{admin.id}/export.gift", f"/exams/questions/{question.id}",
                f"/exams/questions/{question.id}/edit", f"/exams/banks/{admin.id}/questions/new"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/exams/questions/{question.id}/retire",
                       {"action": "retire"}).status_code == 404
    assert "社会救助题库" not in _text(client.get("/exams/banks"))


# ---------------------------------------------------------------- the bank page


def test_bank_page_filters(client, world, admin):
    make_question(admin, stem="低保审核由谁负责？", category="社会救助", difficulty=2)
    make_question(admin, type="true_false", stem="婚姻登记可以代办。", category="婚姻登记",
                  difficulty=None)
    retired = make_question(admin, stem="已经停用的题")
    retired.is_retired = True
    db.session.commit()
    url = f"/exams/banks/{admin.id}"
    html = _text(client.get(url))
    assert "低保审核由谁负责" in html and "婚姻登记可以代办" in html and "已经停用的题" not in html
    assert "婚姻登记可以代办" not in _text(client.get(url, query_string={"type": "single_choice"}))
    assert "低保审核" not in _text(client.get(url, query_string={"category": "婚姻登记"}))
    assert "低保审核" not in _text(client.get(url, query_string={"difficulty": "none"}))
    assert "婚姻登记可以代办" not in _text(client.get(url, query_string={"q": "低保"}))
    assert "已经停用的题" in _text(client.get(url, query_string={"status": "retired"}))
    assert client.get(url, query_string={"category": "不存在", "type": "x"}).status_code == 200


def test_bank_page_query_count_does_not_grow(client, world, admin):
    counts = []
    for n in (5, 50):
        bank = make_bank(world.county_a)
        for i in range(n):
            make_question(bank, type=("single_choice", "fill_blank", "true_false")[i % 3],
                          category=f"分类{i}", knowledge_point=f"知识点{i}")
        db.session.commit()
        with count_queries() as counter:
            assert client.get(f"/exams/banks/{bank.id}").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    db.session.commit()
    with count_queries() as few:
        client.get("/exams/banks")
    for _ in range(10):
        make_bank(world.county_a)
    db.session.commit()
    with count_queries() as many:
        client.get("/exams/banks")
    assert few.count == many.count


# ---------------------------------------------------------------- questions


def _form(**kw) -> dict:
    data = {"type": "single_choice", "stem": "低保审核确认由哪一级负责？", "option_a": "乡镇",
            "option_b": "县级民政部门", "correct": "B", "points": "1", "difficulty": "3",
            "category": "社会救助", "knowledge_point": "最低生活保障",
            "post_types": ["village_assistant"], "tags": "低保、审核",
            "source": "《社会救助暂行办法》"}
    data.update(kw)
    return data


def test_create_a_question_through_the_form(client, admin):
    resp = client.post(f"/exams/banks/{admin.id}/questions/new", _form())
    assert resp.status_code == 302
    question = db.session.execute(select(Question)).scalar_one()
    v = question.current
    assert (v.options, v.answer, v.tags, v.post_types) == (
        ["乡镇", "县级民政部门"], [1], "低保,审核", "village_assistant")
    html = _text(client.get(resp.headers["Location"]))
    assert "县级民政部门" in html and "正确答案" in html and "第1版" in html


@pytest.mark.parametrize(("data", "message"), [
    ({"stem": ""}, "题干不能为空"),
    ({"correct": ["A", "B"]}, "单选题只能有一个答案"),
    ({"correct": "C"}, "答案“C”不在选项中"),
    ({"option_b": ""}, "选择题至少需要两个选项"),
    ({"points": "abc"}, "分值应为数字"),
    ({"points": "0.3"}, "分值应为正数（可为0.5的倍数）"),
    ({"type": "true_false"}, "请选择“对”或“错”。"),
    ({"type": "fill_blank", "stem": "没有空的题", "blanks": "甲"}, "填空题题干中没有空"),
    ({"type": "fill_blank", "stem": "两个空____和____", "blanks": "甲"},
     "题干中有2个空，答案有1个空"),
    ({"difficulty": "9"}, "请从列表中选择难度。"),
    ({"post_types": ["mayor"]}, "请从列表中选择适用岗位。"),
])
def test_form_errors_are_shown_and_nothing_is_saved(client, admin, data, message):
    resp = client.post(f"/exams/banks/{admin.id}/questions/new", _form(**data))
    assert resp.status_code == 200
    assert message in _text(resp)
    assert _count(Question) == 0 and _count(QuestionVersion) == 0


def test_fill_in_and_true_false_through_the_form(client, admin):
    client.post(f"/exams/banks/{admin.id}/questions/new", _form(
        type="fill_blank", stem="办法自____年____月起施行。", blanks="2014\n5；五", option_a="",
        option_b="", correct=""))
    client.post(f"/exams/banks/{admin.id}/questions/new", _form(
        type="true_false", stem="低保按户施保。", truth="true"))
    fill, tf = [q.current for q in db.session.execute(
        select(Question).order_by(Question.id)).scalars()]
    assert (fill.options, fill.answer) == ([], [["2014"], ["5", "五"]])
    assert (tf.options, tf.answer) == ([], True)


def test_edit_form_shows_the_question_and_versions_once_used(client, world, admin):
    question = make_question(admin, stem="旧题干", options=["甲", "乙"], answer=[0])
    exam = make_exam(world.county_a, [question])
    attempt = make_attempt(exam, world.person_a, world.trainee.id, state="submitted")
    db.session.commit()
    html = _text(client.get(f"/exams/questions/{question.id}/edit"))
    assert "旧题干" in html and 'value="甲"' in html and "已被考试用过" in html
    resp = client.post(f"/exams/questions/{question.id}/edit",
                       _form(stem="新题干", option_a="甲", option_b="乙", correct="B"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert question.current.version == 2 and question.current.stem == "新题干"
    assert attempt.items[0].version.stem == "旧题干"
    html = _text(client.get(f"/exams/questions/{question.id}"))
    assert "第2版" in html and "第1版" in html


def test_question_stem_is_sanitised_markdown_and_never_a_template(client, admin):
    question = make_question(admin, stem="{{7*7}} **重点** <script>alert(1)</script>")
    db.session.commit()
    html = _text(client.get(f"/exams/questions/{question.id}"))
    assert "{{7*7}}" in html and "49" not in html.split("{{7*7}}")[1][:20]
    assert "<strong>重点</strong>" in html and "<script>alert(1)" not in html


def test_retire_and_restore_a_question(client, admin):
    question = make_question(admin)
    db.session.commit()
    client.post(f"/exams/questions/{question.id}/retire", {"action": "retire"})
    db.session.refresh(question)
    assert question.is_retired
    client.post(f"/exams/questions/{question.id}/retire", {"action": "restore"})
    db.session.refresh(question)
    assert not question.is_retired


# ---------------------------------------------------------------- import


def test_gbk_csv_preview_then_confirm(client, admin):
    resp = _upload(client, admin, GOOD_CSV.encode("gbk"), "试题.csv")
    html = _text(resp)
    assert resp.status_code == 200 and "可以导入" in html
    assert "《社会救助暂行办法》自哪一年起施行" in html
    assert _count(Question) == 0
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    resp = client.post(f"/exams/banks/{admin.id}/import/confirm",
                       {"token": token, "format": "auto"})
    assert resp.status_code == 302
    assert _count(Question) == 5
    again = client.post(f"/exams/banks/{admin.id}/import/confirm",
                        {"token": token, "format": "auto"})
    assert again.status_code == 302 and _count(Question) == 5
    assert "已过期或已经导入" in _text(client.get(again.headers["Location"]))


def test_bad_rows_are_each_reported_and_nothing_can_be_confirmed(client, admin):
    html = _text(_upload(client, admin, BAD_CSV.encode(), "questions.csv"))
    for n in (3, 4, 5, 7, 8, 9, 10):
        assert f"questions 第{n}行" in html
    assert "没有导入任何试题" in html and 'name="token"' not in html
    assert _count(Question) == 0


def test_duplicates_are_listed_in_the_preview_and_skipped(client, admin):
    existing = make_question(admin, type="true_false", stem="低保按户施保。", options=[])
    existing.dup_key = dup_key(to_parsed(existing.current))
    db.session.commit()
    html = _text(_upload(client, admin, GOOD_CSV.encode(), "q.csv"))
    assert f"与题库中已有试题重复（题号 {existing.id}）" in html and "导入时会跳过" in html
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    client.post(f"/exams/banks/{admin.id}/import/confirm", {"token": token, "format": "auto"})
    assert _count(Question) == 5
    assert duplicate_key(to_parsed(existing.current))[0] == "低保按户施保。"


def test_unreadable_upload_and_wrong_token(client, world, admin):
    resp = _upload(client, admin, b"PK\x03\x04 broken", "q.xlsx")
    assert resp.status_code == 200 and 'class="error"' in _text(resp)
    html = _text(_upload(client, admin, GOOD_CSV.encode(), "q.csv"))
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    other = make_bank(world.county_a, code="OTHER")
    db.session.commit()
    resp = client.post(f"/exams/banks/{other.id}/import/confirm",
                       {"token": token, "format": "auto"})
    assert resp.status_code == 302 and _count(Question) == 0
    resp = client.post(f"/exams/banks/{admin.id}/import/confirm",
                       {"token": token, "format": "gift"})
    assert resp.status_code == 302 and _count(Question) == 0


# ---------------------------------------------------------------- downloads


def test_template_download_opens_with_openpyxl(client, admin):
    resp = client.get("/exams/banks/template.xlsx")
    assert resp.status_code == 200
    assert "filename*=UTF-8''%E9%A2%98%E5%BA%93%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx" in \
        resp.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    assert [c.value for c in sheet[1]][:3] == ["题型", "题干", "选项A"]


def test_export_xlsx_then_import_through_the_pages(client, world, admin):
    make_question(admin, stem="低保审核由谁负责？")
    make_question(admin, type="fill_blank", stem="由县级____负责。")
    db.session.commit()
    resp = client.get(f"/exams/banks/{admin.id}/export.xlsx")
    assert resp.status_code == 200 and "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    copy = make_bank(world.county_a, code="COPY")
    db.session.commit()
    html = _text(_upload(client, copy, resp.data, "export.xlsx"))
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    client.post(f"/exams/banks/{copy.id}/import/confirm", {"token": token, "format": "auto"})
    stems = db.session.execute(select(QuestionVersion.stem).join(
        Question, Question.current_version_id == QuestionVersion.id).where(
        Question.bank_id == copy.id).order_by(Question.id)).scalars().all()
    assert stems == ["低保审核由谁负责？", "由县级____负责。"]

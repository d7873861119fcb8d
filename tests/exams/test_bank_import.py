"""Importing into a bank: all or nothing, every bad row reported, duplicates of bank questions
reported and skipped, one audit entry; export then import in the same format gives the same
questions back; the CLI writes and a second run skips everything as duplicates."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.errors import InvalidState, ValidationFailed
from lms.exams import banks, questions
from lms.exams.bank_import import apply_import, plan_import
from lms.exams.formats import read_questions
from lms.exams.formats.export import to_gift, to_xlsx
from lms.exams.formats.model import ParsedQuestion
from lms.exams.models import Question, QuestionVersion
from lms.extensions import db
from tests.exams.factories import at, make_bank
from tests.exams.test_exams_import_cli import BAD_CSV, GOOD_CSV

NOW = at(2026, 3, 1, 2)


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _imports() -> list[dict]:
    return [json.loads(e.data) for e in db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "exam.question_import")).scalars()]


def _stored(bank) -> list[ParsedQuestion]:
    versions = db.session.execute(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.bank_id == bank.id).order_by(Question.id)).scalars()
    return [questions.to_parsed(v) for v in versions]


def _plain(qs) -> list[ParsedQuestion]:
    """Without where / line references (they differ between files)."""
    return [replace(q, source_line=0, where="", ref="") for q in qs]


@pytest.fixture
def bank(world):  # noqa: ANN001, ANN201
    return make_bank(world.county_a, code="SJ01")


def test_a_good_file_is_written_with_one_audit_entry(world, bank):
    plan = plan_import(bank, read_questions(GOOD_CSV.encode("gbk"), filename="q.csv"))
    assert plan.ok and len(plan.questions) == 5 and plan.duplicates == []
    rows = apply_import(bank, plan, actor=world.a_admin, now=NOW, filename="q.csv", fmt="auto")
    assert len(rows) == 5 and all(r.current_version_id for r in rows)
    stored = _stored(bank)
    assert [q.type for q in stored] == ["single_choice", "multiple_choice", "true_false",
                                        "fill_blank", "short_answer"]
    assert stored[3].answer == (("2014",), ("5", "五")) and stored[1].difficulty == 3
    assert _imports() == [{"code": "SJ01", "created": 5, "duplicates": 0, "file": "q.csv",
                           "format": "auto"}]


def test_bad_rows_write_nothing_and_each_is_reported(world, bank):
    plan = plan_import(bank, read_questions(BAD_CSV.encode(), filename="questions.csv"))
    assert not plan.ok
    assert [e.where for e in plan.errors] == [f"questions 第{n}行" for n in (3, 4, 5, 7, 8, 9,
                                                                          10)]
    with pytest.raises(ValidationFailed):
        apply_import(bank, plan, actor=world.a_admin, now=NOW)
    assert _count(Question) == 0 and _imports() == []


def test_questions_already_in_the_bank_are_reported_and_skipped(world, bank):
    first = apply_import(bank, plan_import(bank, read_questions(GOOD_CSV.encode(),
                                                                filename="q.csv")),
                         actor=world.a_admin, now=NOW)
    again = GOOD_CSV.replace("下列属于社会救助的有", "下列属于社会救助的是")
    plan = plan_import(bank, read_questions(again.encode(), filename="q.csv"))
    assert [q.stem for q in plan.questions] == ["下列属于社会救助的是"]
    assert [(d.where, d.message) for d in plan.duplicates] == [
        ("q 第2行", f"与题库中已有试题重复（题号 {first[0].id}）"),
        ("q 第4行", f"与题库中已有试题重复（题号 {first[2].id}）"),
        ("q 第5行", f"与题库中已有试题重复（题号 {first[3].id}）"),
        ("q 第6行", f"与题库中已有试题重复（题号 {first[4].id}）"),
    ]
    apply_import(bank, plan, actor=world.a_admin, now=NOW)
    assert _count(Question) == 6
    assert _imports()[-1]["created"] == 1 and _imports()[-1]["duplicates"] == 4


def test_an_overlong_gift_title_is_an_error_not_a_crash(world, bank):
    text = "::" + "题" * 201 + "::低保按户施保。{T}\n"
    plan = plan_import(bank, read_questions(text.encode(), filename="a.gift"))
    assert [e.message for e in plan.errors] == ["标题不能超过200个字"]


def test_an_archived_bank_refuses_imports(world, bank):
    plan = plan_import(bank, read_questions(GOOD_CSV.encode(), filename="q.csv"))
    banks.set_bank_archived(bank, True, actor=world.a_admin, now=NOW)
    with pytest.raises(InvalidState):
        apply_import(bank, plan, actor=world.a_admin, now=NOW)


FULL = [
    ParsedQuestion("single_choice", "《社会救助暂行办法》自哪一年起施行？", ("2012年", "2014年"),
                   (1,), Decimal("1.5"), "2014年5月1日起施行。", 2, "社会救助", "法规",
                   ("village_assistant",), ("低保",), "《社会救助暂行办法》"),
    ParsedQuestion("multiple_choice", "下列属于社会救助的有：{a}=b ~c #d", ("低保", "特困供养",
                   "养老保险"), (0, 1), Decimal(2), category="法规"),
    ParsedQuestion("true_false", "低保按户施保。", (), False, Decimal(1), "按户。",
                   post_types=("office_director", "township_staff")),
    ParsedQuestion("fill_blank", "办法自____年施行。", (), (("2014", "二〇一四"),), Decimal(1)),
    ParsedQuestion("short_answer", "简述低保申请程序。", (), "申请、调查、公示。", Decimal(5),
                   difficulty=5, knowledge_point="低保", tags=("程序", "审核")),
]


def _fill_bank(world, bank):
    for parsed in FULL:
        questions.create_question(bank, parsed, actor=world.a_admin, now=NOW)


def test_xlsx_export_then_import_gives_the_same_questions(world, bank):
    _fill_bank(world, bank)
    data = to_xlsx(_stored(bank))
    other = make_bank(world.county_a, code="COPY")
    plan = plan_import(other, read_questions(data, filename="bank.xlsx"))
    assert plan.ok and plan.duplicates == []
    apply_import(other, plan, actor=world.a_admin, now=NOW)
    assert _plain(_stored(other)) == _plain(_stored(bank))
    again = plan_import(bank, read_questions(data, filename="bank.xlsx"))
    assert again.questions == [] and len(again.duplicates) == 5


def test_gift_export_then_import_keeps_what_gift_carries(world, bank, client):
    _fill_bank(world, bank)
    db.session.commit()
    client.login("a_admin")
    resp = client.get(f"/exams/banks/{bank.id}/export.gift")
    text = resp.get_data(as_text=True)
    assert text.startswith("// ") and "GIFT 格式不保存分值" in text
    assert "第5题：GIFT 无法保存简答题的参考答案" in text
    other = make_bank(world.county_a, code="GIFTCOPY")
    plan = plan_import(other, read_questions(text.encode(), filename="bank.txt"))
    assert plan.ok, plan.errors
    apply_import(other, plan, actor=world.a_admin, now=NOW)
    carried = ("type", "stem", "options", "answer", "explanation", "category")
    original = [{k: getattr(q, k) for k in carried} for q in _stored(bank)]
    original[4]["answer"] = None  # a short answer's reference answer is not in GIFT
    assert [{k: getattr(q, k) for k in carried} for q in _stored(other)] == original
    assert to_gift(_stored(other)).text.count("[markdown]") == 5


def test_cli_import_writes_and_a_second_run_skips_duplicates(runner, world, bank, tmp_path):
    db.session.commit()
    path = tmp_path / "q.csv"
    path.write_bytes(GOOD_CSV.encode("gbk"))
    result = runner.invoke(args=["exams", "import", str(path), "--bank", "sj01", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["errors"] == []
    assert "已导入 5 道题" in result.stderr
    assert _count(Question) == 5
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.question_import")).scalar_one()
    assert entry.actor_id is None and entry.actor_name == "system"
    again = runner.invoke(args=["exams", "import", str(path), "--bank", "SJ01"])
    assert again.exit_code == 0, again.stderr
    assert "q 第2行：与题库中已有试题重复（题号" in again.stderr and "已跳过" in again.stderr
    assert "已导入 0 道题；5 道与题库中已有试题重复" in again.stderr
    assert _count(Question) == 5


def test_cli_writes_nothing_on_any_bad_question_or_with_dry_run(runner, world, bank, tmp_path):
    db.session.commit()
    bad, good = tmp_path / "questions.csv", tmp_path / "good.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    good.write_text(GOOD_CSV, encoding="utf-8")
    result = runner.invoke(args=["exams", "import", str(bad), "--bank", "SJ01"])
    assert result.exit_code == 1 and "未写入任何数据" in result.stderr
    dry = runner.invoke(args=["exams", "import", str(good), "--bank", "SJ01", "--dry-run"])
    assert dry.exit_code == 0 and "试运行" in dry.stderr
    assert _count(Question) == 0


def test_cli_refuses_an_archived_bank(runner, world, bank, tmp_path):
    bank.is_archived = True
    db.session.commit()
    path = tmp_path / "q.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    result = runner.invoke(args=["exams", "import", str(path), "--bank", "SJ01", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == [{"where": "--bank",
                                                    "message": "题库“SJ01”已归档"}]
    assert _count(Question) == 0

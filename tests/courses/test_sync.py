"""``flask courses sync``: folders → courses and lessons; idempotent, audited, all or nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry, verify_chain
from lms.courses.files import CourseFilesInvalid
from lms.courses.models import Course, Lesson, LessonProgress
from lms.courses.sync import sync_from_disk
from lms.extensions import db
from tests.courses import course_yml, lesson_md, write_course

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
REPO_COURSES = Path(__file__).resolve().parents[2] / "courses"


def _sync(root: Path, now: datetime = NOW):
    result = sync_from_disk(root, actor=None, now=now)
    db.session.commit()
    return result


def _audit_count() -> int:
    return db.session.execute(select(func.count(AuditEntry.id))).scalar_one()


def _snapshot() -> dict:
    """Every course and lesson column that a sync may write."""
    db.session.expire_all()
    courses = {c.slug: (c.code, c.title, c.summary, c.post_types, c.credit_hours, c.content_hash,
                        c.is_retired, c.updated_at) for c in db.session.scalars(select(Course))}
    lessons = {(le.course.slug, le.slug): (le.position, le.title, le.minutes, le.body,
                                           le.content_hash, le.is_retired, le.updated_at)
               for le in db.session.scalars(select(Lesson))}
    return {"courses": courses, "lessons": lessons}


def _lesson(slug: str) -> Lesson:
    return db.session.execute(select(Lesson).where(Lesson.slug == slug)).scalar_one()


def test_first_sync_creates_courses_and_lessons_from_the_folder(app, tmp_path):
    write_course(tmp_path)
    write_course(tmp_path, "staff-onboarding", code="ONB-TS", post_types=["township_staff"],
                 credit_hours=4.5, lessons={"01-files.md": lesson_md("个案档案", 20)})
    result = _sync(tmp_path)
    assert result.as_dict() == {"courses": {"created": 2, "updated": 0, "retired": 0},
                                "lessons": {"created": 4, "updated": 0, "retired": 0}}
    course = db.session.execute(select(Course).where(Course.slug == "va-onboarding")).scalar_one()
    assert (course.source, course.org_unit_id, course.code, course.post_types) == (
        "file", None, "ONB-VA", "village_assistant")
    assert course.credit_hours == Decimal("2.0") and course.summary == "岗前培训。"
    assert [(le.position, le.slug, le.title, le.minutes) for le in course.lessons] == [
        (1, "dibao", "低保的申请与审核", 30), (2, "tekun", "特困人员救助供养", 45),
        (3, "linshi", "临时救助", 15)]
    assert course.lessons[0].body.startswith("## 申请")
    assert len(course.lessons[0].content_hash) == 64
    staff = db.session.execute(select(Course).where(Course.code == "ONB-TS")).scalar_one()
    assert staff.credit_hours == Decimal("4.5") and staff.post_types == "township_staff"
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert sorted(actions) == ["course.create"] * 2 + ["lesson.create"] * 4
    assert verify_chain() is None


def test_second_sync_changes_nothing(app, tmp_path):
    write_course(tmp_path)
    _sync(tmp_path)
    before, entries = _snapshot(), _audit_count()
    result = _sync(tmp_path, LATER)
    assert result.as_dict() == {"courses": {"created": 0, "updated": 0, "retired": 0},
                                "lessons": {"created": 0, "updated": 0, "retired": 0}}
    assert not result.changed
    assert _snapshot() == before
    assert _audit_count() == entries


def test_editing_one_lesson_file_changes_exactly_that_lesson(app, tmp_path):
    folder = write_course(tmp_path)
    _sync(tmp_path)
    before, entries = _snapshot(), _audit_count()
    (folder / "lessons" / "02-tekun.md").write_text(lesson_md("特困人员救助供养（修订）", 50),
                                                    encoding="utf-8")
    result = _sync(tmp_path, LATER)
    assert result.lessons.as_dict() == {"created": 0, "updated": 1, "retired": 0}
    assert result.courses.as_dict() == {"created": 0, "updated": 0, "retired": 0}
    after = _snapshot()
    assert after["courses"] == before["courses"]
    changed = {k for k in after["lessons"] if after["lessons"][k] != before["lessons"][k]}
    assert changed == {("va-onboarding", "tekun")}
    assert after["lessons"][("va-onboarding", "tekun")][1:3] == ("特困人员救助供养（修订）", 50)
    assert after["lessons"][("va-onboarding", "tekun")][-1] == LATER
    new = db.session.scalars(select(AuditEntry).where(AuditEntry.id > entries)).all()
    assert [(e.action, e.object_id) for e in new] == [("lesson.update", _lesson("tekun").id)]


def test_editing_course_yml_updates_the_course_only(app, tmp_path):
    write_course(tmp_path)
    _sync(tmp_path)
    before = _snapshot()
    write_course(tmp_path, title="新标题", credit_hours="3.5", lessons={})
    result = _sync(tmp_path, LATER)
    assert result.as_dict()["courses"] == {"created": 0, "updated": 1, "retired": 0}
    after = _snapshot()
    assert after["lessons"] == before["lessons"]
    assert after["courses"]["va-onboarding"][1] == "新标题"
    assert after["courses"]["va-onboarding"][4] == Decimal("3.5")


def test_deleted_lesson_is_retired_with_its_progress_kept_and_comes_back(app, tmp_path, world):
    folder = write_course(tmp_path)
    _sync(tmp_path)
    lesson = _lesson("linshi")
    db.session.add(LessonProgress(person_id=world.person_a.id, lesson_id=lesson.id,
                                  org_unit_id=world.village_a.id, completed_at=NOW))
    db.session.commit()
    (folder / "lessons" / "03-linshi.md").unlink()
    result = _sync(tmp_path, LATER)
    assert result.lessons.as_dict() == {"created": 0, "updated": 0, "retired": 1}
    db.session.expire_all()
    lesson = _lesson("linshi")
    assert lesson.is_retired and lesson.updated_at == LATER
    assert db.session.execute(select(func.count(LessonProgress.id)).where(
        LessonProgress.lesson_id == lesson.id)).scalar_one() == 1
    assert _lesson("dibao").is_retired is False

    (folder / "lessons" / "03-linshi.md").write_text(lesson_md("临时救助", 15), encoding="utf-8")
    result = _sync(tmp_path, LATER + timedelta(days=1))
    assert result.lessons.as_dict() == {"created": 0, "updated": 1, "retired": 0}
    db.session.expire_all()
    assert _lesson("linshi").is_retired is False
    assert _lesson("linshi").id == lesson.id


def test_renumbering_a_lesson_moves_it_and_keeps_its_identity(app, tmp_path):
    folder = write_course(tmp_path)
    _sync(tmp_path)
    old_id = _lesson("dibao").id
    (folder / "lessons" / "01-dibao.md").rename(folder / "lessons" / "09-dibao.md")
    result = _sync(tmp_path, LATER)
    assert result.lessons.as_dict() == {"created": 0, "updated": 1, "retired": 0}
    db.session.expire_all()
    assert (_lesson("dibao").id, _lesson("dibao").position) == (old_id, 9)
    course = db.session.execute(select(Course)).scalar_one()
    assert [le.slug for le in course.lessons] == ["tekun", "linshi", "dibao"]


def test_removed_course_folder_retires_the_course_and_its_lessons(app, tmp_path):
    import shutil

    write_course(tmp_path)
    write_course(tmp_path, "other", code="OTHER", lessons={"01-a.md": lesson_md("甲")})
    _sync(tmp_path)
    shutil.rmtree(tmp_path / "other")
    result = _sync(tmp_path, LATER)
    assert result.as_dict() == {"courses": {"created": 0, "updated": 0, "retired": 1},
                                "lessons": {"created": 0, "updated": 0, "retired": 1}}
    other = db.session.execute(select(Course).where(Course.slug == "other")).scalar_one()
    assert other.is_retired and all(le.is_retired for le in other.lessons)
    write_course(tmp_path, "other", code="OTHER", lessons={"01-a.md": lesson_md("甲")})
    result = _sync(tmp_path, LATER + timedelta(days=1))
    assert result.as_dict() == {"courses": {"created": 0, "updated": 1, "retired": 0},
                                "lessons": {"created": 0, "updated": 1, "retired": 0}}


def test_browser_courses_are_never_touched(app, tmp_path, world):
    db.session.add(Course(slug="browser-1", code="B-1", title="浏览器课程", source="browser",
                          org_unit_id=world.county_a.id))
    db.session.commit()
    write_course(tmp_path)
    _sync(tmp_path)
    browser = db.session.execute(select(Course).where(Course.slug == "browser-1")).scalar_one()
    assert browser.is_retired is False


@pytest.mark.parametrize(("slug", "code", "reason"), [
    ("browser-1", "NEW", "已被浏览器中编写的课程使用"),
    ("new-course", "B-1", "已被课程 browser-1 使用"),
])
def test_clashes_with_other_courses_are_refused(app, tmp_path, world, slug, code, reason):
    db.session.add(Course(slug="browser-1", code="B-1", title="浏览器课程", source="browser",
                          org_unit_id=world.county_a.id))
    db.session.commit()
    write_course(tmp_path, slug, code=code)
    with pytest.raises(CourseFilesInvalid) as exc:
        sync_from_disk(tmp_path, actor=None, now=NOW)
    db.session.rollback()
    assert f"{slug}/course.yml" in str(exc.value) and reason in str(exc.value)
    assert db.session.execute(select(func.count(Course.id))).scalar_one() == 1


# ---------------------------------------------------------------- bad files: exit 1, no writes

def _bad_yml(folder: Path) -> None:
    (folder / "course.yml").write_text("title: [未闭合\ncode: X\n", encoding="utf-8")


def _lesson_file(name: str, text: str):
    def write(folder: Path) -> None:
        (folder / "lessons" / name).write_text(text, encoding="utf-8")
    return write


def _course_meta(**meta):
    def write(folder: Path) -> None:
        (folder / "course.yml").write_text(course_yml(**meta), encoding="utf-8")
    return write


BAD_CASES = {
    "yaml syntax": (_bad_yml, "bad/course.yml", "YAML 格式错误"),
    "course.yml missing": (lambda f: (f / "course.yml").unlink(), "bad", "缺少 course.yml"),
    "missing title": (lambda f: (f / "course.yml").write_text(
        "code: X\npost_types: []\ncredit_hours: 1\n", encoding="utf-8"),
        "bad/course.yml", "缺少必填字段 title"),
    "unknown key": (lambda f: (f / "course.yml").write_text(
        course_yml() + "target: all\n", encoding="utf-8"), "bad/course.yml", "未知的字段：target"),
    "unknown post type": (_course_meta(post_types=["村长"]), "bad/course.yml", "post_types"),
    "bad credit hours": (_course_meta(credit_hours="1.25"), "bad/course.yml", "credit_hours"),
    "numeric code": (lambda f: (f / "course.yml").write_text(
        course_yml().replace("code: ONB-VA", "code: 1001"), encoding="utf-8"),
        "bad/course.yml", "纯数字请加引号"),
    "no front matter": (_lesson_file("04-x.md", "# 标题\n\n正文\n"), "bad/lessons/04-x.md",
                        "缺少文件头"),
    "unterminated front matter": (_lesson_file("04-x.md", "---\ntitle: 甲\nminutes: 3\n正文\n"),
                                  "bad/lessons/04-x.md", "文件头没有以 --- 结束"),
    "missing minutes": (_lesson_file("04-x.md", "---\ntitle: 甲\n---\n正文\n"),
                        "bad/lessons/04-x.md", "缺少必填字段 minutes"),
    "minutes not a number": (_lesson_file("04-x.md", lesson_md("甲", minutes="半小时")),  # type: ignore[arg-type]
                             "bad/lessons/04-x.md", "minutes 应为"),
    "bad file name": (_lesson_file("x.md", lesson_md("甲")), "bad/lessons/x.md", "文件名应为"),
    "duplicate number": (_lesson_file("01-again.md", lesson_md("甲")), "bad/lessons/01-dibao.md",
                         "序号 1 与 bad/lessons/01-again.md 重复"),
    "duplicate name": (_lesson_file("07-dibao.md", lesson_md("甲")), "bad/lessons/07-dibao.md",
                       "名称 dibao 与 bad/lessons/01-dibao.md 重复"),
    "empty body": (_lesson_file("04-x.md", "---\ntitle: 甲\nminutes: 3\n---\n\n"),
                   "bad/lessons/04-x.md", "正文为空"),
    "not utf-8": (lambda f: (f / "lessons" / "04-x.md").write_bytes(
        lesson_md("低保").encode("gbk")), "bad/lessons/04-x.md", "UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_course_files_name_the_file_exit_1_and_write_nothing(app, runner, tmp_path, case):
    spoil, where, reason = BAD_CASES[case]
    write_course(tmp_path, "good", code="GOOD")
    spoil(write_course(tmp_path, "bad", code="BAD"))
    result = runner.invoke(args=["courses", "sync", str(tmp_path)])
    assert result.exit_code == 1, result.stderr
    line = next((ln for ln in result.stderr.splitlines() if ln.startswith(where + "：")), None)
    assert line is not None and reason in line, result.stderr
    assert "未写入任何数据" in result.stderr and result.stdout == ""
    assert db.session.execute(select(func.count(Course.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(Lesson.id))).scalar_one() == 0
    assert _audit_count() == 0


def test_every_problem_is_reported_in_one_round(app, runner, tmp_path):
    folder = write_course(tmp_path, "bad", code="BAD")
    _lesson_file("04-x.md", "no front matter")(folder)
    _lesson_file("05-y.md", "---\ntitle: 乙\n---\n正文\n")(folder)
    write_course(tmp_path, "twin", code="BAD")
    result = runner.invoke(args=["courses", "sync", str(tmp_path)])
    assert result.exit_code == 1
    problems = result.stderr.splitlines()[:-1]
    assert [p.split("：")[0] for p in problems] == [
        "bad/lessons/04-x.md", "bad/lessons/05-y.md", "twin/course.yml"]


def test_an_empty_folder_is_an_error_not_a_mass_retirement(app, runner, tmp_path):
    write_course(tmp_path / "full")
    assert runner.invoke(args=["courses", "sync", str(tmp_path / "full")]).exit_code == 0
    (tmp_path / "empty").mkdir()
    result = runner.invoke(args=["courses", "sync", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "没有找到课程文件夹" in result.stderr
    assert db.session.execute(select(Course)).scalar_one().is_retired is False


def test_missing_path_is_a_usage_error(app, runner, tmp_path):
    result = runner.invoke(args=["courses", "sync", str(tmp_path / "nope")])
    assert result.exit_code == 2


# ---------------------------------------------------------------- the command

def test_cli_prints_the_counts_and_json(app, runner, tmp_path):
    folder = write_course(tmp_path)
    result = runner.invoke(args=["courses", "sync", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "课时：新增 3，更新 0，停用 0" in result.stderr
    assert "课程：新增 1，更新 0，停用 0" in result.stderr and result.stdout == ""

    (folder / "lessons" / "01-dibao.md").write_text(lesson_md("低保（新）"), encoding="utf-8")
    (folder / "lessons" / "03-linshi.md").unlink()
    result = runner.invoke(args=["courses", "sync", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert "课时：新增 0，更新 1，停用 1" in result.stderr
    assert json.loads(result.stdout) == {"courses": {"created": 0, "updated": 0, "retired": 0},
                                         "lessons": {"created": 0, "updated": 1, "retired": 1}}

    result = runner.invoke(args=["courses", "sync", str(tmp_path)])
    assert "课时：新增 0，更新 0，停用 0" in result.stderr and "没有变化" in result.stderr


def test_cli_defaults_to_the_courses_folder(app, runner, tmp_path, monkeypatch):
    write_course(tmp_path / "courses")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(args=["courses", "sync"])
    assert result.exit_code == 0, result.stderr
    assert "课时：新增 3" in result.stderr


def test_cli_dry_run_writes_nothing(app, runner, tmp_path):
    write_course(tmp_path)
    result = runner.invoke(args=["courses", "sync", str(tmp_path), "--dry-run"])
    assert result.exit_code == 0 and "试运行" in result.stderr and "课时：新增 3" in result.stderr
    assert db.session.execute(select(func.count(Course.id))).scalar_one() == 0
    assert _audit_count() == 0


def test_cli_refuses_while_another_sync_runs(app, runner, tmp_path):
    from lms.jobs import job_lock

    write_course(tmp_path)
    with job_lock("courses-sync") as held:
        assert held
        result = runner.invoke(args=["courses", "sync", str(tmp_path)])
    assert result.exit_code == 1 and "另一个课程同步正在进行" in result.stderr
    assert db.session.execute(select(func.count(Course.id))).scalar_one() == 0
    assert runner.invoke(args=["courses", "sync", str(tmp_path)]).exit_code == 0


def _real_courses() -> list[Path]:
    return sorted(REPO_COURSES.glob("*/course.yml")) if REPO_COURSES.is_dir() else []


@pytest.mark.skipif(not _real_courses(), reason="courses/ has no course.yml yet (content is being "
                                                "written in parallel)")
def test_the_shipped_courses_folder_syncs_and_a_second_sync_changes_nothing(app, runner):
    first = runner.invoke(args=["courses", "sync", str(REPO_COURSES), "--json"])
    assert first.exit_code == 0, first.stderr
    counts = json.loads(first.stdout)
    assert counts["courses"]["created"] == len(_real_courses())
    assert counts["lessons"]["created"] >= counts["courses"]["created"]
    before, entries = _snapshot(), _audit_count()
    second = runner.invoke(args=["courses", "sync", str(REPO_COURSES), "--json"])
    assert second.exit_code == 0, second.stderr
    assert json.loads(second.stdout) == {"courses": {"created": 0, "updated": 0, "retired": 0},
                                         "lessons": {"created": 0, "updated": 0, "retired": 0}}
    assert _snapshot() == before and _audit_count() == entries

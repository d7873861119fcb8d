"""Courses: file sync and learning. ``write_course`` builds a course folder for a test."""

from __future__ import annotations

from pathlib import Path

import yaml


def course_yml(title: str = "村（社区）民政助理员岗前培训", code: str = "ONB-VA",
               post_types: list[str] | None = None, credit_hours: object = 2,
               summary: str = "岗前培训。") -> str:
    data = {"title": title, "code": code,
            "post_types": ["village_assistant"] if post_types is None else post_types,
            "credit_hours": credit_hours, "summary": summary}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def lesson_md(title: str, minutes: int = 30, body: str = "正文。") -> str:
    return f"---\ntitle: {title}\nminutes: {minutes}\n---\n{body}\n"


def write_course(root: Path, slug: str = "va-onboarding", lessons: dict[str, str] | None = None,
                 **meta: object) -> Path:
    """A course folder ``root/slug`` with course.yml and lessons ``{file name: text}``."""
    folder = root / slug
    (folder / "lessons").mkdir(parents=True, exist_ok=True)
    (folder / "course.yml").write_text(course_yml(**meta), encoding="utf-8")
    if lessons is None:
        lessons = {"01-dibao.md": lesson_md("低保的申请与审核", 30,
                                            "## 申请\n\n《社会救助暂行办法》"),
                   "02-tekun.md": lesson_md("特困人员救助供养", 45),
                   "03-linshi.md": lesson_md("临时救助", 15)}
    for name, text in lessons.items():
        (folder / "lessons" / name).write_text(text, encoding="utf-8")
    return folder

"""Read course folders from disk (no database): ``courses/<slug>/course.yml`` and
``courses/<slug>/lessons/NN-<name>.md``.

``course.yml`` (UTF-8, read with ``yaml.safe_load``)::

    title: 村（社区）民政助理员岗前培训      # required, text
    code: ONB-VA                            # required, unique; letters, digits, - _ .
    post_types: [village_assistant]         # required list of PostType values; [] = every post type
    credit_hours: 4                         # required, 0–999.9, at most one decimal
    summary: 一句话说明这门课。               # optional text

Each lesson file starts with YAML front matter, then the Markdown body::

    ---
    title: 最低生活保障的申请与审核          # required, text
    minutes: 30                             # required, 1–600
    ---
    正文……

The folder name is the course slug (lower-case letters, digits, ``-``, ``_``). A lesson is keyed
by the name after its number (``01-dibao.md`` → ``dibao``), so renumbering a file only moves the
lesson (its progress history stays); the number is the position. Folders whose name starts with
``.`` or ``_`` are skipped, as are files in ``lessons/`` that are not ``.md`` (e.g. images).
Every problem is collected and reported as ``<file>：<reason>`` with the path relative to the
folder that was read, so an author can fix them all in one round.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from lms.errors import DomainError
from lms.i18n import _
from lms.org.models import PostType

COURSE_FILE = "course.yml"
LESSON_DIR = "lessons"
COURSE_KEYS = ("title", "code", "post_types", "credit_hours", "summary")
COURSE_REQUIRED = ("title", "code", "post_types", "credit_hours")
LESSON_KEYS = ("title", "minutes")
MAX_FILE_BYTES = 1024 * 1024
MAX_MINUTES = 600
MAX_CREDIT_HOURS = Decimal("999.9")
MAX_TITLE = 200
MAX_SUMMARY = 2000

_COURSE_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,29}")
_LESSON_NAME = re.compile(r"(\d{1,3})-([\w-]{1,100})\.md")


class CourseFilesInvalid(DomainError):
    """The course folder has problems; nothing may be written. ``problems`` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LessonFile:
    slug: str
    position: int
    title: str
    minutes: int
    body: str
    content_hash: str
    path: str


@dataclass(frozen=True)
class CourseFile:
    slug: str
    code: str
    title: str
    summary: str
    post_types: tuple[str, ...]
    credit_hours: Decimal
    content_hash: str
    path: str
    lessons: tuple[LessonFile, ...]


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(_("%(file)s：%(reason)s", file=path, reason=reason))


def read_courses(root: Path) -> list[CourseFile]:
    """Every course folder under *root*, sorted by slug; raises ``CourseFilesInvalid``."""
    problems = _Problems()
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and p.name[:1] not in "._"]
    codes: dict[str, str] = {}
    courses = [c for c in (_read_course(f, root, problems, codes) for f in folders)
               if c is not None]
    if not folders:
        problems.add(str(root), _("没有找到课程文件夹（每门课程一个子文件夹，内含 course.yml）"))
    if problems.items:
        raise CourseFilesInvalid(problems.items)
    return courses


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _read_course(folder: Path, root: Path, problems: _Problems,
                 codes: dict[str, str]) -> CourseFile | None:
    name = _rel(folder, root)
    if not _COURSE_SLUG.fullmatch(folder.name):
        problems.add(name, _("文件夹名只能由小写字母、数字、连字符和下划线组成，不超过 80 个字符"))
        return None
    meta_path = folder / COURSE_FILE
    if not meta_path.is_file():
        problems.add(name, _("缺少 course.yml"))
        return None
    before = len(problems.items)
    raw = _read_bytes(meta_path, root, problems)
    meta = _course_meta(raw, _rel(meta_path, root), problems) if raw is not None else None
    if meta is not None:
        _check_unique_code(meta["code"], _rel(meta_path, root), codes, problems)
    lessons = _read_lessons(folder, root, problems)
    if meta is None or len(problems.items) > before:
        return None
    return CourseFile(slug=folder.name, lessons=lessons, content_hash=_sha256(raw or b""),
                      path=_rel(meta_path, root), **meta)


def _read_bytes(path: Path, root: Path, problems: _Problems) -> bytes | None:
    try:
        raw = path.read_bytes()
    except OSError:
        problems.add(_rel(path, root), _("无法读取文件"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.add(_rel(path, root), _("文件过大（超过 1 MB）"))
        return None
    return raw


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _decode(raw: bytes, path: str, problems: _Problems) -> str | None:
    try:
        return raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        problems.add(path, _("不是 UTF-8 编码的文本，请另存为 UTF-8"))
        return None


def _load_yaml(text: str, path: str, problems: _Problems, *, line_offset: int = 0) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 1 + line_offset) if mark is not None else line_offset + 1
        problems.add(path, _("YAML 格式错误（第 %(line)s 行附近），请检查冒号、缩进和引号",
                             line=line))
        return None


def _mapping(data: Any, path: str, allowed: tuple[str, ...], problems: _Problems) -> bool:
    if not isinstance(data, dict):
        problems.add(path, _("内容应为“字段: 值”的形式，字段有：%(keys)s", keys="、".join(allowed)))
        return False
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        problems.add(path, _("未知的字段：%(keys)s（可用的字段：%(allowed)s）",
                             keys="、".join(unknown), allowed="、".join(allowed)))
    return not unknown


def _course_meta(raw: bytes, path: str, problems: _Problems) -> dict[str, Any] | None:
    before = len(problems.items)
    text = _decode(raw, path, problems)
    data = _load_yaml(text, path, problems) if text is not None else None
    if len(problems.items) > before or not _mapping(data, path, COURSE_KEYS, problems):
        return None
    for key in COURSE_REQUIRED:
        if data.get(key) is None:
            problems.add(path, _("缺少必填字段 %(key)s", key=key))
    if len(problems.items) > before:
        return None
    meta = {
        "title": _text(data["title"], "title", MAX_TITLE, path, problems),
        "code": _code(data["code"], path, problems),
        "post_types": _post_types(data["post_types"], path, problems),
        "credit_hours": _credit_hours(data["credit_hours"], path, problems),
        "summary": _text(data.get("summary") or "", "summary", MAX_SUMMARY, path, problems,
                         required=False),
    }
    return None if len(problems.items) > before else meta


def _text(value: Any, key: str, limit: int, path: str, problems: _Problems, *,
          required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None or len(text) > limit or (required and not text):
        problems.add(path, _("%(key)s 应为不超过 %(limit)s 个字的文本", key=key, limit=limit))
        return ""
    return text


def _code(value: Any, path: str, problems: _Problems) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value.strip()):
        problems.add(path, _("code 应为不超过 30 个字符的字母、数字、连字符或点，纯数字请加引号"))
        return ""
    return value.strip()


def _post_types(value: Any, path: str, problems: _Problems) -> tuple[str, ...]:
    allowed = [p.value for p in PostType]
    if not isinstance(value, list) or any(v not in allowed for v in value):
        problems.add(path, _("post_types 应为岗位类型列表（[] 表示所有岗位），可选值：%(values)s",
                             values="、".join(allowed)))
        return ()
    return tuple(p for p in allowed if p in value)


def _credit_hours(value: Any, path: str, problems: _Problems) -> Decimal:
    number = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
    if (number is None or not number.is_finite() or not 0 <= number <= MAX_CREDIT_HOURS
            or number != number.quantize(Decimal("0.1"))):
        problems.add(path, _("credit_hours 应为 0 到 999.9 之间、最多一位小数的数字"))
        return Decimal("0")
    return number.quantize(Decimal("0.1"))


# ---------------------------------------------------------------- lessons

def _read_lessons(folder: Path, root: Path, problems: _Problems) -> tuple[LessonFile, ...]:
    lesson_dir = folder / LESSON_DIR
    files = sorted(p for p in lesson_dir.iterdir() if p.is_file() and p.name[:1] != "."
                   and p.suffix.lower() == ".md") if lesson_dir.is_dir() else []
    if not files:
        problems.add(_rel(folder, root) + "/" + LESSON_DIR,
                     _("没有课时文件（应为 lessons/01-名称.md 这样的 Markdown 文件）"))
        return ()
    lessons = [le for le in (_read_lesson(f, root, problems) for f in files) if le is not None]
    _check_unique_lessons(lessons, problems)
    return tuple(sorted(lessons, key=lambda le: le.position))


def _read_lesson(path: Path, root: Path, problems: _Problems) -> LessonFile | None:
    rel = _rel(path, root)
    match = _LESSON_NAME.fullmatch(unicodedata.normalize("NFC", path.name))
    if match is None:
        problems.add(rel, _("文件名应为“序号-名称.md”，例如 01-dibao.md"))
        return None
    raw = _read_bytes(path, root, problems)
    text = _decode(raw, rel, problems) if raw is not None else None
    if raw is None or text is None:
        return None
    parsed = _front_matter(text, rel, problems)
    if parsed is None:
        return None
    meta, body = parsed
    before = len(problems.items)
    title = _text(meta.get("title"), "title", MAX_TITLE, rel, problems)
    minutes = meta.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= MAX_MINUTES:
        problems.add(rel, _("minutes 应为 1 到 %(max)s 之间的整数（分钟）", max=MAX_MINUTES))
    if not body.strip():
        problems.add(rel, _("正文为空"))
    if len(problems.items) > before:
        return None
    return LessonFile(slug=match.group(2), position=int(match.group(1)), title=title,
                      minutes=minutes, body=body, content_hash=_sha256(raw), path=rel)


def _front_matter(text: str, path: str, problems: _Problems) -> tuple[dict[str, Any], str] | None:
    """Split ``---`` YAML ``---`` from the Markdown body."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        problems.add(path, _("缺少文件头：文件应以 --- 开始，写明 title 和 minutes，再以 --- 结束"))
        return None
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if end is None:
        problems.add(path, _("文件头没有以 --- 结束"))
        return None
    before = len(problems.items)
    meta = _load_yaml("\n".join(lines[1:end]), path, problems, line_offset=1)
    if len(problems.items) > before or not _mapping(meta, path, LESSON_KEYS, problems):
        return None
    missing = [k for k in LESSON_KEYS if meta.get(k) is None]
    for key in missing:
        problems.add(path, _("缺少必填字段 %(key)s", key=key))
    return None if missing else (meta, "\n".join(lines[end + 1:]).strip("\n") + "\n")


def _check_unique_lessons(lessons: list[LessonFile], problems: _Problems) -> None:
    by_position: dict[int, LessonFile] = {}
    by_slug: dict[str, LessonFile] = {}
    for lesson in lessons:
        other = by_position.setdefault(lesson.position, lesson)
        if other is not lesson:
            problems.add(lesson.path, _("序号 %(n)s 与 %(other)s 重复", n=lesson.position,
                                        other=other.path))
        other = by_slug.setdefault(lesson.slug, lesson)
        if other is not lesson:
            problems.add(lesson.path, _("名称 %(name)s 与 %(other)s 重复", name=lesson.slug,
                                        other=other.path))


def _check_unique_code(code: str, path: str, codes: dict[str, str], problems: _Problems) -> None:
    other = codes.setdefault(code, path)
    if other != path:
        problems.add(path, _("课程代码 %(code)s 与 %(other)s 重复", code=code, other=other))

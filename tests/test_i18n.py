"""Both catalogues are complete: every message id in the code is translated, none fuzzy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from lms.i18n_catalog import load

ROOT = Path(__file__).resolve().parents[1]
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}


def _source_ids() -> set[str]:
    ids = set()
    for _file, _line, msg, _comments, _ctx in extract_from_dir(
            str(ROOT / "lms"), METHODS, keywords=KEYWORDS):
        ids.add(msg if isinstance(msg, str) else msg[0])
    return {i for i in ids if i}


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_catalogue_translates_every_message(lang):
    catalog = load(ROOT / "lms" / "translations" / lang / "LC_MESSAGES" / "messages.po")
    translated = set()
    for msg in catalog:
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        if msg.id and not msg.fuzzy and all(strings):
            translated.add(msg.id if isinstance(msg.id, str) else msg.id[0])
    missing = sorted(_source_ids() - translated)
    assert missing == [], f"{len(missing)} untranslated in {lang} (run `make i18n`): {missing[:10]}"


CJK_RUN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff08\uff09]+")


def test_english_catalogue_is_english():
    """Chinese may appear in English text only as literal values a file must contain
    (e.g. the 姓名 column header), copied from the source message; the rest is English."""
    catalog = load(ROOT / "lms" / "translations" / "en" / "LC_MESSAGES" / "messages.po")
    bad = []
    for m in catalog:
        if not m.id or not isinstance(m.string, str) or not CJK_RUN.search(m.string):
            continue
        copied = all(run in m.id for run in CJK_RUN.findall(m.string))
        if m.string == m.id or not copied or len(re.findall(r"[A-Za-z]", m.string)) < 3:
            bad.append(m.id)
    assert bad == []

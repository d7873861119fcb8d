"""Browser journeys: a live server on a temp-file SQLite database and one headless Chromium.

Skipped (with the reason in the short summary) where Debian's ``/usr/bin/chromium`` or the
``playwright`` package is missing — except on CI (``CI`` set), where that is a failure. Skipped on
the PostgreSQL pass (``LMS_TEST_DATABASE_URL``): the journeys run once, on SQLite.

Every journey gets a fresh database and server; the browser is shared by the session (one per
xdist worker) and every journey opens its own context. Screenshots of every step go under
``$BROWSER_ARTIFACTS`` or ``tests/browser/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("BROWSER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or Path(__file__).parent / "artifacts")
WIDTHS = (360, 1280)


def _why_not() -> str | None:
    if os.environ.get("LMS_TEST_DATABASE_URL"):
        return "browser journeys run once, on the SQLite pass (LMS_TEST_DATABASE_URL is set)"
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (Debian packages chromium chromium-driver)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not missing:
        return None
    reason = "browser journeys need " + " and ".join(missing)
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI never skips them", pytrace=False)
    return reason


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="lms-chromium-") as profile:
        # a fresh profile: launch_persistent_context would keep one; launch() makes its own
        # temporary one, the directory here only holds the downloads
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS,
                                     downloads_path=profile)
        yield browser
        browser.close()


# ---------------------------------------------------------------------------------- live server


@dataclass
class Live:
    app: Any
    url: str
    tmp: Path

    def ctx(self):  # noqa: ANN201 - an app context for setup through the services
        return self.app.app_context()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    if _why_not():
        pytest.skip(_why_not())
    from werkzeug.serving import make_server

    from lms import create_app
    from lms.extensions import db
    from tests.conftest import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "SERVER_NAME": None,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'lms.sqlite3'}",
                      "UPLOAD_DIR": str(tmp_path / "uploads")})
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield Live(app=app, url=f"http://127.0.0.1:{server.server_port}", tmp=tmp_path)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------------------------- pages

CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass
class Journey:
    """One browser context at one width: screenshots per step, console and page errors kept,
    each step checked for horizontal overflow (a page wider than a 360 px phone is broken)."""

    page: Any
    live: Live
    name: str
    width: int
    lang: str = "zh_CN"
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    step_no: int = 0

    @property
    def dir(self) -> Path:
        return ARTIFACTS / f"{self.name}-{self.lang}-{self.width}"

    def go(self, path: str) -> Any:
        return self.page.goto(self.live.url + path)

    def shot(self, label: str) -> None:
        self.step_no += 1
        self.page.wait_for_load_state("load")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.dir / f"{self.step_no:02d}-{label}.png"), full_page=True)
        over = self.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert over <= 1, f"{label}: the page is {over}px wider than the {self.width}px window"
        if self.lang == "en":
            untranslated = self.page.evaluate(UI_TEXT_JS)
            leftovers = [t for t in untranslated if CJK.search(t.replace("中文", ""))
                         and not any(d in t for d in self.data_text)]
            assert not leftovers, f"{label}: untranslated interface text {leftovers}"
        self.check()

    data_text: tuple[str, ...] = ()

    def check(self) -> None:
        errors = [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
        assert not errors, f"console or page errors: {errors}"

    def t(self, msgid: str, **values: Any) -> str:
        """The interface text of *msgid* in the journey's language (the catalogue decides)."""
        from flask_babel import force_locale, gettext

        with self.live.app.test_request_context(), force_locale(self.lang):
            return gettext(msgid, **values)

    def login(self, username: str, password: str) -> None:
        self.go("/auth/login")
        self.page.locator("#login").fill(username)
        self.page.locator("#password").fill(password)
        self.page.locator("form button[type=submit]").first.click()
        self.page.wait_for_load_state("load")

    def logout(self) -> None:
        menu = self.page.locator("button.navtoggle")
        if menu.is_visible():
            menu.click()
        self.page.locator("form[data-logout] button").click()
        self.page.wait_for_load_state("load")

    def nav(self, text: str) -> None:
        """Follow a main-menu link as a user would (opening the menu first on a phone)."""
        menu = self.page.locator("button.navtoggle")
        if menu.is_visible():
            menu.click()
        self.page.locator("#mainnav").get_by_role("link", name=text, exact=True).click()
        self.page.wait_for_load_state("load")


#: Interface text a translator owns: buttons, labels, table heads, definition terms, headings of
#: forms, flashes; not course content (data such as names and titles is filtered by
#: Journey.data_text).
UI_TEXT_JS = """() => Array.from(document.querySelectorAll(
  'button, label, th, dt, .flash, .hint, nav.mainnav a, footer, legend, h1, h2, .crumbs'))
  .filter(e => (e.offsetParent !== null || e.closest('nav.mainnav'))
    && !e.closest('.lesson-body, .q-stem'))
  .map(e => e.innerText.trim()).filter(Boolean)"""


@pytest.fixture
def journey(browser: Any, live: Live, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory: ``journey(width, lang)`` opens a new context at that width (Chinese by
    default, ``lang="en"`` switches with the footer button like a user)."""
    opened: list[Any] = []

    def make(width: int, lang: str = "zh_CN") -> Journey:
        context = browser.new_context(viewport={"width": width, "height": 800},
                                      accept_downloads=True, locale="zh-CN")
        context.set_default_timeout(15_000)
        opened.append(context)
        page = context.new_page()
        name = request.node.originalname.removeprefix("test_")
        j = Journey(page=page, live=live, name=name, width=width, lang=lang)
        page.on("console", lambda m: j.errors.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: j.errors.append(f"page error: {e}"))
        if lang == "en":
            j.go("/auth/login")
            page.locator("footer").get_by_role("button", name="English").click()
            page.wait_for_load_state("load")
            assert page.locator("html").get_attribute("lang") == "en"
        return j

    yield make
    for context in opened:
        context.close()

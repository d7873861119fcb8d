"""Markdown → safe HTML. Every rendering (course files and browser-authored text) goes through
nh3 with an allowlist: no scripts, no event handlers, no javascript:/data: links (R27, R28)."""

from __future__ import annotations

import markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"}, "th": {"align"}, "abbr": {"title"},
}
URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["tables", "fenced_code", "sane_lists", "attr_list"]


def sanitize(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer",
                     strip_comments=True)


def render_markdown(text: str) -> Markup:
    """The only place in the app that marks HTML as safe: nh3-sanitised Markdown output."""
    html = markdown.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    # Sanitised by nh3 just above, so marking it safe is the point (ruff S704, bandit B704).
    return Markup(sanitize(html))  # noqa: S704  # nosec B704

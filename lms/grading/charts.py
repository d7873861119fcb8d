"""Charts of the evaluation reports as PNG bytes (matplotlib, Agg canvas, no pyplot state).

Chinese labels use the CJK font shipped in the package (``lms.fonts``), registered with
matplotlib once per process; nothing is read from the system's fonts.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

from lms.fonts import CJK_FONT_FAMILY, cjk_font_path
from lms.grading import reports
from lms.grading.labels import grade_label, level_label
from lms.i18n import _

#: One colour per grade, best first (colour-blind safe palette).
GRADE_COLOURS = ("#1b7837", "#4393c3", "#f4a582", "#b2182b")
QUARTER_COLOURS = ("#4393c3", "#1b7837", "#f4a582", "#762a83")
#: rcParams are global; charts are drawn one at a time.
_LOCK = threading.Lock()


@cache
def register_font() -> str:
    """Add the bundled CJK font to matplotlib's font manager (once); returns its family."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    return CJK_FONT_FAMILY


def _figure(height: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(draw: Any, height: float) -> bytes:
    import matplotlib

    family = register_font()
    with _LOCK, matplotlib.rc_context({"font.family": [family], "font.size": 10,
                                       "axes.unicode_minus": False}):
        fig, ax = _figure(height)
        draw(ax)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()


def _whole() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _empty(ax: Any) -> None:
    ax.text(0.5, 0.5, _("暂无数据"), ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def grades_chart(rows: Sequence[reports.GradeRow], title: str) -> bytes:
    """Stacked horizontal bars: one bar per unit, one segment per grade."""
    def draw(ax: Any) -> None:
        ax.set_title(title)
        if not any(r.total for r in rows):
            return _empty(ax)
        names = [r.unit.name if r.unit else _("合计") for r in rows][::-1]
        left = [0] * len(names)
        for g, colour in zip(reports.GRADES, GRADE_COLOURS, strict=True):
            values = [r.counts[g.value] for r in rows][::-1]
            ax.barh(names, values, left=left, color=colour, label=str(grade_label(g.value)))
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_xlabel(_("人数"))
        ax.xaxis.set_major_locator(_whole())
        ax.legend(loc="lower right", fontsize=8)
        return None

    return _png(draw, max(3.0, 1.5 + 0.4 * len(rows)))


def levels_chart(rows: Sequence[reports.LevelRow], title: str) -> bytes:
    """Bars per level: people holding it this year and people at it after the evaluation."""
    levels = [r for r in rows if r.level is not None]

    def draw(ax: Any) -> None:
        ax.set_title(title)
        if not any(r.held for r in levels):
            return _empty(ax)
        x = list(range(len(levels)))
        ax.bar([i - 0.2 for i in x], [r.held for r in levels], width=0.4, color="#4393c3",
               label=_("本年等级"))
        ax.bar([i + 0.2 for i in x], [r.new for r in levels], width=0.4, color="#1b7837",
               label=_("评定后等级"))
        ax.set_xticks(x, [str(level_label(r.level)) for r in levels])
        ax.set_ylabel(_("人数"))
        ax.yaxis.set_major_locator(_whole())
        ax.legend(fontsize=8)
        return None

    return _png(draw, 4.0)


def stipends_chart(rows: Sequence[reports.StipendRow], title: str) -> bytes:
    """Grouped bars per unit, one bar per quarter (yuan)."""
    def draw(ax: Any) -> None:
        ax.set_title(title)
        if not any(r.total_fen for r in rows):
            return _empty(ax)
        x = list(range(len(rows)))
        width = 0.8 / len(reports.QUARTERS)
        for k, (q, colour) in enumerate(zip(reports.QUARTERS, QUARTER_COLOURS, strict=True)):
            ax.bar([i - 0.4 + width * (k + 0.5) for i in x], [r.fen[q] / 100 for r in rows],
                   width=width, color=colour, label=_("第%(q)s季度", q=q))
        tilt = len(rows) > 4
        ax.set_xticks(x, [r.unit.name if r.unit else _("合计") for r in rows],
                      rotation=30 if tilt else 0, ha="right" if tilt else "center")
        ax.set_ylabel(_("金额（元）"))
        ax.legend(fontsize=8)
        return None

    return _png(draw, 4.5)


def years_chart(rows: Sequence[reports.YearRow], title: str) -> bytes:
    """One line per grade over the years."""
    def draw(ax: Any) -> None:
        ax.set_title(title)
        if not rows:
            return _empty(ax)
        years = [str(r.year) for r in rows]
        for g, colour in zip(reports.GRADES, GRADE_COLOURS, strict=True):
            ax.plot(years, [r.counts[g.value] for r in rows], marker="o", color=colour,
                    label=str(grade_label(g.value)))
        ax.set_xlabel(_("年度"))
        ax.set_ylabel(_("人数"))
        ax.yaxis.set_major_locator(_whole())
        ax.legend(fontsize=8)
        return None

    return _png(draw, 4.0)


CHARTS = {"grades": grades_chart, "levels": levels_chart, "stipends": stipends_chart,
          "years": years_chart}

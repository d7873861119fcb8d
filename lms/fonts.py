"""The CJK font shipped inside the package (spec decision 20), for PDFs and charts.

Noto Sans CJK SC Regular (SIL Open Font License 1.1, licence text beside the file): the
Simplified Chinese face of Debian's ``fonts-noto-cjk`` collection, saved as a single OpenType
file (CFF outlines). It covers every CJK Unified Ideograph of GBK and Extension A, so names with
rare characters print correctly. fpdf2 embeds a subset of it; matplotlib can load it with
``matplotlib.font_manager.fontManager.addfont(str(cjk_font_path()))``.
"""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent / "data" / "fonts"
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
#: The family name inside the file (what matplotlib and font pickers call it).
CJK_FONT_FAMILY = "Noto Sans CJK SC"
LICENCE_FILE = "OFL.txt"


def cjk_font_path() -> Path:
    """The shipped CJK font file; it is part of the package, so it is always there."""
    return FONT_DIR / CJK_FONT_FILE

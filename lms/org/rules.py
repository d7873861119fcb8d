"""Pure org rules: unit kinds from names, codes, staffing quota, ID-card numbers, phones."""

from __future__ import annotations

import re
import unicodedata

from lms.org.models import CODE_LENGTH, Level, UnitKind

PARENT_LEVEL = {
    Level.CITY: Level.PROVINCE, Level.COUNTY: Level.CITY, Level.TOWNSHIP: Level.COUNTY,
    Level.VILLAGE: Level.TOWNSHIP,
}


def kind_from_name(name: str, level: Level) -> UnitKind | None:
    """街道 → subdistrict, 镇 → town, 乡 → rural township; 居委会/居民委员会 → community, else village."""
    if level == Level.TOWNSHIP:
        if name.endswith("街道") or name.endswith("街道办事处"):
            return UnitKind.SUBDISTRICT
        if name.endswith("镇"):
            return UnitKind.TOWN
        if name.endswith("乡"):
            return UnitKind.RURAL_TOWNSHIP
        return None
    if level == Level.VILLAGE:
        if name.endswith("居委会") or name.endswith("居民委员会") or name.endswith("社区"):
            return UnitKind.COMMUNITY
        return UnitKind.VILLAGE
    return None


def code_ok(code: str, level: Level) -> bool:
    return code.isascii() and code.isdigit() and len(code) == CODE_LENGTH[level]


def required_staff(resident_population: int | None) -> int | None:
    """Spec decision 3: < 50,000 → 3; 50,000–100,000 → 5; above: 5 + floor((pop − 100,000)/20,000)."""
    if resident_population is None:
        return None
    if resident_population < 50_000:
        return 3
    if resident_population <= 100_000:
        return 5
    return 5 + (resident_population - 100_000) // 20_000


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def normalize_id_number(raw: str) -> str | None:
    """Upper-case, strip spaces and full-width forms; None unless a valid 18-digit GB 11643 number."""
    value = raw.strip().replace(" ", "").upper().translate(
        str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX"))
    if not _ID_RE.match(value):
        return None
    if id_check_digit(value[:17]) != value[17]:
        return None
    return value


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def mask_id_number(value: str) -> str:
    return value[:6] + "*" * 8 + value[-4:]


_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(raw: str) -> str | None:
    value = raw.strip().replace(" ", "").replace("-", "").translate(
        str.maketrans("０１２３４５６７８９", "0123456789"))
    if value.startswith("+86"):
        value = value[3:]
    return value if _PHONE_RE.match(value) else None

def has_control_chars(value: str, allowed: str = "") -> bool:
    """True when *value* holds control characters (other than *allowed*) or lone surrogates."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value)

"""Shandong's administrative divisions (NBS statistical codes, public data) shipped in lms/data."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

from lms.org.models import Level, UnitKind
from lms.org.rules import kind_from_name

CSV_NAME = "shandong-divisions.csv"
PROVINCE_CODE = "37"
#: 临沂市: the root of sizes S and M, and the unit of the city demo accounts.
CITY_CODE = "3713"
#: 兰陵县: the one county of size S, and the unit of the county demo accounts.
COUNTY_CODE = "371324"
#: 卞庄街道 (兰陵县): the unit of the township demo accounts and of the demo trainees.
TOWNSHIP_CODE = "371324001"

SIZES = ("S", "M", "L")


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: Level
    parent_code: str | None
    kind: UnitKind | None


def _wanted(size: str, code: str) -> bool:
    if size == "S":
        return code == CITY_CODE or code.startswith(COUNTY_CODE)
    if size == "M":
        return code.startswith(CITY_CODE)
    return True


def _text() -> str:
    return resources.files("lms").joinpath("data", CSV_NAME).read_text(encoding="utf-8")


def for_size(size: str) -> list[Division]:
    """The divisions of a demo size, parents before children (the file's order)."""
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}")
    rows = [r for r in csv.DictReader(io.StringIO(_text())) if _wanted(size, r["code"])]
    codes = {r["code"] for r in rows}
    out = []
    for r in rows:
        level = Level(r["level"])
        parent = r["parent_code"] if r["parent_code"] in codes else None
        out.append(Division(r["code"], r["name"], level, parent, kind_from_name(r["name"], level)))
    return out

"""Catalogue upkeep: fill the source-language catalogue, list what is left to translate.

Message ids are the Simplified Chinese text, so ``zh_CN`` translates each id to itself; ``en``
is translated by hand. ``python -m lms.i18n_catalog report PO`` lists missing or fuzzy entries.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po


def load(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def save(catalog: Catalog, path: Path) -> None:
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0, no_location=True, sort_output=True)


def fill_source(path: Path) -> int:
    catalog = load(path)
    filled = 0
    for msg in catalog:
        if not msg.id:
            continue
        if isinstance(msg.id, tuple):
            if not all(msg.string) or msg.fuzzy:
                msg.string = tuple(msg.id[min(i, 1)] for i in range(len(msg.string)))
                filled += 1
        elif not msg.string or msg.fuzzy:
            msg.string = msg.id
            filled += 1
        msg.flags.discard("fuzzy")
    catalog.obsolete.clear()
    save(catalog, path)
    return filled


def missing(path: Path) -> list[str]:
    catalog = load(path)
    out = []
    for msg in catalog:
        if not msg.id:
            continue
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        if msg.fuzzy or not all(strings):
            out.append(msg.id if isinstance(msg.id, str) else msg.id[0])
    return out


if __name__ == "__main__":
    cmd, po = sys.argv[1], Path(sys.argv[2])
    if cmd == "fill-source":
        print(f"{po}: filled {fill_source(po)} entries")
    elif cmd == "report":
        left = missing(po)
        print(f"{po}: {len(left)} untranslated")
        for m in left:
            print("  " + m)

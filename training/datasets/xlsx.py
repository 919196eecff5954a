"""A minimal ``.xlsx`` reader (zip + XML), enough for annotation sheets; no openpyxl / pandas needed."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from accident_anticipation_ros.training.datasets.errors import DatasetError

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _column(ref: str) -> int:
    """``"C7"`` -> 2 (zero-based column index)."""
    letters = re.match(r"[A-Z]+", ref.upper())
    if letters is None:
        raise ValueError(f"bad cell reference {ref!r}")
    index = 0
    for ch in letters.group(0):
        index = index * 26 + ord(ch) - 64
    return index - 1


def _text(node) -> str:
    """Concatenated ``<t>`` texts under ``node`` (rich text runs included)."""
    return "".join(t.text or "" for t in node.iter(f"{MAIN}t"))


def read_xlsx(path: str | Path) -> list[tuple[str, list[list[str]]]]:
    """All sheets of a workbook as ``(name, rows)``; every cell as a string (numbers as written)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            shared: list[str] = []
            if "xl/sharedStrings.xml" in names:
                root = ElementTree.fromstring(zf.read("xl/sharedStrings.xml"))
                shared = [_text(si) for si in root.iter(f"{MAIN}si")]
            rels = {}
            if "xl/_rels/workbook.xml.rels" in names:
                for rel in ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels")).iter(
                    f"{PKG_REL}Relationship"
                ):
                    target = rel.get("Target", "").lstrip("/")
                    rels[rel.get("Id")] = target if target.startswith("xl/") else f"xl/{target}"
            workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
            sheets = []
            for i, sheet in enumerate(workbook.iter(f"{MAIN}sheet")):
                target = rels.get(sheet.get(f"{DOC_REL}id"), f"xl/worksheets/sheet{i + 1}.xml")
                sheets.append(
                    (
                        sheet.get("name", f"sheet{i + 1}"),
                        _rows(ElementTree.fromstring(zf.read(target)), shared),
                    )
                )
    except DatasetError:
        raise
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError, IndexError) as exc:
        raise DatasetError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    return sheets


def _rows(sheet, shared: list[str]) -> list[list[str]]:
    rows = []
    for row in sheet.iter(f"{MAIN}row"):
        cells: dict[int, str] = {}
        for pos, c in enumerate(row.iter(f"{MAIN}c")):
            col = _column(c.get("r")) if c.get("r") else pos
            kind = c.get("t")
            v = c.find(f"{MAIN}v")
            if kind == "s":
                value = shared[int(v.text)] if v is not None and v.text else ""
            elif kind == "inlineStr":
                node = c.find(f"{MAIN}is")
                value = _text(node) if node is not None else ""
            else:
                value = v.text if v is not None and v.text is not None else ""
            cells[col] = value
        if cells:
            width = max(cells) + 1
            rows.append([cells.get(i, "") for i in range(width)])
        else:
            rows.append([])
    return rows

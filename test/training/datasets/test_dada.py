"""DADA-2000: <type>/<video>/images/NNNN.png frames, an .xlsx (or .csv) annotation, {train,val,test}_file.json."""

from __future__ import annotations

import csv
import json
import zipfile

import cv2
import numpy as np
import pytest

from accident_anticipation_ros.training.datasets import DatasetError, detect_format, list_clips, load_clip
from accident_anticipation_ros.training.datasets.xlsx import read_xlsx

COLUMNS = ["video", "weather(sunny,rainy,snowy,foggy)1-4", "light(day,night)1-2", "type",
           "whether an accident occurred (1/0)", "abnormal start frame", "abnormal end frame", "accident frame",
           "total frames", "texts", "causes"]  # fmt: skip
ROWS = [
    [1, 2, 2, 10, 1, 3, 8, 5, 12, "[CLS]a car crosses[SEP]", "the car runs a red light"],
    [2, 1, 1, 10, 1, 12, 15, 14, 12, "a pedestrian appears", "not looking"],
    [1, 1, 1, 61, 0, -1, -1, -1, 12, "", ""],
]


def col(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def write_xlsx(path, rows, sheet_first=None):
    """A minimal workbook: shared strings for text, numbers inline; optional extra first sheet."""
    strings, sheets = [], []
    for data in ([sheet_first] if sheet_first else []) + [rows]:
        xml_rows = []
        for r, row in enumerate(data, 1):
            cells = []
            for c, value in enumerate(row):
                ref = f"{col(c)}{r}"
                if isinstance(value, str):
                    strings.append(value)
                    cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
                else:
                    cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
        sheets.append(
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + "".join(xml_rows)
            + "</sheetData></worksheet>"
        )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            + "".join(f'<sheet name="s{i}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i in range(len(sheets)))
            + "</sheets></workbook>",
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i + 1}" Target="worksheets/sheet{i + 1}.xml" Type="ws"/>'
                for i in range(len(sheets))
            )
            + "</Relationships>",
        )
        for i, s in enumerate(sheets):
            z.writestr(f"xl/worksheets/sheet{i + 1}.xml", s)
        z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{main}">' + "".join(
            f"<si><t>{s}</t></si>" for s in strings) + "</sst>")  # fmt: skip


def frames(folder, numbers):
    folder.mkdir(parents=True)
    for n in numbers:
        cv2.imwrite(str(folder / f"{n:04d}.png"), np.full((20, 30, 3), n * 10 % 255, np.uint8))


@pytest.fixture
def dada(tmp_path):
    root = tmp_path / "DADA_dataset"
    frames(root / "10" / "001" / "images", range(1, 13))
    frames(root / "10" / "002" / "images", range(10, 22))  # numbering that does not start at 1
    frames(root / "61" / "001" / "images", range(1, 13))
    write_xlsx(root / "DADA2000_video_annotations.xlsx", [COLUMNS, *ROWS], sheet_first=[["notes"], ["x"]])
    (root / "train_file.json").write_text(json.dumps([[["10", "001"], "001"], [["61", "001"], "002"]]))
    (root / "test_file.json").write_text(json.dumps([[["10", "002"], "003"]]))
    return root


def test_index_and_round_trip(dada):
    assert detect_format(dada) == "dada"
    refs = list_clips(dada)
    assert [(r.clip_id, r.toa) for r in refs] == [("10/001", 4.0), ("10/002", 4.0), ("61/001", -1.0)]
    assert {r.fps for r in refs} == {30.0}
    m = refs[0].meta
    assert (m["weather"], m["lighting"], m["texts"], m["accident_frame"]) == (
        "rainy",
        "night",
        "a car crosses",
        5,
    )
    clip = load_clip(refs[0])
    assert clip.frames.shape == (12, 20, 30, 3) and clip.toa == 4.0
    assert clip.labels.tolist() == [0] * 4 + [1] * 8
    assert clip.caption == "a car crosses. the car runs a red light"
    assert not load_clip(refs[2]).positive


def test_splits_and_csv(dada):
    assert [r.clip_id for r in list_clips(dada, split="train")] == ["10/001", "61/001"]
    assert [r.clip_id for r in list_clips(dada, split="testing")] == ["10/002"]
    with pytest.raises(DatasetError, match="val_file.json: split file not found"):
        list_clips(dada, split="val")
    (dada / "DADA2000_video_annotations.xlsx").unlink()
    with (dada / "annotations.csv").open("w", newline="") as f:
        csv.writer(f).writerows([COLUMNS, *ROWS])
    assert [(r.clip_id, r.toa) for r in list_clips(dada, fmt="dada")] == [
        ("10/001", 4.0),
        ("10/002", 4.0),
        ("61/001", -1.0),
    ]


def test_malformed_annotations(dada):
    xlsx = dada / "DADA2000_video_annotations.xlsx"
    write_xlsx(xlsx, [["video", "type", "texts"], [1, 10, "x"]])
    with pytest.raises(DatasetError, match="no header row with the columns video, type, accident frame"):
        list_clips(dada)
    write_xlsx(xlsx, [COLUMNS, [1, 2, 2, 10, 1, 3, 8, "soon", 12, "", ""]])
    with pytest.raises(DatasetError, match="'accident frame' must be a number, got 'soon'"):
        list_clips(dada)
    xlsx.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DatasetError, match="not a readable .xlsx"):
        list_clips(dada, fmt="dada")


def test_missing_frames(dada):
    write_xlsx(dada / "DADA2000_video_annotations.xlsx", [COLUMNS, [9, 1, 1, 10, 1, 3, 8, 5, 12, "", ""]])
    (ref,) = list_clips(dada)
    with pytest.raises(DatasetError, match="009/images: frame folder not found"):
        load_clip(ref)


def test_xlsx_reader_handles_gaps_and_inline_strings(tmp_path):
    path = tmp_path / "t.xlsx"
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}"><sheets><sheet name="a" sheetId="1"/></sheets></workbook>',
        )
        z.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{main}"><sheetData><row r="1">'
                   '<c r="A1" t="inlineStr"><is><t>x</t></is></c><c r="C1"><v>2.5</v></c></row>'
                   '<row r="2"/></sheetData></worksheet>')  # fmt: skip
    assert read_xlsx(path) == [("a", [["x", "", "2.5"], []])]

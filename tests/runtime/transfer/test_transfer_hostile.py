"""Hostile and malformed import files are refused with a clear message and cannot
exhaust memory: zip bombs, huge declared dimensions, DOCTYPE entities, formula cells
(never evaluated), wrong extensions, damaged files, too many rows, oversized bodies."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from transfer_kit import import_file, rewrite, with_dimension, xlsx

from runtime.auth.models import SYSTEM
from runtime.errors import BadRequest
from runtime.store.tables import records
from runtime.transfer.importing import ImportOptions, run_import
from runtime.transfer.reading import Limits, check_xlsx_archive, detect_format, open_sheet

ROW = ["甲公司", "华东", 1, 1, None, None, None]


def _code(r: Any) -> str:
    assert r.status_code == 400, r.text
    code: str = r.json()["error"]["code"]
    return code


def test_zip_bomb_is_refused_before_opening(sales: Any) -> None:
    bomb = rewrite(xlsx([ROW]), "", lambda t: t,
                   extra={"xl/media/padding.bin": b"\x00" * (30 * 1024 * 1024)})
    r = import_file(sales, bomb)
    assert _code(r) == "zip_bomb"
    assert "zip" in r.json()["error"]["message"].lower() or "压缩" in \
        r.json()["error"]["message"]


def test_total_expanded_size_is_limited(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(xlsx([ROW] * 50))
    with pytest.raises(BadRequest) as info:
        check_xlsx_archive(path, Limits(max_uncompressed=1000))
    assert info.value.code == "zip_bomb"


def test_huge_declared_dimensions_are_refused(sales: Any) -> None:
    assert _code(import_file(sales, with_dimension(xlsx([ROW]), "A1:XFD1048576"))) == \
        "too_many_rows"
    assert _code(import_file(sales, with_dimension(xlsx([ROW]), "A1:ZZZ2"))) == \
        "too_many_columns"


def test_rows_past_the_limit_stop_the_read(tmp_path: Path, ctx: Any, sales: Any) -> None:
    path = tmp_path / "many.csv"
    path.write_text("名称,评分\n" + "".join(f"公司{i},{i % 200}\n" for i in range(50)))
    with ctx.engine.begin() as conn, pytest.raises(BadRequest) as info:
        run_import(conn, ctx, app="sales", form="customer", path=path, name="many.csv",
                   options=ImportOptions(mode="skip_bad_rows", batch_size=7), actor=SYSTEM,
                   limits=Limits(max_rows=20))
    assert info.value.code == "too_many_rows"
    with ctx.engine.connect() as conn:
        assert conn.execute(select(records.c.id)).first() is None


def test_a_sheet_without_dimension_is_counted_while_read(tmp_path: Path) -> None:
    content = rewrite(xlsx([ROW] * 30), "xl/worksheets/sheet1.xml",
                      lambda t: t.replace('<dimension ref="A1:G31"/>', ""))
    path = tmp_path / "nodim.xlsx"
    path.write_bytes(content)
    sheet = open_sheet(path, "xlsx", Limits(max_rows=10))
    with pytest.raises(BadRequest) as info:
        list(sheet.rows)
    sheet.close()
    assert info.value.code == "too_many_rows"


def test_doctype_entities_are_refused(sales: Any) -> None:
    def add_doctype(text: str) -> str:
        doctype = '<!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        if text.startswith("<?xml"):
            end = text.index("?>") + 2
            return text[:end] + doctype + text[end:]
        return doctype + text

    evil = rewrite(xlsx([ROW]), "xl/workbook.xml", add_doctype)
    assert _code(import_file(sales, evil)) == "bad_file"


def test_formula_cells_give_their_cached_value_and_are_never_evaluated(
        sales: Any, ctx: Any) -> None:
    content = xlsx([["公式公司", "华东", "=1+1", "=10*10", None, None,
                     '=HYPERLINK("http://evil","x")']])
    # openpyxl writes formulas without a cached value; give the credit one a cache
    cached = rewrite(content, "xl/worksheets/sheet1.xml",
                     lambda t: t.replace("<f>1+1</f><v></v>", "<f>1+1</f><v>2</v>")
                     .replace("<f>1+1</f><v />", "<f>1+1</f><v>2</v>"))
    body = import_file(sales, cached).json()
    assert body["created"] == 1, body
    with ctx.engine.connect() as conn:
        data = conn.execute(select(records.c.data)).scalar_one()
    assert data["credit"] == "2.00"  # the cached value
    assert "score" not in data  # no cache: blank, not 100
    assert "note" not in data  # the formula text is never stored or run


def test_wrong_extension_and_unknown_formats(sales: Any) -> None:
    assert _code(import_file(sales, "名称\n甲\n".encode(), name="x.xlsx")) == "wrong_extension"
    assert _code(import_file(sales, xlsx([ROW]), name="x.csv")) == "wrong_extension"
    assert _code(import_file(sales, xlsx([ROW]), name="x.exe")) == "wrong_extension"
    r = import_file(sales, b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, name="x.xlsx")
    assert _code(r) == "file_type"


def test_damaged_and_foreign_zips(sales: Any) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    assert _code(import_file(sales, out.getvalue(), name="x.xlsx")) == "file_type"
    truncated = xlsx([ROW])[:-200]
    assert _code(import_file(sales, truncated)) in ("file_type", "bad_file")


def test_malformed_csv(sales: Any, tmp_path: Path) -> None:
    assert _code(import_file(sales, b"\n\n", name="x.csv")) in ("no_headers", "file_type")
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(300)) + "\n")
    assert detect_format(path, "wide.csv") == "csv"
    with pytest.raises(BadRequest) as info:
        open_sheet(path, "csv", Limits(max_columns=200))
    assert info.value.code == "too_many_columns"


def test_an_oversized_import_is_413(sales: Any, ctx: Any) -> None:
    big = b"a,b\n" + b"1,2\n" * (ctx.settings.upload_limit // 4 + 10)
    r = import_file(sales, big, name="big.csv")
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"

"""Files over HTTP on SQLite and PostgreSQL: upload with sniffed types and sanitised
names, download with RFC 5987 names, references checked on write, files kept after a
record's soft delete, and the hostile cases (wrong type, disguised file, oversized)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from runtime.store.tables import files

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
       b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe"
       b"\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
UPLOAD = "/api/v1/apps/docs/files"
RECORDS = "/api/v1/apps/docs/forms/contract/records"


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def upload(c: Any, name: str, content: bytes, kind: str = "attachment",
           declared: str = "application/octet-stream") -> Any:
    return c.post(UPLOAD, files={"file": (name, content, declared)}, data={"kind": kind})


def test_upload_sniffs_the_type_and_download_returns_the_bytes(docs_client: Any,
                                                               ctx: Any) -> None:
    c = docs_client
    r = upload(c, "合同扫描.pdf", PDF, declared="image/png")  # the header is not trusted
    assert r.status_code == 201, r.text
    ref = r.json()
    assert ref["content_type"] == "application/pdf" and ref["size"] == len(PDF)
    assert ref["name"] == "合同扫描.pdf"
    d = c.get(f"/api/v1/files/{ref['id']}")
    assert d.status_code == 200 and d.content == PDF
    assert d.headers["content-type"].startswith("application/pdf")
    assert d.headers["x-content-type-options"] == "nosniff"
    disposition = d.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('合同扫描.pdf', safe='')}" in disposition
    # stored once, under its content address
    sha = hashlib.sha256(PDF).hexdigest()
    assert (ctx.settings.files_path / sha[:2] / sha[2:4] / sha).read_bytes() == PDF
    again = upload(c, "copy.pdf", PDF).json()
    assert again["id"] != ref["id"]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(files)
                            .where(files.c.sha256 == sha)).scalar_one() == 2


def test_office_files_and_images_are_recognised(docs_client: Any) -> None:
    c = docs_client
    assert upload(c, "a.docx", _docx()).json()["content_type"].endswith(
        "wordprocessingml.document")
    img = upload(c, "p.jpg", JPEG, kind="image").json()
    assert img["content_type"] == "image/jpeg"
    d = docs_client.get(f"/api/v1/files/{img['id']}")
    assert d.headers["content-disposition"].startswith("inline;")
    assert upload(c, "s.png", PNG, kind="signature").status_code == 201
    assert upload(c, "notes.txt", "备注：第一行\n".encode()).json()["content_type"] == \
        "text/plain"


def test_names_are_sanitised(docs_client: Any) -> None:
    c = docs_client
    ref = upload(c, "../../etc/pass<wd>.pdf", PDF).json()
    assert ref["name"] == "pass_wd_.pdf"
    # a wrong extension is corrected, not trusted
    assert upload(c, "photo.html", PNG, kind="image").json()["name"] == "photo.html.png"
    assert upload(c, "...", PDF).json()["name"] == "file.pdf"


def test_types_a_kind_does_not_take_are_refused(docs_client: Any) -> None:
    c = docs_client
    r = upload(c, "x.jpg", JPEG, kind="signature")  # signatures are png only
    assert r.status_code == 400 and r.json()["error"]["code"] == "file_type"
    r = upload(c, "doc.pdf", PDF, kind="image")
    assert r.status_code == 400
    html = b"<html><script>alert(1)</script></html>\x00\x01"
    assert upload(c, "page.jpg", html).status_code == 400  # disguised, binary junk
    exe = b"MZ\x90\x00" + b"\x00" * 100
    r = upload(c, "setup.pdf", exe, declared="application/pdf")
    assert r.status_code == 400 and r.json()["error"]["code"] == "file_type"
    assert upload(c, "empty.pdf", b"").status_code == 400
    assert upload(c, "a.pdf", PDF, kind="virus").json()["error"]["code"] == "bad_kind"


def test_upload_over_the_limit_is_413(docs_client: Any, ctx: Any) -> None:
    big = b"%PDF-1.4\n" + b"0" * (ctx.settings.upload_limit + 10)
    r = upload(docs_client, "big.pdf", big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


def test_the_service_limit_cuts_a_stream_off(docs_client: Any, ctx: Any) -> None:
    from runtime.auth.models import SYSTEM
    from runtime.errors import TooLarge
    from runtime.files.service import store_upload

    def chunks() -> Any:
        while True:  # an endless stream must stop at the limit
            yield b"%PDF-" + b"0" * 65536

    with ctx.engine.begin() as conn:
        try:
            store_upload(conn, ctx, app="docs", name="x.pdf", chunks=chunks(),
                         kind="attachment", actor=SYSTEM, limit=200_000)
        except TooLarge:
            pass
        else:
            raise AssertionError("an endless upload was accepted")
    assert not any((ctx.settings.files_path / "tmp").iterdir())


def test_records_keep_references_and_refuse_unknown_files(docs_client: Any) -> None:
    c = docs_client
    scan = upload(c, "scan.pdf", PDF).json()
    sign = upload(c, "sign.png", PNG, kind="signature").json()
    r = c.post(RECORDS, json={"title": "采购合同", "scan": [scan], "sign": [sign]})
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["data"]["scan"] == [scan]
    missing = {**scan, "id": "0" * 32}
    r = c.post(RECORDS, json={"title": "x", "scan": [missing]})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["code"] == "file_missing"
    assert r.json()["error"]["details"][0]["field"] == "scan"
    relabelled = {**scan, "content_type": "image/png"}
    r = c.post(RECORDS, json={"title": "x", "photo": [relabelled]})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["code"] == "file_mismatch"
    r = c.patch(f"{RECORDS}/{rec['id']}", json={"scan": [scan, missing]})
    assert r.status_code == 422
    assert c.get(f"{RECORDS}/{rec['id']}").json()["data"]["scan"] == [scan]
    # a soft delete keeps the files
    assert c.delete(f"{RECORDS}/{rec['id']}").status_code == 204
    assert c.get(f"/api/v1/files/{scan['id']}").content == PDF
    assert c.get(f"/api/v1/files/{sign['id']}").status_code == 200


def test_a_file_of_another_app_is_not_a_valid_reference(docs_client: Any, ctx: Any) -> None:
    from runtime.auth.models import SYSTEM
    from runtime.files.service import store_generated

    with ctx.engine.begin() as conn:
        from sqlalchemy import insert

        from runtime.store.tables import apps

        conn.execute(insert(apps).values(key="other", name={"zh": "其他"},
                                         current_version=None, installed_at=ctx.clock.now(),
                                         updated_at=ctx.clock.now()))
        foreign = store_generated(conn, ctx, app="other", name="x.pdf", content=PDF,
                                  content_type="application/pdf", actor=SYSTEM)
    r = docs_client.post(RECORDS, json={"title": "x", "scan": [foreign]})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["code"] == "file_missing"


def test_unknown_file_and_unknown_app(docs_client: Any) -> None:
    assert docs_client.get("/api/v1/files/nope").status_code == 404
    assert docs_client.get("/api/v1/files/" + "x" * 200).status_code == 404
    r = docs_client.post("/api/v1/apps/ghost/files", files={"file": ("a.pdf", PDF)})
    assert r.status_code == 404


def test_subform_rows_references_are_checked_too(docs_client: Any) -> None:
    c = docs_client
    img = upload(c, "p.png", PNG, kind="image").json()
    r = c.post(RECORDS, json={"title": "t", "pages": [{"img": [img]}]})
    assert r.status_code == 201, r.text
    r = c.post(RECORDS, json={"title": "t", "pages": [{"img": [img]},
                                                      {"img": [{**img, "id": "f" * 32}]}]})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "pages[1].img"

"""How PostgreSQL stores a record's JSON (migration 0006): inline and uncompressed up to
a page, so reading one field does not decompress the whole document."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, text

from runtime.store.engine import make_engine
from runtime.store.tables import records

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def _row(data: dict[str, object]) -> dict[str, object]:
    return {"app": "a", "form": "f", "form_version": 1, "data": data, "version": 1,
            "created_at": NOW, "created_by": "t", "updated_at": NOW, "updated_by": "t"}


def test_a_few_kilobytes_of_json_stay_inline_and_uncompressed(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            options = conn.execute(text(
                "SELECT reloptions FROM pg_class WHERE relname = 'records'")).scalar()
            assert "toast_tuple_target=8160" in (options or [])
            # ~3 KB of compressible JSON: compressed (pglz) by default past ~2 KB
            doc = {f"field_{i}": "信用良好 reliable customer " * 3 for i in range(30)}
            rid = conn.execute(insert(records).values(_row(doc))
                               .returning(records.c.id)).scalar_one()
            size, how = conn.execute(text(
                "SELECT pg_column_size(data), pg_column_compression(data) FROM records "
                "WHERE id = :id"), {"id": rid}).one()
            assert how is None
            assert size > 2500
            assert conn.execute(select(records.c.data).where(records.c.id == rid)
                                ).scalar_one() == doc
            conn.execute(records.delete().where(records.c.id == rid))
    finally:
        engine.dispose()

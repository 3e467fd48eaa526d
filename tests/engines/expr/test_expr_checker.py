"""The checker refuses what it must, at the right place, in both languages."""

from __future__ import annotations

import pytest
from expr_fixtures import SCOPE

from engines.expr import ExprError, Field, Scope, T, compile_expr


def refusal(source: str, scope: Scope = SCOPE) -> ExprError:
    with pytest.raises(ExprError) as info:
        compile_expr(source, scope)
    return info.value


@pytest.mark.parametrize(("source", "code", "column"), [
    ('amount > "x"', "type_mismatch", 1),
    ("amonut > 1", "unknown_name", 1),
    ("ROUND()", "wrong_arg_count", 1),
    ("1 + ROUND(1, 2, 3)", "wrong_arg_count", 5),
    ('status == "a" and UPPER(amount) == "B"', "wrong_arg_type", 25),
    ("FOO(1)", "unknown_function", 1),
    ("status = 'open'", "syntax", 8),
    ('COUNT("nope", 1 > 0)', "unknown_form", 7),
    ("IF(amount, 1, 2)", "not_boolean", 4),
    ("record", "bad_name", 1),
    ("TODAY", "not_called", 1),
    ("status.upper()", "not_allowed", 1),
    ('"名字" == name and amonut > 1', "unknown_name", 18),
    ("(1 + 2", "syntax", 7),
    ("1 +", "syntax", 4),
])
def test_refusals_have_a_code_and_a_column(source: str, code: str, column: int) -> None:
    err = refusal(source)
    assert err.code == code
    assert err.column == column
    assert err.line == 1
    assert err.source == source
    assert err.message["zh"] and err.message["en"]


def test_suggests_the_close_name() -> None:
    assert "amount" in refusal("amonut > 1").message["en"]
    assert "ROUND" in refusal("ROUNDD(1)").message["en"]


def test_line_of_a_multiline_expression() -> None:
    err = refusal("status == 'a' and\n  nope > 1")
    assert (err.line, err.column) == (2, 3)


def test_types_are_inferred() -> None:
    assert compile_expr("amount * 2", SCOPE).type is T.MONEY
    assert compile_expr("level + 1", SCOPE).type is T.INTEGER
    assert compile_expr("level / 2", SCOPE).type is T.NUMBER
    assert compile_expr("SUM(lines.subtotal)", SCOPE).type is T.MONEY
    assert compile_expr("TODAY() + DAYS(1)", SCOPE).type is T.DATE
    assert compile_expr("NOW() - DAYS(7)", SCOPE).type is T.DATETIME
    assert compile_expr('IF(flag, "a", "b")', SCOPE).type is T.TEXT
    assert compile_expr("name & level", SCOPE).type is T.TEXT


def test_expected_type_is_enforced() -> None:
    with pytest.raises(ExprError) as info:
        compile_expr('"text"', SCOPE, T.BOOLEAN)
    assert info.value.code == "wrong_type"
    assert compile_expr("level", SCOPE, T.NUMBER).type is T.INTEGER


def test_names_read_are_reported() -> None:
    c = compile_expr('amount > 1 and status == "open" and CONTAINS(tags, "x")', SCOPE)
    assert c.names == {"amount", "status", "tags"}
    agg = compile_expr('COUNT("complaint", customer == record.code) > 1', SCOPE)
    assert agg.names == {"code"}


def test_system_fields_and_record_prefix() -> None:
    assert compile_expr("created_at < NOW()", SCOPE).type is T.BOOLEAN
    assert compile_expr("record.amount > 1", SCOPE).names == {"amount"}
    assert compile_expr("old.status != status", SCOPE).type is T.BOOLEAN
    assert compile_expr('user.department == "x"', SCOPE).type is T.BOOLEAN


def test_scope_names_and_cache() -> None:
    scope = Scope({"x": Field(T.INTEGER)}, names={"since": T.DATE})
    first = compile_expr("since < TODAY()", scope)
    again = compile_expr("since < TODAY()", Scope({"x": Field(T.INTEGER)},
                                                   names={"since": T.DATE}))
    assert first is again
    assert first.names == {"since"}


def test_compiled_is_immutable() -> None:
    c = compile_expr("1 + 1", SCOPE)
    with pytest.raises(AttributeError):
        c.source = "2"  # type: ignore[misc]

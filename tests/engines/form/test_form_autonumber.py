"""Running numbers: periods and formatting (the store owns the counter)."""

from __future__ import annotations

from datetime import date

import pytest

from engines.form import format_autonumber, period_key
from engines.form.autonumber import pattern_problems


@pytest.mark.parametrize(("reset", "expected"), [
    ("never", ""), ("year", "2026"), ("month", "2026-02"), ("day", "2026-02-05")])
def test_period_key(reset: str, expected: str) -> None:
    assert period_key(reset, date(2026, 2, 5)) == expected  # type: ignore[arg-type]


def test_format_pads_and_grows() -> None:
    when = date(2026, 2, 5)
    assert format_autonumber("TK-{YYYY}{MM}-{0000}", 7, when) == "TK-202602-0007"
    assert format_autonumber("{YY}{MM}{DD}#{00}", 123, when) == "260205#123"


@pytest.mark.parametrize(("pattern", "codes"), [
    ("HT-{YYYY}{MM}-{0000}", []),
    ("HT-{YYYY}", ["autonumber_counter"]),
    ("{0}{00}", ["autonumber_counter"]),
    ("{Q}{000}", ["autonumber_token"]),
    ("A}{000}", ["autonumber_brace"]),
])
def test_pattern_problems(pattern: str, codes: list[str]) -> None:
    assert [p[0] for p in pattern_problems(pattern)] == codes

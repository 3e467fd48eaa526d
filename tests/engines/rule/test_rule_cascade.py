from __future__ import annotations

import pytest

from engines.rule import CascadeGuard, CascadeLimitError


def test_a_rule_acts_once_per_record_per_chain() -> None:
    guard = CascadeGuard()
    assert guard.admit("r", "1", 0)
    assert not guard.admit("r", "1", 1)
    assert guard.admit("r", "2", 1)
    assert guard.admit("other", "1", 1)
    assert guard.firings == 3


def test_depth_bound_names_the_chain() -> None:
    guard = CascadeGuard(max_depth=2)
    for depth, rule in enumerate(["a", "b", "c"]):
        assert guard.admit(rule, "1", depth, allow_repeat=True)
    with pytest.raises(CascadeLimitError) as info:
        guard.admit("a", "1", 3, allow_repeat=True)
    assert info.value.code == "cascade_depth"
    assert "b(1) → c(1) → a(1)" in info.value.message["en"]
    assert "2" in info.value.message["zh"]
    assert info.value.chain[-1] == ("a", "1")


def test_count_bound() -> None:
    guard = CascadeGuard(max_firings=3)
    for i in range(3):
        guard.admit("fan", str(i), 1)
    with pytest.raises(CascadeLimitError) as info:
        guard.admit("fan", "99", 1)
    assert info.value.code == "cascade_count"


def test_intended_loops_repeat_until_the_depth_bound() -> None:
    guard = CascadeGuard(max_depth=3)
    fired = 0
    with pytest.raises(CascadeLimitError):
        for depth in range(10):
            guard.admit("loop", "1", depth, allow_repeat=True)
            fired += 1
    assert fired == 4

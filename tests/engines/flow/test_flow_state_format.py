"""Stored instance state: a frozen v1 document still loads and carries on; a newer
schema_version than the engine knows is refused instead of misread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flow_testkit import Driver, build
from test_flow_contract import CONTRACT, PEOPLE

from engines.flow import InstanceState
from engines.flow.state import SCHEMA_VERSION, upgrade

GOLDEN = Path(__file__).parent / "data" / "flow_state_v1_contract.json"


def test_a_stored_v1_state_loads_and_finishes() -> None:
    doc = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1
    d = Driver(build(CONTRACT), PEOPLE, record={"amount": 2_500_000})
    d.state = InstanceState.from_dict(doc)
    assert d.holders() == {"sign": ["fay", "leo"]}
    d.withdraw("grace")  # the undo snapshot survived storage
    assert d.holders() == {"gm": ["grace"]}
    d.act("grace")
    d.act("fay")
    d.act("leo")
    assert d.s.status == "approved"


def test_newer_state_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="newer"):
        upgrade({"schema_version": SCHEMA_VERSION + 1})

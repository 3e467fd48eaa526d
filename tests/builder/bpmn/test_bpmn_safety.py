"""Malformed, oversized, DTD-carrying and non-BPMN documents are refused with a
reason, never a crash (defusedxml-like protections on the stdlib parser)."""

from __future__ import annotations

import pytest

from builder.bpmn import XmlRefusedError, import_bpmn, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</definitions>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!doctype d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>"""


@pytest.mark.parametrize(("data", "code"), [
    (BILLION_LAUGHS, "dtd"),
    (EXTERNAL, "dtd"),
    (b"<definitions><process>", "not_well_formed"),
    (b"", "not_well_formed"),
    ("<a/>".encode("utf-16"), "encoding"),
    (b"<a>" + b"x" * 2_000 + b"</a>", "too_large"),
    (b"<a>" * 300 + b"</a>" * 300, "too_deep"),
])
def test_bad_documents_are_refused_with_a_code(data: bytes, code: str) -> None:
    result = import_bpmn(data, max_bytes=1_000 if code == "too_large" else 5_000_000)
    assert not result.ok
    assert [r.code for r in result.reasons] == [code]
    with pytest.raises(XmlRefusedError):
        parse_xml(data, max_bytes=1_000 if code == "too_large" else 5_000_000)


def test_too_many_elements() -> None:
    with pytest.raises(XmlRefusedError) as err:
        parse_xml(b"<a>" + b"<b/>" * 50 + b"</a>", max_elements=10)
    assert err.value.code == "too_many_elements"


def test_not_bpmn_and_empty_processes_are_refused() -> None:
    assert [r.code for r in import_bpmn(b"<html/>").reasons] == ["not_bpmn"]
    empty = b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'
    assert [r.code for r in import_bpmn(empty).reasons] == ["no_process"]


def test_a_structurally_broken_process_is_refused_with_its_issues() -> None:
    from flow_testkit_bpmn import compile_condition

    xml = b"""<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
      <process id="p"><startEvent id="s"/><userTask id="t"/><endEvent id="e"/>
      <sequenceFlow id="f" sourceRef="s" targetRef="t"/></process></definitions>"""
    result = import_bpmn(xml, compile_condition=compile_condition)
    assert not result.ok
    assert ("no_path_to_end", "t") in {(r.code, r.id) for r in result.reasons}

"""Namespaces and naming shared by the BPMN importer and exporter."""

from __future__ import annotations

import re

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
LOOM_NS = "https://loom.dev/schema/bpmn"
LOOM_EXPR = "https://loom.dev/schema/expr"

ROUTE_FIELD = "bpmn_route"
"""The record field that picks a branch of an imported gateway whose outgoing flows
carry no condition (BPMN leaves that choice to the performer)."""

_NOT_KEY = re.compile(r"[^a-z0-9_]+")


def q(tag: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{tag}"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def to_key(text: str, taken: set[str], prefix: str = "n") -> str:
    """An ASCII key (`[a-z][a-z0-9_]*`, ≤64) made from a BPMN id or name, unique in
    `taken` (which it updates)."""
    base = _NOT_KEY.sub("_", text.lower()).strip("_")[:56] or prefix
    if not base[0].isalpha():
        base = f"{prefix}_{base}"[:56]
    key = base
    counter = 2
    while key in taken:
        key = f"{base}_{counter}"
        counter += 1
    taken.add(key)
    return key

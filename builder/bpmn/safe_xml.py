"""Parse untrusted XML with the protections defusedxml gives, using only the stdlib.

BPMN files come from users and other tools, so the parser refuses what XML attacks
need: a DOCTYPE (entity expansion, "billion laughs", external entities), encodings
that would hide one from the byte scan (UTF-16/32), oversized input, and documents
nested too deep or with too many elements. Everything refused raises `XmlRefusedError`
with a code, so callers report it instead of crashing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

MAX_BYTES = 5 * 1024 * 1024
MAX_ELEMENTS = 200_000
MAX_DEPTH = 256

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


class XmlRefusedError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def parse_xml(data: bytes | str, *, max_bytes: int = MAX_BYTES,
              max_elements: int = MAX_ELEMENTS, max_depth: int = MAX_DEPTH) -> ET.Element:
    """The root element of a well-formed, DTD-free document within the limits."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise XmlRefusedError("too_large", f"the document has {len(raw)} bytes; the limit is "
                                      f"{max_bytes}")
    if raw.startswith(_WIDE_BOMS) or b"\x00" in raw[:64]:
        raise XmlRefusedError("encoding", "only ASCII-compatible encodings (UTF-8, ISO-8859-x) "
                                     "are accepted")
    if _DTD.search(raw):
        raise XmlRefusedError("dtd", "documents with a DOCTYPE or ENTITY declaration are refused")
    try:
        root = ET.fromstring(raw)  # noqa: S314 - DTDs and entities refused above
    except ET.ParseError as exc:
        raise XmlRefusedError("not_well_formed", f"not well-formed XML: {exc}") from exc
    count = 0
    stack: list[tuple[ET.Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > max_elements:
            raise XmlRefusedError("too_many_elements", f"more than {max_elements} elements")
        if depth > max_depth:
            raise XmlRefusedError("too_deep", f"elements nested deeper than {max_depth}")
        stack.extend((child, depth + 1) for child in element)
    return root

"""A problem found in a definition: where (file and JSON path), what (code), and a
message in zh and en. Checks yield every problem at once rather than stopping at the
first, so an analyst fixes a bundle in one pass."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    path: str
    code: str
    message: dict[str, str]

    def render(self, lang: str = "en") -> str:
        where = f"{self.file}:{self.path}" if self.path else self.file
        return f"{where}: {self.message.get(lang) or self.message.get('en', '')} [{self.code}]"

    def as_json(self, lang: str = "en") -> dict[str, Any]:
        return {"file": self.file, "path": self.path, "code": self.code,
                "message": self.message.get(lang) or self.message.get("en", "")}


def json_path(loc: Sequence[int | str]) -> str:
    """pydantic's location tuple as a JSON path: ('fields', 3, 'expr') → fields[3].expr"""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_PYDANTIC_ZH = {
    "extra_forbidden": "不认识的键",
    "missing": "缺少必填的键",
    "string_pattern_mismatch": "格式不对",
    "literal_error": "取值不在允许的范围内",
    "union_tag_invalid": "类型不认识",
}


def from_validation_error(file: str, err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors(include_url=False):
        loc = [p for p in e["loc"] if not (isinstance(p, str) and "[" in p and p.endswith("]"))]
        # Discriminated unions put the tag in the location; drop it for a clean path.
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
        zh = _PYDANTIC_ZH.get(e["type"], "取值无效")
        problems.append(Problem(file, json_path(loc), e["type"],
                                {"zh": f"{zh}：{e['msg']}", "en": e["msg"]}))
    return problems


class BundleInvalid(Exception):
    """A bundle with problems; `problems` lists every one of them."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.render() for p in self.problems[:5]))

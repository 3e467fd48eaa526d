"""Loading an app bundle (a folder or a .zip of it) into parsed, checked definitions.

A bundle is what analysts save and integrators keep in git (DESIGN §3). Loading
reports *every* problem — bad JSON, unknown keys, a file whose name does not match its
key — with the file and JSON path, instead of stopping at the first. The raw JSON of
each file is kept beside its parsed spec so that export writes back exactly what was
installed (install → export → install gives identical definitions).
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ValidationError

from builder.app_spec import AppSpec
from builder.kinds import KINDS, spec_class
from builder.problems import BundleInvalid, Problem, from_validation_error

MAX_FILES = 2000
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_DATA_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Bundle:
    app: AppSpec
    raw_app: dict[str, Any]
    definitions: Mapping[str, Mapping[str, BaseModel]]
    raw: Mapping[str, Mapping[str, dict[str, Any]]]
    data: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.app.key

    def of(self, kind: str) -> Mapping[str, BaseModel]:
        return self.definitions.get(kind, {})

    def to_json(self) -> dict[str, Any]:
        """The bundle as one JSON document (what a published version stores); a deep
        copy, so callers may change it without touching the bundle."""
        out: dict[str, Any] = {"app": self.raw_app}
        for kind in KINDS:
            out[kind] = dict(self.raw.get(kind, {}))
        out["data"] = dict(self.data)
        return copy.deepcopy(out)

    def files(self) -> dict[str, Any]:
        """The bundle as files: relative path → JSON value."""
        return files_from_json(self.to_json())


def files_from_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    files: dict[str, Any] = {"app.json": doc.get("app")}
    for kind in KINDS:
        for key, raw in (doc.get(kind) or {}).items():
            files[f"{kind}/{key}.json"] = raw
    for form, rows in (doc.get("data") or {}).items():
        files[f"data/{form}.json"] = rows
    return files


def from_json(doc: Mapping[str, Any]) -> Bundle:
    """Parse a bundle stored as one JSON document (see `Bundle.to_json`)."""
    return parse_files(files_from_json(doc))


def load(path: str | Path) -> Bundle:
    """Load a bundle folder or zip file; raises BundleInvalid listing every problem."""
    p = Path(path)
    if p.is_dir():
        return parse_files(_read_folder(p))
    if p.is_file():
        return load_zip(p.read_bytes())
    raise BundleInvalid([Problem(str(path), "", "not_found",
                                 {"zh": "找不到应用包", "en": "No bundle at this path"})])


def load_zip(content: bytes) -> Bundle:
    return parse_files(_read_zip(content))


def _read_folder(root: Path) -> dict[str, Any]:
    files: dict[str, Any] = {}
    problems: list[Problem] = []
    for f in sorted(root.rglob("*.json")):
        rel = f.relative_to(root).as_posix()
        if not _wanted(rel):
            continue
        if f.stat().st_size > _limit(rel):
            problems.append(_too_big(rel))
            continue
        files[rel] = _decode(rel, f.read_bytes(), problems)
    if problems:
        raise BundleInvalid(problems)
    return files


def _read_zip(content: bytes) -> dict[str, Any]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise BundleInvalid([Problem("(zip)", "", "bad_zip", {
            "zh": "不是有效的 zip 文件", "en": "Not a valid zip file"})]) from None
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_FILES:
        raise BundleInvalid([Problem("(zip)", "", "too_many_files", {
            "zh": f"文件太多（上限 {MAX_FILES}）", "en": f"Too many files (limit {MAX_FILES})"})])
    prefix = _common_root([i.filename for i in infos])
    files: dict[str, Any] = {}
    problems: list[Problem] = []
    total = 0
    for info in infos:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            problems.append(Problem(info.filename, "", "unsafe_path", {
                "zh": "文件路径不安全", "en": "Unsafe file path"}))
            continue
        rel = info.filename[len(prefix):]
        if not _wanted(rel):
            continue
        total += info.file_size
        if info.file_size > _limit(rel) or total > MAX_TOTAL_BYTES:
            problems.append(_too_big(rel))
            continue
        with zf.open(info) as fh:
            # Read at most the declared size + 1: a lying header cannot inflate us.
            data = fh.read(_limit(rel) + 1)
        if len(data) > _limit(rel):
            problems.append(_too_big(rel))
            continue
        files[rel] = _decode(rel, data, problems)
    if problems:
        raise BundleInvalid(problems)
    return files


def _common_root(names: list[str]) -> str:
    """A zip made of a folder has every path under one folder: strip it."""
    if any(n == "app.json" for n in names):
        return ""
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(tops) == 1:
        top = tops.pop() + "/"
        if any(n == top + "app.json" for n in names):
            return top
    return ""


def _wanted(rel: str) -> bool:
    parts = rel.split("/")
    if rel == "app.json":
        return True
    return len(parts) == 2 and (parts[0] in KINDS or parts[0] == "data") and rel.endswith(".json")


def _limit(rel: str) -> int:
    return MAX_DATA_FILE_BYTES if rel.startswith("data/") else MAX_FILE_BYTES


def _too_big(rel: str) -> Problem:
    return Problem(rel, "", "too_large", {"zh": "文件太大", "en": "File too large"})


def _decode(rel: str, content: bytes, problems: list[Problem]) -> Any:
    try:
        return json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        problems.append(Problem(rel, "", "bad_encoding", {
            "zh": "文件不是 UTF-8 编码", "en": "The file is not UTF-8"}))
    except json.JSONDecodeError as e:
        problems.append(Problem(rel, f"line {e.lineno} column {e.colno}", "bad_json", {
            "zh": f"JSON 格式错误：{e.msg}", "en": f"Malformed JSON: {e.msg}"}))
    return None


def parse_files(files: Mapping[str, Any]) -> Bundle:
    """Parse decoded files (path → JSON value) into a Bundle, or raise every problem."""
    problems: list[Problem] = []
    raw_app = files.get("app.json")
    app: AppSpec | None = None
    if raw_app is None:
        problems.append(Problem("app.json", "", "missing", {
            "zh": "缺少 app.json", "en": "app.json is missing"}))
    else:
        app = _parse("app.json", raw_app, AppSpec, problems)
    definitions: dict[str, dict[str, BaseModel]] = {kind: {} for kind in KINDS}
    raw: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
    data: dict[str, list[dict[str, Any]]] = {}
    for rel, value in sorted(files.items()):
        if rel == "app.json" or value is None:
            continue
        folder, fname = rel.split("/", 1)
        key = fname.removesuffix(".json")
        if folder == "data":
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                problems.append(Problem(rel, "", "bad_data", {
                    "zh": "种子数据必须是对象数组", "en": "Seed data must be an array of objects"}))
            else:
                data[key] = value
            continue
        spec = _parse(rel, value, spec_class(folder), problems)
        if spec is None:
            continue
        spec_key = getattr(spec, "key", None)
        if spec_key != key:
            problems.append(Problem(rel, "key", "key_mismatch", {
                "zh": f"文件名 {key} 与 key {spec_key} 不一致",
                "en": f"File name {key} does not match key {spec_key}"}))
            continue
        definitions[folder][key] = spec
        raw[folder][key] = value
    if problems or app is None or not isinstance(raw_app, dict):
        raise BundleInvalid(problems)
    return Bundle(app=app, raw_app=raw_app, definitions=definitions, raw=raw, data=data)


def parse_definition(kind: str, rel: str, value: Any) -> BaseModel:
    """Parse one definition (a draft being saved); raises BundleInvalid."""
    problems: list[Problem] = []
    spec: BaseModel | None = _parse(rel, value, spec_class(kind) if kind != "app" else AppSpec,
                                    problems)
    if spec is None:
        raise BundleInvalid(problems)
    return spec


def _parse(rel: str, value: Any, cls: type[BaseModel], problems: list[Problem]) -> Any:
    if not isinstance(value, dict):
        problems.append(Problem(rel, "", "not_object", {
            "zh": "定义必须是 JSON 对象", "en": "A definition must be a JSON object"}))
        return None
    try:
        return cls.model_validate(value)
    except ValidationError as e:
        problems.extend(from_validation_error(rel, e))
        return None

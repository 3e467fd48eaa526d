"""Normalisers of structured values: address, location and file references.

Stored shapes:
- address: `{"province", "city", "district", "detail", "code"}` with full official
  names (a short province name such as "广东" is expanded), keys without a value left
  out, `code` the GB/T 2260 code of the deepest level found in the region table. A
  one-line text such as "广东省深圳市南山区科技园" is split against the table.
- location: `{"lat", "lng"}` (WGS-84 degrees) and optionally `"address"` text.
- attachment / image / signature: a list of `{"id", "name", "size", "content_type"}`
  references to files the runtime stored; the bytes never pass through a form.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from engines.form.issues import Invalid
from engines.form.normalisers import Normaliser
from engines.form.regions import City, Province, region_table

_LEVELS = {"province": 1, "city": 2, "district": 3}


def _split_address(text: str) -> dict[str, str]:
    """Find province, city and district at the start of a one-line address."""
    table = region_table()
    rest = text.strip()
    out: dict[str, str] = {}
    province = next((p for name, p in table.provinces.items() if rest.startswith(name)), None)
    if province is None:
        for short in sorted({_short(p) for p in table.provinces.values()}, key=len,
                            reverse=True):
            if short and rest.startswith(short):
                province = table.province(short)
                rest = rest[len(short):]
                break
    else:
        rest = rest[len(province.name):]
    if province is None:
        return {"detail": rest}
    out["province"] = province.name
    city: City | None
    if len(province.cities) == 1:  # a municipality: its one "city" bears its name
        city = next(iter(province.cities.values()))
    else:
        city = next((c for c in province.cities.values() if rest.startswith(c.name)), None)
    if city is not None:
        out["city"] = city.name
        if rest.startswith(city.name):
            rest = rest[len(city.name):]
        district = next((d for d in city.districts if rest.startswith(d)), None)
        if district:
            out["district"] = district
            rest = rest[len(district):]
    if rest.strip():
        out["detail"] = rest.strip()
    return out


def _short(province: Province) -> str:
    for suffix in ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"):
        if province.name.endswith(suffix):
            return province.name[: -len(suffix)]
    return province.name


def address(level: str, detail: bool, required: bool) -> Normaliser:
    depth = _LEVELS[level]

    def incomplete(what_zh: str, what_en: str) -> Invalid:
        return Invalid("address_incomplete", f"请选择{what_zh}", f"Choose the {what_en}")

    def run(value: Any, tz: tzinfo) -> Any:
        if isinstance(value, str):
            value = _split_address(value)
        if not isinstance(value, dict) or not set(value) <= {
                "province", "city", "district", "detail", "code"}:
            raise Invalid("type", "地址应包含省、市、区和详细地址",
                          "An address has province, city, district and detail")
        parts = {k: str(v).strip() for k, v in value.items()
                 if k != "code" and v is not None and str(v).strip()}
        table = region_table()
        out: dict[str, str] = {}
        province = table.province(parts.get("province", ""))
        if province is None:
            if "province" in parts:
                raise Invalid("address_region", "省份不存在", "Unknown province")
            if depth >= 1 and (parts or required):
                raise incomplete("省份", "province")
            return {"detail": parts["detail"]} if "detail" in parts else None
        out["province"], code = province.name, province.code
        city_name = parts.get("city")
        if city_name is None and len(province.cities) == 1:
            city_name = next(iter(province.cities))  # a municipality names its own city
        if city_name is not None:
            city = province.cities.get(city_name)
            if city is None:
                raise Invalid("address_region", f"{province.name}没有{city_name}",
                              f"{city_name} is not a city of {province.name}")
            out["city"], code = city.name, city.code
            district = parts.get("district")
            if district is not None:
                if city.districts and district not in city.districts:
                    raise Invalid("address_region", f"{city.name}没有{district}",
                                  f"{district} is not a district of {city.name}")
                out["district"] = district
                code = city.districts.get(district, code)
            elif depth >= 3:
                raise incomplete("区县", "district")
        elif depth >= 2 and province.cities:
            raise incomplete("城市", "city")
        if "detail" in parts:
            out["detail"] = parts["detail"][:500]
        elif detail and required:
            raise Invalid("address_incomplete", "请填写详细地址", "Enter the street address")
        out["code"] = code
        return out
    return run


_EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(math.sqrt(h))


def location(center: tuple[float, float] | None, radius_m: float | None) -> Normaliser:
    def run(value: Any, tz: tzinfo) -> Any:
        if not isinstance(value, dict) or not {"lat", "lng"} <= set(value) or not set(
                value) <= {"lat", "lng", "address"}:
            raise Invalid("type", "位置应包含 lat 和 lng", "A location has lat and lng")
        try:
            lat, lng = float(value["lat"]), float(value["lng"])
        except (TypeError, ValueError):
            raise Invalid("type", "经纬度应为数字", "lat and lng must be numbers") from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise Invalid("location_range", "经纬度超出范围", "lat/lng out of range")
        if center is not None and radius_m is not None and distance_m(
                lat, lng, center[0], center[1]) > radius_m:
            raise Invalid("location_out_of_range", f"位置不在允许的 {radius_m:g} 米范围内",
                          f"The location is farther than {radius_m:g} m from the allowed place")
        out: dict[str, Any] = {"lat": lat, "lng": lng}
        if isinstance(value.get("address"), str) and value["address"].strip():
            out["address"] = value["address"].strip()[:500]
        return out
    return run


def _accepts(patterns: Sequence[str], content_type: str) -> bool:
    for pattern in patterns:
        major, _, minor = pattern.partition("/")
        c_major, _, c_minor = content_type.partition("/")
        if major == c_major and minor in ("*", c_minor):
            return True
    return False


def files(max_files: int, max_size: int | None, accept: Sequence[str]) -> Normaliser:
    """A list of file references; `accept` already includes `image/*` for images."""
    def one(ref: Any) -> dict[str, Any]:
        if not isinstance(ref, dict) or not {"id", "name", "size", "content_type"} <= set(ref):
            raise Invalid("file_ref", "文件引用应包含 id、name、size、content_type",
                          "A file reference has id, name, size and content_type")
        file_id, name, size, ctype = ref["id"], ref["name"], ref["size"], ref["content_type"]
        if not (isinstance(file_id, str) and file_id and isinstance(name, str) and name
                and isinstance(size, int) and not isinstance(size, bool) and size >= 0
                and isinstance(ctype, str) and "/" in ctype):
            raise Invalid("file_ref", "文件引用的字段类型不正确",
                          "A file reference has a wrong id, name, size or content_type")
        ctype = ctype.lower().split(";")[0].strip()
        if accept and not _accepts(accept, ctype):
            raise Invalid("file_type", f"不允许的文件类型 {ctype}",
                          f"Files of type {ctype} are not allowed here")
        if max_size is not None and size > max_size:
            raise Invalid("file_size", f"文件 {name} 超过 {max_size} 字节",
                          f"The file {name} is larger than {max_size} bytes")
        return {"id": file_id, "name": name, "size": size, "content_type": ctype}

    def run(value: Any, tz: tzinfo) -> Any:
        refs = [value] if isinstance(value, dict) else value
        if not isinstance(refs, list):
            raise Invalid("type", "应为文件列表", "Must be a list of files")
        result = [one(ref) for ref in refs]
        if len({r["id"] for r in result}) != len(result):
            raise Invalid("file_duplicate", "同一文件重复出现", "The same file appears twice")
        if len(result) > max_files:
            raise Invalid("max_files", f"最多 {max_files} 个文件",
                          f"At most {max_files} files")
        return result
    return run

"""The bundled region table behind the address field (省/市/区).

Coverage (package data `data/regions.json`, GB/T 2260 codes, 2020 snapshot):
- all 34 provincial-level divisions, including Hong Kong, Macao and Taiwan (which have
  no cities in the table, so an address there is complete at the province);
- every prefecture-level city of every province, plus the county-level cities and
  areas governed directly by a province (e.g. 仙桃市, 济源市), listed as cities;
- districts and counties of the four municipalities (北京, 天津, 上海, 重庆, whose
  "city" has the municipality's own name) and of Guangzhou, Shenzhen, Hangzhou,
  Nanjing, Chengdu, Wuhan, Xi'an, Suzhou, Qingdao, Dalian, Ningbo and Xiamen.

For a city without districts in the table, any district name is accepted (the
table is deliberately compact, and county-level changes are frequent); a district
given for a covered city must be one of its districts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class City:
    code: str
    name: str
    districts: dict[str, str]  # name -> code


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    cities: dict[str, City]  # name -> city


@dataclass(frozen=True, slots=True)
class RegionTable:
    provinces: dict[str, Province]  # name -> province

    def province(self, name: str) -> Province | None:
        return self.provinces.get(name) or self.provinces.get(_PROVINCE_SHORT.get(name, ""))

    def province_names(self) -> list[str]:
        return list(self.provinces)


_PROVINCE_SHORT: dict[str, str] = {}


@cache
def region_table() -> RegionTable:
    """The table, loaded once from the package data."""
    raw = json.loads(resources.files("engines.form").joinpath("data/regions.json")
                     .read_text(encoding="utf-8"))
    provinces: dict[str, Province] = {}
    for p_code, p_name, cities in raw["provinces"]:
        city_map = {
            c_name: City(c_code, c_name, {d_name: d_code for d_code, d_name in districts})
            for c_code, c_name, districts in cities
        }
        provinces[p_name] = Province(p_code, p_name, city_map)
        for suffix in ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区",
                       "省", "市"):
            if p_name.endswith(suffix):
                _PROVINCE_SHORT[p_name[: -len(suffix)]] = p_name
                break
    return RegionTable(provinces)

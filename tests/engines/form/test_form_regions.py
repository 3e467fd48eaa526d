"""The bundled region table: coverage promised in engines.form.regions."""

from __future__ import annotations

from engines.form.regions import region_table


def test_all_provinces_and_their_cities() -> None:
    table = region_table()
    assert len(table.provinces) == 34
    assert len(table.provinces["广东省"].cities) == 21
    assert "仙桃市" in table.provinces["湖北省"].cities  # governed by the province
    assert table.provinces["香港特别行政区"].cities == {}
    assert sum(len(p.cities) for p in table.provinces.values()) > 330


def test_districts_of_major_cities_and_municipalities() -> None:
    table = region_table()
    assert table.provinces["上海市"].cities["上海市"].districts["浦东新区"] == "310115"
    for province, city in [("广东省", "深圳市"), ("浙江省", "杭州市"), ("四川省", "成都市"),
                           ("北京市", "北京市"), ("重庆市", "重庆市")]:
        assert table.provinces[province].cities[city].districts, city


def test_short_province_names() -> None:
    table = region_table()
    assert table.province("广西") is table.provinces["广西壮族自治区"]
    assert table.province("北京") is table.provinces["北京市"]
    assert table.province("nowhere") is None

"""Loading bundles: every problem reported with file and path; zips handled safely;
export writes back exactly what was loaded."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from builder.bundle import from_json, load, load_zip
from builder.check import check_bundle
from builder.diff import diff_bundles
from builder.export import to_folder, to_zip
from builder.problems import BundleInvalid

FIXTURE = Path(__file__).parents[1] / "fixtures" / "bundles" / "crm_lite"


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "crm_lite"
    shutil.copytree(FIXTURE, dest)
    return dest


def _zip(files: dict[str, object | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, value in files.items():
            zf.writestr(name, value if isinstance(value, bytes)
                        else json.dumps(value, ensure_ascii=False))
    return buf.getvalue()


def test_fixture_loads_and_checks_clean() -> None:
    bundle = load(FIXTURE)
    assert bundle.key == "crm_lite"
    assert set(bundle.of("forms")) == {"customer", "invoice"}
    assert bundle.data["customer"][0]["region"] == "east"
    assert check_bundle(bundle) == []


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "forms" / "broken.json").write_text("{not json", encoding="utf-8")
    customer = json.loads((root / "forms" / "customer.json").read_text(encoding="utf-8"))
    customer["fields"][1]["colour"] = "red"  # unknown key
    (root / "forms" / "customer.json").write_text(json.dumps(customer), encoding="utf-8")
    invoice = json.loads((root / "forms" / "invoice.json").read_text(encoding="utf-8"))
    invoice["key"] = "bill"
    (root / "forms" / "invoice.json").write_text(json.dumps(invoice), encoding="utf-8")
    with pytest.raises(BundleInvalid) as err:
        load(root)
    # bad JSON stops decoding first; fix it and the other two show together
    assert [p.code for p in err.value.problems] == ["bad_json"]
    assert err.value.problems[0].file == "forms/broken.json"
    (root / "forms" / "broken.json").unlink()
    with pytest.raises(BundleInvalid) as err:
        load(root)
    found = {(p.file, p.code) for p in err.value.problems}
    assert ("forms/customer.json", "extra_forbidden") in found
    assert ("forms/invoice.json", "key_mismatch") in found
    path = next(p.path for p in err.value.problems if p.code == "extra_forbidden")
    assert path.startswith("fields[1]")


def test_cross_references_are_checked() -> None:
    bundle = load(FIXTURE)
    doc = bundle.to_json()
    doc["forms"]["invoice"]["fields"][0]["form"] = "client"
    doc["app"]["menu"].append({"dashboard": "overview"})
    problems = check_bundle(from_json(doc))
    assert {(p.file, p.path, p.code) for p in problems} == {
        ("forms/invoice.json", "fields[0].form", "unknown_form"),
        ("app.json", "menu[2].dashboard", "unknown_dashboard"),
    }
    assert all(p.message["zh"] and p.message["en"] for p in problems)


def test_zip_roundtrip_is_identical(tmp_path: Path) -> None:
    bundle = load(FIXTURE)
    again = load_zip(to_zip(bundle))
    assert again.to_json() == bundle.to_json()
    to_folder(again, tmp_path / "out")
    assert load(tmp_path / "out").to_json() == bundle.to_json()
    assert diff_bundles(bundle, again) == []


def test_zip_with_unsafe_paths_and_garbage_is_refused() -> None:
    app = json.loads((FIXTURE / "app.json").read_text(encoding="utf-8"))
    with pytest.raises(BundleInvalid) as err:
        load_zip(_zip({"app.json": app, "../forms/evil.json": {"key": "evil"}}))
    assert err.value.problems[0].code == "unsafe_path"
    with pytest.raises(BundleInvalid) as err:
        load_zip(b"this is not a zip")
    assert err.value.problems[0].code == "bad_zip"
    with pytest.raises(BundleInvalid) as err:
        load_zip(_zip({"forms/x.json": {}}))
    assert any(p.code == "missing" and p.file == "app.json" for p in err.value.problems)


def test_zip_bomb_is_refused_without_inflating() -> None:
    app = json.loads((FIXTURE / "app.json").read_text(encoding="utf-8"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app.json", json.dumps(app))
        zf.writestr("forms/big.json", b" " * (60 * 1024 * 1024))  # compresses to ~60 KB
    assert len(buf.getvalue()) < 1024 * 1024
    with pytest.raises(BundleInvalid) as err:
        load_zip(buf.getvalue())
    assert [p.code for p in err.value.problems] == ["too_large"]


def test_zip_of_a_folder_is_accepted() -> None:
    bundle = load(FIXTURE)
    files = {f"crm_lite/{k}": v for k, v in bundle.files().items()}
    assert load_zip(_zip(files)).to_json() == bundle.to_json()


def test_diff_names_changed_paths() -> None:
    a = load(FIXTURE)
    doc = a.to_json()
    doc["forms"]["customer"]["fields"][1]["max_length"] = 50
    del doc["data"]["customer"]
    lines = diff_bundles(a, from_json(doc))
    assert "changed forms/customer.json" in lines
    assert "    ~ fields[1].max_length" in lines
    assert "removed data/customer.json" in lines


def test_a_working_calendar_is_checked_where_it_is_written() -> None:
    doc = load(FIXTURE).to_json()
    doc["app"]["calendar"] = {"weekdays": [1, 2, 3, 4, 5],
                              "hours": [["09:00", "12:00"], ["13:30", "18:00"]],
                              "holidays": ["2026-10-01"], "workdays": ["2026-09-27"]}
    calendar = from_json(doc).app.calendar
    assert calendar is not None and calendar.compile().seconds_per_day == 7.5 * 3600
    bad = [({"weekdays": [0, 1]}, "weekdays"), ({"hours": [["9:00", "12:00"]]}, "hours"),
           ({"hours": [["13:00", "18:00"], ["09:00", "12:00"]]}, "hours"),
           ({"hours": [["18:00", "09:00"]]}, "hours"), ({"hours": []}, "hours"),
           ({"holidays": ["2026-10-01"], "workdays": ["2026-10-01"]}, "calendar"),
           ({"holidays": ["2026-02-30"]}, "holidays[0]")]
    for calendar_doc, where in bad:
        doc["app"]["calendar"] = calendar_doc
        with pytest.raises(BundleInvalid) as err:
            from_json(doc)
        [problem] = err.value.problems
        assert problem.file == "app.json" and problem.path.startswith("calendar"), problem
        assert where in problem.path, (calendar_doc, problem.path)
        assert problem.message["zh"] and problem.message["en"]

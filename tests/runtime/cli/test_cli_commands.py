"""The `loom` CLI: validate, install, export, schema, user create, scheduler tick."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runtime.cli.main import app

FIXTURE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"
runner = CliRunner()


def test_validate_ok_and_broken(tmp_path: Path) -> None:
    r = runner.invoke(app, ["app", "validate", str(FIXTURE)])
    assert r.exit_code == 0, r.output
    broken = tmp_path / "b"
    shutil.copytree(FIXTURE, broken)
    doc = json.loads((broken / "forms" / "invoice.json").read_text(encoding="utf-8"))
    doc["fields"][0]["form"] = "client"
    doc["fields"][1]["bogus"] = 1
    (broken / "forms" / "invoice.json").write_text(json.dumps(doc), encoding="utf-8")
    r = runner.invoke(app, ["app", "validate", str(broken)])
    assert r.exit_code == 1
    assert "forms/invoice.json:fields[1]" in r.output


def test_schema_prints_json_schema_of_each_kind() -> None:
    r = runner.invoke(app, ["schema", "forms"])
    assert r.exit_code == 0, r.output
    schema = json.loads(r.output)
    assert schema["$schema"].endswith("2020-12/schema")
    assert "fields" in schema["properties"]
    r = runner.invoke(app, ["schema", "nonsense"])
    assert r.exit_code == 1


@pytest.mark.parametrize("at", ["yesterday", "2026-01-01T00:00:00"])
def test_tick_refuses_bad_instants(at: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["scheduler", "tick", "--at", at,
                            "--database-url", f"sqlite:///{tmp_path}/x.db"])
    assert r.exit_code == 1


def test_install_export_user_and_tick(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cli.db"
    assert runner.invoke(app, ["migrate", "--database-url", db]).exit_code == 0
    r = runner.invoke(app, ["app", "install", str(FIXTURE), "--database-url", db])
    assert r.exit_code == 0, r.output
    assert "installed crm_lite version 1" in r.output
    r = runner.invoke(app, ["app", "install", str(FIXTURE), "--database-url", db,
                            "--if-absent"])
    assert r.exit_code == 0 and "installed already" in r.output
    out = tmp_path / "crm.zip"
    r = runner.invoke(app, ["app", "export", "crm_lite", "-o", str(out), "--database-url", db])
    assert r.exit_code == 0 and out.stat().st_size > 0
    r = runner.invoke(app, ["app", "export", "nope", "-o", str(out), "--database-url", db])
    assert r.exit_code == 1
    r = runner.invoke(app, ["user", "create", "alice", "--password", "s3cret-pass",
                            "--role", "sales", "--database-url", db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["user", "create", "alice", "--password", "s3cret-pass",
                            "--database-url", db])
    assert r.exit_code == 1 and "already exists" in r.output
    r = runner.invoke(app, ["scheduler", "tick", "--at", "2026-12-01T09:00:00+08:00",
                            "--database-url", db])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["jobs"] == {"done": 0, "failed": 0}

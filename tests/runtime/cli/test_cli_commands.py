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


def test_progress_outside_a_terminal_is_a_line_every_interval_and_one_at_the_end() -> None:
    """In a log or a pipe a progress bar only shows its last state; lines do."""
    from runtime.cli.main import _progress_lines

    now = [0.0]
    lines: list[str] = []
    update, close = _progress_lines("demo data credit_crm", 100, every_s=30,
                                    clock=lambda: now[0], echo=lines.append)
    for done, at in ((10, 10.0), (20, 31.0), (30, 40.0), (60, 62.0)):
        now[0] = at
        update(done, 100)
    now[0] = 100.0
    update(100, 100)
    close()
    assert lines[0] == ("demo data credit_crm: 20/100 (20%) in 31 s, 0.6/s, "
                        "about 124 s left")
    assert lines[1].startswith("demo data credit_crm: 60/100 (60%) in 62 s")
    assert lines[-1] == "demo data credit_crm: 100/100 (100%) in 100 s, 1.0/s"
    assert len(lines) == 4  # 31 s, 62 s, 100 s (38 s after the last), and the close

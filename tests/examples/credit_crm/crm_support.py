"""Paths shared by the credit CRM template tests (a uniquely named module: test
folders have no __init__.py, so `conftest` is not importable by name reliably)."""

from __future__ import annotations

from pathlib import Path

BUNDLE = Path(__file__).parents[3] / "examples" / "credit_crm"
FORMS = "/api/v1/apps/credit_crm/forms"

"""Form submission processing vs jsonschema alone, one run, side by side.

A 30-field customer form with 5 formulas (one over a subform column) and 3
conditional rules (visible_when / required_when) is compiled once; then the same
N submissions are
- processed by `CompiledForm.process` (defaults, normalisation, formulas, visibility,
  required, ranges, checksums, custom validation: the whole server-side pass), and
- validated by `jsonschema.Draft202012Validator` alone against the compiled form's
  JSON Schema (the already-normalised documents; validation only, no normalising).
Prints both rates (wall-clock, and per CPU second, which a machine shared with other
work distorts less) and their ratio (target: process ≥ 5,000 submissions/s).

    python bench/form_submit.py [--quick] [--n N]

With `--import`, also the 100,000-row XLSX import into SQLite and PostgreSQL
(`--quick`: 5,000 rows) against the raw insert of the same rows, with rows/s, the
ratio (target ≤ 3×) and peak memory (target ≤ 500 MB); see bench/form_import.py.

    python bench/form_submit.py --import [--quick] [--import-rows N] [--skip-pg]

Ends with one line of JSON holding the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jsonschema import Draft202012Validator  # noqa: E402

from engines.expr import FixedEnv  # noqa: E402
from engines.form import FormSpec, compile_form  # noqa: E402

LEVELS = [{"value": v, "label": {"zh": z, "en": v.title()}}
          for v, z in (("a", "优"), ("b", "良"), ("c", "中"), ("d", "差"))]

CUSTOMER: dict[str, Any] = {
    "key": "customer",
    "name": {"zh": "客户", "en": "Customer"},
    "title": "name",
    "fields": [
        {"key": "name", "type": "text", "label": "名称", "required": True, "max_length": 100},
        {"key": "short_name", "type": "text", "label": "简称", "max_length": 20},
        {"key": "credit_code", "type": "uscc", "label": "统一社会信用代码", "required": True},
        {"key": "legal_person", "type": "text", "label": "法人", "max_length": 50},
        {"key": "legal_id", "type": "resident_id", "label": "法人身份证"},
        {"key": "phone", "type": "phone", "label": "电话", "kind": "any"},
        {"key": "mobile", "type": "phone", "label": "手机", "kind": "mobile"},
        {"key": "email", "type": "email", "label": "邮箱"},
        {"key": "website", "type": "url", "label": "网站"},
        {"key": "address", "type": "address", "label": "地址", "level": "city"},
        {"key": "industry", "type": "select", "label": "行业", "options": [
            {"value": v, "label": v} for v in ("mfg", "retail", "it", "finance", "other")]},
        {"key": "level", "type": "radio", "label": "等级", "options": LEVELS, "default": "b"},
        {"key": "tags", "type": "multiselect", "label": "标签", "options": [
            {"value": v, "label": v} for v in ("vip", "new", "risk", "export")]},
        {"key": "founded", "type": "date", "label": "成立日期"},
        {"key": "registered_capital", "type": "money", "label": "注册资本", "min": 0},
        {"key": "employees", "type": "integer", "label": "员工数", "min": 0},
        {"key": "revenue", "type": "money", "label": "年营收", "min": 0},
        {"key": "cost", "type": "money", "label": "年成本", "min": 0},
        {"key": "credit_limit", "type": "money", "label": "授信额度", "min": 0},
        {"key": "used_limit", "type": "money", "label": "已用额度", "min": 0},
        {"key": "score", "type": "number", "label": "评分", "min": 0, "max": 100,
         "precision": 1},
        {"key": "is_listed", "type": "boolean", "label": "上市公司", "default": False},
        {"key": "stock_code", "type": "text", "label": "股票代码", "pattern": "[0-9]{6}",
         "visible_when": "is_listed", "required_when": "is_listed"},
        {"key": "risk_note", "type": "textarea", "label": "风险说明",
         "visible_when": "level == 'd' or 'risk' in tags",
         "required_when": "level == 'd'"},
        {"key": "owner_user", "type": "user", "label": "负责人", "required": True},
        {"key": "lines", "type": "subform", "label": "主要产品", "fields": [
            {"key": "product", "type": "text", "label": "产品", "required": True},
            {"key": "qty", "type": "integer", "label": "数量", "min": 1},
            {"key": "price", "type": "money", "label": "单价", "min": 0},
            {"key": "subtotal", "type": "formula", "label": "小计", "expr": "qty * price"}]},
        {"key": "profit", "type": "formula", "label": "利润", "expr": "revenue - cost"},
        {"key": "available_limit", "type": "formula", "label": "可用额度",
         "expr": "credit_limit - used_limit"},
        {"key": "margin", "type": "formula", "label": "利润率", "result": "number",
         "precision": 4, "expr": "IF(revenue > 0, profit / revenue, 0)"},
        {"key": "products_total", "type": "formula", "label": "产品合计",
         "expr": "SUM(lines.subtotal)"},
    ],
    "validations": [{"expr": "used_limit <= credit_limit",
                     "message": {"zh": "已用额度不能超过授信额度",
                                 "en": "Used limit exceeds the credit limit"}}],
}

USCC = ["91310000MA1FL8XQ37", "91110000802100433B", "91440300708461136T"]


def submission(rng: random.Random) -> dict[str, Any]:
    listed = rng.random() < 0.3
    level = rng.choice("abcd")
    out: dict[str, Any] = {
        "name": f" 客户{rng.randrange(10**6)}有限公司 ", "short_name": "客户",
        "credit_code": rng.choice(USCC), "legal_person": "张三",
        "legal_id": "11010519491231002X", "phone": "(0755) 8888 6666",
        "mobile": "+86 138 0013 8000", "email": "Info@Example.COM",
        "website": "www.example.com",
        "address": {"province": "广东省", "city": "深圳市", "district": "南山区",
                    "detail": "科技园"},
        "industry": rng.choice(["mfg", "retail", "it"]), "level": level,
        "tags": rng.sample(["vip", "new", "risk", "export"], 2), "founded": "2010/5/20",
        "registered_capital": "1,000,000.00", "employees": str(rng.randrange(1, 5000)),
        "revenue": f"{rng.randrange(10**7)}.{rng.randrange(100):02d}",
        "cost": rng.randrange(10**6), "credit_limit": "500000", "used_limit": 1200.5,
        "score": rng.random() * 100, "is_listed": listed, "owner_user": "zhang",
        "lines": [{"product": f"P{i}", "qty": rng.randrange(1, 9),
                   "price": f"{rng.randrange(1000)}.50"} for i in range(3)],
    }
    if listed:
        out["stock_code"] = "600000"
    if level == "d":
        out["risk_note"] = "逾期"
    return out


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument("--n", type=int, default=None, help="submissions per side")
    parser.add_argument("--import", dest="run_import", action="store_true",
                        help="also the XLSX import vs raw insert (bench/form_import.py)")
    parser.add_argument("--import-rows", type=int, default=None)
    parser.add_argument("--skip-pg", action="store_true", help="import: SQLite only")
    args = parser.parse_args()
    n = args.n or (2_000 if args.quick else 20_000)

    spec = FormSpec.model_validate(CUSTOMER)
    started = time.perf_counter()
    form = compile_form(spec)
    compile_ms = (time.perf_counter() - started) * 1000
    env = FixedEnv(at=datetime(2026, 3, 1, tzinfo=UTC))
    rng = random.Random(7)
    subs = [submission(rng) for _ in range(n)]

    # Untimed first pass: warms up, and gives the documents jsonschema will check.
    first = [form.process(sub, env=env) for sub in subs]
    failed = sum(not r.ok for r in first)
    if failed:
        print("unexpected errors:", next(r.errors for r in first if not r.ok))
    docs = [r.data for r in first]
    del first

    started, cpu = time.perf_counter(), time.process_time()
    for sub in subs:  # results are dropped, as a server drops them after the write
        form.process(sub, env=env)
    process_s, process_cpu = time.perf_counter() - started, time.process_time() - cpu

    validator = Draft202012Validator(form.schema)
    started, cpu = time.perf_counter(), time.process_time()
    invalid = sum(1 for doc in docs if not validator.is_valid(doc))
    schema_s, schema_cpu = time.perf_counter() - started, time.process_time() - cpu

    process_rate, schema_rate = rate(n, process_s), rate(n, schema_s)
    process_cpu_rate, schema_cpu_rate = rate(n, process_cpu), rate(n, schema_cpu)
    print(f"form: 30 fields, 5 formulas, 3 conditional rules; compile {compile_ms:.1f} ms")
    print(f"CompiledForm.process : {process_rate:10,.0f} submissions/s "
          f"({process_s * 1e6 / n:.1f} µs each, {failed} with errors)")
    print(f"jsonschema alone     : {schema_rate:10,.0f} documents/s "
          f"({schema_s * 1e6 / n:.1f} µs each, {invalid} invalid)")
    print(f"per CPU second (what a busy machine does not distort): process "
          f"{process_cpu_rate:,.0f}/s, jsonschema {schema_cpu_rate:,.0f}/s")
    print(f"ratio process/jsonschema rate: {process_rate / schema_rate:.2f} "
          f"(target process >= 5,000/s wall-clock: "
          f"{'met' if process_rate >= 5000 else 'NOT met'})")
    figures = {"benchmark": "form_submit", "n": n, "fields": 30, "formulas": 5,
               "conditional_rules": 3, "compile_ms": round(compile_ms, 2),
               "process_per_s": round(process_rate, 1),
               "jsonschema_per_s": round(schema_rate, 1),
               "ratio": round(process_rate / schema_rate, 3),
               "process_per_cpu_s": round(process_cpu_rate, 1),
               "jsonschema_per_cpu_s": round(schema_cpu_rate, 1),
               "process_errors": failed, "schema_invalid": invalid,
               "target_per_s": 5000, "target_met": process_rate >= 5000}
    if args.run_import:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from form_import import run as run_import_bench

        rows = args.import_rows or (5_000 if args.quick else 100_000)
        figures["import"] = run_import_bench(rows, skip_pg=args.skip_pg)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

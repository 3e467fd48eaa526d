"""Hostile expressions: each is refused when saved, or stopped by a bound at run time,
within 100 ms, with an ExprError; never a crash, a hang or a blown memory."""

from __future__ import annotations

import gc
import time

import pytest
from expr_fixtures import ENV, SCOPE

from engines.expr import ExprError, compile_expr

HOSTILE = [
    # attribute and dunder access, escapes known from simpleeval's history
    "().__class__.__bases__[0].__subclasses__()",
    "True.__class__.__class__.__base__",
    "name.__class__",
    "record.__class__",
    "user.__dict__",
    "lines.__len__",
    "status.upper()",
    "(1).real",
    "amount.as_integer_ratio()",
    "__import__('os').system('true')",
    "open('/etc/passwd')",
    "eval('1')",
    "getattr(name, 'upper')",
    "globals()",
    # format strings and % tricks
    "'{}'.format(1)",
    "f'{1:>50000000}'",
    "'%050000000d' % 1",
    "name % 1",
    # huge strings, powers, products
    "'a'.ljust(50000000)",
    "'a' * 100001",
    "9**4000000",
    "(9**4000000)*(9**4000000)",
    "POWER(9, 4000000)",
    "POWER(level, 4000000)",
    "10.0 ** 400",
    # repetitions and ranges
    "[1] * 100000",
    "range(10**9)",
    "REPLACE(REPLACE(REPLACE('aaaaaaaaaa', 'a', 'aaaaaaaaaa'), 'a', 'aaaaaaaaaa'), 'a', "
    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')",
    "CONCAT(CONCAT(name, name), name)",
    # nesting and size
    "-" * 10000 + "1",
    "1" + "+1" * 50000,
    "(" * 200 + "1" + ")" * 200,
    "NOT(" * 100 + "True" + ")" * 100,
    "'" + "x" * 5000 + "'",
    "[" + ",".join(["1"] * 1500) + "]",
    # lambdas, comprehensions, imports, walrus, assignment, starred, keywords
    "lambda: 1",
    "(lambda x: x)(1)",
    "[x for x in [1, 2]]",
    "{x for x in [1]}",
    "(x for x in [1])",
    "{'a': 1}",
    "{1, 2}",
    "import os",
    "(x := 1)",
    "status = 'open'",
    "amount += 1",
    "ROUND(*[1, 2])",
    "ROUND(x=1)",
    "yield 1",
    "await x",
    "lines[0]",
    "name[0:1]",
    "b'bytes'",
    "1j",
    "...",
    # unicode look-alikes (NFKC folds them into real names)
    "ｒecord.amount",
    "\uff53tatus == 'x'",
    "ROUND\u200b(1)",
    "_private",
    "record._data",
    # regular expressions that would backtrack catastrophically in `re`
    "REGEXMATCH('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', '(a+)+$')",
    "REGEXMATCH(name, '(a|a)*b')",
    "REGEXMATCH(name, '(?=a)')",
    "REGEXMATCH(name, '" + "a" * 2000 + "')",
    # other run-time traps
    "VALUE('1e999999')",
    "DATE(99999, 1, 1)",
    "EDATE(TODAY(), 10**9)",
    "WORKDAYS(DATE(1, 1, 1), DATE(9999, 1, 1))",
    "TEXT(1, '" + "0" * 200 + "')",
    "ROUND(1, 10**9)",
    "LEFT(name, 10**18)",
    "INT(10.0**300) * INT(10.0**300) * INT(10.0**300) * INT(10.0**300) * INT(10.0**300)",
    "1e308 * 10",
    "POWER(-8, 1/3)",
    "MOD(1, 0)",
    "1 / 0",
]

LONG_NAME = {"name": "a" * 100_000}


@pytest.mark.parametrize("source", HOSTILE, ids=[h[:40] for h in HOSTILE])
def test_hostile_expression_is_refused_or_bounded(source: str) -> None:
    # CPU time of this thread: the bound is on the work an expression can cause, and
    # wall-clock (or process) time would also count other processes and threads. The
    # garbage collector is run first and held off while measuring: a full collection
    # of what earlier tests left (seen: 0.17 s after the import tests) is not work
    # this expression caused.
    gc.collect()
    gc.disable()
    started = time.thread_time()
    try:
        try:
            compiled = compile_expr(source, SCOPE)
        except ExprError as err:
            assert err.code and err.message["zh"] and err.message["en"]
        else:
            try:
                result = compiled.evaluate({**LONG_NAME, "level": 3}, ENV)
            except ExprError as err:
                assert err.code and err.message["en"]
            else:
                # what is allowed to run must stay small
                assert len(repr(result)) <= 200_100
        elapsed = time.thread_time() - started
    finally:
        gc.enable()
    assert elapsed < 0.1, f"{source[:40]} took {elapsed:.3f}s of CPU"


@pytest.mark.parametrize("source", [
    "().__class__", "'%050000000d' % 1", "'a'.ljust(50000000)", "9**4000000",
    "(9**4000000)*(9**4000000)", "-" * 10000 + "1", "lambda: 1", "(x := 1)",
    "ｒecord.amount", "[x for x in [1]]", "import os", "f'{1}'",
])
def test_classic_escapes_are_refused_when_saved(source: str) -> None:
    with pytest.raises(ExprError):
        compile_expr(source, SCOPE)


def test_generated_code_has_no_builtins() -> None:
    c = compile_expr("1 + 1", SCOPE)
    assert c.evaluate.__globals__["__builtins"  "__"] == {}


def test_catastrophic_regex_is_linear() -> None:
    c = compile_expr("REGEXMATCH(name, '(a+)+$')", SCOPE)
    started = time.perf_counter()
    assert c.evaluate({"name": "a" * 50_000 + "!"}, ENV) is False
    assert time.perf_counter() - started < 0.1

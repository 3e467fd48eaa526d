"""Each engine's compile step, run over a bundle, its errors as located Problems.

Filled in as the engines land: the form engine (fields, expressions, formula cycles),
flow (graph), rule (conditions, cycles between rules) and report (fields, measures).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from builder.bundle import Bundle
from builder.problems import Problem

ENGINE_CHECKS: list[Callable[[Bundle], Iterator[Problem]]] = []

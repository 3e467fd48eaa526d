"""Bounds that keep any expression cheap: checked at compile time where the size is
known, and at run time by the helpers that could otherwise build huge values."""

from __future__ import annotations

MAX_SOURCE = 4000          # characters of expression text
MAX_DEPTH = 60             # nesting of the syntax tree
MAX_NODES = 2000           # syntax tree nodes
MAX_LIST_LITERAL = 1000    # items in a literal list
MAX_TEXT = 100_000         # characters of any text value built at run time
MAX_LIST = 100_000         # items of any list built at run time
MAX_POWER_BITS = 4096      # bits of an integer power's result
MAX_EXPONENT = 1024        # |exponent| of POWER / **
MAX_REGEX = 1000           # characters of a REGEXMATCH pattern

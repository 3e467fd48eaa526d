"""What an evaluation needs from the outside world, as a Protocol.

Engines never read a clock or a database: runtime passes an `Env` in. `FixedEnv` is the
in-memory one for tests and the designer's "try it" panel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from engines.expr.types import ExprError, UserInfo

if TYPE_CHECKING:
    from engines.expr.compiled import Compiled
    from engines.expr.workcal import WorkCalendar

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class Env(Protocol):
    """The outside world of one evaluation (time, user, holidays, other records)."""

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def user(self) -> UserInfo | None: ...

    @property
    def holidays(self) -> frozenset[date]: ...

    @property
    def calendar(self) -> WorkCalendar | None:
        """The app's working calendar (None: Monday to Friday less `holidays`)."""
        ...

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...

    def aggregate(self, func: str, form: str, condition: Compiled,
                  value: Compiled | None, record: Mapping[str, Any]) -> Any:
        """COUNT/SUM/AVG/MIN/MAX of `value` over live records of `form` matching
        `condition`, where `record.x` in the condition is `record[x]`."""
        ...


@dataclass(frozen=True)
class FixedEnv:
    """An Env with a fixed instant; aggregates run over in-memory lists of dicts."""

    at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    tz: ZoneInfo = DEFAULT_TZ
    user: UserInfo | None = None
    holidays: frozenset[date] = frozenset()
    calendar: WorkCalendar | None = None
    records: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", self.at.astimezone(UTC))

    def now(self) -> datetime:
        return self.at

    def aggregate(self, func: str, form: str, condition: Compiled,
                  value: Compiled | None, record: Mapping[str, Any]) -> Any:
        from engines.expr.functions_agg import fold

        rows = self.records.get(form)
        if rows is None:
            raise ExprError("no_records", f"没有表单 {form} 的数据",
                            f"no records of form {form} are available here")
        matched = []
        for row in rows:
            scoped = {**row, "record": record}
            if condition.evaluate(scoped, self) is True:
                matched.append(value.evaluate(scoped, self) if value is not None else 1)
        return fold(func, matched)

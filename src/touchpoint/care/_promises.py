"""Promises (承诺): which open promises are overdue, over columns.

A promise is recorded with its due date and checked against the company's bottom line
when it is made (`touchpoint.PromisePolicy`); `overdue_promises` finds the open ones past
their due date so that managers, or a hook, can act.

Examples
--------
>>> import numpy as np
>>> promises = {"id": ["P1", "P2", "P3"], "customer": ["C1", "C2", "C1"],
...             "due": np.array(["2026-03-01", "2026-04-01", "2026-02-01"], dtype="datetime64[us]"),
...             "status": ["open", "open", "fulfilled"]}
>>> late = overdue_promises(promises, asof="2026-03-15")
>>> late["id"].tolist(), late["days_overdue"].tolist()
(['P1'], [14.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, as_time, read_columns
from touchpoint.model import PromiseStatus

__all__ = ["overdue_promises"]

_DAY = np.timedelta64(86_400_000_000, "us")


@renamed(now="asof", id="promise")
def overdue_promises(
    data: Any,
    *,
    asof: Any,
    promise: str = "id",
    customer: str = "customer",
    due: str = "due",
    status: str = "status",
) -> Any:
    """Open promises past their due date at ``asof``, most overdue first, keyed by id.

    ``promise``, ``customer``, ``due`` and ``status`` name the columns of ``data``.
    Returns a `ScoreFrame` with ``id``, ``customer``, ``due`` and ``days_overdue``
    (fractional days). (The old names of ``asof`` and ``promise``, ``now=`` and ``id=``,
    work until the next release, with a `DeprecationWarning`.)
    """
    cols = read_columns(
        data,
        {"id": promise, "customer": customer, "time": due, "status": status},
        required=["id", "customer", "time", "status"],
    )
    states = np.asarray(cols["status"]).astype(str)
    allowed = [s.value for s in PromiseStatus]
    bad = ~np.isin(states, allowed)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            [Problem(f"{status}[{i}]", f"must be one of {', '.join(allowed)}", states[i])]
        )
    now64 = as_time(asof, name="asof")
    late = (states == PromiseStatus.OPEN.value) & ~np.isnat(cols["time"]) & (cols["time"] < now64)
    index = np.flatnonzero(late)
    late_by: np.ndarray = now64 - cols["time"][index]
    days = late_by / _DAY
    order = np.argsort(-days, kind="stable")
    index, days = index[order], days[order]
    return ScoreFrame(
        {
            "id": np.asarray(cols["id"], dtype=object)[index],
            "customer": np.asarray(cols["customer"], dtype=object)[index],
            "due": cols["time"][index],
            "days_overdue": days,
        },
        key="id",
    )

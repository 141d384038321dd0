"""CDNOW: the CD retailer's purchase log the CLV literature fits, shipped with the package.

The files, their source and their licence are described in ``data/README.md`` next to
them. The log is read with numpy from the package's own files; nothing is downloaded.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources
from typing import Any

import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.clv import UNITS, customer_summary
from touchpoint.datasets._frames import check_form, events_as, table_as
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import as_day

__all__ = ["CDNOW_CALIBRATION_END", "CDNOW_END", "load_cdnow"]

#: End of the calibration period of Fader, Hardie & Lee (2005): week 39 of the data.
CDNOW_CALIBRATION_END = "1997-09-30"
#: The last day the log covers.
CDNOW_END = "1998-06-30"

_KINDS = ("transactions", "summary")


def _data(name: str) -> Any:
    return resources.files("touchpoint.datasets").joinpath("data", name)


def _dates(yyyymmdd: np.ndarray) -> np.ndarray:
    """Integer dates YYYYMMDD to ``datetime64[D]``, over the whole column."""
    years = (yyyymmdd // 10_000 - 1970).astype("timedelta64[Y]")
    months = (yyyymmdd // 100 % 100 - 1).astype("timedelta64[M]")
    days = (yyyymmdd % 100 - 1).astype("timedelta64[D]")
    first_of_month: np.ndarray = (np.datetime64("1970", "Y") + years + months).astype(
        "datetime64[D]"
    )
    out: np.ndarray = first_of_month + days
    return out


@functools.cache
def _master() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The master log's columns: customer id, day, number of CDs, dollars (read once)."""
    with _data("CDNOW_master.txt.gz").open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, skiprows=1, dtype=np.float64)
    # every value of the first three columns is a whole number below 2**53: exact as floats
    customer = table[:, 0].astype(np.int64)
    day = _dates(table[:, 1].astype(np.int64))
    quantity = table[:, 2].astype(np.int64)
    amount = table[:, 3].copy()
    for column in (customer, day, quantity, amount):
        column.flags.writeable = False
    return customer, day, quantity, amount


@functools.cache
def _sample_ids() -> np.ndarray:
    """Master ids of the 1/10 sample, in the order of their sample ids 1..2357."""
    with _data("CDNOW_sample_ids.txt").open("r", encoding="ascii") as text:
        ids = np.loadtxt(text, dtype=np.int64, ndmin=1)
    ids.flags.writeable = False
    return ids


def _transactions(sample: bool) -> dict[str, np.ndarray]:
    customer, day, quantity, amount = _master()
    columns: dict[str, np.ndarray]
    if not sample:
        columns = {"customer": customer.copy(), "time": day.astype("datetime64[us]")}
    else:
        ids = _sample_ids()
        # sample id of each master id (0: not in the sample); a lookup table of 23,571
        # entries, no per-row Python
        lookup = np.zeros(int(customer.max()) + 1, dtype=np.int64)
        lookup[ids] = np.arange(1, len(ids) + 1)
        keep = np.flatnonzero(lookup[customer])
        # the sample file lists customers by sample id, each customer's rows in the
        # master log's order: a stable sort of the kept rows by sample id
        keep = keep[np.argsort(lookup[customer[keep]], kind="stable")]
        columns = {
            "customer": lookup[customer[keep]],
            "master_customer": customer[keep],
            "time": day[keep].astype("datetime64[us]"),
        }
        quantity, amount = quantity[keep], amount[keep]
    columns["quantity"] = quantity.copy()
    columns["amount"] = amount.copy()
    return columns


@renamed(observation_end="asof")
def load_cdnow(
    kind: str = "transactions",
    *,
    sample: bool = False,
    asof: Any = CDNOW_CALIBRATION_END,
    unit: str = "W",
    as_frame: str = "frame",
) -> Any:
    """The CDNOW purchase log, or the per-customer summary the CLV models are fitted on.

    CDNOW is the log of the 23,570 customers who first bought at CDNOW, an online CD
    retailer, in the first quarter of 1997, with all their purchases to 1998-06-30
    (69,659 transactions): the data set of Fader, Hardie & Lee (2005) and of the
    ``lifetimes`` package. ``sample=True`` gives the 1/10 sample of 2,357 customers the
    papers fit. The data ships with touchpoint (see "Source and licence" in the module
    `touchpoint.datasets`); loading never touches the network.

    Parameters
    ----------
    kind:
        ``"transactions"`` (default): one row per transaction. ``"summary"``: one row per
        customer, `touchpoint.clv.customer_summary` of the transactions up to
        ``asof`` (the calibration period), plus the holdout purchases after it.
    sample:
        The 1/10 sample (2,357 customers, 6,919 transactions) instead of the whole log.
    asof, unit:
        For ``kind="summary"``: the date the summary is taken at, the end of the
        calibration period (default 1997-09-30, week 39, as in the papers), and the time
        unit of ``recency``, ``T`` and ``duration_holdout`` (``"D"``, ``"W"`` weeks
        (default), ``"M"``, ``"Y"``). ``observation_end=`` is the old name of ``asof``, as
        in `touchpoint.clv.customer_summary`: it works until the next release, with a
        `DeprecationWarning`.
    as_frame:
        ``"frame"`` (default): an `touchpoint.EventFrame` of the transactions, a
        `touchpoint.ScoreFrame` of the summary. ``"numpy"``: a dict of numpy columns.
        ``"pandas"`` / ``"polars"``: a DataFrame (``pip install 'touchpoint-ctm[dataframes]'``).

    Returns
    -------
    Transactions: ``customer`` (int64: the master id 1..23570; with ``sample=True`` the
    sample id 1..2357 of the papers, and ``master_customer`` the master id), ``time``
    (the day, ``datetime64[us]``), ``quantity`` (CDs bought, int64) and ``amount``
    (US dollars, float64), in the file's order (by customer, then date). Every row is a
    purchase: the 255 rows that repeat another row exactly are separate purchases and
    are kept.

    Summary: ``customer``, ``frequency``, ``recency``, ``T``, ``monetary_value`` (see
    `touchpoint.clv.customer_summary`: same-day purchases merged, times in ``unit``),
    ``frequency_holdout`` (purchase days after ``asof``, to 1998-06-30) and
    ``duration_holdout`` (the length of that holdout period in ``unit``). Customers
    ordered by id.

    Raises
    ------
    touchpoint.errors.ValidationError
        An unknown ``kind``, ``unit`` or ``as_frame``; an ``asof`` before the
        first purchase or after the end of the log.

    Examples
    --------
    >>> tx = load_cdnow()
    >>> len(tx), len(np.unique(tx["customer"])), round(float(tx["amount"].sum()), 2)
    (69659, 23570, 2500315.63)

    The summary of the 1/10 sample is the table of Fader, Hardie & Lee (2005):

    >>> s = load_cdnow("summary", sample=True)
    >>> len(s), int(s["frequency"].sum()), round(float(s["T"].max()), 2)
    (2357, 2457, 38.86)
    """
    if kind not in _KINDS:
        raise ValidationError(
            [Problem("kind", f"must be one of {', '.join(map(repr, _KINDS))}", kind)]
        )
    check_form(as_frame)
    columns = _transactions(bool(sample))
    if kind == "transactions":
        return events_as(columns, as_frame)
    return table_as(_summary(columns, asof, unit), as_frame)


def _summary(columns: dict[str, np.ndarray], asof: Any, unit: str) -> dict[str, Any]:
    if unit not in UNITS:
        raise ValidationError(
            [Problem("unit", f"must be one of {', '.join(map(repr, UNITS))}", unit)]
        )
    end = as_day(asof, name="asof")
    last = np.datetime64(CDNOW_END, "D")
    if end > last:
        raise ValidationError([Problem("asof", f"the log ends on {CDNOW_END}", str(asof))])
    data = {k: columns[k] for k in ("customer", "time", "amount")}
    summary = customer_summary(data, asof=end, unit=unit)
    out = {name: summary[name] for name in summary.column_names}
    # holdout: distinct purchase days after the calibration end, per summarised customer
    days = columns["time"].astype("datetime64[D]")
    later = days > end
    pairs = np.unique(
        np.stack((columns["customer"][later], days[later].view(np.int64)), axis=1), axis=0
    )
    position = np.searchsorted(out["customer"], pairs[:, 0])
    known = position < len(out["customer"])
    known[known] = out["customer"][position[known]] == pairs[known, 0]
    out["frequency_holdout"] = np.bincount(position[known], minlength=len(out["customer"]))
    holdout = float((last - end).astype(np.int64)) / UNITS[unit]
    out["duration_holdout"] = np.full(len(out["customer"]), holdout)
    return out

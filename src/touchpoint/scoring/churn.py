"""Churn typed by the material's kinds (流失): natural, malicious, competitive, negligence.

Where the data records why a customer left (a ``reason`` column on the event that
records the churn), each reason is mapped to a `touchpoint.model.ChurnKind` through a
configurable table; the customer's kind is that of their latest recorded reason.

- natural (自然流失): the customer no longer needs the product (moved, closed down...);
- malicious (恶意流失): fraud, unpaid debts, abuse;
- competitive (竞争流失): won by a competitor (price, offer);
- negligence (过失流失): lost through the company's own failings (service, complaints
  left unresolved) -- the kind touchpoint management can prevent.

Examples
--------
>>> ev = {"customer": ["a", "b", "c"], "reason": ["moved away", "competitor offer", None],
...       "time": ["2026-01-01", "2026-01-02", "2026-01-03"]}
>>> churn_kinds(ev)["kind"].tolist()
['natural', 'competitive', 'none']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from touchpoint.frame import ScoreFrame, read_coded
from touchpoint.frame._input import column_names
from touchpoint.model.promise import ChurnKind
from touchpoint.scoring._columns import check_codes

__all__ = ["DEFAULT_REASONS", "churn_kinds", "churn_summary"]

#: Words in a reason (lower case) that mark each kind; the kind names themselves count too.
DEFAULT_REASONS: dict[str, ChurnKind] = {
    "moved": ChurnKind.NATURAL,
    "relocat": ChurnKind.NATURAL,
    "no longer need": ChurnKind.NATURAL,
    "closed": ChurnKind.NATURAL,
    "deceased": ChurnKind.NATURAL,
    "fraud": ChurnKind.MALICIOUS,
    "unpaid": ChurnKind.MALICIOUS,
    "bad debt": ChurnKind.MALICIOUS,
    "abuse": ChurnKind.MALICIOUS,
    "competitor": ChurnKind.COMPETITIVE,
    "switched": ChurnKind.COMPETITIVE,
    "cheaper": ChurnKind.COMPETITIVE,
    "better offer": ChurnKind.COMPETITIVE,
    "complaint": ChurnKind.NEGLIGENCE,
    "poor service": ChurnKind.NEGLIGENCE,
    "service failure": ChurnKind.NEGLIGENCE,
    "unresolved": ChurnKind.NEGLIGENCE,
    "late delivery": ChurnKind.NEGLIGENCE,
}

_KINDS = [k.value for k in ChurnKind]


def _classify(reason: Any, table: Mapping[str, ChurnKind | str]) -> int:
    text = str(reason).strip().lower()
    for kind in _KINDS:
        if text == kind:
            return _KINDS.index(kind)
    for word, kind in table.items():
        if word.lower() in text:
            return _KINDS.index(ChurnKind(kind).value)
    return len(_KINDS)  # "other"


def churn_kinds(
    data: Any,
    *,
    customer: str = "customer",
    reason: str = "reason",
    time: str | None = "time",
    reasons: Mapping[str, ChurnKind | str] = DEFAULT_REASONS,
) -> ScoreFrame:
    """Each customer's churn kind from the reasons recorded in the data.

    A reason equal to a kind name (``"competitive"``) is that kind; otherwise the first
    entry of ``reasons`` whose text occurs in it (case-insensitive) decides; reasons
    matching nothing are ``"other"``, customers without a reason ``"none"``. The mapping
    runs once per distinct reason, not per event.

    Returns ``reason`` (the latest recorded), ``kind`` (categorical: the four kinds,
    ``other``, ``none``) and ``churned_at`` (time of that record, if ``time`` exists).
    """
    available = set(column_names(data))
    names: dict[str, str | None] = {"customer": customer, "reason": reason}
    if time is not None and time in available:
        names["time"] = time
    cols, cats = read_coded(
        data, names, required=("customer", "reason"), categorical=("customer", "reason")
    )
    check_codes(cols["customer"], customer)
    ids, reason_values = cats["customer"], cats["reason"]
    k = len(ids)
    cust, rcode = cols["customer"], cols["reason"]
    has = np.flatnonzero(rcode >= 0)
    if "time" in cols:
        has = has[np.argsort(cols["time"][has], kind="stable")]
    # latest reason per customer: the last write wins in time order
    latest = np.full(k, -1, dtype=np.int64)
    latest[cust[has]] = rcode[has]
    lut = np.array(
        [_classify(r, reasons) for r in reason_values.tolist()] + [len(_KINDS) + 1], dtype=np.int64
    )
    kind = lut[latest]
    out: dict[str, np.ndarray] = {"customer": ids, "reason": latest, "kind": kind}
    if "time" in cols:
        at = np.full(k, np.datetime64("NaT"), dtype="datetime64[us]")
        at[cust[has]] = cols["time"][has]
        out["churned_at"] = at
    return ScoreFrame(
        out, {"reason": reason_values, "kind": np.array([*_KINDS, "other", "none"], dtype=object)}
    )


def churn_summary(data: Any, *, kind: str = "kind") -> ScoreFrame:
    """Customers and share per churn kind (customers without a reason left out).

    >>> churn_summary({"kind": ["natural", "negligence", "negligence", "none"]})["customers"].tolist()
    [1, 0, 0, 2, 0]
    """
    cols, cats = read_coded(data, {"kind": kind}, required=("kind",), categorical=("kind",))
    names = [*_KINDS, "other"]
    lut = {v: i for i, v in enumerate(names)}
    to = np.array([lut.get(v, -1) for v in cats["kind"].tolist()] + [-1], dtype=np.int64)
    codes = to[cols["kind"]]
    codes = codes[codes >= 0]
    counts = np.bincount(codes, minlength=len(names)).astype(np.int64)
    total = counts.sum()
    return ScoreFrame(
        {
            "kind": np.array(names, dtype=object),
            "customers": counts,
            "share": counts / total if total else np.zeros(len(names)),
        },
        key="kind",
    )

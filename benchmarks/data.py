"""Data generators of the benchmarks: the shapes real event logs have, not the convenient ones.

Uniform customers with sequential ids flatter every tool: each customer's arrays are the
same size, ids are already dense, and caches stay warm. Real logs are skewed (a few
customers make most events), arrive in time order, and name customers by raw ids. So:

- **customers**: ``skew="lognormal"`` (default) gives each customer a weight drawn from a
  lognormal distribution (sigma 1.5: at 10 events a customer, the top 1% of customers
  make about 19% of the events, the top fifth about 70%); ``"zipf"`` a Zipf weight of
  their rank (exponent 1.1: the top 1% make about three quarters); ``"uniform"`` the
  same weight for all (the old benchmarks' shape: 2% and 29%). Every customer has at
  least one event.
- **times**: each customer is acquired at a uniform time in the two years, and their
  events fall uniformly between then and the end, so recent customers have fewer.
- **order**: ``"time"`` (default, as logged: sorted by time), ``"shuffled"`` (random),
  or ``"customer"`` (grouped by customer, as some exports are).
- **ids** (`ids_of`): ``"coded"`` (dense codes 0..k-1, as an `EventFrame` holds them),
  ``"int"`` (random distinct 13-digit integers), ``"str"`` (``'C0001234'``: a letter and
  seven digits, numbered in random order), ``"uuid"`` (random UUID-like strings of 36
  characters). Which customer gets which id is random, so ids say nothing about
  activity or order.

Everything is seeded; the same arguments give the same data. `events` caches the columns
as ``.npy`` files in a directory, so that each contender's process loads them quickly.

>>> ev = events(1_000, 100, seed=1)
>>> sorted(ev), len(ev["customer"]), int(ev["customer"].max()) < 100
(['amount', 'customer', 'time'], 1000, True)
>>> bool((np.diff(ev["time"].view(np.int64)) >= 0).all())  # in time order
True
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

START = np.datetime64("2024-01-01", "us")
SPAN_US = 2 * 365 * 86_400 * 1_000_000
SKEWS = ("lognormal", "zipf", "uniform")
ORDERS = ("time", "shuffled", "customer")
ID_SHAPES = ("coded", "int", "str", "uuid")


def customer_weights(k: int, skew: str, rng: np.random.Generator) -> np.ndarray:
    """Relative event rates of ``k`` customers (in random order)."""
    if skew == "lognormal":
        w = rng.lognormal(0.0, 1.5, k)
    elif skew == "zipf":
        w = 1.0 / np.arange(1, k + 1) ** 1.1
        rng.shuffle(w)
    elif skew == "uniform":
        w = np.ones(k)
    else:
        raise ValueError(f"skew must be one of {SKEWS}, not {skew!r}")
    return w / w.sum()


def events_per_customer(n: int, k: int, skew: str, rng: np.random.Generator) -> np.ndarray:
    """How many of ``n`` events each of ``k`` customers has: at least one each."""
    if n < k:
        raise ValueError("need at least one event per customer")
    if skew == "uniform":  # the old benchmarks: each event's customer drawn uniformly
        return np.bincount(rng.integers(0, k, n - k), minlength=k) + 1
    return rng.multinomial(n - k, customer_weights(k, skew, rng)) + 1


def events(
    n: int, k: int, *, skew: str = "lognormal", order: str = "time", seed: int = 0
) -> dict[str, np.ndarray]:
    """``n`` events of ``k`` customers: customer code, time (datetime64[us]), amount."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    rng = np.random.default_rng(seed)
    counts = events_per_customer(n, k, skew, rng)
    customer = np.repeat(np.arange(k, dtype=np.int64), counts)
    acquired = rng.integers(0, SPAN_US, k)
    t = acquired[customer] + (rng.random(n) * (SPAN_US - acquired[customer])).astype(np.int64)
    level = rng.normal(3.0, 0.5, k)  # each customer's typical basket
    amount = np.round(np.exp(level[customer] + rng.normal(0.0, 0.8, n)), 2)
    if order == "time":
        perm = np.argsort(t, kind="stable")
    elif order == "shuffled":
        perm = rng.permutation(n)
    else:
        perm = None
    if perm is not None:
        customer, t, amount = customer[perm], t[perm], amount[perm]
    return {"customer": customer, "time": START + t.astype("timedelta64[us]"), "amount": amount}


def categories(n: int, m: int, skew: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of ``m`` categories (touchpoints, stores, channels) with ``skew``."""
    return rng.choice(m, n, p=customer_weights(m, skew, rng)).astype(np.int64)


def ids_of(k: int, shape: str, seed: int = 0) -> np.ndarray:
    """The raw id of each of ``k`` customers (index = customer code), in ``shape``."""
    rng = np.random.default_rng(seed + 1_000)
    if shape == "coded":
        return np.arange(k, dtype=np.int64)
    if shape == "int":
        ids = np.unique(rng.integers(10**12, 10**13, k + k // 8 + 16))
        while len(ids) < k:  # pragma: no cover - duplicates are rare
            ids = np.unique(np.concatenate([ids, rng.integers(10**12, 10**13, k)]))
        ids = ids[rng.permutation(len(ids))[:k]]
        return ids.astype(np.int64)
    if shape == "str":
        if k > 10**7:
            raise ValueError("'C' and seven digits name at most 10 million customers")
        digits = np.char.zfill(rng.permutation(k).astype("U7"), 7)
        return np.char.add("C", digits).astype(object)
    if shape == "uuid":
        raw = rng.integers(0, 256, (k, 16), dtype=np.uint8)
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # variant
        hexes = [r.tobytes().hex() for r in raw]  # a loop over customers, once
        text = [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hexes]
        return np.array(text, dtype=object)
    raise ValueError(f"ids must be one of {ID_SHAPES}, not {shape!r}")


def arrow_ids(codes: np.ndarray, ids: np.ndarray):
    """The customer column as an Arrow array of raw ids (strings built in C, not Python)."""
    import pyarrow as pa

    if ids.dtype != object:
        return pa.array(ids[codes])
    dictionary = pa.array(ids.tolist(), type=pa.string())
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), dictionary
    ).dictionary_decode()


def cached(path: Path, params: dict, make) -> dict[str, np.ndarray]:
    """Columns from ``path`` if made with the same ``params``; else ``make()`` saved there."""
    path = Path(path)
    stamp = path / "params.json"
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return {p.stem: np.load(p, allow_pickle=True) for p in sorted(path.glob("*.npy"))}
    path.mkdir(parents=True, exist_ok=True)
    cols = make()
    for name, arr in cols.items():
        np.save(path / f"{name}.npy", arr, allow_pickle=arr.dtype == object)
    stamp.write_text(json.dumps(params))
    return cols


def load(path: Path) -> dict[str, np.ndarray]:
    """The columns saved by `cached`."""
    return {p.stem: np.load(p, allow_pickle=True) for p in sorted(Path(path).glob("*.npy"))}


def shares(counts: np.ndarray) -> str:
    """A line on the skew: the share of events of the top 1% and top 20% of customers."""
    c = np.sort(counts)[::-1]
    total = c.sum()
    top1 = c[: max(1, len(c) // 100)].sum() / total
    top20 = c[: max(1, len(c) // 5)].sum() / total
    return f"top 1% of customers: {top1:.0%} of events, top 20%: {top20:.0%}"

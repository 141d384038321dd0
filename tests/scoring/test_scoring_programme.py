"""The loyalty programme against a plain Python simulation (FIFO point batches, monthly tiers)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import touchpoint
from touchpoint.errors import ValidationError
from touchpoint.frame import EventFrame
from touchpoint.model import LoyaltyProgramme, LoyaltyTier, Offset
from touchpoint.scoring import loyalty_programme

START = dt.datetime(2025, 1, 1)
TIERS = [LoyaltyTier("member", 0), LoyaltyTier("silver", 100), LoyaltyTier("gold", 300)]


def month_starts_after(first, asof):
    """Month starts from the first event on (a first event at 00:00 on the 1st counts), then asof."""
    y, m = first.year, first.month
    out = [first] if first == dt.datetime(y, m, 1) and first < asof else []
    while True:
        m += 1
        if m == 13:
            y, m = y + 1, 1
        d = dt.datetime(y, m, 1)
        if d >= asof:
            return [*out, asof]
        out.append(d)


def earns(event, purchases=("purchase",)):
    """The purchase rule by hand: a listed outcome, or no outcome and money paid."""
    _, _, amount, is_redeem, _, *label = event
    label = label[0] if label else None
    if is_redeem or not amount > 0:
        return False
    return purchases is None or label is None or label in purchases


def simulate(events, prog, asof, purchases=("purchase",)):
    """events: list of (customer, time, amount, is_redeem, points[, outcome])."""
    events = [
        (e[0], e[1], e[2] if e[3] or earns(e, purchases) else 0.0, e[3], e[4]) for e in events
    ]
    out = {}
    for c in sorted({e[0] for e in events}):
        mine = sorted(
            (e for e in events if e[0] == c and e[1] <= asof), key=lambda e: (e[1], not e[3])
        )
        batches, expired, earned, used = [], 0.0, 0.0, 0.0  # batches: [expiry, remaining]
        timeline = [
            (t, 1 if is_redeem else 0, amount, points) for _, t, amount, is_redeem, points in mine
        ]
        expiry_times = []
        for _, t, amount, is_redeem, _ in mine:
            if not is_redeem and amount > 0 and prog.points_expire is not None:
                expiry_times.append(
                    dt.datetime.combine(prog.points_expire.add_to(t.date()), t.time())
                )
        # at one instant: purchases, then redemptions, then expiries
        steps = sorted(
            [(t, 0, r, a, p) for (t, r, a, p) in timeline] + [(e, 1, 0, 0, 0) for e in expiry_times]
        )
        for t, kind, is_redeem, amount, points in steps:
            if t > asof:
                continue
            if kind == 1:
                for b in batches:
                    if b[0] <= t:
                        expired += b[1]
                        b[1] = 0.0
                continue
            if is_redeem:
                need = points
                if need > sum(b[1] for b in batches) + 1e-9:
                    return None  # redeems more than the balance at that time
                used += need
                for b in sorted(batches, key=lambda b: b[0]):
                    take = min(b[1], need)
                    b[1] -= take
                    need -= take
            elif amount > 0:
                pts = amount * prog.earn_rate
                earned += pts
                exp = (
                    dt.datetime.combine(prog.points_expire.add_to(t.date()), t.time())
                    if prog.points_expire is not None
                    else dt.datetime.max
                )
                batches.append([exp, pts])
        # tiers
        tier, trans = 0, []
        buys = [(t, a) for (_, t, a, r, _) in mine if not r and a > 0]
        first = min(e[1] for e in mine) if mine else None
        if first is not None:
            for d in month_starts_after(first, asof):
                start = dt.datetime.combine(_minus(prog.window, d), d.time())
                q = sum(a for (t, a) in buys if start < t <= d)
                reached = max(i for i, tr in enumerate(prog.tiers) if q >= tr.threshold)
                new = {
                    "never": max(tier, reached),
                    "requalify": reached,
                    "one_step": max(reached, tier - 1),
                }[prog.downgrade.value]
                if new != tier:
                    trans.append((d, tier, new))
                tier = new
        out[c] = {
            "earned": earned,
            "redeemed": used,
            "expired": expired,
            "balance": sum(b[1] for b in batches),
            "tier": tier,
            "transitions": trans,
        }
    return out


def _minus(offset, d):
    neg = Offset(-offset.amount, offset.unit)
    return neg.add_to(d.date())


@st.composite
def histories(draw):
    n = draw(st.integers(1, 25))
    rows = []
    for _ in range(n):
        c = draw(st.sampled_from(["a", "b", "c"]))
        t = START + dt.timedelta(days=draw(st.integers(0, 700)), hours=draw(st.integers(0, 23)))
        if draw(st.integers(0, 4)) == 0:
            rows.append((c, t, 0.0, True, float(draw(st.integers(1, 40))), "redeem"))
        else:
            amount = float(draw(st.sampled_from([0, 20, 50, 120, 250])))
            # a purchase, an event without an outcome, or a paid event that is no purchase
            label = draw(st.sampled_from(["purchase", None, "deposit", "call"]))
            rows.append((c, t, amount, False, 0.0, label))
    return rows


def _feasible(rows, purchases):
    """Drop redemptions of more than the points earned (earn_rate 1) before them.

    Expiry is left out on purpose, so some histories still redeem expired points.
    """
    out, earned, used = [], {}, {}
    for r in sorted(rows, key=lambda r: (r[1], r[3])):
        c = r[0]
        if r[3]:
            if used.get(c, 0) + r[4] > earned.get(c, 0):
                continue
            used[c] = used.get(c, 0) + r[4]
        elif earns(r, purchases):
            earned[c] = earned.get(c, 0) + r[2]
        out.append(r)
    return out


@given(
    histories(),
    st.sampled_from(["never", "requalify", "one_step"]),
    st.sampled_from([None, "6 months", "90 days"]),
    st.sampled_from(["12 months", "60 days"]),
    st.sampled_from([("purchase",), ("purchase", "deposit"), None]),
)
def test_programme_matches_simulation(rows, downgrade, expire, window, purchases):
    rows = _feasible(rows, purchases)
    prog = LoyaltyProgramme(
        tiers=TIERS,
        earn_rate=1.0,
        downgrade=downgrade,
        points_expire=expire,
        window=window,
        point_value=0.1,
    )
    asof = START + dt.timedelta(days=720)
    data = {
        "customer": [r[0] for r in rows],
        "time": [r[1] for r in rows],
        "amount": [r[2] for r in rows],
        "outcome": [r[5] for r in rows],
        "points": [r[4] if r[3] else np.nan for r in rows],
    }
    ref = simulate(rows, prog, asof, purchases)
    if ref is None:
        with pytest.raises(ValidationError, match="redeems more points than the balance"):
            loyalty_programme(data, prog, asof=asof, purchases=purchases)
        return
    got = loyalty_programme(data, prog, asof=asof, purchases=purchases)
    b = got.balances
    for i, c in enumerate(b["customer"]):
        for name in ("earned", "redeemed", "expired", "balance"):
            assert b[name][i] == pytest.approx(ref[c][name], abs=1e-6), (c, name)
        assert b["tier"][i] == TIERS[ref[c]["tier"]].name
    tr = got.transitions
    got_tr = sorted(
        (c, t.astype("datetime64[us]").item(), f, to)
        for c, t, f, to in zip(
            tr["customer"], tr["time"], tr.columns["from_tier"], tr.columns["to_tier"], strict=True
        )
    )
    ref_tr = sorted((c, d, f, to) for c, v in ref.items() for (d, f, to) in v["transitions"])
    assert got_tr == ref_tr
    when = START + dt.timedelta(days=400)
    at = got.tier_at(when)
    for c, tier in zip(at["customer"], at["tier"], strict=True):
        expected = [to for (d, _, to) in ref[c]["transitions"] if d <= when]
        assert tier == TIERS[expected[-1] if expected else 0].name


def test_redeeming_more_than_earned_names_row_and_customer():
    prog = LoyaltyProgramme(tiers=TIERS, point_value=1.0)
    data = {
        "customer": ["a", "a"],
        "time": ["2026-01-02", "2026-01-01"],
        "amount": [50.0, 20.0],
        "outcome": [None, "redeem"],
    }
    with pytest.raises(ValidationError, match=r"amount\[1\].*'a' redeems more points"):
        loyalty_programme(data, prog)


def test_redemption_valued_by_amount_and_discount():
    prog = LoyaltyProgramme(
        tiers=[LoyaltyTier("member", 0), LoyaltyTier("vip", 50, discount=0.1)],
        earn_rate=2.0,
        point_value=0.5,
    )
    data = {
        "customer": ["a", "a"],
        "time": ["2026-01-01", "2026-01-02"],
        "amount": [100.0, 10.0],
        "outcome": ["purchase", "redeem"],
    }
    b = loyalty_programme(data, prog, asof="2026-02-01").balances
    assert b["earned"].tolist() == [200.0] and b["redeemed"].tolist() == [20.0]
    assert b["balance"].tolist() == [180.0] and b["balance_value"].tolist() == [90.0]
    assert b["tier"].tolist() == ["vip"] and b["discount"].tolist() == [0.1]


def test_only_purchases_earn_points_and_count_towards_tiers():
    """A workspace's interactions: calls and a deposit with an amount earn nothing."""
    prog = LoyaltyProgramme(
        tiers=[LoyaltyTier("member", 0), LoyaltyTier("gold", 100)], earn_rate=1.0
    )
    ws = touchpoint.open("memory://")
    ws.record_batch(
        {
            "event_id": ["p1", "d1", "c1", "p2"],
            "customer": ["C1", "C1", "C1", "C2"],
            "touchpoint": ["T1", "T1", "T2", "T1"],
            "time": ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"],
            "amount": [60.0, 500.0, None, 150.0],
            "outcome": ["purchase", "deposit", "call", None],
        }
    ).raise_for_rejected()
    b = loyalty_programme(ws.interactions(), prog, asof="2026-02-01").balances
    assert b["customer"].tolist() == ["C1", "C2"]
    assert b["earned"].tolist() == [60.0, 150.0] and b["spend"].tolist() == [60.0, 150.0]
    assert b["tier"].tolist() == ["member", "gold"]
    every = loyalty_programme(ws.interactions(), prog, asof="2026-02-01", purchases=None)
    assert every.balances["earned"].tolist() == [560.0, 150.0]
    assert every.balances["tier"].tolist() == ["gold", "gold"]


@given(histories(), st.sampled_from(["6 months", "90 days"]), st.randoms(use_true_random=False))
def test_time_order_chunks_and_threads_change_nothing(rows, expire, rnd):
    """Time-ordered events (read in place) and the same events shuffled (sorted copies)
    give bit-equal balances and transitions, with expiry dates in chunks of 2 rows on
    1 thread or 3."""
    import touchpoint.scoring._programme as impl
    from touchpoint._threads import set_threads

    rows = sorted(_feasible(rows, None), key=lambda r: (r[1], r[3]))
    prog = LoyaltyProgramme(tiers=TIERS, earn_rate=2.0, points_expire=expire, downgrade="one_step")
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    asof = START + dt.timedelta(days=720)

    def run(rs, threads):
        data = {
            "customer": [r[0] for r in rs],
            "time": [r[1] for r in rs],
            "amount": [r[2] for r in rs],
            "outcome": [r[5] for r in rs],
            "points": [r[4] * 2 if r[3] else np.nan for r in rs],
        }
        with pytest.MonkeyPatch.context() as m, set_threads(threads):
            m.setattr(impl, "CHUNK", 2)
            try:
                got = loyalty_programme(data, prog, asof=asof, purchases=None)
            except ValidationError:  # expired points redeemed: every variant must say so
                return None

        def by_customer(df):  # customers are numbered in order of appearance
            df = df.astype({"customer": str})
            return df.sort_values(["customer"], kind="stable").reset_index(drop=True)

        return by_customer(got.balances.to_pandas()), by_customer(got.transitions.to_pandas())

    ordered = run(rows, 1)
    others = (run(rows, 3), run(shuffled, 3))
    if ordered is None:
        assert others == (None, None)
        return
    for other in others:
        assert other is not None
        pd.testing.assert_frame_equal(ordered[0], other[0])
        pd.testing.assert_frame_equal(ordered[1], other[1])


def _covered(rows):
    """Drop redemptions (kind 1) of more points than earned (at rate 1) before them; expiry
    is left out, so some still redeem expired points."""
    out, earned, used = [], {}, {}
    for r in sorted(rows, key=lambda r: (r[1], r[2], r[3] == 1)):
        c, _, _, kind, amount, pts = r
        if kind == 1:
            if used.get(c, 0) + pts > earned.get(c, 0):
                continue
            used[c] = used.get(c, 0) + pts
        elif kind in (0, -1) and amount > 0:
            earned[c] = earned.get(c, 0) + amount
        out.append(r)
    return out


@st.composite
def coded_events(draw):
    """A coded frame: customers without events, tied times, amounts on tier thresholds,
    redemptions that may exceed the balance, events after ``asof``."""
    k = draw(st.integers(1, 7))
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, k - 1),
                st.integers(0, 150),  # day: few distinct days, so times tie
                st.sampled_from([0, 12]),  # hour
                st.sampled_from([0, 1, 2, -1]),  # purchase, redeem, call, no outcome
                st.sampled_from([0.0, 50.0, 100.0, 150.0, 200.0, 300.0, np.nan]),
                st.sampled_from([1, 10, 30, 400]),  # points redeemed: 400 often overdraws
            ),
            min_size=1,
            max_size=40,
        )
    )
    if draw(st.integers(0, 2)):  # mostly within the balance: drop what earned points do not cover
        rows = _covered(rows)
    c, day, hour, kind, amount, pts = (
        (np.array(v) for v in zip(*rows, strict=True))
        if rows
        else (np.zeros(0, dtype=np.int64),) * 6
    )
    time = np.datetime64("2025-01-01T00", "us") + (day * 24 + hour).astype("timedelta64[h]")
    frame = EventFrame(
        {
            "customer": c.astype(np.int64),
            "time": time.astype("datetime64[us]"),
            "amount": amount.astype(np.float64),
            "outcome": kind.astype(np.int64),
            "points": np.where(kind == 1, pts, np.nan).astype(np.float64),
        },
        {
            "customer": np.array([f"c{i}" for i in range(k)], dtype=object),
            "outcome": np.array(["purchase", "redeem", "call"], dtype=object),
        },
    )
    asof = draw(st.sampled_from([None, "2025-03-15", "2025-06-01T12:00"]))
    return frame, asof


@settings(max_examples=250, deadline=None)
def _in_ranges(data, prog, asof, chunk_rows):
    """The programme scored ``chunk_rows`` events per range of customers."""
    import touchpoint.scoring._programme as impl

    return impl._programme(
        data,
        prog,
        customer="customer",
        time="time",
        amount="amount",
        outcome="outcome",
        points="points",
        redeem="redeem",
        purchases=("purchase",),
        asof=asof,
        progress=None,
        chunk_rows=chunk_rows,
    )


@given(
    coded_events(),
    st.sampled_from([None, "30 days", "2 months"]),
    st.sampled_from(["never", "requalify", "one_step"]),
    st.sampled_from(["spend", "points"]),
    st.sampled_from([1.0, 1.5]),
    st.integers(1, 4),
    st.sampled_from([1, 2, 3]),
)
def test_customer_ranges_and_threads_change_nothing(
    events, expire, downgrade, basis, earn_rate, chunk_rows, threads
):
    """Scored a few events' customers at a time (sorted into ranges in blocks of 3 rows),
    on 1-3 threads, or all at once on one thread: bit-equal balances and transitions, or
    the same error."""
    import touchpoint.scoring._programme as impl
    from touchpoint._threads import set_threads

    frame, asof = events
    prog = LoyaltyProgramme(
        tiers=TIERS,
        earn_rate=earn_rate,
        basis=basis,
        window="60 days",
        downgrade=downgrade,
        points_expire=expire,
        point_value=0.1,
    )

    def run(rows, n_threads, block):
        with pytest.MonkeyPatch.context() as m, set_threads(n_threads):
            m.setattr(impl, "CHUNK", block)  # rows per block of the sort into ranges
            try:
                got = _in_ranges(frame, prog, asof, rows)
            except ValidationError as e:
                return str(e)
        return [
            (name, np.asarray(values))
            for table in (got.balances, got.transitions)
            for name, values in table.columns.items()
        ]

    whole, parts = run(10**9, 1, impl.CHUNK), run(chunk_rows, threads, 3)
    if isinstance(whole, str):
        assert parts == whole
        return
    assert not isinstance(parts, str), parts
    assert [name for name, _ in parts] == [name for name, _ in whole]
    for (name, a), (_, b) in zip(whole, parts, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        if a.dtype == object:
            assert a.tolist() == b.tolist(), name
        else:  # bit for bit, NaN and signed zeros included
            assert a.tobytes() == b.tobytes(), name


@pytest.mark.parametrize("chunk_rows", [1, 2, 10**9])
def test_the_earliest_overdraft_is_reported_whatever_the_ranges(chunk_rows):
    """Customers 'a', 'b', 'c' all redeem more than they have; 'b' (row 4, the middle
    customer, neither the first nor the last row of the three) does so first in time, so
    'b' is named however the customers are split."""

    data = {
        "customer": ["a", "b", "c", "c", "b", "a"],
        "time": ["2026-01-01"] * 3 + ["2026-03-01", "2026-01-15", "2026-02-01"],
        "amount": [10.0, 10.0, 10.0, 0.0, 0.0, 0.0],
        "outcome": ["purchase"] * 3 + ["redeem"] * 3,
        "points": [np.nan] * 3 + [50.0, 60.0, 70.0],
    }
    prog = LoyaltyProgramme(tiers=TIERS)
    with pytest.raises(ValidationError, match=r"points\[4\].*'b' redeems more points"):
        _in_ranges(data, prog, None, chunk_rows)

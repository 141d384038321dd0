"""rfm from raw customer ids (13-digit integers, strings) on the paths large inputs take:
the hash-partitioned factorize and the reduction split by statistic, forced on small
inputs. Checked against a pandas groupby, the customers in order of first appearance,
and bit for bit the same on one thread as on many."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from touchpoint._threads import available_cores, set_threads
from touchpoint.frame import _codes, _grouped
from touchpoint.scoring import rfm

BASE = np.datetime64("2026-01-01T00:00", "us")
ASOF = np.datetime64("2026-04-01", "us")


@st.composite
def raw_events(draw):
    """Events of a few customers named by 13-digit integers (some negative, some near the
    int64 limits) or by strings (empty, NUL, non-ASCII, up to 20 characters), times in
    time order or shuffled, amounts with NaN."""
    n = draw(st.integers(1, 120))
    kind = draw(st.sampled_from(["int", "str"]))
    if kind == "int":
        pool = draw(
            st.lists(
                st.one_of(
                    st.integers(10**12, 10**13),
                    st.integers(-(2**63), -(2**63) + 5),
                    st.integers(2**63 - 5, 2**63 - 1),
                    st.integers(-(10**13), -(10**12)),
                ),
                min_size=1,
                max_size=12,
                unique=True,
            )
        )
    else:
        pool = draw(
            st.lists(
                st.one_of(
                    st.text(alphabet="C0123456789", min_size=8, max_size=8),
                    st.text(max_size=20),
                    st.sampled_from(["", "\x00", "a\x00", "ä", "客户"]),
                ),
                min_size=1,
                max_size=12,
                unique=True,
            )
        )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    picks = rng.integers(0, len(pool), size=n)
    minutes = np.sort(rng.integers(0, 60 * 24 * 120, size=n))
    if draw(st.booleans()):
        minutes = rng.permutation(minutes)
    amounts = rng.gamma(2.0, 40.0, size=n)
    amounts[rng.random(n) < 0.1] = np.nan
    ids = np.array(pool, dtype=np.int64 if kind == "int" else object)[picks]
    times = BASE + minutes.astype("timedelta64[m]")
    return ids, times, amounts


def _reference(ids, times, amounts):
    df = pd.DataFrame({"c": pd.Series(ids, dtype=object), "t": times, "a": amounts})
    df = df[df["t"] <= ASOF]
    g = df.groupby("c", sort=False)
    return pd.DataFrame(
        {
            "frequency": g.size(),
            "monetary": g["a"].apply(lambda s: s.fillna(0).sum()),
            "last": g["t"].max(),
        }
    )


def _inputs(ids, times, amounts):
    cols = {"customer": ids, "time": times, "amount": amounts}
    out = {"numpy": cols, "pandas": pd.DataFrame(cols)}
    if ids.dtype != object:
        out["arrow"] = pa.table(cols)
        out["polars"] = pl.DataFrame(cols)
    elif all("\x00" not in v for v in ids):  # (pyarrow and polars keep NUL; numpy U not)
        out["arrow"] = pa.table({**cols, "customer": pa.array(list(ids), type=pa.string())})
        out["polars"] = pl.DataFrame({**cols, "customer": pl.Series(list(ids), dtype=pl.String)})
    else:
        out["arrow"] = pa.table({**cols, "customer": pa.array(list(ids), type=pa.large_string())})
    return out


@settings(max_examples=80, deadline=None)
@given(raw_events())
@example(  # integers at the int64 floor within a small range: ascending, not first-seen
    (
        np.array([-9223372036854775803, -9223372036854775804]),
        np.array(["2026-04-01T14:52", "2026-04-25T01:20"], dtype="datetime64[us]"),
        np.array([85.2, 125.2]),
    )
)
def test_rfm_from_raw_ids_on_the_large_input_paths(ev):
    ids, times, amounts = ev
    ref = _reference(ids, times, amounts)
    first_seen = list(dict.fromkeys(ids.tolist()))  # customers in order of first appearance
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_PARTITION_MIN", 0)  # partitioned hash factorize
        mp.setattr(_codes, "_PER_PARTITION", 2)  # several partitions
        mp.setattr(_codes, "_CHUNK", 7)  # several chunks
        mp.setattr(_codes, "_ARROW_MIN", 0)  # object arrays through Arrow's buffers
        mp.setattr(_codes, "_STRING_CHUNK", 5)
        mp.setattr(_grouped, "_SPLIT_ROWS", 0)  # counts, sums, maxima as separate tasks
        for name, data in _inputs(ids, times, amounts).items():
            with set_threads(1):
                one = rfm(data, asof=ASOF).to_pandas()
            with set_threads(max(4, available_cores())):
                many = rfm(data, asof=ASOF).to_pandas()
            pd.testing.assert_frame_equal(one, many, check_exact=True, obj=name)
            # the order `factorize(sort=None)` chooses: first appearance, or ascending for
            # integers spanning a small range (a lookup table is cheaper there)
            assert one["customer"].tolist() in (first_seen, sorted(first_seen)), name
            got = one.set_index("customer").loc[list(ref.index)]
            np.testing.assert_array_equal(got["frequency"], ref["frequency"], err_msg=name)
            np.testing.assert_array_equal(
                got["last"].to_numpy(), ref["last"].to_numpy(), err_msg=name
            )
            np.testing.assert_allclose(got["monetary"], ref["monetary"], rtol=1e-12, err_msg=name)

"""RFM, RFM scores, value tiers, CSAT and NPS on a Dask cluster equal the in-memory scores.

Each test scores the same pandas events twice, in memory and as a Dask DataFrame on a
real two-process LocalCluster, and compares: exactly for counts, dates, codes and
tiers, within 1e-12 relative for float sums.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from daskdata import cut_points, partitioned, same_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint import templates
from touchpoint.demo import synthetic_base
from touchpoint.errors import ValidationError
from touchpoint.scale import _value as scale_value
from touchpoint.scoring import (
    csat,
    nps,
    pareto,
    pyramid,
    pyramid_summary,
    rfm,
    rfm_scores,
    top_share,
)

pytestmark = pytest.mark.slow  # a real Dask LocalCluster (tests/scale/conftest.py)

ASOF = "2026-11-01"
CLUSTER = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def base():
    return synthetic_base(templates.load("car-dealership"), customers=600, seed=11)


@pytest.fixture(scope="module")
def events(base) -> pd.DataFrame:
    """The events as a user's files would hold them: plain strings, in time order, so a
    customer's events are spread over every partition."""
    ev = base.events
    df = pd.DataFrame({name: ev[name] for name in ev.column_names})
    return df.sort_values("time", kind="stable").reset_index(drop=True)


def test_rfm_equals_in_memory(client, events):
    got = rfm(partitioned(events, npartitions=7), asof=ASOF)
    assert type(got).__module__.startswith("dask")  # lazy until computed
    same_rows(got.compute(), rfm(events, asof=ASOF).to_pandas())


def test_rfm_default_asof_is_the_latest_event_of_all_partitions(client, events):
    got = rfm(partitioned(events, npartitions=4)).compute()
    same_rows(got, rfm(events).to_pandas())


def test_rfm_with_other_column_names(client, events):
    renamed = events.rename(columns={"customer": "cust", "time": "ts", "amount": "paid"})
    got = rfm(partitioned(renamed), customer="cust", time="ts", amount="paid", asof=ASOF)
    want = rfm(renamed, customer="cust", time="ts", amount="paid", asof=ASOF).to_pandas()
    same_rows(got.compute(), want)  # the result's key column is "customer", as in memory


def test_a_categorical_customer_column_gives_one_row_per_customer(client, events):
    cat = events.assign(customer=events["customer"].astype("category"))
    got = rfm(partitioned(cat, npartitions=5), asof=ASOF).compute()
    assert got["customer"].is_unique
    same_rows(got, rfm(events, asof=ASOF).to_pandas())


@CLUSTER
@given(data=st.data())
def test_rfm_does_not_depend_on_the_partitioning(client, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(1, 300))
    ev = pd.DataFrame(
        {
            "customer": rng.integers(0, max(1, n // 5), n),
            "time": np.datetime64("2026-01-01", "us")
            + rng.integers(0, 300 * 86_400, n).astype("timedelta64[s]"),
            "amount": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(50.0, n).round(2)),
        }
    ).sort_values("time")
    ddf = partitioned(ev, data.draw(cut_points(n)))
    same_rows(rfm(ddf, asof="2026-08-01").compute(), rfm(ev, asof="2026-08-01").to_pandas())


@pytest.mark.parametrize("method", ["min", "dense", "first"])
def test_rfm_scores_and_segments_of_a_dask_rfm(client, events, method):
    got = rfm_scores(rfm(partitioned(events, npartitions=6), asof=ASOF), method=method).compute()
    same_rows(got, rfm_scores(rfm(events, asof=ASOF), method=method).to_pandas())


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_rfm_scores_with_heavy_ties_in_any_partitioning(client, data):
    """Most customers bought once, recencies and amounts repeat: every tie rule gives
    on Dask the scores it gives in memory, customer for customer."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(1, 250))
    once = rng.random(n) < 0.7
    feats = pd.DataFrame(
        {
            "customer": [f"k{i}" for i in rng.permutation(n)],
            "recency": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 30, n)),
            "frequency": np.where(once, 1, 2 + rng.geometric(0.4, n)),
            "monetary": rng.choice([10.0, 20.0, 35.5], n),
        }
    )
    ddf = partitioned(feats, data.draw(cut_points(n)))
    mixed = {"frequency": "dense", "monetary": "first"}
    for method in ("min", "dense", "first", mixed):  # the three tie rules, and a mix
        got = rfm_scores(ddf, method=method).compute()
        same_rows(got, rfm_scores(feats, method=method).to_pandas())


def test_pyramid_tiers_equal_in_memory(client, events):
    feats = rfm(events, asof=ASOF).to_pandas()
    got = pyramid(partitioned(feats, npartitions=5)).compute()
    want = pyramid(feats).to_pandas()
    same_rows(got, want)
    assert set(got["tier"]) >= {"key", "major", "ordinary", "small"}


def test_pyramid_of_a_lazy_dask_rfm(client, events):
    got = pyramid(rfm(partitioned(events, npartitions=5), asof=ASOF)).compute()
    same_rows(got, pyramid(rfm(events, asof=ASOF)).to_pandas())


values = st.lists(
    st.one_of(st.sampled_from([0.0, 1.0, 5.0, 5.0, 20.0]), st.floats(0, 1e6), st.just(np.nan)),
    min_size=1,
    max_size=200,
)


@CLUSTER
@given(v=values, text_ids=st.booleans(), data=st.data())
def test_pyramid_and_pareto_with_ties_and_gaps_in_any_partitioning(client, v, text_ids, data):
    ids = [f"c{i}" for i in range(len(v))] if text_ids else np.arange(len(v))
    feats = pd.DataFrame({"customer": ids, "monetary": np.array(v)})
    ddf = partitioned(feats, data.draw(cut_points(len(v))))
    shares = (0.1, 0.2, 0.7)
    got = pyramid(ddf, shares=shares, tiers=("a", "b", "c")).compute()
    same_rows(got, pyramid(feats, shares=shares, tiers=("a", "b", "c")).to_pandas())
    curve, want = pareto(ddf, points=11), pareto(feats, points=11)
    np.testing.assert_allclose(curve["value_share"], want["value_share"], rtol=1e-12)
    np.testing.assert_array_equal(curve["customer_share"], want["customer_share"])


def test_pyramid_of_heavy_ties_keeps_the_shares_as_in_memory(client, monkeypatch):
    """Most customers at one value, a tie at the top: boundaries split runs of equal
    values, and Dask splits them as memory does, customer for customer."""
    rng = np.random.default_rng(7)
    n = 5_000
    v = np.where(rng.random(n) < 0.7, 25.0, np.round(rng.exponential(80.0, n)))
    v[:30] = 999.0  # a tie straddling the key / major boundary (50 key customers)
    feats = pd.DataFrame({"customer": [f"cust-{i:05d}" for i in range(n)], "monetary": v})
    feats = feats.sample(frac=1.0, random_state=3).reset_index(drop=True)
    got = pyramid(partitioned(feats, npartitions=6)).compute()
    want = pyramid(feats).to_pandas()
    same_rows(got, want)
    counts = got["tier"].astype(str).value_counts().to_dict()
    assert counts == {"key": 50, "major": 200, "ordinary": 750, "small": 4000}
    # past a few million tied customers their hashes are ranked in passes, not collected
    monkeypatch.setattr(scale_value, "COLLECT", 0)
    same_rows(pyramid(partitioned(feats, npartitions=4)).compute(), want)


def test_a_repeated_customer_splitting_a_tie_is_named_as_in_memory(client):
    feats = pd.DataFrame({"customer": [7, 7, 8, 9], "monetary": [5.0, 5.0, 5.0, 1.0]})
    for data in (feats, partitioned(feats, [1, 3])):
        with pytest.raises(ValidationError, match="more than one row") as err:
            pyramid(data, shares=[0.25, 0.75], tiers=["top", "rest"])
        assert err.value.problems[0].value == 7


def test_top_share_and_pareto_equal_in_memory(client, events):
    feats = rfm(events, asof=ASOF).to_pandas()
    ddf = partitioned(feats, npartitions=4)
    assert top_share(ddf, top=0.2) == pytest.approx(top_share(feats, top=0.2), rel=1e-12)
    np.testing.assert_allclose(pareto(ddf)["value_share"], pareto(feats)["value_share"], rtol=1e-12)


def test_pyramid_ranks_need_memory(client, events):
    feats = rfm(events, asof=ASOF).to_pandas()
    with pytest.raises(ValidationError, match="full sort"):
        pyramid(partitioned(feats), ranks=True)


def test_pareto_refuses_a_negative_value(client):
    ddf = partitioned(pd.DataFrame({"customer": [1, 2, 3], "monetary": [5.0, -2.0, 1.0]}))
    with pytest.raises(ValidationError, match="negative") as err:
        pareto(ddf)
    assert err.value.problems[0].value == -2.0


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


@pytest.mark.parametrize(
    ("by", "period"),
    [("touchpoint", None), (["store", "touchpoint"], None), ("stage", "month"), (None, None)],
)
def test_csat_and_nps_equal_in_memory(client, base, events, by, period):
    bp = base.blueprint
    ddf = partitioned(events, npartitions=5)
    keys = ([by] if isinstance(by, str) else list(by or ["group"])) + (["period"] if period else [])
    got = csat(ddf, by=by, period=period, blueprint=bp).compute()
    want = csat(events, by=by, period=period, blueprint=bp).to_pandas()
    pd.testing.assert_frame_equal(_sorted(got, keys), _sorted(want, keys), rtol=1e-12)
    ten = events.assign(rating=events["rating"] * 2)
    got = nps(partitioned(ten, npartitions=3), by=by, period=period, blueprint=bp).compute()
    want = nps(ten, by=by, period=period, blueprint=bp).to_pandas()
    pd.testing.assert_frame_equal(_sorted(got, keys), _sorted(want, keys), rtol=1e-12)


def test_a_missing_column_is_named_before_any_work(client, events):
    ddf = partitioned(events)
    with pytest.raises(ValidationError, match="paid") as err:
        rfm(ddf, amount="paid", asof=ASOF)
    assert "available" in str(err.value)
    with pytest.raises(ValidationError, match="no such column"):
        pyramid(rfm(ddf, asof=ASOF), value="spend")


def test_without_the_extra_the_error_names_it():
    code = (
        "import sys\n"
        "sys.modules['dask'] = sys.modules['dask.dataframe'] = sys.modules['distributed'] = None\n"
        "import touchpoint.scale as s\n"
        "try:\n"
        "    s.by_customer(object())\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("MissingExtraError")
    assert "pip install 'touchpoint-ctm[dask]'" in out.stdout


def test_pyramid_summary_of_a_dask_pyramid(client, events):
    feats = rfm(events, asof=ASOF).to_pandas()
    got = pyramid_summary(pyramid(partitioned(feats, npartitions=4))).compute()
    want = pyramid_summary(pyramid(feats)).to_pandas()
    assert got["tier"].tolist() == want["tier"].tolist()  # every tier, in tier order
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, rtol=1e-12)


@CLUSTER
@given(data=st.data())
def test_csat_does_not_depend_on_the_partitioning(client, events, data):
    n = data.draw(st.integers(1, 400))
    some = events.iloc[:n]
    ddf = partitioned(some, data.draw(cut_points(n)))
    got = csat(ddf, by=["store", "touchpoint"]).compute()
    want = csat(some, by=["store", "touchpoint"]).to_pandas()
    keys = ["store", "touchpoint"]
    pd.testing.assert_frame_equal(_sorted(got, keys), _sorted(want, keys), rtol=1e-12)

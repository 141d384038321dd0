"""``touchpoint score``: registered scores on a file or a workspace, written by extension."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import touchpoint
from touchpoint.cli import main
from touchpoint.clv import BetaGeo, GammaGamma, customer_summary
from touchpoint.datasets import CDNOW_END, load_cdnow

ASOF = "2026-04-01"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    n = 400
    df = pd.DataFrame(
        {
            "client": [f"K{i:03d}" for i in rng.integers(0, 60, n)],
            "day": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 450, n), unit="D"),
            "total": rng.gamma(2.0, 20.0, n).round(2),
        }
    )
    path = tmp_path / "orders.csv"
    df.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    t = load_cdnow("transactions", sample=True, as_frame="pandas")
    t[["customer", "time", "amount"]].to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def reference_rfm(path: Path) -> pd.DataFrame:
    """RFM by a pandas groupby: days since the last purchase, purchases, total spend."""
    df = pd.read_csv(path, dtype={"client": str}, parse_dates=["day"])
    g = df.groupby("client")
    out = pd.DataFrame(
        {
            "recency": (pd.Timestamp(ASOF) - g["day"].max()).dt.days.astype(float),
            "frequency": g.size(),
            "monetary": g["total"].sum(),
        }
    )
    return out.sort_index()


def test_rfm_on_a_csv_equals_a_pandas_groupby(capsys, orders, tmp_path) -> None:
    out = tmp_path / "rfm.csv"
    argv = ["score", "rfm", str(orders), "--out", str(out), "--asof", ASOF]
    code, stdout, err = run(
        capsys, *argv, "--customer", "client", "--time", "day", "--amount", "total"
    )
    assert code == 0 and stdout == "" and f"to {out}" in err
    got = pd.read_csv(out, dtype={"customer": str}).set_index("customer").sort_index()
    want = reference_rfm(orders)
    assert got.index.tolist() == want.index.tolist()
    np.testing.assert_allclose(got["recency"], want["recency"])
    np.testing.assert_array_equal(got["frequency"], want["frequency"])
    np.testing.assert_allclose(got["monetary"], want["monetary"], rtol=1e-12)


def test_parquet_and_json_outputs_read_back_equal(capsys, orders, tmp_path) -> None:
    cols = ["--customer", "client", "--time", "day", "--amount", "total", "--asof", ASOF]
    outs = {ext: tmp_path / f"rfm.{ext}" for ext in ("csv", "parquet", "json")}
    for path in outs.values():
        assert run(capsys, "score", "rfm", str(orders), "--out", str(path), *cols)[0] == 0
    csv_ = pd.read_csv(outs["csv"], dtype={"customer": str})
    parquet = pd.read_parquet(outs["parquet"])
    records = pd.DataFrame(json.loads(outs["json"].read_text(encoding="utf-8")))
    want = reference_rfm(orders)
    for got in (csv_, parquet, records):
        got = got.set_index("customer").sort_index()
        assert got.index.tolist() == want.index.tolist()
        np.testing.assert_allclose(got["monetary"].astype(float), want["monetary"], rtol=1e-12)
        np.testing.assert_array_equal(got["frequency"].astype(int), want["frequency"])
    assert parquet["frequency"].dtype.kind == "i" and parquet["monetary"].dtype.kind == "f"


def test_clv_columns_match_the_library_fit(capsys, cdnow, tmp_path) -> None:
    out = tmp_path / "clv.parquet"
    argv = ["score", "clv", str(cdnow), "--out", str(out), "--asof", str(CDNOW_END)]
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    got = pd.read_parquet(out).set_index("customer").sort_index()
    for column in ("p_alive", "expected_purchases", "clv"):
        assert column in got.columns
    assert len(got) == 2357
    # what the library gives fitted by hand, over 52 weeks in 12 monthly periods
    data = pd.read_csv(cdnow, dtype={"customer": str})
    summary = customer_summary(data, asof=str(CDNOW_END), unit="W")
    order = np.argsort(np.asarray(summary["customer"]))
    assert got.index.tolist() == np.asarray(summary["customer"])[order].tolist()
    bg = BetaGeo().fit(summary)
    gg = GammaGamma().fit(summary)
    np.testing.assert_allclose(got["p_alive"], bg.probability_alive(summary).to_numpy()[order])
    np.testing.assert_allclose(
        got["expected_purchases"], bg.expected_purchases(summary, 52).to_numpy()[order]
    )
    value = gg.customer_lifetime_value(bg, summary, periods=12, period_length=52 / 12)
    np.testing.assert_allclose(got["clv"], value.to_numpy()[order])
    # no NaN where Gamma-Gamma has repeat buyers to go on: one-time buyers get the
    # population's mean spend
    assert np.isfinite(got["clv"]).all() and (got["clv"] >= 0).all()
    assert ((got["p_alive"] > 0) & (got["p_alive"] <= 1)).all()
    # a longer horizon: more expected purchases for everyone
    longer = tmp_path / "clv2.csv"
    assert (
        run(capsys, *argv[:3], "--out", str(longer), "--asof", str(CDNOW_END), "--horizon", "104")[
            0
        ]
        == 0
    )
    two_years = pd.read_csv(longer, dtype={"customer": str}).set_index("customer").sort_index()
    assert (two_years["expected_purchases"] > got["expected_purchases"]).all()


def test_clv_is_nan_only_without_repeat_buyers(capsys, tmp_path) -> None:
    # 300 one-time buyers and one repeat buyer: BG/NBD fits (at a limit, with a warning),
    # Gamma-Gamma has one repeat buyer's spend to go on, and needs two
    rng = np.random.default_rng(1)
    days = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 400, 300), "D")
    df = pd.DataFrame({"customer": [f"N{i}" for i in range(300)], "time": days, "amount": 5.0})
    repeat = pd.DataFrame(
        {
            "customer": "R",
            "time": pd.Timestamp("2025-01-01") + pd.to_timedelta([0, 30, 60, 90], "D"),
            "amount": 10.0,
        }
    )
    path = tmp_path / "few.csv"
    pd.concat([df, repeat]).to_csv(path, index=False, date_format="%Y-%m-%d")
    code, out, err = run(capsys, "score", "clv", str(path), "--out", "-", "--json", "--asof", ASOF)
    assert code == 0, err
    records = json.loads(out)
    assert len(records) == 301
    assert all(r["clv"] is None for r in records)
    assert all(0 < r["p_alive"] <= 1 and r["expected_purchases"] >= 0 for r in records)
    assert "no lifetime value" in err and "two repeat buyers" in err


def test_scores_on_a_workspace_url(capsys, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert run(capsys, "init", url, "--template", "telecom-hall")[0] == 0
    rng = np.random.default_rng(3)
    n = 300
    visits = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "customer": [f"C{i}" for i in rng.integers(0, 40, n)],
            "touchpoint": rng.choice(["A102", "E102", "A103"], n),
            "time": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 80, n), "D"),
            "rating": rng.integers(1, 6, n),
            "outcome": rng.choice(["purchase", "visit"], n),
            "amount": rng.gamma(2.0, 10.0, n).round(2),
        }
    )
    path = tmp_path / "visits.csv"
    visits.to_csv(path, index=False, date_format="%Y-%m-%d")
    assert run(capsys, "import", url, str(path))[0] == 0
    # churn and rfm count the purchases only, by the shared purchase rule
    code, out, _ = run(capsys, "score", "rfm", url, "--out", "-", "--json", "--asof", ASOF)
    assert code == 0
    got = {r["customer"]: r["frequency"] for r in json.loads(out)}
    want = visits[visits["outcome"] == "purchase"].groupby("customer").size().to_dict()
    assert got == {c: want.get(c, 0) for c in visits["customer"].unique()}
    assert set(got) - set(want)  # customers without a purchase are there, with 0
    # csat by touchpoint: share of ratings >= 4
    code, out, _ = run(capsys, "score", "csat", url, "--out", "-", "--json")
    assert code == 0
    csat = {r["touchpoint"]: r for r in json.loads(out)}
    for tp, g in visits.groupby("touchpoint"):
        assert csat[tp]["responses"] == len(g)
        assert csat[tp]["csat"] == pytest.approx((g["rating"] >= 4).mean())
    for name in ("rfm-scores", "pyramid", "churn", "nps", "compliance"):
        code, out, err = run(capsys, "score", name, url, "--out", "-", "--asof", ASOF)
        assert code == 0, (name, err)
        assert len(out.splitlines()) > 1
    # a registered score by its name: every registered one is runnable
    code, out, _ = run(capsys, "score", "loyalty-index", url, "--out", "-", "--asof", ASOF)
    assert code == 0 and out.splitlines()[0].startswith("customer")


def test_errors(capsys, orders, tmp_path) -> None:
    code, _, err = run(capsys, "score", "no-such", str(orders), "--out", "-")
    assert code == 1 and "no score named 'no-such'" in err and "rfm-scores" in err
    code, _, err = run(
        capsys,
        "score",
        "rfm",
        str(orders),
        "--out",
        str(tmp_path / "x.xlsx"),
        "--customer",
        "client",
        "--time",
        "day",
        "--amount",
        "total",
    )
    assert code == 1 and ".csv, .parquet or .json" in err
    code, _, err = run(capsys, "score", "rfm", str(tmp_path / "missing.csv"), "--out", "-")
    assert code == 1 and "no such file" in err
    code, _, err = run(capsys, "score", "compliance", str(orders), "--out", "-")
    assert code == 1 and "--template" in err
    code, _, err = run(capsys, "score", "rfm", str(orders), "--out", "-")
    assert code == 1 and "customer" in err and "Traceback" not in err
    assert touchpoint  # the package imported once for the whole module


def test_clv_nan_for_a_repeat_buyer_without_spend_only(capsys, cdnow, tmp_path) -> None:
    # CDNOW's master log has such a customer: repeat purchases that cost nothing
    data = pd.read_csv(cdnow, dtype={"customer": str})
    free = pd.DataFrame(
        {"customer": "Z", "time": ["1997-02-01", "1997-05-01", "1997-09-01"], "amount": 0.0}
    )
    path = tmp_path / "with_free.csv"
    pd.concat([data, free]).to_csv(path, index=False)
    out = tmp_path / "clv.json"
    code, _, err = run(
        capsys, "score", "clv", str(path), "--out", str(out), "--asof", str(CDNOW_END)
    )
    assert code == 0 and "1 repeat buyer(s) with no spend" in err
    records = {r["customer"]: r for r in json.loads(out.read_text(encoding="utf-8"))}
    assert records["Z"]["clv"] is None and records["Z"]["p_alive"] > 0
    assert all(r["clv"] is not None for c, r in records.items() if c != "Z")

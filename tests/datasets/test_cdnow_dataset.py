"""`load_cdnow` returns the CDNOW log as published, offline, in every form it offers.

References, none of them this package's own output:

- figures of the master log computed once with pandas from ``lifetimes``' raw
  ``CDNOW_master.txt`` (``pd.read_csv(path, sep=r"\\s+")``): 69,659 rows, 23,570
  customers, 167,881 CDs, $2,500,315.63, 255 rows that repeat another exactly, 80 rows
  of $0, dates 1997-01-01 to 1998-06-30;
- ``tests/clv/data/CDNOW_sample.txt``: ``lifetimes``' 1/10 sample, row for row;
- ``tests/clv/data/cdnow_customers_summary_with_transactions.csv``: the published
  calibration summary of Fader, Hardie & Lee (2005), and their BG/NBD estimates.
"""

import gzip
import hashlib
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from touchpoint import EventFrame, ScoreFrame
from touchpoint.clv import BetaGeo
from touchpoint.datasets import CDNOW_CALIBRATION_END, load_cdnow
from touchpoint.errors import ValidationError

CLV_DATA = Path(__file__).resolve().parents[1] / "clv" / "data"


@pytest.fixture(scope="module")
def master():
    return load_cdnow(as_frame="numpy")


@pytest.fixture(scope="module")
def sample_file():
    """lifetimes' CDNOW_sample.txt: master id, sample id, YYYYMMDD, CDs, dollars."""
    return pd.read_csv(
        CLV_DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master", "id", "date", "cds", "dollars"],
    )


def test_the_master_log_has_the_published_size_and_totals(master):
    assert len(master["customer"]) == 69_659
    assert len(np.unique(master["customer"])) == 23_570
    np.testing.assert_array_equal(np.unique(master["customer"]), np.arange(1, 23_571))
    assert int(master["quantity"].sum()) == 167_881
    assert round(float(master["amount"].sum()), 2) == 2_500_315.63
    assert int((master["amount"] == 0).sum()) == 80
    assert str(master["time"].min())[:10] == "1997-01-01"
    assert str(master["time"].max())[:10] == "1998-06-30"
    assert master["time"].dtype == np.dtype("datetime64[us]")


def test_the_exact_duplicate_rows_are_kept_as_separate_purchases(master):
    rows = np.stack(
        [
            master["customer"],
            master["time"].view(np.int64),
            master["quantity"],
            np.round(master["amount"] * 100).astype(np.int64),
        ],
        axis=1,
    )
    distinct = np.unique(rows, axis=0)
    assert len(rows) - len(distinct) == 255


def test_the_shipped_log_is_the_file_its_readme_names():
    folder = resources.files("touchpoint.datasets").joinpath("data")
    raw = gzip.decompress(folder.joinpath("CDNOW_master.txt.gz").read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    assert digest in folder.joinpath("README.md").read_text(encoding="utf-8")
    assert raw.startswith(b" customer_id  date number_of_cds  dollar_value")


def test_the_sample_equals_lifetimes_sample_file_row_for_row(sample_file):
    s = load_cdnow(sample=True, as_frame="numpy")
    assert len(s["customer"]) == 6_919 and len(np.unique(s["customer"])) == 2_357
    np.testing.assert_array_equal(s["customer"], sample_file["id"])
    np.testing.assert_array_equal(s["master_customer"], sample_file["master"])
    days = pd.to_datetime(sample_file["date"].astype(str), format="%Y%m%d").to_numpy()
    np.testing.assert_array_equal(s["time"], days.astype("datetime64[us]"))
    np.testing.assert_array_equal(s["quantity"], sample_file["cds"])
    np.testing.assert_array_equal(s["amount"], sample_file["dollars"])
    assert round(float(s["amount"].sum()), 2) == round(float(sample_file["dollars"].sum()), 2)


def test_the_sample_summary_is_the_published_summary():
    published = pd.read_csv(CLV_DATA / "cdnow_customers_summary_with_transactions.csv")
    s = load_cdnow("summary", sample=True)
    np.testing.assert_array_equal(s["customer"], published["ID"])
    np.testing.assert_array_equal(s["frequency"], published["x"])
    # the published file rounds to two decimals
    for ours, theirs in (("recency", "t_x"), ("T", "T"), ("monetary_value", "zbar")):
        np.testing.assert_allclose(s[ours], published[theirs], atol=0.0051, err_msg=ours)


def test_bgnbd_on_the_sample_summary_gives_the_published_estimates():
    # Fader, Hardie & Lee (2005), table 1
    bg = BetaGeo().fit(load_cdnow("summary", sample=True))
    assert {k: round(v, 3) for k, v in bg.params_.items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }


def test_the_holdout_counts_are_purchase_days_after_the_calibration_period(master):
    s = load_cdnow("summary", as_frame="pandas")
    tx = pd.DataFrame({"customer": master["customer"], "day": master["time"]})
    later = tx[tx["day"] > pd.Timestamp(CDNOW_CALIBRATION_END)].drop_duplicates()
    expected = later.groupby("customer").size().reindex(s["customer"], fill_value=0)
    np.testing.assert_array_equal(s["frequency_holdout"], expected.to_numpy())
    # 1997-10-01 .. 1998-06-30: the papers' 39-week holdout
    assert set(s["duration_holdout"]) == {39.0}
    assert len(s) == 23_570


def test_an_earlier_calibration_end_summarises_only_the_customers_seen_by_then(master):
    s = load_cdnow("summary", asof="1997-02-15", unit="D", as_frame="numpy")
    first = pd.Series(master["time"]).groupby(master["customer"]).min()
    assert len(s["customer"]) == int((first <= pd.Timestamp("1997-02-15")).sum())
    assert (
        s["duration_holdout"][0] == (pd.Timestamp("1998-06-30") - pd.Timestamp("1997-02-15")).days
    )


@pytest.mark.parametrize("kind", ["transactions", "summary"])
def test_every_form_holds_the_same_table(kind):
    ref = load_cdnow(kind, sample=True, as_frame="numpy")
    frame = load_cdnow(kind, sample=True)
    assert isinstance(frame, EventFrame if kind == "transactions" else ScoreFrame)
    for got in (
        {c: frame[c] for c in frame.column_names},
        load_cdnow(kind, sample=True, as_frame="pandas"),
        load_cdnow(kind, sample=True, as_frame="polars"),
    ):
        assert sorted(got.keys() if isinstance(got, dict) else got.columns) == sorted(ref)
        for column, values in ref.items():
            theirs = got[column]
            theirs = theirs.to_numpy() if isinstance(theirs, (pd.Series, pl.Series)) else theirs
            np.testing.assert_array_equal(np.asarray(theirs), values, err_msg=column)


def test_loaded_tables_are_copies_a_caller_may_change():
    a = load_cdnow(as_frame="numpy")
    a["amount"][:] = 0.0
    assert load_cdnow(as_frame="numpy")["amount"].sum() > 0


def test_loading_needs_no_network():
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from touchpoint.datasets import load_cdnow\n"
        "print(len(load_cdnow()), len(load_cdnow('summary', sample=True)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["69659", "2357"]


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"kind": "customers"}, "kind"),
        ({"kind": "summary", "unit": "fortnight"}, "unit"),
        ({"as_frame": "excel"}, "as_frame"),
        ({"kind": "summary", "asof": "1998-07-01"}, "asof"),
        ({"kind": "summary", "asof": "last tuesday"}, "asof"),
        ({"kind": "summary", "asof": "1996-12-31"}, "asof"),
    ],
)
def test_bad_arguments_raise_the_librarys_error_naming_them(kwargs, where):
    with pytest.raises(ValidationError) as info:
        load_cdnow(**kwargs)
    assert where in str(info.value)


def test_observation_end_is_the_old_name_of_asof_and_still_works():
    """As in customer_summary: the old keyword gives the same summary, with a warning."""
    with pytest.warns(
        DeprecationWarning, match=r"observation_end=\.\.\.\) is deprecated: use asof="
    ):
        old = load_cdnow("summary", sample=True, observation_end="1997-06-30", as_frame="numpy")
    new = load_cdnow("summary", sample=True, asof="1997-06-30", as_frame="numpy")
    assert old.keys() == new.keys()
    for name in new:
        np.testing.assert_array_equal(old[name], new[name])

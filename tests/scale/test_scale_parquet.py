"""`read_parquet`: a month-partitioned Parquet dataset, in memory and with Dask, same scores."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from daskdata import same_rows

from touchpoint.errors import ValidationError
from touchpoint.frame import EventFrame
from touchpoint.scale import read_parquet
from touchpoint.scoring import rfm

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
# Dask's own Parquet reader calls reset_index(inplace=True), deprecated in pandas 3.1
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")
pytestmark = [pytestmark, pytest.mark.slow]  # a real Dask LocalCluster (tests/scale/conftest.py)

PARIS = "Europe/Paris"
ASOF = "2026-04-01"

# (file, customer, local time in Paris, amount, store): customer 7 has events in both
# January files and in March, customer 9 in January and February
ROWS = [
    ("month=2026-01/part-0.parquet", 7, "2026-01-03T09:30", 10.0, "north"),
    ("month=2026-01/part-0.parquet", 8, "2026-01-04T00:30", 2.5, "south"),
    ("month=2026-01/part-1.parquet", 7, "2026-01-20T18:00", None, "north"),
    ("month=2026-01/part-1.parquet", 9, "2026-01-31T23:45", 4.0, None),
    ("month=2026-02/part-0.parquet", 9, "2026-02-14T12:00", 6.0, "south"),
    ("month=2026-03/part-0.parquet", 7, "2026-03-01T00:15", 1.25, "east"),
    ("month=2026-03/part-0.parquet", 10, "2026-03-30T08:00", 100.0, "east"),
]


def _utc(local: str) -> np.datetime64:
    return np.datetime64(
        pd.Timestamp(local, tz=PARIS).tz_convert("UTC").tz_localize(None).as_unit("us")
    )


def _write(root, rows=ROWS) -> None:
    files: dict[str, list[tuple]] = {}
    for file, *row in rows:
        files.setdefault(file, []).append(row)
    for file, part in files.items():
        cust, local, paid, store = zip(*part, strict=True)
        ts = pd.DatetimeIndex(local).tz_localize(PARIS).as_unit("us")
        table = pa.table(
            {
                "cust_id": pa.array(cust, pa.int64()),
                "ts": pa.array(ts),
                "paid": pa.array(paid, pa.float64()),
                "store": pa.array(store, pa.string()),
                "note": pa.array([f"n{c}" for c in cust], pa.string()),
            }
        )
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / file)


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "events"
    _write(root)
    (root / "_SUCCESS").write_text("")  # written by Spark and friends; skipped
    return root


NAMES = {"customer": "cust_id", "time": "ts", "amount": "paid"}


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["customer", "time"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- in memory


def test_reads_every_file_into_an_event_frame(dataset):
    events = read_parquet(dataset, **NAMES)
    assert isinstance(events, EventFrame)
    assert events.column_names == ["customer", "time", "amount", "store", "note", "month"]
    assert len(events) == len(ROWS)
    assert events.categories["month"].tolist() == ["2026-01", "2026-02", "2026-03"]
    df = _sorted(events.to_pandas())
    want = _sorted(
        pd.DataFrame(
            {
                "customer": [r[1] for r in ROWS],
                "time": [_utc(r[2]) for r in ROWS],
                "amount": [np.nan if r[3] is None else r[3] for r in ROWS],
                "month": [r[0][6:13] for r in ROWS],
            }
        )
    )
    assert df["time"].dtype == "datetime64[us]"  # naive UTC
    assert df["customer"].astype("int64").tolist() == want["customer"].tolist()
    assert df["time"].tolist() == want["time"].tolist()
    np.testing.assert_array_equal(df["amount"].to_numpy(), want["amount"].to_numpy())
    assert df["month"].astype(str).tolist() == want["month"].tolist()
    # the event just before midnight in Paris on 31 January is 22:45 UTC that day
    assert _utc("2026-01-31T23:45") == np.datetime64("2026-01-31T22:45", "us")


def test_one_file_and_standard_names_need_no_keywords(tmp_path):
    table = pa.table(
        {
            "customer": ["C1", "C2", "C1"],
            "time": pa.array(np.array(["2026-01-01", "2026-01-02", "2026-01-03"], "M8[ms]")),
            "amount": pa.array([1, 2, 3], pa.int32()),
        }
    )
    pq.write_table(table, tmp_path / "events.parquet")
    events = read_parquet(tmp_path / "events.parquet")
    assert events.column_names == ["customer", "time", "amount"]
    assert events.categories["customer"].tolist() == ["C1", "C2"]
    assert events["time"].dtype == np.dtype("datetime64[us]")
    assert events["amount"].dtype == np.float64
    assert rfm(events)["monetary"].tolist() == [4.0, 2.0]


# --------------------------------------------------------------------------- with Dask


def test_dask_reads_the_same_events(dataset):
    ddf = read_parquet(dataset, dask=True, **NAMES)
    assert type(ddf).__module__.split(".")[0] == "dask"
    memory = _sorted(read_parquet(dataset, **NAMES).to_pandas())
    assert list(ddf.columns) == list(memory.columns)
    assert str(ddf.dtypes["time"]) == "datetime64[us]"
    assert str(ddf.dtypes["amount"]) == "float64"
    assert ddf.npartitions >= 2
    got = _sorted(ddf.compute())
    assert got["customer"].tolist() == memory["customer"].astype("int64").tolist()
    for column in ("time", "amount"):
        np.testing.assert_array_equal(got[column].to_numpy(), memory[column].to_numpy())
    for column in ("store", "note", "month"):
        assert got[column].astype(object).where(got[column].notna(), None).tolist() == (
            memory[column].astype(object).where(memory[column].notna(), None).tolist()
        )


def test_rfm_on_dask_equals_rfm_in_memory(dataset, client):
    want = rfm(read_parquet(dataset, **NAMES), asof=ASOF).to_pandas()
    got = rfm(read_parquet(dataset, dask=True, **NAMES), asof=ASOF).compute()
    want["customer"] = want["customer"].astype(got["customer"].dtype)
    same_rows(got, want)
    assert want.set_index("customer").loc[7, "frequency"] == 3  # events in three files
    # the default asof (the latest event) is the same on both paths
    same_rows(
        rfm(read_parquet(dataset, dask=True, **NAMES)).compute(),
        rfm(read_parquet(dataset, **NAMES)).to_pandas().astype({"customer": "int64"}),
    )


# --------------------------------------------------------------------------- columns


@pytest.mark.parametrize("dask", [False, True])
def test_columns_by_standard_or_stored_name(dataset, dask):
    events = read_parquet(
        dataset,
        columns=["amount", "cust_id", "month"],
        dask=dask,
        customer="cust_id",
        amount="paid",
    )
    names = events.column_names if not dask else list(events.columns)
    assert names == ["customer", "amount", "month"]  # standard first, partitions last
    n = len(events) if not dask else len(events.compute())
    assert n == len(ROWS)


@pytest.mark.parametrize("dask", [False, True])
def test_renamed_columns_take_the_place_of_stored_ones(tmp_path, dask):
    # the files hold a "customer" column that is not the customer id: customer=
    # names another one, and the stored "customer" column is left out
    pq.write_table(
        pa.table({"customer": ["x", "y"], "account": [1, 2], "when": ["2026-01-01", "2026-01-02"]}),
        tmp_path / "e.parquet",
    )
    events = read_parquet(tmp_path, dask=dask, customer="account", time="when")
    df = events.compute() if dask else events.to_pandas()
    assert list(df.columns) == ["customer", "time"]
    assert df["customer"].astype("int64").tolist() == [1, 2]
    assert df["time"].tolist() == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02")]
    assert str(df["time"].dtype) == "datetime64[us]"


# --------------------------------------------------------------------------- filters


FILTERS = [
    (
        [("month", ">=", "2026-02")],
        {(9, "2026-02-14T12:00"), (7, "2026-03-01T00:15"), (10, "2026-03-30T08:00")},
    ),
    # times: naive values are UTC; 00:15 in Paris on 1 March is 23:15 UTC on 28 February
    ([("time", "<", "2026-02-28T23:30")], {(c, t) for _, c, t, *_ in ROWS if c != 10}),
    ([("time", ">=", dt.datetime(2026, 3, 1, tzinfo=dt.UTC))], {(10, "2026-03-30T08:00")}),
    # one of two groups: customer 8, or January amounts above 5
    (
        [[("customer", "=", 8)], [("month", "=", "2026-01"), ("amount", ">", 5.0)]],
        {(8, "2026-01-04T00:30"), (7, "2026-01-03T09:30")},
    ),
    (
        [("customer", "in", [9, 10]), ("month", "!=", "2026-02")],
        {(9, "2026-01-31T23:45"), (10, "2026-03-30T08:00")},
    ),
]


@pytest.mark.parametrize("dask", [False, True])
@pytest.mark.parametrize(("filters", "want"), FILTERS)
def test_filters_keep_the_same_rows_in_memory_and_with_dask(dataset, dask, filters, want):
    events = read_parquet(dataset, filters=filters, dask=dask, **NAMES)
    df = events.compute() if dask else events.to_pandas()
    got = {(int(c), t) for c, t in zip(df["customer"], df["time"], strict=True)}
    assert got == {(c, pd.Timestamp(_utc(t))) for c, t in want}


# --------------------------------------------------------------------------- errors


def test_no_such_path(tmp_path):
    with pytest.raises(ValidationError, match="no such file or directory") as err:
        read_parquet(tmp_path / "missing")
    assert err.value.problems[0].path == "path"


@pytest.mark.parametrize("dask", [False, True])
def test_a_missing_column_names_the_available_ones(dataset, dask):
    with pytest.raises(ValidationError) as err:
        read_parquet(dataset, dask=dask, customer="cust", time="ts")
    (problem,) = err.value.problems
    assert problem.path == "cust"
    assert "for 'customer'" in problem.message
    assert "'cust_id', 'ts', 'paid', 'store', 'note', 'month'" in problem.message


def test_columns_and_filters_are_checked_before_reading(dataset):
    with pytest.raises(ValidationError) as err:
        read_parquet(dataset, columns=["customer", "amount", "spend"], **NAMES)
    (problem,) = err.value.problems
    assert (problem.path, problem.value) == ("columns[2]", "spend")
    assert "'customer', 'time', 'amount'" in problem.message
    with pytest.raises(ValidationError) as err:
        read_parquet(
            dataset,
            filters=[
                ("region", "=", "x"),
                ("amount", "~", 1),
                ("time", ">", "soon"),
                ("month",),
                ("customer", "in", 7),
            ],
            **NAMES,
        )
    assert [p.path for p in err.value.problems] == [f"filters[{i}]" for i in range(5)]
    messages = [p.message for p in err.value.problems]
    assert messages[0].startswith("no such column")
    assert messages[1].startswith("unknown operator")
    assert messages[2] == "cannot read as a time"
    assert messages[4] == "'in' takes a list of values"
    with pytest.raises(ValidationError, match="non-empty list"):
        read_parquet(dataset, filters=[], **NAMES)


def test_a_directory_without_parquet_files(tmp_path):
    (tmp_path / "notes.parquet").write_text("not parquet")
    with pytest.raises(ValidationError, match="cannot read as Parquet"):
        read_parquet(tmp_path)


def test_importing_the_module_imports_neither_pyarrow_nor_dask():
    code = (
        "import sys, touchpoint.scale._parquet\n"
        "print(' '.join(m for m in ('pyarrow', 'dask', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

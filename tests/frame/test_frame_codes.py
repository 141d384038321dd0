"""factorize: dense codes that round-trip to the values, sorted or in first-appearance order."""

import contextlib

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint._threads import available_cores, set_threads
from touchpoint.frame import _codes, factorize, read_coded


def _check(values, codes, uniques, *, ordered):
    values = list(values)
    assert len(codes) == len(values)
    present = [v for v in values if v is not None]
    assert sorted(set(present)) == sorted(uniques.tolist())
    for v, c in zip(values, codes.tolist(), strict=True):
        if v is None:
            assert c == -1
        else:
            assert uniques[c] == v
    if ordered:
        assert uniques.tolist() == sorted(set(present))
    else:
        first = list(dict.fromkeys(present))
        assert uniques.tolist() == first


@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=40), st.booleans())
def test_strings_object_array(values, sort):
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    codes, uniques = factorize(arr, sort=sort)
    assert codes.dtype == np.int64
    _check(values, codes, uniques, ordered=sort)


@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=40), st.booleans())
def test_strings_arrow(values, sort):
    codes, uniques = factorize(pa.array(values, type=pa.string()), sort=sort)
    _check(values, codes, uniques, ordered=sort)


@given(
    st.lists(st.integers(-(2**62), 2**62), max_size=40) | st.lists(st.integers(-5, 5), max_size=40),
    st.booleans(),
)
def test_integers_small_and_wide_ranges(values, sort):
    codes, uniques = factorize(np.array(values, dtype=np.int64), sort=sort)
    _check(values, codes, uniques, ordered=sort)


def test_floats_nan_and_times_nat_are_missing():
    codes, uniques = factorize(np.array([2.5, np.nan, 1.0, 2.5]))
    assert codes.tolist() == [1, -1, 0, 1]
    assert uniques.tolist() == [1.0, 2.5]
    t = np.array(["2026-01-02", "NaT", "2026-01-01"], dtype="datetime64[us]")
    codes, uniques = factorize(t)
    assert codes.tolist() == [1, -1, 0]


def test_unsigned_and_bool():
    assert factorize(np.array([3, 1, 3], dtype=np.uint8))[0].tolist() == [1, 0, 1]
    assert factorize(np.array([True, False, True]))[0].tolist() == [1, 0, 1]


def test_sort_none_takes_the_cheaper_order():
    assert factorize(np.array([30, 10, 30]), sort=None)[1].tolist() == [10, 30]
    assert factorize(np.array(["b", "a", "b"], dtype=object), sort=None)[1].tolist() == ["b", "a"]
    assert factorize(pa.array(["b", "a", None]), sort=None)[0].tolist() == [0, 1, -1]


# --------------------------------------------------------------------------- fast paths
#
# The large-input paths (hash partitions, packed and hashed strings, Arrow for object
# arrays) switch on above a size; the tests below lower those sizes so that hypothesis'
# small examples take them, and compare with pandas' factorize and numpy's unique.


@contextlib.contextmanager
def fast_paths(*, few: bool | None = None):
    """Every input takes the large-input paths, with partitions and chunks of a few values.

    ``few``: whether the sample says "few distinct values": True sends hashed keys to
    per-chunk tables and object arrays to pandas' hash table, False hashed keys to the
    partitions and object arrays to Arrow; None lets the sample choose (any repeat in a
    short input counts as few).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_codes, "_PARTITION_MIN", 0)
        patch.setattr(_codes, "_PER_PARTITION", 2)
        patch.setattr(_codes, "_ARROW_MIN", 0)
        patch.setattr(_codes, "_STRING_CHUNK", 3)
        patch.setattr(_codes, "_FEW_CHUNK", 3)
        if few is not None:
            patch.setattr(_codes, "_few_distinct", lambda keys: few)
            patch.setattr(_codes, "_few_objects", lambda pd, arr: few)
        yield


def _reference(values, sort):
    """pandas' factorize of an object array: None is missing, order as asked."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    codes, uniques = pd.factorize(arr, sort=sort, use_na_sentinel=True)
    return codes.tolist(), list(uniques)


def _same(got, want):
    codes, uniques = got
    assert codes.dtype == np.int64
    assert (codes.tolist(), uniques.tolist()) == want


WIDE = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=60)
@given(
    st.lists(WIDE, max_size=60)
    | st.lists(st.sampled_from([-(2**63), 0, 2**63 - 1, 7]), max_size=60),
    st.sampled_from([True, False, None]),
    st.sampled_from([1, 2, 3]),
)
@pytest.mark.parametrize("few", [True, False])
def test_wide_integers_partitioned_match_pandas_and_numpy(few, values, sort, threads):
    with fast_paths(few=few):
        arr = np.array(values, dtype=np.int64)
        with set_threads(threads):
            codes, uniques = factorize(arr, sort=sort)
        span = (max(values) - min(values) + 1) if values else 0
        if sort or (sort is None and span <= max(4 * len(values), 1 << 16)):
            want_u, want_c = np.unique(arr, return_inverse=True)  # ascending
        else:  # first appearance: what sort=None gave through pandas' hash table
            want_c, want_u = pd.factorize(arr, sort=False)
        assert codes.tolist() == np.asarray(want_c).tolist()
        assert uniques.tolist() == np.asarray(want_u).tolist() and uniques.dtype == arr.dtype


@settings(max_examples=40)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40), st.booleans())
def test_unsigned_64_bit_integers_order_as_unsigned(values, sort):
    with fast_paths():
        arr = np.array(values, dtype=np.uint64)
        codes, uniques = factorize(arr, sort=sort)
        want_c, want_u = pd.factorize(arr, sort=sort)
        assert codes.tolist() == want_c.tolist()
        assert uniques.tolist() == want_u.tolist() and uniques.dtype == np.uint64


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_narrow_integers_spanning_their_whole_type(dtype):
    info = np.iinfo(dtype)
    arr = np.array([info.max, info.min, 0, info.max], dtype=dtype)
    codes, uniques = factorize(arr)
    assert codes.tolist() == [2, 0, 1, 2]
    assert uniques.tolist() == [info.min, 0, info.max] and uniques.dtype == dtype


def test_sort_none_keeps_first_appearance_for_widely_spread_integers():
    ids = np.array([9_000_000_000_001, 1_000_000_000_007, 9_000_000_000_001, 5])
    assert factorize(ids, sort=None)[1].tolist() == [9_000_000_000_001, 1_000_000_000_007, 5]
    assert factorize(ids, sort=None)[0].tolist() == [0, 1, 0, 2]


TEXT = st.text(alphabet=st.sampled_from(["a", "b", "é", "中", "\x00", "Z", "0"]), max_size=20)
SHORT = st.text(alphabet="abcAB\x00é", max_size=8)
FIXED = st.text(alphabet="0123456789abcdef", min_size=36, max_size=36)
STRINGS = (
    st.lists(st.one_of(st.none(), TEXT), max_size=40)
    | st.lists(st.one_of(st.none(), SHORT), max_size=40)
    | st.lists(FIXED, max_size=20)
    | st.lists(st.text(max_size=70), max_size=20)
)


@settings(max_examples=150)
@given(
    STRINGS,
    st.booleans(),
    st.sampled_from(
        ["string", "large_string", "object", "str", "sliced", "chunked", "view", "view_sliced"]
    ),
    st.sampled_from([None, True, False]),
)
def test_strings_on_every_path_match_pandas(values, sort, form, few):
    with fast_paths(few=few):
        present = [v for v in values if v is not None]
        if form == "string":
            data = pa.array(values, type=pa.string())
        elif form == "large_string":
            data = pa.array(values, type=pa.large_string())
        elif form == "view":  # polars' layout: short strings inside 16-byte views
            data = pa.array(values, type=pa.string_view())
        elif form == "view_sliced":
            data = pa.array(["pad", *values], type=pa.string_view()).slice(1)
        elif form == "sliced":  # an Arrow slice: offsets do not start at zero
            data = pa.array(["pad", *values, "tail"], type=pa.string()).slice(1, len(values))
        elif form == "chunked":
            half = len(values) // 2
            data = pa.chunked_array([values[:half], values[half:]], type=pa.string())
        elif form == "str":  # numpy unicode: no missing values
            data = np.array(present, dtype=str) if present else np.array([], dtype=str)
            values = data.tolist()  # numpy's str dtype drops trailing NUL characters
        else:
            data = np.empty(len(values), dtype=object)
            data[:] = values
        _same(factorize(data, sort=sort), _reference(values, sort))


@settings(max_examples=30)
@given(st.lists(st.binary(max_size=12), max_size=30), st.booleans())
def test_binary_values_stay_bytes(values, sort):
    with fast_paths():
        codes, uniques = factorize(pa.array(values, type=pa.binary()), sort=sort)
        want = sorted(set(values)) if sort else list(dict.fromkeys(values))
        assert uniques.tolist() == want
        assert all(isinstance(u, bytes) for u in uniques)
        assert [uniques[c] for c in codes] == values


def test_object_arrays_of_mixed_types_keep_their_values():
    with fast_paths():
        arr = np.array([b"a", "a", 1, "a", None, b"a"], dtype=object)
        codes, uniques = factorize(arr, sort=False)
        assert codes.tolist() == [0, 1, 2, 1, -1, 0]
        assert uniques.tolist() == [b"a", "a", 1]


def test_nan_and_pandas_na_are_missing_in_object_arrays():
    with fast_paths():
        arr = np.array(["b", float("nan"), pd.NA, "a", None], dtype=object)
        assert factorize(arr)[0].tolist() == [1, -1, -1, 0, -1]


def test_strings_ending_at_the_end_of_the_data_buffer():
    with fast_paths():
        # loads of 8 bytes near the end of Arrow's data buffer must not read past it
        for values in (["a"], ["", "x"], ["abcdefghi", "ab"], ["0123456789abcdef0", "0"]):
            buf = pa.array(values, type=pa.string())
            _same(factorize(buf, sort=False), _reference(values, False))
            _same(factorize(buf, sort=True), _reference(values, True))


def test_a_hash_collision_is_caught_and_the_codes_stay_exact(monkeypatch):
    with fast_paths():
        # every long string hashes alike: the word-by-word check must see it and fall back
        monkeypatch.setattr(_codes._Strings, "hash", lambda self, a, b, words, out: out.fill(7))
        values = ["a much longer string 1", "a much longer string 2", "a much longer string 1"]
        for sort in (True, False):
            _same(factorize(pa.array(values), sort=sort), _reference(values, sort))


def test_dictionary_arrays_keep_their_indices_and_dictionary():
    dictionary = pa.array(["zeta", "alpha", "mid"])
    indices = pa.array([2, 0, None, 1, 2], type=pa.int32())
    array = pa.DictionaryArray.from_arrays(indices, dictionary)
    codes, uniques = factorize(array, sort=None)
    assert codes.tolist() == [2, 0, -1, 1, 2]
    assert uniques.tolist() == ["zeta", "alpha", "mid"]
    codes, uniques = factorize(array, sort=True)
    assert uniques.tolist() == ["alpha", "mid", "zeta"]
    assert [uniques[c] for c in codes.tolist() if c >= 0] == ["mid", "zeta", "alpha", "mid"]


def test_thread_count_changes_no_code_on_large_inputs():
    rng = np.random.default_rng(5)
    n, k = 400_000, 30_000
    pick = rng.zipf(1.3, n) % k  # skewed: a few ids carry most rows
    wide = rng.integers(10**12, 10**13, k)[pick]
    small = pick + 1_000
    cids = np.char.add("C", np.char.zfill(rng.permutation(k).astype(str), 7))[pick]
    long_ids = np.char.add(cids, "-0123456789abcdef")
    # (values, what sort=None means for them)
    inputs = [
        (wide, False),
        (small, True),
        (pa.array(cids), False),
        (pa.array(long_ids), False),
        (cids.astype(object), False),
    ]
    for values, none_sorts in inputs:
        as_objects = list(np.asarray(values, dtype=object))
        for sort in (True, False, None):
            with set_threads(1):
                one = factorize(values, sort=sort)
            with set_threads(max(4, available_cores())):
                many = factorize(values, sort=sort)
            assert np.array_equal(one[0], many[0])
            assert one[1].tolist() == many[1].tolist()
            want = _reference(as_objects, none_sorts if sort is None else sort)
            assert (one[0].tolist(), one[1].tolist()) == want


@settings(max_examples=60)
@given(
    st.lists(st.binary(max_size=9), max_size=30) | st.lists(st.binary(min_size=8, max_size=8)),
    st.booleans(),
)
def test_binary_views_read_from_the_views_match_pandas(values, sort):
    """binary_view arrays of short values (one key per value, read from the views, the
    distinct values rebuilt from their keys): pandas' codes and values, as bytes."""
    with fast_paths():
        _same(
            factorize(pa.array(values, type=pa.binary_view()), sort=sort), _reference(values, sort)
        )


def test_polars_string_ids_are_read_from_their_views_without_a_copy(monkeypatch):
    """A polars String customer column reaches factorize as polars' string views (no
    large_string copy) and gives the same codes as the Arrow string column."""
    seen = []
    real = _codes._short_view_codes
    monkeypatch.setattr(_codes, "_short_view_codes", lambda v, s: seen.append(v.type) or real(v, s))
    ids = ["C0000002", "C0000001", "C0000002", "C0000003"]
    frame = pl.DataFrame({"c": ids})
    cols, cats = read_coded(frame, {"customer": "c"}, categorical=["customer"])
    assert seen == [pa.string_view()]
    assert cols["customer"].tolist() == [0, 1, 0, 2]
    assert cats["customer"].tolist() == ["C0000002", "C0000001", "C0000003"]
    # long ids, or nulls: polars' large_string copy (cheaper than casting the views)
    for ids in (["a" * 20, "b", "a" * 20], ["ab", None, "ab"]):
        cols, cats = read_coded(
            pl.DataFrame({"c": ids}), {"customer": "c"}, categorical=["customer"]
        )
        assert len(seen) == 1
        assert cols["customer"].tolist() == [0, -1 if ids[1] is None else 1, 0]
        assert cats["customer"].tolist() == [v for v in dict.fromkeys(ids) if v is not None]


@pytest.mark.parametrize(
    ("distinct", "skew", "few"),
    [
        (4, False, True),
        (2_000, False, True),
        (20_000, True, True),
        (_codes._CACHE_KEYS // 2, False, True),  # fits the cache-sized table
        (4 * _codes._CACHE_KEYS, False, False),  # would not: partitions
        (4 * _codes._CACHE_KEYS, True, False),  # skewed, yet most rows are rare keys
        (1_000_000, False, False),
    ],
)
def test_the_sample_tells_few_distinct_keys_from_many(distinct, skew, few):
    # the birthday estimate behind _few_distinct: ~m**2 / (2 D) repeats among m sampled
    rng = np.random.default_rng(distinct)
    n = 2_000_000
    if skew:  # lognormal weights, as the benchmarks' customers
        weights = rng.lognormal(0.0, 1.0, distinct)
        pick = rng.choice(distinct, n, p=weights / weights.sum())
    else:
        pick = rng.integers(0, distinct, n)
    keys = rng.integers(0, 2**63, distinct, dtype=np.int64)[pick]
    assert _codes._few_distinct(keys) is few
    objects = np.array([f"id-{k}" for k in range(distinct)], dtype=object)[pick[:200_000]]
    if distinct <= 2_000 or distinct >= 1_000_000:  # a 200k slice still says the same
        assert _codes._few_objects(pd, objects) is few

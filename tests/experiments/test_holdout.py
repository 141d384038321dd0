"""holdout(): a keyed-hash assignment that is deterministic, stable and of the right share."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest

from touchpoint.errors import ValidationError
from touchpoint.experiments import hash_ids, holdout

IDS = [f"C{i:06d}" for i in range(100_000)]


def by_hand(ids, share, salt):
    """The documented rule, one id at a time: BLAKE2b keyed by the salt, first 8 bytes."""
    key = salt.encode()
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(str(i).encode(), key=key, digest_size=8).digest(), "big")
            < share * 2**64
            for i in ids
        ]
    )


def test_the_assignment_is_the_documented_keyed_hash():
    ids = IDS[:5000]
    assert (holdout(ids, share=0.1, salt="care-2026") == by_hand(ids, 0.1, "care-2026")).all()
    assert (holdout(np.arange(3000), share=0.3, salt="s") == by_hand(range(3000), 0.3, "s")).all()


@pytest.mark.parametrize("share", [0.03, 0.1, 0.5])
def test_the_share_held_out_is_within_one_point_on_100k_customers(share):
    assert abs(holdout(IDS, share=share, salt="programme-a").mean() - share) < 0.01


def test_another_salt_reshuffles_independently():
    a = holdout(IDS, share=0.1, salt="rule-1")
    b = holdout(IDS, share=0.1, salt="rule-2")
    assert (a != b).any()
    # independent draws: both held out ~ 0.1 * 0.1 (binomial sd 0.0003 on 100k)
    assert abs((a & b).mean() - 0.01) < 0.0015


def test_the_same_customer_gets_the_same_answer_whatever_else_is_passed():
    full = holdout(IDS, share=0.2, salt="x")
    rng = np.random.default_rng(5)
    order = rng.permutation(len(IDS))
    shuffled = holdout(np.array(IDS, dtype=object)[order], share=0.2, salt="x")
    assert (shuffled == full[order]).all()
    subset = rng.choice(len(IDS), 777, replace=False)
    assert (holdout([IDS[i] for i in subset], share=0.2, salt="x") == full[subset]).all()
    doubled = holdout(IDS[:10] + IDS[:10], share=0.2, salt="x")
    assert (doubled[:10] == doubled[10:]).all()


def test_input_kinds_agree_and_whole_numbers_read_as_integers():
    ids = list(range(2000))
    want = holdout(ids, share=0.3, salt="k")
    assert (holdout(np.array(ids), share=0.3, salt="k") == want).all()
    assert (holdout(pd.Series(ids), share=0.3, salt="k") == want).all()
    assert (holdout(pl.Series(ids), share=0.3, salt="k") == want).all()
    assert (holdout([str(i) for i in ids], share=0.3, salt="k") == want).all()
    assert (holdout(np.array(ids, dtype=float), share=0.3, salt="k") == want).all()
    assert (holdout(ids, share=0.3, salt=b"k") == want).all()


def test_shares_are_nested_and_the_ends_are_exact():
    small, large = (holdout(IDS, share=s, salt="n") for s in (0.05, 0.15))
    assert (small <= large).all()
    assert not holdout(IDS[:100], share=0.0, salt="n").any()
    assert holdout(IDS[:100], share=1.0, salt="n").all()


def test_a_new_process_gives_the_same_assignment():
    code = (
        "from touchpoint.experiments import holdout\n"
        "ids = [f'C{i:06d}' for i in range(5000)]\n"
        "print(''.join('1' if h else '0' for h in holdout(ids, share=0.1, salt='care-2026')))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    here = holdout(IDS[:5000], share=0.1, salt="care-2026")
    assert out == "".join("1" if h else "0" for h in here)


def test_hash_ids_is_big_endian_uint64():
    h = hash_ids(["a"], salt="s")
    assert h.dtype == np.uint64
    assert int(h[0]) == int.from_bytes(
        hashlib.blake2b(b"a", key=b"s", digest_size=8).digest(), "big"
    )


def test_bad_arguments_are_named():
    with pytest.raises(TypeError):
        holdout(IDS[:3], share=0.1)  # no default salt, on purpose
    with pytest.raises(ValidationError, match="salt"):
        holdout(IDS[:3], salt="")
    with pytest.raises(ValidationError, match="salt"):
        holdout(IDS[:3], salt="x" * 65)
    with pytest.raises(ValidationError, match="salt"):
        holdout(IDS[:3], salt=7)
    with pytest.raises(ValidationError, match="share"):
        holdout(IDS[:3], share=1.5, salt="x")
    with pytest.raises(ValidationError, match=r"customers\[1\]"):
        holdout(["a", None], salt="x")

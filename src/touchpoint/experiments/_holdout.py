"""A deterministic holdout (control group) from a keyed hash of each customer id.

Examples
--------
>>> mask = holdout(["C1", "C2", "C3", "C1"], share=0.5, salt="care-2026")
>>> mask.tolist() == holdout(["C1", "C2", "C3", "C1"], share=0.5, salt="care-2026").tolist()
True
>>> bool(mask[0] == mask[3])  # one customer, one answer
True
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import factorize

__all__ = ["hash_ids", "holdout"]

_TWO64 = 2**64


def _key(salt: Any) -> bytes:
    if isinstance(salt, str):
        key = salt.encode("utf-8")
    elif isinstance(salt, bytes):
        key = salt
    else:
        raise ValidationError([Problem("salt", "must be text or bytes", repr(salt))])
    if not key or len(key) > hashlib.blake2b.MAX_KEY_SIZE:
        raise ValidationError(
            [
                Problem(
                    "salt",
                    f"must be 1 to {hashlib.blake2b.MAX_KEY_SIZE} bytes long (as UTF-8)",
                    len(key),
                )
            ]
        )
    return key


def _text(value: Any) -> str:
    """The id as text: a number whole in value reads as an integer (7, 7.0 and "7" agree)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _texts(ids: Any) -> list[str]:
    arr = ids if isinstance(ids, np.ndarray) else np.asarray(list(ids), dtype=object)
    if arr.dtype.kind in "iu":
        return list(map(str, arr.tolist()))
    if arr.dtype.kind == "U":
        return list(arr.tolist())
    return [v if type(v) is str else _text(v) for v in arr.tolist()]


def hash_ids(ids: Any, *, salt: str | bytes) -> np.ndarray:
    """A uint64 per id: the first 8 bytes (big-endian) of BLAKE2b of the id keyed by ``salt``.

    The id's bytes are the UTF-8 of its text (``str(id)``; a float that is a whole
    number reads as that integer). ``ids`` must be distinct values: hashlib works one
    value at a time, so `holdout` hashes each distinct id once.

    >>> int(hash_ids(["C1"], salt="s")[0]) == int.from_bytes(
    ...     hashlib.blake2b(b"C1", key=b"s", digest_size=8).digest(), "big")
    True
    """
    start = hashlib.blake2b(key=_key(salt), digest_size=8)  # the key block, hashed once
    fresh = start.copy

    def digest(text: str) -> bytes:
        h = fresh()
        h.update(text.encode("utf-8"))
        return h.digest()

    # one hash per distinct id: hashlib has no vectorised form
    blob = b"".join([digest(text) for text in _texts(ids)])
    return np.frombuffer(blob, dtype=">u8").astype(np.uint64)


def holdout(customers: Any, *, share: float = 0.1, salt: str | bytes) -> np.ndarray:
    """Which customers are held out (True): a deterministic, salted random assignment.

    Customer ``c`` is held out when the first 8 bytes of ``BLAKE2b(id, key=salt)``, read
    as an unsigned 64-bit integer, are below ``share * 2**64``. So the assignment:

    - depends on the id and the salt only: the same customer is in or out whatever
      else is passed with it, in any order, in any process or machine, and on every
      Python version (no ``hash()``, no random state);
    - is random-like across ids: the held-out share is ``share`` up to sampling noise
      (binomial: about ±0.2 percentage points for 100k customers and ``share=0.1``);
    - is reshuffled by a new salt, independently of the old one;
    - is nested in ``share``: a customer held out at 5% is held out at 10% too.

    Use one salt for a global control group (customers who get no care at all) and a
    salt per rule or campaign (e.g. ``salt=f"{programme}:{rule.code}"``) for per-rule
    holdouts, so different rules hold out different, independent customers.

    Parameters
    ----------
    customers:
        Customer ids: a list, numpy array, pandas / polars Series or Arrow array. Ids
        are read as text (``str(id)``, a whole float as its integer): ``7`` and ``"7"``
        are one customer.
    share:
        The share to hold out, 0 to 1.
    salt:
        Required: text or bytes (1 to 64 bytes). There is no default on purpose: a
        library-wide default would make every user's control groups the same customers.
        Keep it with the programme (e.g. its name and year) and never reuse it for an
        unrelated experiment.

    Returns
    -------
    numpy.ndarray
        A boolean mask aligned with ``customers`` (True: held out, gets no treatment).

    Raises
    ------
    touchpoint.errors.ValidationError
        A missing id (naming its position), a share outside [0, 1], a salt that is not
        text or bytes of 1 to 64 bytes.

    Examples
    --------
    >>> ids = [f"C{i}" for i in range(10_000)]
    >>> out = holdout(ids, share=0.1, salt="loyalty-2026")
    >>> bool(0.09 < out.mean() < 0.11)
    True
    >>> bool((holdout(ids[::-1], share=0.1, salt="loyalty-2026")[::-1] == out).all())
    True
    >>> bool((holdout(ids, share=0.05, salt="loyalty-2026") <= out).all())  # nested
    True
    """
    key = _key(salt)
    if (
        isinstance(share, bool)
        or not isinstance(share, int | float | np.number)
        or not 0.0 <= float(share) <= 1.0
    ):
        raise ValidationError([Problem("share", "must be a number between 0 and 1", share)])
    values = customers.to_numpy() if hasattr(customers, "to_numpy") else customers
    codes, distinct = factorize(values, sort=False)
    if len(codes) and codes.min() < 0:
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValidationError([Problem(f"customers[{row}]", "is missing; every id needs one")])
    if float(share) >= 1.0:
        return np.ones(len(codes), dtype=bool)
    threshold = np.uint64(int(float(share) * _TWO64))
    held = hash_ids(distinct, salt=key) < threshold
    out: np.ndarray = held[codes]  # one hash per distinct id, then one gather
    return out

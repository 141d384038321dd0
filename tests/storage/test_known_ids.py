"""KnownIds: a value's id is usable inside its transaction and kept only after commit."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from touchpoint.storage._known_ids import KnownIds

VALUES = [f"C{i}" for i in range(8)]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("learn"), st.sampled_from(VALUES)),
        st.tuples(st.sampled_from(["commit", "rollback", "clear"])),
        st.tuples(st.just("drop"), st.sampled_from(VALUES)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops=operations, limit=st.integers(0, 10))
@example(ops=[("learn", "C0"), ("commit",), ("learn", "C1"), ("commit",)], limit=1)
def test_a_found_id_is_always_the_values_current_one(ops, limit):
    """As the database hands ids out: a value's id changes only when it was deleted
    (drop, clear) or was new in a transaction that rolled back (a value stored by an
    earlier commit keeps its id through a rolled-back lookup). Whatever the order
    of operations, a lookup finds the current id or nothing, never an old one; the
    open transaction's values are found; a committed transaction's values are all
    found right after it when there were at most ``limit`` of them; a column never
    keeps more than ``limit``."""
    known = KnownIds(limit)
    epoch = dict.fromkeys(VALUES, 0)  # bumped when a value's id may go to another value

    def current(v: str) -> int:
        return 1 + VALUES.index(v) + 100 * epoch[v]

    open_txn: set[str] = set()
    stored: set[str] = set()  # values whose current id a commit made permanent
    for op in ops:
        just_committed: set[str] = set()
        if op[0] == "learn":
            known.learn("customer", [op[1]], [current(op[1])])
            open_txn.add(op[1])
        elif op[0] == "commit":
            known.commit()
            stored |= open_txn
            just_committed, open_txn = open_txn, set()
        elif op[0] == "rollback":
            known.rollback()
            for v in open_txn - stored:  # new in it: the id was never real
                epoch[v] += 1
            open_txn = set()
        elif op[0] == "clear":
            known.clear()
            for v in VALUES:
                epoch[v] += 1
            open_txn, stored = set(), set()
        else:
            known.drop("customer", op[1])
            epoch[op[1]] += 1
            open_txn.discard(op[1])
            stored.discard(op[1])
        found = known.lookup("customer", VALUES).tolist()
        for v, got in zip(VALUES, found, strict=True):
            assert got in (-1, current(v)), (v, got)
            if v in open_txn or (v in just_committed and len(just_committed) <= limit):
                assert got == current(v), v
        assert known.lookup("touchpoint", VALUES).tolist() == [-1] * len(VALUES)
        assert known.size("customer") <= limit


def test_past_the_limit_the_oldest_values_make_room():
    """First in, first out: a full column drops its oldest values for a new commit's, so
    a column with more distinct values than the limit still finds most of them."""
    known = KnownIds(4)
    for values in (["C0", "C1"], ["C2", "C3"], ["C4"]):
        known.learn("customer", values, [int(v[1:]) for v in values])
        known.commit()
    assert known.lookup("customer", VALUES[:6]).tolist() == [-1, 1, 2, 3, 4, -1]
    assert known.size("customer") == 4
    known.learn("customer", VALUES[:6], list(range(6)))  # more than the limit at once
    known.commit()  # is not kept; what was kept stays
    assert known.lookup("customer", VALUES[:6]).tolist() == [-1, 1, 2, 3, 4, -1]

"""KnownIds: a value's id is usable inside its transaction and kept only after commit."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.storage._known_ids import KnownIds

VALUES = [f"C{i}" for i in range(8)]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("learn"), st.sampled_from(VALUES), st.integers(1, 99)),
        st.tuples(st.sampled_from(["commit", "rollback", "clear"])),
        st.tuples(st.just("drop"), st.sampled_from(VALUES)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops=operations, limit=st.integers(0, 10))
def test_lookups_follow_commits_and_rollbacks(ops, limit):
    """Against a plain model: committed ids, plus those of the open transaction; a
    column past ``limit`` starts again from the last transaction's ids."""
    known = KnownIds(limit)
    committed: dict[str, int] = {}
    pending: dict[str, int] = {}
    for op in ops:
        if op[0] == "learn":
            known.learn("customer", [op[1]], [op[2]])
            pending[op[1]] = op[2]
        elif op[0] == "commit":
            known.commit()
            if len(committed) + len(pending) > limit:
                committed = {}
            if len(pending) <= limit:
                committed.update(pending)
            pending = {}
        elif op[0] == "rollback":
            known.rollback()
            pending = {}
        elif op[0] == "clear":
            known.clear()
            committed, pending = {}, {}
        else:
            known.drop("customer", op[1])
            committed.pop(op[1], None)
            pending.pop(op[1], None)
        expected = [committed[v] if v in committed else pending.get(v, -1) for v in VALUES]
        assert known.lookup("customer", VALUES).tolist() == expected
        assert known.lookup("touchpoint", VALUES).tolist() == [-1] * len(VALUES)
        assert known.size("customer") == len(committed) <= max(limit, 0)

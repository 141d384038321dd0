"""`StorageContract.unsupported`: a backend declares an optional part missing, and only that part is skipped.

A backend without the dispatch outbox (the built-in memory storage with its outbox
methods taken back to the base class's ``NotImplementedError``) is run through the
contract three times in a pytest subprocess: declaring ``unsupported = {"outbox"}``
(the outbox tests are skipped with the reason, every other test passes), declaring
nothing (the outbox tests fail: skipping is opt-in, never silent) and declaring a name
that is not an optional part (every test errors, naming the mistake).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from touchpoint.testing import OPTIONAL_PARTS, StorageContract

pytestmark = pytest.mark.slow  # runs the storage contract three times in a pytest subprocess

SUITE = textwrap.dedent(
    """
    import pytest

    from touchpoint.storage import Storage
    from touchpoint.storage.memory import MemoryStorage
    from touchpoint.testing import StorageContract

    OUTBOX = ("enqueue", "due_outbox", "claim_outbox", "renew_outbox", "outbox_sent",
              "outbox_failed", "outbox_held", "outbox")


    class NoOutbox(MemoryStorage):
        locals().update({m: getattr(Storage, m) for m in OUTBOX})  # NotImplementedError

        def export(self, customer):
            # a backend without an outbox exports the rest; the built-in export reads the
            # outbox through the public method, so it reads an empty one here
            self.outbox = lambda state=None, *, customer=None: []
            try:
                return super().export(customer)
            finally:
                del self.outbox


    class Base(StorageContract):
        @pytest.fixture
        def storage(self):
            store = NoOutbox()
            yield store
            store.close()


    class TestDeclared(Base):
        unsupported = {"outbox"}


    class TestUndeclared(Base):
        pass


    class TestTypo(Base):
        unsupported = {"outbx"}
    """
)


def _outcomes(tmp_path) -> dict[str, dict[str, tuple[str, str]]]:
    """class -> test -> (outcome, message), from the subprocess's JUnit XML."""
    (tmp_path / "test_no_outbox.py").write_text(SUITE, encoding="utf-8")
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=600,
    )
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for case in ET.parse(report).iter("testcase"):
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        children = [c for c in case if c.tag in ("skipped", "failure", "error")]
        outcome, message = (
            (children[0].tag, children[0].get("message", "")) if children else ("passed", "")
        )
        out.setdefault(cls, {})[case.get("name", "")] = (outcome, message)
    return out


def test_only_the_declared_optional_part_is_skipped_and_only_when_declared(tmp_path):
    contract = {n for n in vars(StorageContract) if n.startswith("test_")}
    outbox = {n for n in contract if getattr(StorageContract.__dict__[n], "contract_part", None)}
    assert outbox == {n for n in contract if n.startswith("test_outbox_")} and len(outbox) == 8
    assert set(OPTIONAL_PARTS) == {"outbox"}

    runs = _outcomes(tmp_path)

    declared = runs["TestDeclared"]
    assert set(declared) == contract
    for name, (outcome, message) in declared.items():
        if name in outbox:
            assert outcome == "skipped", name
            assert "TestDeclared declares no outbox" in message
            assert "touchpoint.care.dispatch cannot run" in message
        else:
            assert outcome == "passed", (name, message)

    undeclared = runs["TestUndeclared"]
    assert {n for n, (o, _) in undeclared.items() if o == "failure"} == outbox
    assert {n for n, (o, _) in undeclared.items() if o == "passed"} == contract - outbox

    typo = runs["TestTypo"]
    assert set(typo) == contract and {o for o, _ in typo.values()} == {"error"}
    assert all("not optional parts of the storage contract" in m for _, m in typo.values())

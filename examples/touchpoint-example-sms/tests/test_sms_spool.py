"""The example plugin runs touchpoint's channel contract against itself."""

import json

import pytest
from touchpoint_example_sms import SmsSpoolChannel

from touchpoint.testing import ChannelContract


class TestSmsSpoolContract(ChannelContract):
    @pytest.fixture
    def channel(self, tmp_path):
        return SmsSpoolChannel(spool=tmp_path / "spool")

    @pytest.fixture
    def received(self, tmp_path):
        def read():
            files = sorted((tmp_path / "spool").glob("*.json"))
            return [(d["to"], d["text"]) for d in (json.loads(f.read_text()) for f in files)]

        return read

    @pytest.fixture
    def unreachable(self, tmp_path):
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a file where the spool directory should be")
        return SmsSpoolChannel(spool=blocker / "spool")

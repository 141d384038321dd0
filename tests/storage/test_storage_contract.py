"""The built-in storages pass the storage contract of `touchpoint.testing`."""

import pytest

from touchpoint.storage import open_storage
from touchpoint.testing import StorageContract


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self):
        store = open_storage("memory://")
        yield store
        store.close()


class TestSqliteStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path):
        store = open_storage(f"sqlite:///{tmp_path / 'contract.db'}")
        yield store
        store.close()

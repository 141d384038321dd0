"""The PostgreSQL storage passes the storage contract of `touchpoint.testing`, unchanged."""

import pytest

from touchpoint.storage import open_storage
from touchpoint.testing import StorageContract


class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def storage(self, postgres_url):
        store = open_storage(postgres_url)
        yield store
        store.close()

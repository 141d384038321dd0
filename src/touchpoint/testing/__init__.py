"""Test kit for plugin authors: contract suites that a storage or channel plugin runs against itself.

Requires pytest. Subclass `StorageContract` or `ChannelContract` in your tests and
provide the fixtures they name; the built-in backends and channels pass both (see
``tests/storage`` and ``tests/channels`` in touchpoint's repository).
"""

from touchpoint.testing.channel import ChannelContract
from touchpoint.testing.storage import OPTIONAL_PARTS, StorageContract, make_columns

__all__ = ["OPTIONAL_PARTS", "ChannelContract", "StorageContract", "make_columns"]

"""A real ``distributed.LocalCluster`` (two worker processes) for every Dask test.

Every Dask test runs on the cluster, not the synchronous scheduler: scores are pickled
to worker processes and shuffled peer to peer, as they are for a user. Ways to cut data
into partitions are in ``daskdata.py`` (import them with ``from daskdata import ...``).
"""

from __future__ import annotations

import logging

import distributed
import pytest


@pytest.fixture(scope="session")
def client():
    """A client on a LocalCluster of 2 worker processes, one thread each, for the session."""
    # the scheduler (in this process) logs every peer-to-peer shuffle's start and end
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        memory_limit="2GiB",
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()

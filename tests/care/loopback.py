"""A real webhook receiver on loopback for the dispatch tests (stdlib ``http.server``).

It dedupes on ``Idempotency-Key`` the way a production receiver should, and records every
request that reaches it with its arrival time (``time.monotonic``), so tests count what
a customer would really have received.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A webhook receiver that processes each ``Idempotency-Key`` once.

    Parameters
    ----------
    fail_every:
        Every n-th request answers HTTP 500 before processing anything.
    kill_after:
        After processing that many keys, SIGKILL the process ``victim``.
    fail_rate, hang_rate, hang:
        Random faults (seeded): a request hangs ``hang`` seconds and is then processed
        (a slow receiver: the sender has usually given up by then), or answers HTTP 500
        without processing.
    poison:
        Keys always refused with HTTP 400 (not retryable).
    on_process:
        Called with the key when a key is first processed, before the answer is sent.
    """

    def __init__(
        self,
        *,
        fail_every: int = 0,
        kill_after: int = 0,
        fail_rate: float = 0.0,
        hang_rate: float = 0.0,
        hang: float = 0.0,
        poison: frozenset[str] = frozenset(),
        seed: int = 0,
        on_process: Callable[[str], None] | None = None,
    ) -> None:
        self.processed: Counter[str] = Counter()  # first processing of a key
        self.repeats: Counter[str] = Counter()  # the same key processed again (dropped)
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)
        self.customers: dict[str, str] = {}
        self.requests = 0
        self.hung = 0
        self.victim: int | None = None
        self.killed = threading.Event()
        self.lock = threading.Lock()
        rng = random.Random(seed)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _process(self, key: str) -> None:
                with receiver.lock:
                    if receiver.processed[key]:
                        receiver.repeats[key] += 1
                        return
                    receiver.processed[key] += 1
                    if on_process is not None:
                        on_process(key)
                    if kill_after and sum(receiver.processed.values()) == kill_after:
                        os.kill(receiver.victim, signal.SIGKILL)
                        receiver.killed.set()

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                payload = json.loads(body)
                assert payload["contact_id"] == key
                with receiver.lock:
                    receiver.requests += 1
                    receiver.arrivals[key].append(time.monotonic())
                    receiver.customers[key] = payload["customer"]
                    roll = rng.random()
                    nth = receiver.requests
                if key in poison:
                    code = 400
                elif fail_every and nth % fail_every == 0:
                    code = 500
                elif roll < hang_rate:
                    with receiver.lock:
                        receiver.hung += 1
                    time.sleep(hang)
                    self._process(key)
                    code = 200
                elif roll < hang_rate + fail_rate:
                    code = 500
                else:
                    self._process(key)
                    code = 200
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up (timed out or was killed)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

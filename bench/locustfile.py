"""Locust users for bench/peers.py: one GET of / in a loop, no wait time.

    locust -f bench/locustfile.py FastUser --headless -u 16 -r 16 -t 10s \\
           -H http://127.0.0.1:PORT

Locust's own percentiles are rounded to whole milliseconds, too coarse for
a loopback target, and its --csv stats file is written once a second, not
at the end.  So when HAMMER_BENCH_LATENCIES names a file, every request's
exact response time (Locust's own measurement, in ms) is kept, and written
there as JSON when Locust quits, with the failures and the span from the
first request's start to the last one's end (time.time() seconds).
"""

import json
import os
import time

from locust import FastHttpUser, HttpUser, constant, events, task

LATENCIES_FILE = os.environ.get("HAMMER_BENCH_LATENCIES")
latencies_ms = []


class FastUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")


class PlainUser(HttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")


if LATENCIES_FILE:
    span = [float("inf"), 0.0]      # first start, last end
    failures = [0]

    @events.request.add_listener
    def keep(response_time, exception, **kwargs):
        end = time.time()
        if exception is None:
            latencies_ms.append(response_time)
        else:
            failures[0] += 1
        span[0] = min(span[0], end - response_time / 1e3)
        span[1] = end

    @events.quitting.add_listener
    def dump(**kwargs):
        with open(LATENCIES_FILE, "w") as f:
            json.dump({"latencies_ms": latencies_ms, "failures": failures[0],
                       "first_start": span[0], "last_end": span[1]}, f)

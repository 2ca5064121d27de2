"""A locustfile, run as it is by hammer (or by Locust itself).

    python hammer.py -f examples/locustfile.py -H http://127.0.0.1:8000 \
        -u 10 -r 5 -t 1m

Shoppers log in once (with catch_response: the login's 302 is followed to
/items, each hop a row), then browse three times as often as they
comment; a Checker, one in five users, reads the JSON API through
FastHttpUser's rest().  hammer gives the file its own `locust` module:
see README.md, Locustfiles.
"""

import re

from locust import FastHttpUser, HttpUser, SequentialTaskSet, between
from locust import constant, task

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Comment(SequentialTaskSet):
    """Open an item, then comment on it, then back to browsing."""

    @task
    def open_item(self):
        self.item = self.user.rng_item()
        page = self.client.get("/items/%d" % self.item, name="/items/[id]")
        self.token = CSRF.search(page.text).group(1)

    @task
    def comment(self):
        with self.client.post("/items/%d/comment" % self.item,
                              name="/items/[id]/comment",
                              data={"text": "nice one", "csrf": self.token},
                              catch_response=True) as response:
            if "comment saved" not in response.text:
                response.failure("comment not saved")
        self.interrupt()


class Shopper(HttpUser):
    weight = 4
    wait_time = between(0, 0.01)
    tasks = {Comment: 1}

    def on_start(self):
        self.count = 0
        token = CSRF.search(self.client.get("/login").text).group(1)
        with self.client.post("/login", catch_response=True, data={
                "user": "shopper", "password": "shopper-secret",
                "csrf": token}) as response:
            if not response.url.endswith("/items"):
                response.failure("login failed")

    def rng_item(self):
        self.count += 1
        return 1 + self.count % 5

    @task(3)
    def browse(self):
        self.client.get("/items")
        self.client.get("/items/%d" % self.rng_item(), name="/items/[id]")


class Checker(FastHttpUser):
    weight = 1
    wait_time = constant(0)

    @task
    def api(self):
        with self.rest("GET", "/json") as response:
            assert response.js["ok"] is True, response.js

"""User group 1: reads the list page and one item page."""

import time


class Transaction(object):
    def __init__(self, user):
        self.user = user
        self.custom_timers = {}

    def run(self):
        start = time.time()
        self.user.get("/items")
        self.user.get("/items/%d" % self.user.rng.randint(1, 5),
                      name="/items/[id]")
        self.custom_timers["Browse"] = time.time() - start

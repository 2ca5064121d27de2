"""multi-mechanize's shape: a class Transaction.

    python hammer.py http://127.0.0.1:8000/ --script examples/transaction.py \
        -c 10 --runtime 1m

__init__ runs once per user and run() once per iteration.  hammer records
each run() as a timer row named after this script, transaction.py:transaction,
and then each entry of self.custom_timers (name: seconds) as a timer row of
that name.  A
multi-mechanize script that times its own urllib.request calls runs as it
is; this one sends its requests through user, so that they are rows too.
"""

import time


class Transaction(object):
    def __init__(self, user):
        self.user = user
        self.custom_timers = {}

    def run(self):
        start = time.time()
        self.user.get("/items")
        self.custom_timers["Items_List"] = time.time() - start

        start = time.time()
        page = self.user.get("/items/2")
        self.custom_timers["Item_Page"] = time.time() - start
        assert "Item 2" in page.text, "wrong item page"

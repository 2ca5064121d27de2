"""User group 2: logs in once, then comments on an item."""

import re
import time

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Transaction(object):
    def __init__(self, user):
        self.user = user
        self.custom_timers = {}
        name = "user%d" % user.index
        token = CSRF.search(user.get("/login").text).group(1)
        user.post("/login", data={"user": name, "password": name + "-secret",
                                  "csrf": token})

    def run(self):
        start = time.time()
        page = self.user.get("/items/3")
        token = CSRF.search(page.text).group(1)
        self.user.post("/items/3/comment",
                       data={"text": "first!", "csrf": token})
        self.custom_timers["Comment"] = time.time() - start

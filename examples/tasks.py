"""A Locust-like script: a login in on_start, then weighted tasks.

    python hammer.py http://127.0.0.1:8000/ --script examples/tasks.py \
        --data-file examples/users.csv -c 10 --runtime 1m

Each user logs in once, with its own row of users.csv (user.data), and
then runs one task per iteration: browse three times as often as comment.
The session cookie from the login stays in user.cookies and goes with
every later request.
"""

import re

import hammer

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def on_start(user):
    form = user.get("/login")
    token = CSRF.search(form.text).group(1)
    user.post("/login", data={"user": user.data["user"],
                              "password": user.data["password"],
                              "csrf": token})


@hammer.task(3)
def browse(user):
    user.get("/items")
    item = user.rng.randint(1, 5)
    # name= groups /items/1 ... /items/5 under one name in the results
    user.get("/items/%d" % item, name="/items/[id]")


@hammer.task(1)
def comment(user):
    item = user.rng.randint(1, 5)
    page = user.get("/items/%d" % item, name="/items/[id]")
    token = CSRF.search(page.text).group(1)
    saved = user.post("/items/%d/comment" % item, name="/items/[id]/comment",
                      data={"text": "nice one", "csrf": token})
    if "comment saved" not in saved.text:
        saved.fail("comment not saved")     # the row's error becomes check

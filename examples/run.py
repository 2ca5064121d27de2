"""The simplest script: run(user), called once per iteration.

    python hammer.py http://127.0.0.1:8000/ --script examples/run.py \
        -c 20 --runtime 1m --think 1:3

Each iteration reads the list page and one item, timed together as
"browse", then checks the JSON API.  A failed assert becomes a row with
the error check, and the user goes on with its next iteration.
"""


def run(user):
    with user.timer("browse"):
        user.get("/items")
        user.get("/items/%d" % user.rng.randint(1, 5), name="/items/[id]")

    response = user.get("/json")
    assert response.json()["ok"], "the API says it is not ok"

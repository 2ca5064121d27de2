"""bench/peers.py's hammer-script tool: one task, one GET of / in a loop,
no think time.  The same user as FastUser in bench/locustfile.py:

    python3 hammer.py http://127.0.0.1:PORT/ --script bench/scenario_task.py
"""

import hammer


@hammer.task
def index(user):
    user.get("/")

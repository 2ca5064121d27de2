#!/usr/bin/env python3
"""hammer: a single-file HTTP load generator (Python standard library only).

Usage:

    python hammer.py URL [--interval S] [--runtime S] [--rampup S]
                         [-p PROCESSES] [-t THREADS | -c CONCURRENCY] ...
    python hammer.py URL --rate R [-c IN_FLIGHT] [--fail-if 'p99<250ms'] ...
    python hammer.py URL --script flow.py [-c USERS] [--data-file users.csv]
    python hammer.py URL --script a.py:30 --script b.py:10 ...
    python hammer.py [URL] --project DIR    (a multi-mechanize project)
    python hammer.py -f locustfile.py -H URL -u 50 -r 10 -t 5m  (Locust's)
    python hammer.py [URL] --targets targets.txt ...
    python hammer.py [URL ...] --web [HOST:PORT] [--web-keep]
    python hammer.py --import login.har [--import-out login.py]
    python hammer.py URL --replay access.log [--replay-speed 2]
    python hammer.py --demo

Work is split over worker processes; in each, one event loop drives its
simulated users (--engine loop), or each user is a thread of its own
(--engine threads, and always for scripts).  In the closed model (the default) a user
sends a request, waits for the whole response, pauses --think, and goes
again, at most once every --interval seconds start to start, until
--runtime is over.  Users start on a linear ramp-up: with N users in all,
user g starts at g * rampup / N; --stages, --cycles and --sizing shape the
users over time instead.  With --rate the model is open: R requests per
second in all at evenly spaced instants, whatever the server does, and
latency is also measured from each intended instant.  Every request
becomes one row of the CSV output (results.csv), written as the test runs;
at the end a summary gives throughput, latency percentiles over every
response, status codes and transport errors.  Time options take 30, 30s,
500ms, 5m or 1h.

A --script is a user flow in Python: @hammer.task functions picked by
weight, a run(user) function, or multi-mechanize's class Transaction;
a locustfile (-f) runs as it is, on hammer's own locust module.
One call is one iteration, and -n, --interval, --think, --rate and the
stages count iterations.  The user object sends requests (user.get(...),
user.post(...)) with cookies kept per user, times blocks (with
user.timer("name"):) and fails responses (response.fail("why")); every
request, timer and failed task is a row, named in the CSV's method and
name columns, and the summary gives each name's figures.  Scripts whose
requests name whole URLs need no URL on the command line.  A --targets
file (vegeta's http format) lists requests picked by weight.

Errors are counted as k6 and Locust count them: transport errors,
responses of status 400 and more (but those --ok-status accepts, or a
script: ok_status=, response.accept()), the responses a script failed
(response.fail()) and the iterations that raised (a task's row, carrying
the exception's type); the summary breaks them down by 4xx, 5xx,
transport kind, checks and tasks.  A request is never sent
twice: once sent, any failure is its row.  --timeout bounds every wait of
a request: connect, send and read.

--import writes a script from a recording and sends nothing: a HAR file
becomes one task, the browser's flow, whose values that responses gave
and later requests send back (CSRF tokens, ids) are read from the live
responses; curl commands become a task each; an access log a weighted
--targets file.  --replay sends an access log's requests at their
recorded instants (divided by --replay-speed), as --rate sends its slots.

--monitor samples hosts' CPUs, cores, memory, network, disks and named
processes through the run (local /proc, any host's over ssh with nothing
installed, or a node_exporter), beside the generator's own (always, with
--monitor), into <output>.monitor.csv; the summary then names the
bottleneck (which resource of which host was saturated when the run
degraded, the generator blamed first) and says whether the run can be
trusted; --fail-if trusted exits 3 when it cannot.

--web serves a live view on 127.0.0.1:8089: a page that starts runs (as
the same command lines would), shows each second's figures, changes the
users or the rate mid-run through the stages, and stops a run as Ctrl+C
does; and /metrics for Prometheus.  Beyond loopback its POSTs need a
token.

Exit codes: 0 run complete, 1 run failed (target unreachable at start,
output not writable, a worker failed, no request made), 2 bad usage (also
more users than the box can hold), 3 a --fail-if threshold failed, 130
interrupted by SIGINT (Ctrl+C), 143 stopped by SIGTERM.

The code's sections, top to bottom, each under a `# --- ...` banner:

    constants
    errors, durations, users and nodes
    load shapes: stages, rates and pacing
    statistics: histograms, errors and counters
    thresholds: --fail-if
    rows: results.csv's lines and names
    URLs and requests
    the summary: what a run prints and records
    monitoring: /proc and node_exporter samples, the verdicts
    scenario inputs: targets files, projects, data files
    --targets FILE: vegeta's http format
    --project DIR: a multi-mechanize project
    --data-file FILE.csv
    recordings: HAR files, curl commands and access logs
    --import FILE: a recording into a script or a targets file
    --replay LOG: an access log's requests at their recorded instants
    --script FILE[:USERS] groups
    --max-body SIZE
    HTTP/1.1 client: the response reader and the one exchange
    scenarios: scripts and their users
    locustfiles: hammer's own locust module
    users: the loop every user runs
    the event loop: one thread drives every user of a process
    workers: processes, their users and their rows
    the run
    many machines: --hosts over the system's ssh
    --monitor: the samplers over /proc, ssh and node_exporter
    the live view: --web and /metrics
    the demo target
    command line
    main
"""

import argparse
import array
import base64
import bisect
import calendar
import collections
import collections.abc
import configparser
import csv
import datetime
import errno
import heapq
import io
import itertools
import json
import math
import multiprocessing
import operator
import os
import re
import select
import selectors
import signal
import socket
import ssl
import stat
import struct
import sys
import threading
import time
import traceback
from urllib.parse import (quote, quote_plus, unquote, urlencode, urljoin,
                          urlsplit)

__version__ = "0.1.0"


# --- constants ---------------------------------------------------------------

DEFAULT_RUNTIME_S = 60.0
DEMO_RUNTIME_S = 5.0
DEMO_REFERENCE_RPS = 91702  # README's How fast: -p 1 -t 16, one core, nginx
DEFAULT_THREADS = 10
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_OUTPUT = "results.csv"
DEFAULT_CYCLE_S = 60.0
DEFAULT_SIZING_MAX = 500
DEFAULT_SIZING_S = 300.0
DEFAULT_SIZING_WINDOW_S = 10.0
DEFAULT_SIZING_SLO = "errors<5%"
SIZING_PLATEAU_GROWTH = 0.10    # --sizing's plateau: throughput grew less
                                # than this share while the load grew
SIZING_LOAD_GROWTH = 0.20       # by at least this share (and latency grew)
ARRIVALS = ("uniform", "poisson")
LATE_S = 0.001                  # a send this long after its slot is late
LATE_WARN_S = 0.010             # a p99 lateness above this is a warning,
RATE_SHORT_RATIO = 0.99         # and so is a sent rate below this share
MAX_DURATION_S = 1e6            # longest time option: 11.6 days
MAX_USERS = 1000000             # the most users a stage may ask for
MAX_RATE_RPS = 1e7              # the highest rate --rate may ask for
FLUSH_PERIOD_S = 0.25           # a worker writes its rows at least this often
LOOP_TICK_S = 0.01              # the event loop writes its rows this often,
LOOP_FLUSH_ROWS = 128           # or when this many wait: the loop, and the
                                # responses that come meanwhile, wait for the
                                # batch (p99 at 16 users: 300 us; 820 us with
                                # 10 ms batches, at 88,000 req/s)
OPEN_FLUSH_PERIOD_S = 0.02      # and this often under --rate: a flush holds
                                # the GIL for its batch, and users waking for
                                # their slots wait for it (p99 lateness at
                                # 10,000 req/s: 7.2 ms with 0.25 s, 1.5-3.8 ms)
PROGRESS_PERIOD_S = 1.0         # workers report counters, the TTY line updates
SIZING_PERIOD_S = 0.25          # how often they report under --sizing
PROGRESS_PLAIN_PERIOD_S = 5.0   # plain progress lines when stderr is no TTY
STOP_POLL_S = 0.1               # how often a worker looks at the stop flag
WORKER_START_TIMEOUT_S = 120.0  # spawn, and many threads, may take a while
SATURATION_CPU_RATIO = 0.9      # a worker busier than this is the bottleneck
STARVED_IDLE_RATIO = 0.2        # hammer's CPUs less idle than this, and
STARVED_OTHERS_RATIO = 0.25     # other processes using this share of them:
                                # hammer got less CPU than it wanted
SATURATION_MIN_S = 1.0          # shorter runs are not judged
RECV_SIZE_B = 65536
FIRST_RECV_B = 4096     # a response's first read: its head and a small body;
                        # a user waiting for a response holds this much
MAX_HEAD_B = 65536      # a longer response head is a protocol error (wrk's
                        # parser allows 80 kB)
MAX_CHUNK_LINE_B = 4096     # a chunk-size line, with its extensions
MAX_CHUNK_SIZE_DIGITS = 16  # hex digits of one chunk's size
MAX_LENGTH_DIGITS = 18      # digits of a Content-Length (below 10**18)
SEND_CHUNK_B = 65536    # a request bigger than this is sent in pieces, each
                        # bounded by what is left of the request's timeout
MAX_BODY_B = 64 << 20   # --data @FILE: the biggest request body (64 MiB)
THREAD_STACK_B = 256 << 10  # a user's thread stack (the default is 8 MiB)
USER_MEMORY_B = 40 << 10    # memory per user (-t 2000 measured 27 kB each)
# memory per user of the event loop: 10,000 users in one process peaked at
# 76 MB, 100 at 57 MB (GNU time), about 2 kB each
LOOP_USER_MEMORY_B = 4 << 10
PROCESS_MEMORY_B = 30 << 20  # memory per worker process before its users
FDS_PER_PROCESS = 64        # descriptors a worker needs besides its users
TASKS_PER_PROCESS = 4       # threads a worker runs besides its users
MAX_NODES = 1000            # --node I/N and --hosts: the most nodes
MAX_START_AHEAD_S = 86400.0  # --start-at: at most a day ahead
START_LEAD_S = 1.0          # --hosts: the start goes this far ahead
CLOCK_WARN_S = 0.05         # a node's clock this far off is a warning
CLOCK_PINGS = 5             # round trips that estimate a node's clock
NODE_SETUP_S = 60.0         # --hosts: connect, copy and probe within this
NODE_STOP_S = 30.0          # and stop and report within this, after a stop
USER_AGENT = "hammer/" + __version__
DEFAULT_MONITOR_INTERVAL_S = 1.0
MIN_MONITOR_INTERVAL_S = 0.1
MONITOR_SUFFIX = ".monitor.csv"     # results.csv.monitor.csv
MONITOR_HEADER = "elapsed,host,metric,value\n"
MONITOR_WAIT_S = 10.0       # a monitored host's first sample within this
MAX_SAMPLE_LINES = 20000    # lines of one sample of a host's /proc
MAX_SAMPLE_LINE_B = 1 << 16  # a longer line is cut there
MAX_SAMPLE_B = 4 << 20      # a /proc file or a node_exporter page, at most
LATEST_SAMPLES_MAX = 5000   # the live view reads the newest samples only
BUSY_CPU_PCT = 90.0         # a host's CPUs this busy are saturated,
CORE_BUSY_PCT = 95.0        # and so is one core this busy,
MEM_USED_PCT = 95.0         # memory this used,
SWAP_OUT_MB_S = 1.0         # swap used growing this fast,
NET_USED_RATIO = 0.9        # an interface at this share of its speed,
DISK_BUSY_PCT = 90.0        # a disk this busy,
PROC_BUSY_PCT = 95.0        # a named process at this share of a core
SEND_LAG_WARN_S = 0.010     # a longer send lag makes a run suspect,
HEADROOM_USED_PCT = 80.0    # and so do fds or ports this used
ERRORS_ROSE_PCT = 1.0       # a period with this share of errors (and twice
                            # the first stage's) degraded the run,
P95_RISE_RATIO = 3.0        # and so did a p95 this many times the first's
NO_BOTTLENECK_TEXT = ("no host resource saturated: look inside the"
                      " application (locks, pools, a downstream service)")

# The CSV contract: README.md shows the same block.
CSV_HEADER = ("elapsed,response_time,status,bytes,error,scheduled,method,"
              "name\n")
CSV_COLUMNS = (
    ("elapsed", "seconds from the test's start to when the request was sent"),
    ("response_time", "seconds from just before the request was sent (and"
                      " connected, when it needed a new connection) until"
                      " the last byte of the body arrived"),
    ("status", "HTTP status code; 0 when the request failed in transport;"
               " empty for a timer whose block got no response"),
    ("bytes", "response body bytes received"),
    ("error", "transport error kind for status 0: connect, refused,"
              " timeout, reset, closed, protocol, tls, io; a script's"
              " failure: check, script, redirects; a task's row: the type"
              " of the exception it raised; accepted: a status of 400 or"
              " more that the script accepted; abandoned: a request in"
              " flight when --sizing stopped the run that then timed out"
              " (no error); else empty"),
    ("scheduled", "--rate only (else empty): seconds from the test's start"
                  " to the request's intended send instant, its slot; it"
                  " went out elapsed - scheduled late, and its latency from"
                  " the slot is elapsed - scheduled + response_time"),
    ("method", "the request's method (GET, POST, ...); timer for a timer's"
               " row, task for a task that failed outside any request"),
    ("name", "the request's name (its path without the query, unless the"
             " script names it), the timer's or the task's; quoted as the"
             " csv module quotes"),
)
# A row's first six columns; its method and name follow, as one
# preformatted 'METHOD,name' (name_suffix()).
ROW_FORMAT = "%.6f,%.6f,%d,%d,%s,,"
ROW_FORMAT_OPEN = "%.6f,%.6f,%d,%d,%s,%.6f,"
SETTINGS_SUFFIX = ".json"       # the run's settings: results.csv.json
# An HTTP token (RFC 9110): what a method and a header name are made of.
TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789"
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# What a host name may hold besides non-ASCII letters (which go through IDNA).
HOST_CHARS = frozenset("-._0123456789"
                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Characters a browser percent-encodes in a URL's path and in its query
# (the WHATWG URL standard's path and special-query sets), besides
# controls and non-ASCII.
PATH_ENCODED = frozenset(' "<>`{}')
QUERY_ENCODED = frozenset(' "<>\'')

# Latency histograms count whole microseconds: exactly below 100 ms, and
# to 5 significant digits above, which bounds their keys (latency_key()).
EXACT_BELOW_US = 100000
KEY_DIGITS = 5
KEY_TABLE_US = 1 << 18      # latencies whose key is looked up in a list
LONG_KEYS_MAX = 1 << 16     # longer ones whose key is memoised
# What people read of a percentile: 3 significant digits (shown_latency()).
SHOWN_LATENCY_FORMAT = "%.2e"
PERCENTILES = (50, 90, 95, 99)


# --- errors, durations, users and nodes --------------------------------------


class UsageError(Exception):
    """A user's mistake: main() prints it as one line and exits 2."""


class RunError(Exception):
    """The run cannot go on (target unreachable, output not writable): exit 1."""


DURATION_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text):
    """'30' / '30s' / '500ms' / '5m' / '1h' -> seconds as a float >= 0."""
    value = text.strip().lower()
    scale = 1.0
    for unit in ("ms", "s", "m", "h"):
        if value.endswith(unit):
            value, scale = value[:-len(unit)], DURATION_UNITS_S[unit]
            break
    try:
        seconds = float(value) * scale
    except ValueError:
        raise ValueError("%r is not a duration: use e.g. 30, 30s, 500ms, 5m"
                         " or 1h" % text)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("%r must be a duration >= 0" % text)
    if seconds > MAX_DURATION_S:
        raise ValueError("%r is too long: at most %gs" % (text,
                                                           MAX_DURATION_S))
    return seconds


def split_evenly(total, parts):
    """total split into `parts` whole shares; the remainder goes to the first."""
    share, extra = divmod(total, parts)
    return [share + (1 if i < extra else 0) for i in range(parts)]


def user_numbers(threads_per_process, node=1, nodes=1):
    """Global user numbers of every thread, one list per process.

    Users are numbered round-robin across the processes (process 0's first
    thread is user 0, process 1's first is user 1, ...) so that each
    process ramps up evenly and takes an even share of every quota.  On
    node I of N, the k-th user so numbered is global user I-1 + k*N: the
    nodes' users together are one box's.
    """
    numbers = [[] for _ in threads_per_process]
    g = node - 1
    for j in range(max(threads_per_process, default=0)):
        for i, count in enumerate(threads_per_process):
            if j < count:
                numbers[i].append(g)
                g += nodes
    return numbers


def node_users(users, node, nodes):
    """The global numbers of node `node`'s users, of `users` in all."""
    return list(range(node - 1, users, nodes))


def rampup_offsets(threads_per_process, rampup_s):
    """Start offsets (s) of every thread, one list per process.

    With N users in all, user g starts at g * rampup_s / N.
    """
    total = sum(threads_per_process)
    return [[g * rampup_s / total for g in users]
            for users in user_numbers(threads_per_process)]


def request_quotas(threads_per_process, requests, node=1, nodes=1,
                   users=None):
    """Each thread's share of `requests` in all (None: unbounded), over
    `users` in all (default: these threads')."""
    if requests is None:
        return [[math.inf] * count for count in threads_per_process]
    shares = split_evenly(requests, users or sum(threads_per_process))
    return [[shares[g] for g in numbers]
            for numbers in user_numbers(threads_per_process, node, nodes)]


def user_rng(seed, what, number):
    """A random source of its own for each user (and each process's
    arrivals), the same for the same --seed."""
    import random
    return random.Random("%d-%s-%d" % (seed, what, number))


def parse_node(text):
    """--node 'I/N' -> (I, N), 1 <= I <= N <= MAX_NODES."""
    m = re.match(r"^\s*([0-9]{1,4})/([0-9]{1,4})\s*$", text)
    if m and 1 <= int(m.group(1)) <= int(m.group(2)) <= MAX_NODES:
        return int(m.group(1)), int(m.group(2))
    raise UsageError("--node %r is not I/N with 1 <= I <= N <= %d, as 2/5"
                     % (text, MAX_NODES))


def parse_start_at(text, now):
    """--start-at: epoch seconds, ISO 8601 UTC ('2026-11-22T23:30:00Z',
    with an optional fraction, Z or +00:00) or '+DURATION' from now ->
    epoch seconds.  At most MAX_START_AHEAD_S ahead; a past instant is
    kept (the run starts at once, late)."""
    value = text.strip()
    when = None
    if value.startswith("+"):
        try:
            when = now + parse_duration(value[1:])
        except ValueError:
            pass
    elif re.match(r"^[0-9]{1,12}(\.[0-9]{1,9})?$", value):
        when = float(value)
    else:
        m = re.match(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}"
                     r"(?::[0-9]{2})?)(\.[0-9]{1,9})?(Z|[+-]00:?00)$",
                     value, re.IGNORECASE)
        if m:
            clock = m.group(2) if m.group(2).count(":") == 2 else (
                m.group(2) + ":00")
            try:
                moment = datetime.datetime.strptime(
                    m.group(1) + "T" + clock, "%Y-%m-%dT%H:%M:%S")
            except ValueError:
                moment = None
            if moment is not None:
                when = calendar.timegm(moment.timetuple()) + float(
                    "0" + (m.group(3) or ""))
    if when is None:
        raise UsageError("--start-at %r is not an instant: give epoch seconds"
                         " (1795000000), ISO 8601 UTC (2026-11-22T23:30:00Z)"
                         " or +DURATION from now (+30s)" % text)
    if when - now > MAX_START_AHEAD_S:
        raise UsageError("--start-at %r is more than %gh ahead"
                         % (text, MAX_START_AHEAD_S / 3600))
    return when


def capacity_problem(threads_per_process, limits, engine="threads"):
    """Why this box cannot hold these users, or None.

    limits is what the box allows (box_limits()): "open_files" per
    process, "tasks": how many more threads it can start, "memory_b":
    bytes available; None where unknown.  The event loop (engine "loop")
    starts no thread per user, and a user costs it less memory.
    """
    processes = len(threads_per_process)
    users = sum(threads_per_process)
    most = max(threads_per_process)
    loop = engine == "loop"
    files = limits.get("open_files")
    if files is not None and most + FDS_PER_PROCESS > files:
        return ("%d users in one process need %d open files, and this box"
                " allows %d per process (ulimit -n): use more processes (-p)"
                " or fewer users" % (most, most + FDS_PER_PROCESS, files))
    tasks = limits.get("tasks")
    need = (0 if loop else users) + processes * TASKS_PER_PROCESS
    if tasks is not None and need > tasks:
        return ("%d users in %d processes need %d threads, and this box has"
                " room for %d more: use fewer users"
                % (users, processes, need, max(tasks, 0)))
    memory = limits.get("memory_b")
    need_b = (users * (LOOP_USER_MEMORY_B if loop else USER_MEMORY_B)
              + processes * PROCESS_MEMORY_B)
    if memory is not None and need_b > memory:
        return ("%d users in %d processes need about %s of memory, and %s is"
                " available: use fewer users or processes"
                % (users, processes, format_bytes(need_b),
                   format_bytes(memory)))
    return None


# --- load shapes: stages, rates and pacing -----------------------------------

# A load shape says when requests may go.  Each is a small pure function of
# instants (seconds from the test's start) and plain values; the clock and
# the random source are the caller's.  A plan's load is a tuple of Stages:
# its target (users in the closed model, req/s in the open one) moves
# linearly from `begin` to `end` between start_s and end_s; a stage of no
# length is a step.

Stage = collections.namedtuple("Stage", "start_s end_s begin end")


def parse_level(text, rate):
    """A stage's target: users (a whole number >= 0), or req/s (>= 0)."""
    try:
        value = float(text) if rate else int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= (MAX_RATE_RPS if rate else MAX_USERS):
        if rate:
            raise ValueError("%r is not a rate: a number of req/s from 0 to"
                             " %g" % (text, MAX_RATE_RPS))
        raise ValueError("%r is not a number of users: a whole number from"
                         " 0 to %d" % (text, MAX_USERS))
    return value


def parse_stages(text, rate):
    """'30s:10,2m:50,30s:0' -> [(30.0, 10), (120.0, 50), (30.0, 0)]:
    (duration_s, target) steps.  ValueError says what is wrong."""
    steps = []
    for part in text.split(","):
        duration, sep, level = part.strip().partition(":")
        if not sep or not duration or not level:
            raise ValueError("stage %r is not DURATION:TARGET, as in 30s:10"
                             % part.strip())
        steps.append((parse_duration(duration), parse_level(level, rate)))
    return steps


def parse_levels(text, rate):
    """--cycles '10:20:30' -> [10, 20, 30]."""
    return [parse_level(level.strip(), rate) for level in text.split(":")]


def cycle_steps(levels, cycle_s, rampup_s):
    """FunkLoad's cycles as steps: each level reached over rampup_s, then
    held for cycle_s."""
    steps = []
    for level in levels:
        steps += [(rampup_s, level), (cycle_s, level)]
    return steps


def build_stages(steps, begin=0):
    """(duration_s, target) steps from the target `begin` -> Stages."""
    stages, start = [], 0.0
    for duration, level in steps:
        stages.append(Stage(start, start + duration, begin, level))
        start, begin = start + duration, level
    return tuple(stages)


def ramp_stages(rampup_s, runtime_s, begin, end):
    """The plain shape: from begin to end over rampup_s, then held, all
    cut at runtime_s; with no ramp-up, one stage held at end."""
    if rampup_s <= 0:
        return (Stage(0.0, runtime_s, end, end),)
    if rampup_s >= runtime_s:
        return (Stage(0.0, runtime_s, begin,
                      begin + (end - begin) * runtime_s / rampup_s),)
    return build_stages([(rampup_s, end), (runtime_s - rampup_s, end)], begin)


def stages_end(stages):
    return stages[-1].end_s if stages else 0.0


def target_at(stages, t):
    """The target at instant t (that of the last stage after the end)."""
    for s in stages:
        if t < s.end_s:
            if t < s.start_s:
                return s.begin
            return s.begin + (s.end - s.begin) * (t - s.start_s) / (
                s.end_s - s.start_s)
    return stages[-1].end if stages else 0


def stage_index(stages, t):
    """The index of the stage instant t is in (the last after the end)."""
    for i, s in enumerate(stages):
        if t < s.end_s:
            return i
    return len(stages) - 1


def user_windows(stages, g):
    """When user g (0-based) takes part: [(start_s, stop_s)], the
    instants at which the target is above g.  As the target rises past g
    the user starts; as it falls to g, the user stops."""
    windows = []
    for s in stages:
        a, b, length = s.begin, s.end, s.end_s - s.start_s
        if length <= 0 or (a <= g and b <= g):
            continue
        start, stop = s.start_s, s.end_s
        if a <= g:      # rising past g
            start += (g - a) / (b - a) * length
        elif b <= g:    # falling to g
            stop = s.start_s + (a - g) / (a - b) * length
        if windows and windows[-1][1] >= start:
            windows[-1] = (windows[-1][0], stop)
        else:
            windows.append((start, stop))
    return windows


def arrivals_by(stages, t):
    """Slots due before instant t: the integral of the rate up to t."""
    count = 0.0
    for s in stages:
        if t <= s.start_s:
            break
        length = s.end_s - s.start_s
        span = min(t, s.end_s) - s.start_s
        slope = (s.end - s.begin) / length if length > 0 else 0.0
        count += span * (s.begin + slope * span / 2.0)
    return count


class RateSchedule(object):
    """The open model's clock of slots: slot u (a count of arrivals, 0,
    1, 2...) is due at instant(u), the moment the rate's integral reaches
    u.  Slot 0 is due at the first instant the rate is above 0.

    Each stage with slots is a segment (first slot, slots in it, start_s,
    rate at its start, rate's slope).  instant() remembers the last
    segment it used, as a process's slots mostly fall in one; it is safe
    across threads, since a stale segment is only a miss.
    """

    def __init__(self, stages):
        self.segments = []
        self.firsts = []
        count = 0.0
        for s in stages:
            length = s.end_s - s.start_s
            inside = length * (s.begin + s.end) / 2.0 if length > 0 else 0.0
            if inside > 0:
                self.firsts.append(count)
                self.segments.append((count, inside, s.start_s, s.begin,
                                      (s.end - s.begin) / length))
            count += inside
        self.total = count
        self.segment = self.segments[0] if self.segments else (0, 0, 0, 0, 0)

    def instant(self, u):
        """When slot u is due, or math.inf when it falls past the end."""
        seg = self.segment
        left = u - seg[0]
        if not 0 <= left < seg[1]:
            i = bisect.bisect_right(self.firsts, u) - 1
            if i < 0 or u - self.firsts[i] >= self.segments[i][1]:
                return math.inf
            seg = self.segment = self.segments[i]
            left = u - seg[0]
        _, _, start_s, rate, slope = seg
        if not slope:
            return start_s + left / rate
        if not left:
            return start_s
        # left = rate*x + slope*x^2/2, solved in a stable form
        root = math.sqrt(max(0.0, rate * rate + 2.0 * slope * left))
        return start_s + 2.0 * left / (rate + root)


def process_slots(index, processes, arrivals, rng, quota=math.inf):
    """The slots (arrival counts) process `index` of `processes` sends:
    uniform arrivals take every processes-th slot from `index`, so the
    merged stream is even; poisson ones draw exponential gaps of mean
    `processes` from rng (the processes' streams merge into one Poisson
    stream of mean gap 1).  At most `quota` of them.  The uniform ones
    are a C iterator, whose next() threads may share without a lock."""
    stop = None if quota == math.inf else quota
    if arrivals == "uniform":
        return itertools.islice(itertools.count(index, processes), stop)
    return itertools.islice(poisson_slots(rng, 1.0 / processes), stop)


def poisson_slots(rng, per_slot):
    draw = rng.expovariate
    u = draw(per_slot)
    while True:
        yield u
        u += draw(per_slot)


def next_start(sent, done, interval_s, pause_s):
    """Closed-model pacing: when a user's next request may go, given the
    instant its last one was sent and its response ended.  pause_s
    (--think) comes first, then --interval paces start to start; a start
    later than sent + interval_s is late.  -> (instant, late)"""
    ready = done + pause_s
    due = sent + interval_s
    if ready >= due:
        return ready, interval_s > 0 and ready > due
    return due, False


def parse_span(text):
    """--think: 'S' or 'A:B' -> (low_s, high_s)."""
    low, sep, high = text.partition(":")
    low_s = parse_duration(low)
    high_s = parse_duration(high) if sep else low_s
    if high_s < low_s:
        raise ValueError("%r: the low end is above the high one" % text)
    return low_s, high_s


def parse_rate(text):
    """--rate: 'R' or 'R1:R2' req/s -> (begin, end); R is (0, R), as
    a ramp up to R starts from 0."""
    parts = text.split(":")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise ValueError("%r is not a rate: R or FROM:TO in req/s, as in"
                         " 500 or 100:1000" % text)
    levels = [parse_level(p.strip(), True) for p in parts]
    if levels[-1] <= 0:
        raise ValueError("%r: the rate must end above 0 req/s" % text)
    if len(levels) == 1:
        return 0.0, levels[0]   # a ramp up to R starts from 0
    return levels[0], levels[-1]


class Paced(object):
    """When one closed-model user sends: inside its windows (the stages),
    with --think after each response and --interval start to start.
    Instants are clock() values; rng draws the think times."""

    def __init__(self, t0, windows, end, interval_s, think_s, rng, events):
        self.windows = [(t0 + a, t0 + b) for a, b in windows]
        self.end, self.interval_s, self.events = end, interval_s, events
        self.think_s, self.rng = think_s, rng
        self.i = 0
        # go again at once, no question asked: the plain shape
        self.paced = bool(interval_s or think_s[1] or len(windows) > 1
                          or (windows and self.windows[0][1] < end))

    def first(self):
        return self.windows[0][0] if self.windows else math.inf

    def after(self, sent, done):
        """The instant the next request may go; math.inf for none."""
        low, high = self.think_s
        pause = low if low == high else self.rng.uniform(low, high)
        at, late = next_start(sent, done, self.interval_s, pause)
        if late:
            self.events["late_starts"] += 1
        windows = self.windows
        while at >= windows[self.i][1]:     # the target fell below us
            if self.i + 1 == len(windows):
                stop = windows[self.i][1]
                return stop if stop >= self.end else math.inf
            self.i += 1
            at = max(at, windows[self.i][0])
        return at


class Slots(object):
    """The open model's slots of one process, shared by its users: each
    free user takes the next one and sends at its instant, or at once when
    it is already due (late, never skipped)."""

    paced = True

    def __init__(self, t0, end, schedule, slots, shared):
        self.t0, self.end = t0, end
        self.instant = schedule.instant
        self.slots = slots
        # a generator's next() is not for two threads at once
        self.lock = None if shared else threading.Lock()

    def first(self):
        return self.after(None, None)

    def due_before(self, instant):
        """How many slots no user took are due before instant."""
        n = 0
        while self.after(None, None) < instant:
            n += 1
        return n

    def after(self, sent, done):
        if self.lock is None:
            u = next(self.slots, None)
        else:
            with self.lock:
                u = next(self.slots, None)
        if u is None:
            return math.inf     # its share of -n is sent
        at = self.instant(u)
        return self.end if at == math.inf else self.t0 + at


def open_slots(plan, index, t0, end):
    """The open model: the Slots of worker `index` for a test from t0 to
    end (clock() instants), its share of the node's slots and of -n."""
    i, n = plan.node or (1, 1)
    quota = math.inf
    if plan.requests is not None:
        quota = split_evenly(split_evenly(plan.requests, n)[i - 1],
                             plan.processes)[index]
    # node i's slots are i-1, i-1+n, ...; its process j takes every
    # processes-th of them, from the j-th: one stream of n*processes
    first = i - 1 + n * index
    rng = user_rng(plan.seed, "arrivals", first)
    return Slots(t0, end, RateSchedule(plan.stages),
                 process_slots(first, n * plan.processes, plan.arrivals, rng,
                               quota), plan.arrivals == "uniform")


# --- statistics: histograms, errors and counters -----------------------------

US_TIE = 1e-3   # a scaled time this near a half is rounded by formatting it


def to_us(values):
    """Seconds -> whole microseconds, rounded as the CSV's '%.6f' rounds
    them (to even, on the exact binary value), so that a Histogram counts
    what results.csv says and crunch reads back.  Scaling and adding a
    half is exact but near a half, where the text decides."""
    scaled = [v * 1e6 for v in values]
    us = [int(f + 0.5) for f in scaled]
    for i in [i for i, f in enumerate(scaled)
              if not US_TIE < (f + 0.5) % 1.0 < 1.0 - US_TIE]:
        us[i] = int(("%.6f" % values[i]).replace(".", ""))
    return us


def latency_key(us):
    """A latency's Histogram key, in whole microseconds: the latency
    itself below EXACT_BELOW_US, else rounded to KEY_DIGITS significant
    digits (halves up), so that a decade above holds at most 90,000
    keys.  The same value gets the same key in every process and node."""
    if us < EXACT_BELOW_US:
        return us
    step = 10 ** (len(str(us)) - KEY_DIGITS)
    return (us + step // 2) // step * step


KEYS = []   # KEYS[us] is latency_key(us), one int object a key (key_table())


def key_table(size):
    """KEYS, grown (doubling, up to KEY_TABLE_US) to hold size latencies.
    Its keys are one int object each, which a Histogram's dict compares
    by identity: counting and merging go up to 3 times faster than with
    an int object of each row's, and a list looks them up in C."""
    if size <= len(KEYS):
        return KEYS
    end = min(KEY_TABLE_US, max(size, 2 * len(KEYS)))
    KEYS.extend(range(len(KEYS), min(end, EXACT_BELOW_US)))
    while len(KEYS) < end:      # a run of latencies of one key at a time
        key = latency_key(len(KEYS))
        past = key + 10 ** (len(str(key)) - KEY_DIGITS) // 2
        KEYS.extend([key] * (min(past, end) - len(KEYS)))
    return KEYS


class LongKeys(dict):
    """A latency from KEY_TABLE_US up -> its latency_key(), memoised: at
    most LONG_KEYS_MAX of them (it starts afresh when full)."""

    def __missing__(self, us):
        if len(self) >= LONG_KEYS_MAX:
            self.clear()
        key = self[us] = latency_key(us)
        return key


LONG_KEYS = LongKeys()


def latency_keys(us, most_us):
    """The Histogram keys (latency_key()) of latencies in whole
    microseconds (ints), the greatest most_us, as key_table()'s objects
    where it holds them."""
    if most_us < KEY_TABLE_US:
        return list(map(key_table(most_us + 1).__getitem__, us))
    table, longer = key_table(KEY_TABLE_US), LONG_KEYS
    return [table[u] if u < KEY_TABLE_US else longer[u] for u in us]


def shared_keys(counts):
    """A dict of Histogram keys -> counts, its keys ints or (after JSON)
    their text, with key_table()'s objects for keys where it holds them."""
    keys = list(map(int, counts))
    if keys:
        keys = latency_keys(keys, max(keys))
    return dict(zip(keys, counts.values()))


def packed_ints(values):
    """A list of ints from 0 up -> (the narrowest of the array typecodes
    'B', 'H', 'I', 'L' and 'Q' that holds them, their bytes in it)."""
    try:
        return "B", bytes(values)   # 3 times as fast as an array('B')
    except ValueError:
        pass
    for code in "HIL":
        try:
            return code, array.array(code, values).tobytes()
        except OverflowError:
            pass
    return "Q", array.array("Q", values).tobytes()


def unpacked_ints(code, data):
    """packed_ints()' (typecode, bytes) -> the list of ints."""
    values = array.array(code)
    values.frombytes(data)
    return values.tolist()


def add_counts(counts, theirs):
    """Add the dict of counts theirs to the dict counts, key by key, as
    Counter.update() does, but in C."""
    if not counts:
        dict.update(counts, theirs)
        return
    keys = list(theirs)
    dict.update(counts, zip(keys, map(operator.add, map(
        counts.get, keys, itertools.repeat(0)), theirs.values())))


def shown_latency(seconds, least=0.0, most=math.inf):
    """A percentile as people read it (hammer's summary, crunch's tables):
    rounded to 3 significant digits, then kept within the least and
    greatest latency counted, as hammer has always shown it."""
    return min(max(float(SHOWN_LATENCY_FORMAT % seconds), least), most)


class Histogram(object):
    """Latency histogram over every value, bounded in memory.

    Values (seconds) are counted in whole microseconds, as results.csv
    gives them, under latency_key(): exactly below 100 ms, so that a
    percentile there is the exact nearest-rank value, and to 5
    significant digits above (within 0.005%).  A histogram holds one key
    per distinct microsecond below 100 ms (at most 100,000) and at most
    90,000 per decade above.  min, max and the sum are exact to the
    microsecond.  Histograms from several processes merge by addition.
    """

    __slots__ = ("counts", "n", "total", "min", "max", "tap")

    def __init__(self):
        self.counts = collections.Counter()
        self.n = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0
        self.tap = None     # --web: a Histogram that counts what it counts

    def clear(self):
        self.counts.clear()
        self.n, self.total, self.min, self.max = 0, 0.0, math.inf, 0.0

    def add_many(self, values):
        """Count a list of latencies (seconds), to the microsecond."""
        self.add_us(to_us(values))

    def add_us(self, us):
        """Count a list of latencies in whole microseconds (ints)."""
        if us:
            most = max(us)
            self.add_keyed(latency_keys(us, most), sum(us), min(us), most)

    def add_keyed(self, keys, total_us, least_us, most_us):
        """Count a list of latencies by their latency_keys(), with the
        sum, least and greatest of the latencies themselves (in whole
        microseconds; inf and 0 for none)."""
        self.counts.update(keys)
        self.add_summary(len(keys), total_us, least_us, most_us)
        if self.tap is not None:
            self.tap.add_keyed(keys, total_us, least_us, most_us)

    def add_summary(self, n, total_us, least_us, most_us):
        """Count n latencies by their sum, least and greatest (whole
        microseconds) alone: their keys are the caller's to count."""
        self.n += n
        self.total += total_us / 1e6
        self.min = min(self.min, least_us / 1e6)
        self.max = max(self.max, most_us / 1e6)

    def merge(self, other):
        add_counts(self.counts, other.counts)
        self.n += other.n
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    @property
    def mean(self):
        return self.total / self.n if self.n else 0.0

    def percentile(self, p):
        """Nearest-rank p-th percentile (0 < p <= 100); 0.0 when empty."""
        return self.percentiles([p])[0]

    def sorted_counts(self):
        """(the keys ascending, their counts): two lists."""
        keys = sorted(self.counts)
        return keys, list(map(self.counts.__getitem__, keys))

    def percentiles(self, ps, ordered=None):
        """Several nearest-rank percentiles (0 < p <= 100), in seconds;
        0.0 when empty; ordered is its sorted_counts(), when known.

        The key holding rank r is the first whose cumulative count
        reaches r; its value is clamped to the exact min and max (a key
        above 100 ms is a rounding).
        """
        if not self.n or not self.counts:
            return [0.0 for _ in ps]
        keys, counts = ordered or self.sorted_counts()
        cumulative = list(itertools.accumulate(counts))
        last = len(keys) - 1
        values = []
        for p in ps:
            rank = max(1, int(math.ceil(p / 100.0 * self.n)))
            value = keys[min(bisect.bisect_left(cumulative, rank), last)] / 1e6
            values.append(min(max(value, self.min), self.max))
        return values

    def packed(self, ordered=None):
        """Its data as a tuple of strs, bytes, ints and floats (marshal
        takes it), a fraction of to_dict()'s size: the keys ascending as
        their differences, and their counts, as packed_ints();
        ordered is its sorted_counts(), when known."""
        keys, counts = ordered or self.sorted_counts()
        steps = packed_ints(list(map(operator.sub, keys,
                                     itertools.chain((0,), keys))))
        counts = packed_ints(counts)
        return (steps[0] + counts[0], steps[1], counts[1], self.n,
                self.total, self.min, self.max)

    @classmethod
    def unpacked(cls, data):
        """A Histogram of packed()'s data."""
        codes, steps, counts, n, total, least, most = data
        keys = list(itertools.accumulate(unpacked_ints(codes[0], steps)))
        h = cls()
        if keys:
            keys = latency_keys(keys, keys[-1])
        dict.update(h.counts, zip(keys, unpacked_ints(codes[1], counts)))
        h.n, h.total, h.min, h.max = n, total, least, most
        return h

    def shown_percentiles(self, ps):
        """percentiles() as people read them (shown_latency())."""
        return [shown_latency(v, self.min, self.max)
                for v in self.percentiles(ps)]

    def count_above(self, limit):
        """How many values are above limit (seconds; exact below 100
        ms)."""
        limit_us = limit * 1e6
        return sum(c for k, c in self.counts.items() if k > limit_us)

    def to_dict(self):
        return {"counts": dict(self.counts), "n": self.n, "total": self.total,
                "min": self.min, "max": self.max}

    @classmethod
    def from_dict(cls, data):
        """A Histogram of to_dict()'s data, also after JSON made its
        keys text (--hosts' nodes send their stats as JSON)."""
        h = cls()
        h.counts.update(shared_keys(data["counts"]))
        h.n, h.total = data["n"], data["total"]
        h.min, h.max = data["min"], data["max"]
        return h

    def __reduce__(self):
        """Pickled as its packed(), so that its keys are key_table()'s
        in the process that unpickles it too."""
        return histogram_of, (self.packed(),)


def histogram_of(data):
    return Histogram.unpacked(data)


def corrected_us(rows):
    """Open-model rows -> (how late each went, its latency from its slot),
    in whole microseconds, from the times results.csv gives (elapsed -
    scheduled, and that + response_time), as crunch computes them."""
    late = list(map(operator.sub, to_us([r[0] for r in rows]),
                    to_us([r[5] for r in rows])))
    return late, list(map(operator.add, late, to_us([r[1] for r in rows])))


# The error kinds of a script's own failures (a failed check, an
# exception escaping a timer's block, too many redirects): any other kind
# of a row of status 0 is a transport error's (connect, timeout, reset,
# closed, protocol, ...).  A task's row carries the type of the exception
# it raised.
SCRIPT_KINDS = frozenset(("check", "script", "redirects"))
# The error kind of a response a script accepted (ok_status=,
# response.accept()) although its status is 400 or more: no error.
ACCEPTED = "accepted"
TASK_CLASS = "task"     # the class of a task's rows: iterations that raised

# The error rule, as k6 and Locust count: a row is an error when it failed
# in transport, when its status is ERROR_STATUS_FROM or more (unless
# accepted: by --ok-status, whose statuses are the rule's `ok`, a
# frozenset, or by the script), when a script failed it, or when it is a
# task's row (an iteration that raised).  The settings file records the
# rule ("error_rule", rule_settings()).  A file written before it has
# none and reads under the rule of then, LEGACY_RULE: transport errors,
# 5xx and the script's failures of requests; task rows apart.
ERROR_STATUS_FROM = 400
LEGACY_RULE = None
STATUS_MIN, STATUS_MAX = 100, 999   # what a status line may carry
# The kind of a request in flight when --sizing stopped the run that then
# timed out: hammer gave up on it at the stop, so it is no error of the load.
ABANDONED = "abandoned"


OK_STATUS_RE = re.compile(r"\s*([0-9]{1,9})\s*(?:-\s*([0-9]{1,9})\s*)?$")


def parse_ok_status(text):
    """--ok-status: '404,409', '400-499' or both, comma-separated -> the
    frozenset of statuses.  ValueError says why not."""
    if not text.strip():
        raise ValueError("give statuses, such as 404,409 or 400-499")
    statuses = set()
    for part in text.split(","):
        found = OK_STATUS_RE.match(part)
        first = last = None
        if found:
            first = int(found.group(1))
            last = int(found.group(2) or first)
        if not found or not (STATUS_MIN <= first <= STATUS_MAX
                             and STATUS_MIN <= last <= STATUS_MAX):
            raise ValueError("%r is not a status from %d to %d, nor a range"
                             " of them such as 400-499"
                             % (part.strip(), STATUS_MIN, STATUS_MAX))
        if first > last:
            raise ValueError("%r runs backwards: write it %d-%d"
                             % (part.strip(), last, first))
        statuses.update(range(first, last + 1))
    return frozenset(statuses)


def request_timeout(given):
    """A script's timeout= in seconds; TypeError or ValueError, before
    anything is sent, for what is not seconds above 0."""
    why = "timeout=%r: give seconds above 0, as in timeout=5" % (given,)
    if isinstance(given, bool) or not isinstance(given, (int, float)):
        raise TypeError(why)
    if not 0 < given <= MAX_DURATION_S:
        raise ValueError(why)
    return given


def ok_statuses(given):
    """A script's ok_status= (a status, or a collection of them such as
    (404,) or range(400, 500)) as a collection of statuses; TypeError,
    before anything is sent, for anything else."""
    if isinstance(given, int) and not isinstance(given, bool):
        return (given,)
    if isinstance(given, (str, bytes)) or not isinstance(
            given, collections.abc.Container):
        raise TypeError("ok_status=%r: give a status or a collection of"
                        " them, such as (404,) or range(400, 500)" % (given,))
    return given


def rule_settings(ok):
    """The settings file's "error_rule" for the ok statuses."""
    return {"status_from": ERROR_STATUS_FROM, "ok_status": sorted(ok)}


def rule_of(settings):
    """The error rule a settings file records (its ok statuses, a
    frozenset), or LEGACY_RULE when it records none (written before hammer
    recorded it) or there is no settings file (None)."""
    rule = (settings or {}).get("error_rule")
    if not isinstance(rule, dict):
        return LEGACY_RULE
    return frozenset(s for s in rule.get("ok_status") or ()
                     if isinstance(s, int) and not isinstance(s, bool))


def error_class(status, kind, ok=LEGACY_RULE):
    """The class of errors a row of a request or a timer counts under, ''
    when it is no error: '4xx', '5xx' (any 'Nxx'), 'transport' or
    'script'.  status is the row's (0: no response); kind its error kind,
    '' when it has none, or None when its file has no error column
    (crunch reads those too); ok the rule's accepted statuses, or
    LEGACY_RULE.

    A row the script accepted is no error.  A status of 400 or more not
    in ok is an error of its hundred ('4xx') whatever its kind; under
    LEGACY_RULE only a 5xx is.  Any other row with a kind is the
    script's when the kind is one of SCRIPT_KINDS or the row has a
    status, else a 'transport' error; without an error column, status 0
    is a transport error.  A request abandoned at --sizing's stop (kind
    ABANDONED) is no error either.  Callers classify each distinct status
    and (status, kind) once, never row by row (classify())."""
    if kind == ACCEPTED or kind == ABANDONED:
        return ""
    if ok is LEGACY_RULE:
        if 500 <= status <= 599:
            return "5xx"
    elif status >= ERROR_STATUS_FROM and status not in ok:
        return "%dxx" % (status // 100)
    if kind:
        return "script" if status or kind in SCRIPT_KINDS else "transport"
    return "transport" if kind is None and status == 0 else ""


def classify(plain, kinded, plain_kind="", ok=LEGACY_RULE):
    """Rows by the error class they count under, each distinct value
    classified once by error_class() under the rule ok: plain, a Counter
    of the statuses of the rows without an error kind (their kind is
    plain_kind: '', or None for a file without an error column); kinded,
    a Counter of (status, kind) of the rows with one.  -> (Counter
    {class: rows}, {class: Counter {kind: rows}}), no class ''."""
    classes, kinds = collections.Counter(), {}
    for status, n in plain.items():
        which = error_class(status, plain_kind, ok)
        if which and n:
            classes[which] += n
    for (status, kind), n in kinded.items():
        which = error_class(status, kind, ok)
        if which:
            classes[which] += n
            kinds.setdefault(which, collections.Counter())[kind] += n
    return classes, kinds


def status_classes(classes):
    """The 'Nxx' classes of a Counter of error classes, ascending:
    [(class, rows)]."""
    return sorted((c, n) for c, n in classes.items()
                  if c.endswith("xx") and n)


def kinded_rows(rows):
    """A batch's rows with an error kind -> (a Counter of their (status,
    kind), how many), picked in C."""
    kinded = list(itertools.compress(rows, map(_ERROR_OF, rows)))
    return collections.Counter(zip(map(_STATUS_OF, kinded),
                                   map(_ERROR_OF, kinded))), len(kinded)


def without_kinded(statuses, kinded):
    """The Counter of statuses less those of the kinded rows (kinded:
    a Counter of (status, kind)): the rows without an error kind."""
    if not kinded:
        return statuses
    plain = collections.Counter(statuses)
    for (status, _), n in kinded.items():
        plain[status] -= n
    return plain


# What a user counts of its connections besides its rows.
CONNECTION_EVENTS = (
    ("opened", "opened"),
    ("idle_closed", "closed by the server while idle"),
    ("stray", "closed for bytes beyond a response"),
)


def error_rows(plain, kinded, ok):
    """classify()'s input -> a Counter of (status, kind) of the rows
    that are errors under the rule ok (kind '' for the plain ones)."""
    rows = collections.Counter()
    for status, n in plain.items():
        if n and error_class(status, "", ok):
            rows[status, ""] += n
    for (status, kind), n in kinded.items():
        if error_class(status, kind, ok):
            rows[status, kind] += n
    return rows


class NameStats(object):
    """One name's rows (a request's, a timer's or a task's): their count,
    their errors (an error kind, or a 5xx), their body bytes, a latency
    Histogram over those that did not fail in transport or raise (from
    the slot in the open model, as the totals) and, for a request's, its
    error rows by (status, kind) (error_rows())."""

    __slots__ = ("requests", "errors", "latency", "bytes", "error_kinds")

    def __init__(self):
        self.requests, self.errors, self.latency = 0, 0, Histogram()
        self.bytes = 0
        self.error_kinds = collections.Counter()

    def add(self, rows, open_model, errors, failed, nbytes=0):
        """Count rows of this name, of nbytes body bytes in all: errors
        of them count as errors (classify()), failed have an error
        kind."""
        self.requests += len(rows)
        self.errors += errors
        self.bytes += nbytes
        if open_model:
            self.latency.add_us([c for c, r in zip(corrected_us(rows)[1],
                                                   rows) if r[2] or not r[4]])
            return
        if failed:
            values = [r[1] for r in rows if r[2] or not r[4]]
        else:
            values = list(map(_TIME_OF, rows))
        self.latency.add_many(values)

    def merge(self, other):
        self.requests += other.requests
        self.errors += other.errors
        self.latency.merge(other.latency)
        self.bytes += other.bytes
        self.error_kinds.update(other.error_kinds)

    def to_dict(self):
        return {"requests": self.requests, "errors": self.errors,
                "latency": self.latency.to_dict(), "bytes": self.bytes,
                "error_kinds": [[status, kind, n] for (status, kind), n
                                in sorted(self.error_kinds.items())]}

    @classmethod
    def from_dict(cls, data):
        n = cls()
        n.requests, n.errors = data["requests"], data["errors"]
        n.latency = Histogram.from_dict(data["latency"])
        n.bytes = data.get("bytes", 0)
        n.error_kinds.update(dict(((status, kind), count) for status, kind,
                                  count in data.get("error_kinds", ())))
        return n


def is_http(suffix):
    """Whether a row's 'METHOD,name' is a request's, not a timer's or a
    failed task's."""
    return not suffix.startswith(("timer,", "task,"))


class WorkerStats(object):
    """Counters one worker keeps over its rows; the parent merges them.

    Errors are one thing everywhere, as error_class() says under the rule
    ok (the statuses --ok-status accepts): transport errors (rows of
    status 0), statuses of 400 and more, a script's failures (rows with a
    script's error kind), each row once, counted by class in classes and
    by kind in transport and checked; and tasks' rows (iterations that
    raised), class TASK_CLASS, by the exception's type in tasks.  With
    names (scripts, targets), each row's last item is its 'METHOD,name',
    counted per name in names; the totals count requests only, not timers
    or failed tasks, but their errors count failed tasks too.  Without
    names (URL mode), only rows of status 0 have an error kind.  A
    script's reasons for failing requests (response.fail(why)) are
    counted in reasons, by ('METHOD,name', why).
    """

    __slots__ = ("bytes", "statuses", "unanswered", "classes", "transport",
                 "latency", "events", "corrected", "lateness", "checked",
                 "names", "failures", "tasks", "ok", "reasons", "live")

    def __init__(self, open_model=False, named=False, ok=frozenset()):
        self.bytes = 0
        self.statuses = collections.Counter()   # responses, by status
        self.unanswered = 0                     # rows of status 0
        self.classes = collections.Counter()    # error rows, by class
        self.transport = collections.Counter()  # transport errors, by kind
        self.latency = Histogram()   # over responses (status > 0), as wrk
        self.events = collections.Counter()  # CONNECTION_EVENTS, late_starts
        # the open model's rows carry their slot: the latency from it, over
        # responses, and how late each request went
        self.corrected = Histogram() if open_model else None
        self.lateness = Histogram() if open_model else None
        self.checked = collections.Counter()   # failed by a script, by kind
        self.names = {} if named else None     # 'METHOD,name' -> NameStats
        self.failures = {}  # a script's failures: kind -> [count, text]
        self.tasks = collections.Counter()  # tasks that raised, by type
        self.ok = ok    # the statuses of 400 and more that are no error
        self.reasons = collections.Counter()    # (suffix, why) -> rows
        self.live = None    # --web: the worker's LiveTap

    @property
    def transport_errors(self):
        """Rows of status 0 with a transport error's kind."""
        return self.classes["transport"]

    @property
    def server_errors(self):
        """5xx responses."""
        return self.classes["5xx"]

    @property
    def errors(self):
        return sum(self.classes.values())

    @property
    def judged(self):
        """What the errors' share is of: requests and failed tasks."""
        return self.requests + self.classes[TASK_CLASS]

    @property
    def requests(self):
        return self.unanswered + sum(self.statuses.values())

    def add_rows(self, rows, suffix=None):
        """Count a batch of (elapsed, response_time, status, bytes, error)
        rows, or of (..., scheduled) rows in the open model; with names,
        all of the name suffix ('METHOD,name')."""
        statuses = collections.Counter(map(_STATUS_OF, rows))
        if self.live is not None:
            self.live.count(statuses, suffix)
        derived = False
        nbytes = sum(map(_BYTES_OF, rows))
        if self.names is not None:
            if suffix.startswith("task,"):
                self.add_named(rows, suffix, len(rows), len(rows), nbytes)
                self.count_errors({TASK_CLASS: len(rows)}, {
                    TASK_CLASS: collections.Counter(map(_ERROR_OF, rows))})
                return
            kinded, failed = kinded_rows(rows)
            plain = without_kinded(statuses, kinded)
            classes, kinds = classify(plain, kinded, "", self.ok)
            entry = self.add_named(rows, suffix, sum(classes.values()),
                                   failed, nbytes)
            if not is_http(suffix):
                return
            if classes:
                entry.error_kinds.update(error_rows(plain, kinded, self.ok))
            # closed model: the latency is the requests' names', merged
            # by settle() when it is read
            derived = self.corrected is None
        failures = statuses.pop(0, 0)
        if self.names is None:
            kinded = collections.Counter((0, r[4]) for r in rows
                                         if not r[2]) if failures else {}
            classes, kinds = classify(statuses, kinded, "", self.ok)
        self.count_errors(classes, kinds)
        self.unanswered += failures
        self.statuses.update(statuses)
        self.bytes += nbytes
        if derived:
            pass
        elif failures:
            self.latency.add_many([r[1] for r in rows if r[2]])
        else:
            self.latency.add_many(list(map(_TIME_OF, rows)))
        if self.lateness is not None:
            late, corrected = corrected_us(rows)
            self.lateness.add_us(late)
            self.corrected.add_us([c for c, r in zip(corrected, rows)
                                   if r[2]])

    def count_errors(self, classes, kinds):
        """Count error rows by class, and by kind (classify())."""
        self.classes.update(classes)
        self.transport.update(kinds.get("transport", ()))
        self.checked.update(kinds.get("script", ()))
        self.tasks.update(kinds.get(TASK_CLASS, ()))

    def settle(self):
        """With names, in the closed model: the latency Histogram of the
        requests, from their names' (add_rows() leaves it)."""
        if self.names is not None and self.corrected is None:
            latency = Histogram()
            for suffix, entry in self.names.items():
                if is_http(suffix):
                    latency.merge(entry.latency)
            self.latency = latency

    def add_named(self, rows, suffix, errors, failed, nbytes):
        """Count rows of one name, of nbytes body bytes: errors of them
        are errors, failed have an error kind.  -> its NameStats."""
        entry = self.names.get(suffix)
        if entry is None:
            entry = self.names[suffix] = NameStats()
            if self.live is not None:
                entry.latency.tap = self.live.name(suffix)
        entry.add(rows, self.corrected is not None, errors, failed, nbytes)
        return entry

    @property
    def answered(self):
        """The latency thresholds and summaries judge by: from the slot
        in the open model (wrk2's corrected latency), else service time."""
        return self.latency if self.corrected is None else self.corrected

    def merge(self, other):
        self.bytes += other.bytes
        self.checked.update(other.checked)
        self.tasks.update(other.tasks)
        self.reasons.update(other.reasons)
        if other.names is not None:
            if self.names is None:
                self.names = {}
            for suffix, entry in other.names.items():
                self.names.setdefault(suffix, NameStats()).merge(entry)
        for kind, (count, text) in other.failures.items():
            mine = self.failures.setdefault(kind, [0, text])
            mine[0] += count
        self.statuses.update(other.statuses)
        self.unanswered += other.unanswered
        self.classes.update(other.classes)
        self.transport.update(other.transport)
        self.latency.merge(other.latency)
        self.events.update(other.events)
        if other.corrected is not None:
            if self.corrected is None:
                self.corrected, self.lateness = Histogram(), Histogram()
            self.corrected.merge(other.corrected)
            self.lateness.merge(other.lateness)

    def to_dict(self):
        self.settle()
        data = {"bytes": self.bytes, "statuses": dict(self.statuses),
                "unanswered": self.unanswered, "classes": dict(self.classes),
                "transport": dict(self.transport),
                "latency": self.latency.to_dict(),
                "events": dict(self.events), "checked": dict(self.checked),
                "tasks": dict(self.tasks), "failures": self.failures,
                "reasons": [[suffix, why, n] for (suffix, why), n
                            in sorted(self.reasons.items())]}
        if self.names is not None:
            data["names"] = dict((k, v.to_dict())
                                 for k, v in self.names.items())
        if self.corrected is not None:
            data["corrected"] = self.corrected.to_dict()
            data["lateness"] = self.lateness.to_dict()
        return data

    @classmethod
    def from_dict(cls, data):
        s = cls("corrected" in data, "names" in data)
        s.bytes = data["bytes"]
        s.checked.update(data.get("checked", {}))
        s.tasks.update(data.get("tasks", {}))
        s.reasons.update(dict(((suffix, why), n) for suffix, why, n
                              in data.get("reasons", ())))
        s.failures = dict((k, list(v))
                          for k, v in data.get("failures", {}).items())
        for suffix, entry in data.get("names", {}).items():
            s.names[suffix] = NameStats.from_dict(entry)
        s.statuses.update(dict((int(k), v)    # JSON's keys are text
                               for k, v in data["statuses"].items()))
        s.unanswered = data["unanswered"]
        s.classes.update(data["classes"])
        s.transport.update(data["transport"])
        s.latency = Histogram.from_dict(data["latency"])
        s.events.update(data["events"])
        if "corrected" in data:
            s.corrected = Histogram.from_dict(data["corrected"])
            s.lateness = Histogram.from_dict(data["lateness"])
        return s


def error_kinds(stats):
    """A WorkerStats' errors by kind, /metrics' hammer_errors_total: the
    transport errors' and the script's failures' kinds, 'Nxx' for
    statuses, 'task' for the iterations that raised; they add up to its
    errors."""
    kinds = collections.Counter(stats.transport)
    kinds.update(stats.checked)
    for which, n in stats.classes.items():
        if which.endswith("xx") and n:
            kinds[which] += n
    if stats.classes[TASK_CLASS]:
        kinds[TASK_CLASS] += stats.classes[TASK_CLASS]
    return dict(kinds)


class LiveTap(object):
    """--web: a worker's rows as the live view reads them each second
    (take()).  The rows' latencies reach it through the taps of the
    worker's Histograms (Histogram.tap), in the flush that counts them,
    never in a user's thread: the answered latency (from the slot under
    --rate, with the service time apart), and each name's.  rows counts
    every row by name and status, since the start."""

    def __init__(self, open_model, suffix=None):
        self.answered = Histogram()
        self.service = Histogram() if open_model else None
        self.names = {}     # 'METHOD,name' -> Histogram since take()
        self.rows = {}      # 'METHOD,name' -> Counter of statuses
        self.suffix = suffix    # the one name's, without names

    def attach(self, stats):
        """Tap a WorkerStats' Histograms (its names' tap as they come)."""
        stats.live = self
        if stats.corrected is not None:
            stats.corrected.tap = self.answered
            stats.latency.tap = self.service
        elif stats.names is None:
            stats.latency.tap = self.answered

    def name(self, suffix):
        return self.names.setdefault(suffix, Histogram())

    def count(self, statuses, suffix):
        """Count a batch of rows of one name (None: the one name) by
        their statuses (a Counter, which add_rows() makes anyway)."""
        mine = self.rows.get(suffix or self.suffix)
        if mine is None:
            mine = self.rows[suffix or self.suffix] = collections.Counter()
        mine.update(statuses)

    def take(self, stats):
        """What the rows add up to (JSON's types): by name and status, and
        errors by kind, since the start; the latency Histograms (to_dict())
        of the rows since the last take(), which it clears."""
        answered = self.answered
        if stats.names is not None and stats.corrected is None:
            answered = Histogram()
            for suffix, hist in self.names.items():
                if is_http(suffix):
                    answered.merge(hist)
        if stats.names is None:
            names = {self.suffix: [stats.requests, stats.errors]}
            recent = {self.suffix: answered.to_dict()}
        else:
            names = dict((s, [n.requests, n.errors])
                         for s, n in stats.names.items())
            recent = dict((s, h.to_dict()) for s, h in self.names.items()
                          if h.n)
        data = {"rows": [[s, status, n] for s, c in self.rows.items()
                         for status, n in c.items()],
                "errors": error_kinds(stats), "names": names,
                "latency": answered.to_dict(), "name_latency": recent,
                "service": (self.service.to_dict() if self.service
                            is not None else None)}
        for hist in [self.answered, self.service] + list(self.names.values()):
            if hist is not None:
                hist.clear()
        return data


def named_metrics(entries, duration_s):
    """threshold_metrics() per name, as evaluate_thresholds() takes them:
    entries are (name, requests, errors, latency Histogram), one a
    method of a name (name_entries()), and those of one name count
    together."""
    merged = {}
    for name, requests, errors, latency in entries:
        mine = merged.get(name)
        if mine is None:
            mine = merged[name] = NameStats()
        mine.requests += requests
        mine.errors += errors
        mine.latency.merge(latency)
    return dict((name, threshold_metrics(n.latency, n.requests, n.errors,
                                         duration_s))
                for name, n in merged.items())


def name_entries(names):
    """{'METHOD,name': NameStats} -> named_metrics()' entries."""
    return [(split_suffix(suffix)[1], n.requests, n.errors, n.latency)
            for suffix, n in names.items()]


# --- thresholds: --fail-if ---------------------------------------------------

# --fail-if and --sizing-slo: 'METRIC OP VALUE', as k6's p(95)<500 but with
# units, so that p95<200 (ms? s?) cannot pass silently.

# name: None for the HTTP requests' totals, else the rows of that name
Threshold = collections.namedtuple("Threshold", "expr metric op value name")
Threshold.__new__.__defaults__ = (None,)
LATENCY_METRICS = ("p50", "p90", "p95", "p99", "p99.9", "mean", "max")
THRESHOLD_METRICS = LATENCY_METRICS + ("rps", "errors", "requests")
THRESHOLD_OPS = {"<": operator.lt, "<=": operator.le,
                 ">": operator.gt, ">=": operator.ge}
TIME_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_threshold(text):
    """'p95<500ms' -> Threshold.  value: seconds for a latency, percent
    for errors, a number for rps and requests.  'p95{checkout}<500ms'
    judges the rows named checkout: the name is everything between the
    first '{' and the last '}', verbatim.  ValueError says why not."""
    if "".join(text.split()) == "trusted":
        return Threshold("trusted", "trusted", "==", 1.0)
    name = None
    first, last = text.find("{"), text.rfind("}")
    if first >= 0 or last >= 0:
        if first < 0 or last < first:
            raise ValueError("threshold %r: a name goes in braces, as in"
                             " p95{checkout}<500ms" % text)
        name = text[first + 1:last]
        if not name or has_control(name):
            raise ValueError("threshold %r: the name in braces must be a"
                             " request's or a timer's name" % text)
        text_left = "".join(text[:first].split())
        expr = "".join((text_left + text[last + 1:]).split())
        metric_end = len(text_left)
    else:
        expr = "".join(text.split())
    i = 0
    while i < len(expr) and expr[i] not in "<>=!":
        i += 1
    j = i
    while j < len(expr) and expr[j] in "<>=!":
        j += 1
    metric, op, value = expr[:i], expr[i:j], expr[j:]
    if name is not None:
        if i != metric_end:
            raise ValueError("threshold %r: the name in braces goes right"
                             " after the metric, as in p95{checkout}<500ms"
                             % text)
        expr = "%s{%s}%s" % (metric, name, expr[i:])
    if metric not in THRESHOLD_METRICS:
        raise ValueError("threshold %r: unknown metric %r; use one of %s"
                         % (text, metric, " ".join(THRESHOLD_METRICS)))
    if op not in THRESHOLD_OPS:
        raise ValueError("threshold %r: the operator must be one of < <= >"
                         " >=" % text)
    if metric in LATENCY_METRICS:
        units, kind = TIME_UNITS_S, "a time with its unit (us, ms or s),"
    elif metric == "errors":
        units, kind = {"%": 1.0}, "a percentage,"
    else:
        units, kind = {"": 1.0}, "a plain number,"
    number = value.rstrip("%usm")
    unit = value[len(number):]
    try:
        amount = float(number)
    except ValueError:
        amount = None
    if (unit not in units or amount is None or not math.isfinite(amount)
            or amount < 0):
        raise ValueError("threshold %r: %s needs %s as in %s" % (
            text, metric, kind, {"errors": "errors<5%", "rps": "rps>=1000",
                                 "requests": "requests>=100"}.get(
                                     metric, metric + "<500ms")))
    return Threshold(expr, metric, op, amount * units[unit], name)


def threshold_metrics(latency, requests, errors, duration_s, tasks=0):
    """What thresholds can name, from a latency Histogram (seconds), the
    requests and errors and the run's duration: seconds, percent, req/s.
    tasks: the failed tasks among the errors, which errors are a share
    of along with the requests."""
    metrics = dict(zip(("p50", "p90", "p95", "p99", "p99.9"),
                       latency.percentiles([50, 90, 95, 99, 99.9])))
    judged = requests + tasks
    metrics.update(
        mean=latency.mean, max=latency.max if latency.n else 0.0,
        rps=requests / duration_s if duration_s > 0 else 0.0,
        errors=100.0 * errors / judged if judged else 0.0,
        requests=requests)
    return metrics


def evaluate_thresholds(thresholds, metrics, named=None):
    """[(threshold, measured value, ok)]: by metrics (threshold_metrics()
    of the HTTP requests), or for a named threshold by named[name].  A
    name no row has fails, with the value None."""
    verdicts = []
    for t in thresholds:
        values = metrics if t.name is None else (named or {}).get(t.name)
        if t.metric == "trusted":     # the trust verdict: True or False
            value = metrics.get("trusted")
            verdicts.append((t, value, value is True))
        elif values is None:
            verdicts.append((t, None, False))
        else:
            value = values[t.metric]
            verdicts.append((t, value, THRESHOLD_OPS[t.op](value, t.value)))
    return verdicts


def format_threshold_value(metric, value):
    if metric == "trusted":
        return {True: "trusted", False: "suspect"}.get(value, "not judged")
    if value is None:
        return "no rows of that name"
    if metric in LATENCY_METRICS:
        return format_seconds(value if metric in ("mean", "max")
                              else shown_latency(value))
    if metric == "errors":
        return "%.2f%%" % value
    if metric == "requests":
        return "%d" % value
    return "%.1f" % value


# --- rows: results.csv's lines and names -------------------------------------


def csv_cell(text):
    """text as one CSV field, quoted as the csv module quotes it."""
    if any(c in text for c in ',"\r\n'):
        return '"%s"' % text.replace('"', '""')
    return text


SUFFIXES = {}   # (method, name) -> 'METHOD,name' (split_suffix() undoes it)


def name_suffix(method, name):
    """A row's last two columns, 'METHOD,name', made once per name."""
    key = (method, name)
    try:
        return SUFFIXES[key]
    except KeyError:
        suffix = SUFFIXES[key] = "%s,%s" % (method, csv_cell(name))
        return suffix


def split_suffix(suffix):
    """'METHOD,name' (name_suffix()) -> (method, name)."""
    method, _, cell = suffix.partition(",")
    if cell.startswith('"'):
        cell = cell[1:-1].replace('""', '"')
    return method, cell


def default_name(target):
    """A request's name: its path without the query string."""
    return target.partition("?")[0]


def row_format(open_model, suffix=None):
    """The %-format of a worker's rows: with one name for every row
    (suffix), or with each row's suffix as its last item.  A timer's
    takes its status as text (timer_row())."""
    head = ROW_FORMAT_OPEN if open_model else ROW_FORMAT
    if suffix is None:
        return head + "%s\n"
    if suffix.startswith("timer,"):
        head = head.replace("%d", "%s", 1)
    return head + suffix.replace("%", "%%") + "\n"


def timer_line(fmt):
    """A timer's row -> its line: an empty status when the block got no
    response (0 in the row), since status 0 means a transport error."""
    def line(row):
        return fmt % (row[:2] + (row[2] or "",) + row[3:])
    return line


_TIME_OF = operator.itemgetter(1)
_STATUS_OF = operator.itemgetter(2)
_BYTES_OF = operator.itemgetter(3)
_ERROR_OF = operator.itemgetter(4)


# --- URLs and requests -------------------------------------------------------

Target = collections.namedtuple(
    "Target", "url scheme host port path host_header auth")


ABSOLUTE_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_absolute(url):
    """Whether url names its scheme (http://...), not a path: a path's
    query may hold '://' (/go?to=http://x)."""
    return ABSOLUTE_URL_RE.match(url) is not None


def has_control(text):
    """Whether text holds a control character (C0, DEL or C1)."""
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def percent_encode(text, encoded):
    """text with the characters in `encoded`, and non-ASCII ones as UTF-8
    bytes, percent-encoded, as a browser sends a URL; %XX escapes already
    there are kept."""
    if not any(c in encoded or ord(c) > 126 for c in text):
        return text
    return "".join(
        "".join("%%%02X" % b for b in c.encode("utf-8", "surrogateescape"))
        if c in encoded or ord(c) > 126 else c for c in text)


def ascii_host(host, url):
    """The host of a URL ('[...]' for an IPv6 literal) as it goes to the
    resolver: IPv6 literals checked, names lowercased and, when not ASCII,
    put through IDNA; UsageError when it is no host."""
    if host.startswith("["):
        import ipaddress
        address, _, zone = unquote(host[1:-1]).partition("%")
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise UsageError("url %r has an invalid IPv6 address %r"
                             % (url, host))
        if zone and not set(zone) <= HOST_CHARS:
            raise UsageError("url %r has an invalid IPv6 zone %r" % (url, zone))
        return address + ("%" + zone if zone else "")
    host = host.lower()
    if all(c in HOST_CHARS for c in host):
        name = host
    elif any(ord(c) < 128 and c not in HOST_CHARS for c in host):
        raise UsageError("url %r has an invalid host %r" % (url, host))
    else:
        try:
            name = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UsageError("url %r has a host %r that IDNA cannot encode"
                             % (url, host))
    labels = name.rstrip(".").split(".")
    if not name.strip(".") or "" in labels or any(len(l) > 63 for l in labels):
        raise UsageError("url %r has an invalid host %r" % (url, host))
    return name


def split_url(text):
    """'scheme://userinfo@host:port/path?query#fragment' -> (scheme,
    userinfo or None, host ('[...]' for an IPv6 literal), port text or
    None, path, query); the fragment is dropped.  ValueError names what is
    malformed.  Done by hand rather than by urlsplit, whose checks and
    messages change between Python versions."""
    scheme, sep, rest = text.partition("://")
    end = len(rest)
    for c in "/?#":
        i = rest.find(c)
        if 0 <= i < end:
            end = i
    netloc, rest = rest[:end], rest[end:]
    rest = rest.partition("#")[0]
    path, _, query = rest.partition("?")
    userinfo, at, hostport = netloc.rpartition("@")
    port = None
    if hostport.startswith("["):
        host, bracket, after = hostport[1:].partition("]")
        if not bracket:
            raise ValueError("its IPv6 address lacks the closing ']'")
        if after:
            if not after.startswith(":"):
                raise ValueError("%r follows its IPv6 address" % after)
            port = after[1:]
        if not host:
            raise ValueError("its IPv6 address is empty")
        host = "[%s]" % host
    else:
        if "[" in hostport or "]" in hostport:
            raise ValueError("a '[' or ']' outside an IPv6 address")
        host, colon, port_text = hostport.partition(":")
        if colon:
            port = port_text
    if port == "":
        port = None
    return scheme, userinfo if at else None, host, port, path, query


# With a locustfile, an -H that is a host (Locust's -H) though not a
# whole URL: http//h, localhost:8089, 127.0.0.1:8089/, api.example.com
HOST_LIKE_RE = re.compile(r"(?i)(?:https?:?/|(?:localhost|[\w-]+(?:\.[\w-]+)+"
                          r"|\[[0-9a-f:.]*\]?)(?::[0-9]*)?(?:/|$))")

# A scheme typed without its '://' whole: http//, http:/, http:://,
# https:h, or http:8080 (the host left out); not a host that starts with
# http (httpbin.org)
SCHEME_TYPO_RE = re.compile(r"(?i)(https?)([:/]+)")


def url_meant(text):
    """What a URL without a whole '://' most likely meant, for a usage
    error: its scheme mistyped ('http//h:8082/', 'http:/h/', 'http:://h/')
    or left out ('h:8000/', '//h/') -> 'http://h:8082/', 'http://h/',
    'http://h:8000/'; HOST where it names none (':8000/', 'http:8000/',
    '/path')."""
    match = SCHEME_TYPO_RE.match(text)
    scheme, rest = "http", text
    if match:
        scheme, rest = match.group(1).lower(), text[match.end():]
        if match.group(2).endswith(":") and re.match(r"[0-9]+(?:[/?#]|$)",
                                                     rest):
            rest = ":" + rest           # http:8000/: a port, no host
    elif text.startswith("//"):
        rest = text[2:]
    if not rest or rest[0] in ":/?#":
        rest = "HOST" + rest
    return "%s://%s" % (scheme, rest)


def parse_url(url):
    """Split an http(s) URL into a Target; UsageError names what is wrong.

    As a browser does, spaces around the URL are dropped, and spaces,
    quotes, <>, `{} and non-ASCII characters in the path and query are
    percent-encoded (UTF-8); a non-ASCII host goes through IDNA.  A
    control character anywhere (CR, LF, TAB, ...) is refused: urlsplit
    would silently drop some of them, and load another URL.
    """
    if has_control(url):
        raise UsageError("url %r holds a control character (such as CR, LF"
                         " or TAB): remove it" % url)
    text = url.strip(" ")
    if "://" not in text:
        mistyped = SCHEME_TYPO_RE.match(text)
        raise UsageError("url %r has %s: write it as %s" % (
            url, "a malformed scheme" if mistyped else "no scheme",
            url_meant(text)))
    try:
        scheme, userinfo, host, port_text, path, query = split_url(text)
    except ValueError as exc:
        raise UsageError("url %r is malformed: %s" % (url, exc))
    scheme = scheme.lower()
    if re.match(r"(?i)https?[:/]+$", scheme):    # http:://host/
        raise UsageError("url %r has a malformed scheme: write it as %s"
                         % (url, url_meant(text)))
    if scheme not in ("http", "https"):
        raise UsageError("unsupported url scheme %r in %r: use http:// or"
                         " https://" % (scheme, url))
    if not host:
        raise UsageError("url %r has no host" % url)
    port = None
    if port_text is not None:
        digits = 0 < len(port_text) <= 5 and all(c in "0123456789"
                                                 for c in port_text)
        port = int(port_text) if digits else 0
        if not 1 <= port <= 65535:
            raise UsageError("url %r has an invalid port %r: use 1 to 65535"
                             % (url, port_text))
    host = ascii_host(host, url)
    path = percent_encode(path or "/", PATH_ENCODED)
    if query:
        path += "?" + percent_encode(query, QUERY_ENCODED)
    auth = None
    if userinfo is not None:
        user, _, password = userinfo.partition(":")
        auth = "%s:%s" % (unquote(user), unquote(password))
    host_header = "[%s]" % host.replace("%", "%25") if ":" in host else host
    if port is not None:
        host_header += ":%d" % port
    return Target(url, scheme, host, port or (443 if scheme == "https"
                                              else 80), path, host_header,
                  auth)


def parse_header(text):
    """'Name: value' -> (name, value); UsageError when malformed."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip(" \t")
    if not sep or not name or not set(name) <= TOKEN_CHARS:
        raise UsageError("malformed header %r: expected 'Name: value'" % text)
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        raise UsageError("header %r holds a control character (such as CR,"
                         " LF or NUL): remove it" % text)
    return name, value


def check_framing_headers(headers, body):
    """hammer frames the body itself: a -H Content-Length that disagrees
    with it, or any Transfer-Encoding, would leave the server waiting or
    reading the next request as body.  UsageError says so."""
    size = len(body) if body is not None else 0
    for name, value in headers:
        lower = name.lower()
        if lower == "transfer-encoding":
            raise UsageError("-H %r: hammer sends the body with a"
                             " Content-Length; leave Transfer-Encoding out"
                             % ("%s: %s" % (name, value)))
        if lower == "content-length" and value != str(size):
            raise UsageError("-H %r disagrees with the %d-byte body; leave it"
                             " out: hammer sets Content-Length"
                             % ("%s: %s" % (name, value), size))


def build_request(method, target, headers, body, keepalive):
    """The request's bytes, built once; every request of a run sends them."""
    given = set(name.lower() for name, _ in headers)
    lines = ["%s %s HTTP/1.1" % (method, target.path)]
    defaults = [("Host", target.host_header), ("User-Agent", USER_AGENT),
                ("Accept", "*/*")]
    if target.auth is not None:
        token = base64.b64encode(target.auth.encode(
            "utf-8", "surrogateescape")).decode("ascii")
        defaults.append(("Authorization", "Basic " + token))
    if not keepalive:
        defaults.append(("Connection", "close"))
    if body is not None:
        defaults.append(("Content-Type", "application/x-www-form-urlencoded"))
        defaults.append(("Content-Length", str(len(body))))
    lines += ["%s: %s" % h for h in defaults if h[0].lower() not in given]
    lines += ["%s: %s" % h for h in headers]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


# --- the summary: what a run prints and records ------------------------------


def format_seconds(seconds):
    """A latency for people: 212us, 1.20ms, 12.3ms, 1.23s."""
    if seconds < 0.001:
        return "%.0fus" % (seconds * 1e6)
    if seconds < 1.0:
        ms = seconds * 1000
        return ("%.2fms" if ms < 10 else "%.1fms" if ms < 100 else "%.0fms") % ms
    return "%.2fs" % seconds


def format_bytes(n, binary=False):
    """1.2 MB (or 64.0 MiB when binary)."""
    step = 1024.0 if binary else 1000.0
    units = ("B", "KiB", "MiB", "GiB") if binary else ("B", "KB", "MB", "GB")
    for unit in units:
        if n < step or unit == units[-1]:
            return ("%d %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= step


def format_counts(counter):
    return "  ".join("%s: %d" % kv for kv in sorted(counter.items())) or "none"


def format_progress(plan, elapsed_s, active, rate, avg_s, errors):
    """The one-line progress report."""
    stages = plan.stages
    if plan.model == "open":
        load = "target %s req/s" % ("%.0f" % target_at(stages, elapsed_s))
    else:
        load = "users %d/%d" % (active, sum(plan.threads_per_process))
    if plan.shape not in ("ramp", "replay"):
        i = stage_index(stages, elapsed_s)
        load += "  stage %d/%d" % (i + 1, len(stages))
        if plan.model == "closed":
            load += " (target %.0f)" % target_at(stages, elapsed_s)
    return ("[%6.1fs/%gs] %s  %8.1f req/s  avg %s  errors %d"
            % (elapsed_s, plan.runtime_s, load, rate, format_seconds(avg_s),
               errors))


def format_kinds(kinds):
    """A Counter of error kinds as 'timeout 3, reset 1': most first."""
    return ", ".join("%s %d" % kv for kv in sorted(
        kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def error_parts(classes, transport, checked, tasks):
    """Errors broken down as the summary and crunch show them: by
    status class ('4xx: 3'), transport kind, the script's failures and
    the tasks that raised, by the exception's type."""
    parts = ["%s: %d" % kv for kv in status_classes(classes)]
    if transport:
        parts.append("transport: " + format_kinds(transport))
    if checked:
        parts.append("failed by the script: " + format_kinds(checked))
    if tasks:
        parts.append("tasks: " + format_kinds(tasks))
    return parts


def format_errors(stats):
    """The errors (error_class(), and failed tasks), broken down."""
    if not stats.errors:
        return "none"
    return "%d = %.2f%% of requests%s (%s)" % (
        stats.errors, 100.0 * stats.errors / stats.judged,
        " and failed tasks" if stats.tasks else "", "; ".join(error_parts(
            stats.classes, stats.transport, stats.checked, stats.tasks)))


NAMES_SHOWN = 20    # the summary's per-name table shows the busiest ones


def name_rows(names):
    """Per-name entries ({'METHOD,name': NameStats}) in table order:
    requests first, timers next, failed tasks last, each busiest first."""
    def order(item):
        method, name = split_suffix(item[0])
        kind = {"timer": 1, "task": 2}.get(method, 0)
        return kind, -item[1].requests, name, method
    return [split_suffix(k) + (v,) for k, v in sorted(names.items(),
                                                       key=order)]


def format_names(names, duration_s):
    """The summary's per-name table, with Locust's columns: requests,
    fails (and their share), median, p95, p99, avg, min, max and req/s;
    at most NAMES_SHOWN rows, the busiest, with a line for the rest."""
    rows = name_rows(names)
    busiest = sorted(rows, key=lambda r: -r[2].requests)[:NAMES_SHOWN]
    shown = set(map(id, busiest))
    rows = [r for r in rows if id(r) in shown]
    width = min(40, max(len("%s %s" % r[:2]) for r in rows))
    lines = ["  %-*s %9s %15s %8s %8s %8s %8s %8s %8s %9s" % (
        width, "name", "requests", "fails", "median", "p95", "p99", "avg",
        "min", "max", "req/s")]
    for method, name, n in rows:
        label = "%s %s" % (method, name.replace("\n", " ").replace("\r", " "))
        if len(label) > width:
            label = label[:width - 1] + "~"
        times = ["-"] * 6
        lat = n.latency
        if lat.n:
            times = [format_seconds(t) for t in list(lat.shown_percentiles(
                [50, 95, 99])) + [lat.mean, lat.min, lat.max]]
        fails = "%d(%.2f%%)" % (n.errors, 100.0 * n.errors / n.requests
                                if n.requests else 0.0)
        lines.append("  %-*s %9d %15s %8s %8s %8s %8s %8s %8s %9.1f" % ((
            width, label, n.requests, fails) + tuple(times)
            + (n.requests / duration_s if duration_s > 0 else 0.0,)))
    if len(names) > len(rows):
        lines.append("  ... and %d more names: crunch.py shows them all"
                     % (len(names) - len(rows)))
    return lines


def format_failures(failures):
    """A script's failures: each kind once, with its count and the first
    one's traceback (or response.fail() reason)."""
    lines = []
    for kind, (count, text) in sorted(failures.items(),
                                      key=lambda kv: -kv[1][0]):
        if kind == "other":
            lines.append("  %d more of other kinds" % count)
            continue
        first, _, rest = text.partition("\n")
        lines.append("  %d x %s" % (count, first))
        lines += ["      " + line for line in rest.splitlines()]
    return lines


def format_connections(stats):
    c = stats.events
    return "; ".join(["%d %s" % (c[key], words)
                      for key, words in CONNECTION_EVENTS
                      if c[key] or key == "opened"])


def cpu_shares(before, after, hammer_cpu_s, ticks_per_s):
    """What the CPUs hammer may use did during the run, from two
    cpu_times() readings: (their idle share, the share other processes
    used), or None when unknown.  hammer_cpu_s is the CPU time hammer's
    own processes used; interrupt time counts as hammer's, as its own
    traffic causes most of it."""
    if before is None or after is None:
        return None
    spent = [b - a for a, b in zip(before, after)]
    user, nice, system, idle, iowait, _, _, steal = spent
    total = sum(spent)
    if total <= 0:
        return None
    others = max(0.0, user + nice + system - hammer_cpu_s * ticks_per_s)
    return (idle + iowait) / total, (others + steal) / total


def format_load(plan):
    """The summary's line about the load it was asked for."""
    threads = plan.threads_per_process
    if plan.engine == "loop":
        spread = ("one event loop" if len(threads) == 1 else " + ".join(
            map(str, threads)) + " on %d processes' event loops"
            % plan.processes)
    else:
        spread = " + ".join(map(str, threads)) + (
            " threads" if len(threads) == 1 else
            " threads in %d processes" % plan.processes)
    if plan.node:
        spread = "node %d/%d: %d of them, %s" % (plan.node + (sum(threads),
                                                             spread))
    if plan.hosts:
        spread += " on %d nodes" % plan.hosts
    connections = ("keep-alive" if plan.keepalive else
                   "a new connection per request")
    if plan.model == "open":
        rate, unit = plan.rate_rps, rate_unit(plan)
        if plan.replay is not None:
            shape = "replay of %s at %gx (%d lines, %g %s)" % (
                plan.replay.path, plan.replay.speed, plan.replay.lines,
                round(rate[1], 1), unit)
        elif plan.shape != "ramp":
            shape = "%s up to %g %s" % (plan.shape, max(
                s.end for s in plan.stages), unit)
        elif rate[0] == rate[1] or not plan.rampup_s:
            shape = "%g %s" % (rate[1], unit)
        else:
            shape = "%g to %g %s over %gs" % (rate[0], rate[1], unit,
                                              plan.rampup_s)
        arrivals = ("" if plan.replay is not None
                    else ", %s arrivals" % plan.arrivals)
        return ("load        open model: %s%s, at most %d in flight (%s),"
                " runtime %gs, %s"
                % (shape, arrivals, plan.users, spread, plan.runtime_s,
                   connections))
    if plan.shape == "ramp":
        shape = "rampup %gs" % plan.rampup_s
    else:
        shape = "%s up to %d users" % (plan.shape, plan.users)
    think = ""
    if plan.think_s[1]:
        think = ", think %s" % (
            "%gs" % plan.think_s[0] if plan.think_s[0] == plan.think_s[1]
            else "%g-%gs" % plan.think_s)
    return ("load        %d users (%s), %s, interval %gs%s, runtime %gs, %s"
            % (plan.users, spread, shape, plan.interval_s, think,
               plan.runtime_s, connections))


# The open model's rates over the time it sent (span_s), and the slots due
# in it that were not sent.
Rates = collections.namedtuple("Rates", "target sent span_s unsent")


def rates(plan, stats, duration_s):
    """The open model's Rates over the time it sent: the runtime, or less
    when --sizing or a signal stopped it."""
    span = min(plan.runtime_s, duration_s) or plan.runtime_s
    if plan.replay is not None and not plan.replay.loop:
        # the log's own span (scaled), not the runtime's tail after it:
        # the log's rate is its lines over that span
        span = min(span, plan.replay.span_s / plan.replay.speed) or span
    i, n = plan.node or (1, 1)
    if plan.arrivals == "uniform":    # slot 0 is at the rate's first instant
        due = math.ceil(round(arrivals_by(plan.stages, span), 6))
        due = len(range(i - 1, due, n))     # this node's share
    else:
        due = stats.events["due_slots"] or arrivals_by(plan.stages, span) / n
    if plan.requests is not None:
        due = min(due, split_evenly(plan.requests, n)[i - 1])
    sent = sent_count(plan, stats)
    return Rates(due / span, sent / span, span,
                 max(0, int(round(due - sent))))


def sent_count(plan, stats):
    """What the rate counts: requests, or a script's iterations."""
    return stats.events["iterations"] if plan.groups else stats.requests


def rate_unit(plan):
    return "iterations/s" if plan.groups else "req/s"


def format_rate(plan, stats, duration_s):
    """The open model's lines: rates, latency from the slot, lateness."""
    lat, late = stats.corrected, stats.lateness
    r = rates(plan, stats, duration_s)
    unit = rate_unit(plan)
    asked = "target" if plan.replay is None else "the log's"
    return [
        "rate        %s %.1f %s, sent %.1f %s (%.1f%%) over %gs%s"
        % (asked, r.target, unit, r.sent, unit,
           100.0 * r.sent / r.target if r.target else 0.0,
           r.span_s, "; %d slots due before the end were not sent" % r.unsent
           if r.unsent else ""),
        "latency     from the intended send (corrected for coordinated"
        " omission): " + format_latency(lat),
        "late sends  %d more than %s after their slot; lateness p50 %s  p99"
        " %s  max %s" % (stats.events["late_sends"], format_seconds(LATE_S),
                         format_seconds(late.shown_percentiles([50])[0]),
                         format_seconds(late.shown_percentiles([99])[0]),
                         format_seconds(late.max)),
    ]


def format_latency(lat):
    pcts = lat.shown_percentiles(PERCENTILES)
    return "min %s  avg %s  %s  max %s  (over %d responses)" % (
        format_seconds(lat.min if lat.n else 0.0), format_seconds(lat.mean),
        "  ".join("p%d %s" % (p, format_seconds(v))
                  for p, v in zip(PERCENTILES, pcts)),
        format_seconds(lat.max), lat.n)


def rate_fell_behind(plan, stats, duration_s):
    """Whether the open model fell behind its slots (rate_short()); False
    in the closed model."""
    if stats.lateness is None:
        return False
    target, sent = rates(plan, stats, duration_s)[:2]
    return rate_short(target, sent, stats.lateness.percentile(99))


def rate_short(target_rps, sent_rps, late_p99_s):
    """The open model fell behind: it sent less than RATE_SHORT_RATIO of
    the target rate, or its p99 lateness passed LATE_WARN_S."""
    return (sent_rps < RATE_SHORT_RATIO * target_rps
            or late_p99_s > LATE_WARN_S)


def format_rate_warning(plan, stats, duration_s, busy, cpu):
    """A warning when the open model fell behind its slots, naming the
    limit: hammer's CPU (a worker's, or the box's), else the users (the
    cap on requests in flight)."""
    target, sent = rates(plan, stats, duration_s)[:2]
    p99 = stats.lateness.percentile(99)
    if not rate_fell_behind(plan, stats, duration_s):
        return []
    if busy and max(busy) >= SATURATION_CPU_RATIO:
        limit = ("hammer's CPU was the limit (a worker busy %.0f%%): add"
                 " processes (-p) or machines" % (max(busy) * 100))
    elif cpu is not None and cpu[0] < STARVED_IDLE_RATIO:
        limit = ("the CPUs hammer may use were the limit (%.0f%% busy):"
                 " run hammer on other cores or machines"
                 % ((1 - cpu[0]) * 100))
    else:
        limit = ("all %d users were busy (-c caps the requests in flight):"
                 " raise -c" % sum(plan.threads_per_process))
    return ["warning: hammer sent %.1f%% of the target rate, p99 lateness"
            " %s: %s; latency from the intended send counts the wait"
            % (100.0 * sent / target if target else 0.0,
               format_seconds(p99), limit)]


def signal_name(signum):
    """SIGINT, SIGTERM, ... for a signal number."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "signal %d" % signum


def format_interrupted(interrupted, runtime_s):
    """The summary's line about a signal that stopped the run:
    interrupted is (signal number, elapsed seconds when it came)."""
    signum, at_s = interrupted
    how = signal_name(signum)
    if signum == signal.SIGINT:
        how = "Ctrl+C (SIGINT)"
    return "run         interrupted by %s at %.1fs of %gs" % (how, at_s,
                                                             runtime_s)


def format_demo_pace():
    """--demo's lines about its pace: its target, not hammer, sets it."""
    return [
        "demo        the target is a small Python server on this box,"
        " sharing its CPUs with hammer: it sets this pace",
        "            against nginx, one hammer process on one core made"
        " {:,} req/s with 16 users (README.md: How fast)".format(
            DEMO_REFERENCE_RPS)]


def format_summary(plan, stats, duration_s, rows, busy, cpu=None, checks=(),
                   sizing=None, interrupted=None, verdicts=None):
    """The end-of-run summary as a list of lines.

    plan: the run's Plan; stats: the merged WorkerStats; duration_s:
    from the start to the run's end; rows: rows written; busy: per worker,
    the share of a CPU it used; cpu: cpu_shares() of the run, or None;
    checks: evaluate_thresholds() of --fail-if; sizing: a SizingResult;
    interrupted: (signal number, elapsed s) when a signal stopped the run;
    verdicts: --monitor's (bottleneck, trust), run_verdicts().
    """
    rate = stats.requests / duration_s if duration_s > 0 else 0.0
    open_model = stats.corrected is not None
    lines = [
        "hammer %s  %s" % (__version__, "%s %s" % (
            plan.method, redact_url(plan.url)) if plan.url is not None
            else "no URL: the scripts name their own"),
        format_load(plan),
        "requests    %d in %.2fs = %.1f req/s" % (stats.requests, duration_s,
                                                 rate),
    ]
    if open_model:
        lines += format_rate(plan, stats, duration_s)
        lines.append("service     from the actual send: "
                     + format_latency(stats.latency))
    else:
        lines.append("latency     " + format_latency(stats.latency))
    lines += [
        "status      " + format_counts(stats.statuses),
        "errors      " + format_errors(stats),
    ]
    if stats.events["abandoned"]:
        lines.append("abandoned   %d requests in flight when --sizing"
                     " stopped the run timed out after it: not errors of"
                     " the load (error kind %s)"
                     % (stats.events["abandoned"], ABANDONED))
    lines += [
        "connections " + format_connections(stats),
        "received    %s of response bodies" % format_bytes(stats.bytes),
        "output      %s (%d rows)" % (plan.output, rows),
    ]
    if stats.names:
        lines += format_names(stats.names, duration_s)
    if stats.failures:
        lines.append("script      failures, the first of each kind:")
        lines += format_failures(stats.failures)
    if stats.events["late_starts"]:
        lines.insert(4, "pacing      %d late starts: a response (and think"
                        " time) outlasted --interval %gs, so the next"
                        " request went at once"
                     % (stats.events["late_starts"], plan.interval_s))
    if interrupted is not None:
        lines.insert(2, format_interrupted(interrupted, plan.runtime_s))
    if sizing is not None:
        lines.append(format_sizing(sizing, plan.sizing, open_model))
    if verdicts is not None:
        lines += format_verdicts(*verdicts)
    for t, value, ok in checks:
        lines.append("threshold   %s: %s %s" % (
            t.expr, format_threshold_value(t.metric, value),
            "ok" if ok else "FAILED"))
    if plan.demo:
        lines += format_demo_pace()
    if duration_s < SATURATION_MIN_S:
        return lines        # too short a run to judge
    if open_model:
        lines += format_rate_warning(plan, stats, duration_s, busy, cpu)
    for index, share in enumerate(busy):
        if share >= SATURATION_CPU_RATIO:
            lines.append(
                "warning: worker %d was busy %.0f%% of a CPU: hammer itself"
                " may be the bottleneck, so req/s and latency understate the"
                " target; add processes (-p) or lower the users"
                % (index, share * 100))
    if (cpu is not None and cpu[0] < STARVED_IDLE_RATIO
            and cpu[1] >= STARVED_OTHERS_RATIO):
        lines.append(
            "warning: the CPUs hammer may use were %.0f%% busy, %.0f%% of"
            " them with other processes (the target or another job): hammer"
            " got less CPU than it wanted, so req/s and latency understate"
            " the target; run hammer on other cores or another box"
            % ((1 - cpu[0]) * 100, cpu[1] * 100))
    return lines


def run_summary(plan, stats, duration_s, checks, sizing, interrupted=None,
                verdicts=None, samples=()):
    """The settings file's "summary": what CI reads.  interrupted and
    verdicts: as format_summary() takes them; samples: --monitor's."""
    def latency_ms(hist):
        values = threshold_metrics(hist, 0, 0, 0.0)
        values["min"] = hist.min if hist.n else 0.0
        return dict((k, round(values[k] * 1000, 3)) for k in
                    ("min", "mean") + LATENCY_METRICS[:5] + ("max",))
    summary = {
        "requests": stats.requests, "errors": stats.errors,
        "errors_by_class": dict(sorted((c, n) for c, n in
                                       stats.classes.items() if n)),
        "rps": round(stats.requests / duration_s, 3) if duration_s else 0.0,
        "duration_s": round(duration_s, 6),
        "latency_ms": latency_ms(stats.latency),
        "thresholds": [{"expr": t.expr, "value": value, "ok": ok}
                       for t, value, ok in checks],
        "failures": [{"kind": kind, "count": count, "text": text}
                     for kind, (count, text) in sorted(
                         stats.failures.items(),
                         key=lambda kv: (-kv[1][0], kv[0]))],
        "interrupted": None if interrupted is None else {
            "signal": signal_name(interrupted[0]),
            "at_s": round(interrupted[1], 6)},
    }
    if stats.corrected is not None:
        late = stats.lateness
        r = rates(plan, stats, duration_s)
        summary.update(
            corrected_latency_ms=latency_ms(stats.corrected),
            target_rps=round(r.target, 3), sent_rps=round(r.sent, 3),
            unsent=r.unsent,
            late={"count": stats.events["late_sends"],
                  "p50_ms": round(late.percentile(50) * 1000, 3),
                  "p99_ms": round(late.percentile(99) * 1000, 3),
                  "max_ms": round(late.max * 1000, 3)})
    if sizing is not None:
        summary["sizing"] = {"users": sizing.users,
                             "rps": round(sizing.rps, 3),
                             "reason": sizing.reason,
                             "abandoned": stats.events["abandoned"],
                             "at_s": round(sizing.at_s, 3)}
        if sizing.target_rps is not None:
            summary["sizing"]["target_rps"] = round(sizing.target_rps, 3)
    if verdicts is not None:
        summary.update(monitor=monitor_summary(samples),
                       bottleneck=verdicts[0], trust=verdicts[1])
    return summary


# --csv PREFIX (Locust's): the files Locust 2.x writes beside the rows, with
# its columns (its StatsCSV), from the run's merged WorkerStats.  Times are
# in ms: Locust's ints stay ints (its percentiles, hammer's exact ones
# rounded to the ms), its floats floats (to the microsecond).
LOCUST_PERCENTILES = (50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100)
LOCUST_STATS_COLUMNS = (
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time",
    "Average Response Time", "Min Response Time", "Max Response Time",
    "Average Content Size", "Requests/s", "Failures/s") + tuple(
        "%g%%" % p for p in LOCUST_PERCENTILES)
LOCUST_FAILURES_COLUMNS = ("Method", "Name", "Error", "Occurrences")
LOCUST_EXCEPTIONS_COLUMNS = ("Count", "Message", "Traceback", "Nodes")
LOCUST_CSV_FILES = ("_stats.csv", "_failures.csv", "_exceptions.csv")


def locust_stats_row(method, name, n, duration_s):
    """One row of Locust's PREFIX_stats.csv for the NameStats n: "N/A"
    percentiles without requests, as Locust writes them."""
    lat = n.latency
    if lat.n:
        pcts = [int(round(v * 1000))
                for v in lat.percentiles(LOCUST_PERCENTILES)]
        times = [pcts[0], round(lat.mean * 1000, 3), round(lat.min * 1000, 3),
                 round(lat.max * 1000, 3)]
    else:
        pcts, times = [0] * len(LOCUST_PERCENTILES), [0, 0.0, 0, 0]
    if not n.requests:
        pcts = ["N/A"] * len(LOCUST_PERCENTILES)
    per_s = 1.0 / duration_s if duration_s > 0 else 0.0
    return ([method, name, n.requests, n.errors] + times + [
        n.bytes / n.requests if n.requests else 0, n.requests * per_s,
        n.errors * per_s] + pcts)


def locust_stats_rows(names, duration_s):
    """Locust's PREFIX_stats.csv as rows, the header first: one row per
    request's name ({'METHOD,name': NameStats}; not timers nor tasks),
    by name then method as Locust sorts them, then the Aggregated one;
    the rates are over duration_s, the run's."""
    rows, total = [list(LOCUST_STATS_COLUMNS)], NameStats()
    requests = sorted((split_suffix(suffix)[::-1], n)
                      for suffix, n in names.items() if is_http(suffix))
    for (name, method), n in requests:
        rows.append(locust_stats_row(method, name, n, duration_s))
        total.merge(n)
    rows.append(locust_stats_row("", "Aggregated", total, duration_s))
    return rows


def http_error_text(status, name):
    """An error status as Locust's failures.csv words it: the HTTPError
    of requests' raise_for_status(), the request's name for its URL."""
    from http.client import responses
    which = {4: "Client Error", 5: "Server Error"}.get(status // 100, "Error")
    return "HTTPError(%r)" % ("%d %s: %s for url: %s" % (
        status, which, responses.get(status, ""), name))


def locust_failure_rows(names, reasons):
    """Locust's PREFIX_failures.csv as rows, the header first: a
    request's error rows by name and error (NameStats.error_kinds),
    sorted.  A status of 400 and more is an HTTPError (http_error_text());
    a row the script failed is a CatchResponseError of its reason
    (reasons: {('METHOD,name', why): rows}; those past the reasons a
    worker counts keep the word check); any other error is its kind, as
    results.csv's error column says it (timeout, refused, redirects,
    ...)."""
    given = {}
    for (suffix, why), n in reasons.items():
        given.setdefault(suffix, []).append((why, n))
    counts = collections.Counter()
    for suffix, entry in names.items():
        if not is_http(suffix):
            continue
        method, name = split_suffix(suffix)
        checks = 0
        for (status, kind), n in entry.error_kinds.items():
            if kind == "check":
                checks += n
            elif status >= ERROR_STATUS_FROM:
                counts[name, method, http_error_text(status, name)] += n
            else:
                counts[name, method, kind] += n
        for why, n in given.get(suffix, ()):
            counts[name, method, "CatchResponseError(%r)" % why] += n
            checks -= n
        if checks > 0:
            counts[name, method, "check"] += checks
    return [list(LOCUST_FAILURES_COLUMNS)] + [
        [method, name, error, n]
        for (name, method, error), n in sorted(counts.items())]


def exception_parts(kind, text):
    """A failure's text as ScriptContext.note_exception() writes it
    ('KIND in WHERE:', the script's frames, the exception's own lines)
    -> (its message, as str() gives it; its frames)."""
    lines = text.split("\n")[1:]
    frames = list(itertools.takewhile(lambda l: l.startswith(" "), lines))
    own = "\n".join(lines[len(frames):])
    head, colon, message = own.partition(": ")
    if not colon:
        head, message = own, ""
    if head.rpartition(".")[2] != kind:
        message = own
    return message, "".join(line + "\n" for line in frames)


SCRIPT_NOTES = ("stuck", "other")   # ScriptContext's failures not raised


def locust_exception_rows(failures, nodes):
    """Locust's PREFIX_exceptions.csv as rows, the header first: each
    kind of exception the scripts raised (failures: {kind: [count,
    text]}, the first one's text), most first; nodes: the Nodes
    column."""
    rows = [list(LOCUST_EXCEPTIONS_COLUMNS)]
    for kind, (count, text) in sorted(failures.items(),
                                      key=lambda kv: (-kv[1][0], kv[0])):
        if kind in SCRIPT_NOTES or kind.startswith("check: "):
            continue
        rows.append([count] + list(exception_parts(kind, text)) + [nodes])
    return rows


# --- monitoring: /proc and node_exporter samples, the verdicts ---------------

# --monitor samples hosts' resources while the run goes: a host's raw
# counters (a Reading, from its /proc files or a node_exporter page) are
# parsed here, and two Readings make a sample's metrics.  The verdicts
# (the bottleneck, the trust) are pure functions of the samples, the
# run's periods and its thresholds; the summary, the settings file and
# crunch all call them.

# A host's counters at one instant (t: epoch seconds, its own clock).
# cpus: {'cpu' (all) or 'cpuN': (busy, idle, iowait, steal, total)} in
# ticks or seconds; mem: (total_b, available_b, swap used_b or None
# without swap); load1; net: {iface:
# (rx_b, tx_b)}; disks: {dev: busy_ms}; procs: {name: {pid: (cpu_ticks,
# rss_b)}}; missing: the files it lacks.
Reading = collections.namedtuple(
    "Reading", "t cpus mem load1 net disks procs missing")
# One value of one metric of one host, at elapsed seconds (results.csv's
# clock): a line of <output>.monitor.csv.
Sample = collections.namedtuple("Sample", "elapsed host metric value")
# What the run did over one monitoring period (from the workers' Progress):
# its end (elapsed s), requests, errors, its responses' p95 (None without).
Period = collections.namedtuple("Period", "at_s requests errors p95_s")
# When and how the run degraded (degradation()): at_s None for the whole
# run; text ends the bottleneck line ('when p95 passed 50ms').
Degradation = collections.namedtuple("Degradation", "at_s text")
PROC_FILES = ("/proc/stat", "/proc/meminfo", "/proc/loadavg",
              "/proc/net/dev", "/proc/diskstats")
MONITOR_METRICS = (
    ("cpu_busy_pct", "all CPUs, not idle or iowait"),
    ("cpu_core_max_pct", "the busiest single core in the period"),
    ("cpu_iowait_pct", "all CPUs, iowait"),
    ("cpu_steal_pct", "all CPUs, steal"),
    ("load1", "the 1-minute load average"),
    ("mem_used_pct", "memory in use"),
    ("mem_available_mb", "memory available"),
    ("mem_swap_out_mb_s", "swap used growing, in MB per second (hosts with"
                          " swap)"),
    ("net_rx_mbps", "megabits per second received on an interface"),
    ("net_tx_mbps", "megabits per second sent on an interface"),
    ("disk_util_pct", "the time the disk was busy"),
    ("proc_cpu_pct", "CPU of the named processes, summed"),
    ("proc_rss_mb", "resident memory of the named processes, summed"),
    ("worker_cpu_max_pct", "generator: the busiest worker's share of a CPU"),
    ("send_lag_ms", "generator: the longest a worker's thread waited past"
                    " its due instant for a CPU in the period"),
    ("fd_used_pct", "generator: open files of the fullest worker, in % of"
                    " its limit"),
    ("ports_used_pct", "generator: ephemeral ports in use, in % of the"
                       " range"),
)
NOT_A_DISK_RE = re.compile(r"^(loop|ram|zram|fd|sr|md)\d|^dm-")


def proc_cpu_fields(line):
    """A /proc/stat cpu line's ticks -> (busy, idle, iowait, steal,
    total); guest time is inside user and nice already."""
    v = [int(x) for x in line.split()[1:9]]
    v += [0] * (8 - len(v))
    user, nice, system, idle, iowait, irq, softirq, steal = v
    total = sum(v)
    return (total - idle - iowait, idle, iowait, steal, total)


def parse_proc_files(t, files, procs=None):
    """A Reading from the texts of PROC_FILES ({path: text}, a missing
    file absent) and, for named processes, {name: {pid: (stat text,
    status text)}}.  A line it cannot read is skipped."""
    cpus, mem, load1, net, disks = {}, None, None, {}, {}
    text = files.get("/proc/stat", "")
    for line in text.splitlines():
        name = line.split(" ", 1)[0]
        if name.startswith("cpu") and (name == "cpu" or name[3:].isdigit()):
            try:
                cpus[name] = proc_cpu_fields(line)
            except ValueError:
                pass
    info = {}
    for line in files.get("/proc/meminfo", "").splitlines():
        key, _, rest = line.partition(":")
        try:
            info[key] = int(rest.split()[0]) * 1024
        except (ValueError, IndexError):
            pass
    if "MemTotal" in info:
        available = info.get("MemAvailable")
        if available is None:
            available = sum(info.get(k, 0) for k in ("MemFree", "Buffers",
                                                     "Cached"))
        swap = None
        if info.get("SwapTotal"):
            swap = info["SwapTotal"] - info.get("SwapFree", 0)
        mem = (info["MemTotal"], available, swap)
    try:
        load1 = float(files["/proc/loadavg"].split()[0])
    except (KeyError, ValueError, IndexError):
        pass
    for line in files.get("/proc/net/dev", "").splitlines():
        iface, sep, rest = line.partition(":")
        fields = rest.split()
        if sep and len(fields) >= 9:
            try:
                net[iface.strip()] = (int(fields[0]), int(fields[8]))
            except ValueError:
                pass
    for line in files.get("/proc/diskstats", "").splitlines():
        fields = line.split()
        if len(fields) >= 13 and not NOT_A_DISK_RE.match(fields[2]):
            try:
                disks[fields[2]] = int(fields[12])
            except ValueError:
                pass
    for name in list(disks):     # a partition's time is its disk's too
        base = re.sub(r"(?<=\d)p\d+$|(?<=[a-z])\d+$", "", name)
        if base != name and base in disks:
            del disks[name]
    found = {}
    for name, pids in (procs or {}).items():
        found[name] = {}
        for pid, (stat_text, status_text) in pids.items():
            try:
                fields = stat_text.rpartition(")")[2].split()
                ticks = int(fields[11]) + int(fields[12])
            except (ValueError, IndexError):
                continue
            rss = 0
            m = re.search(r"^VmRSS:\s*(\d+)", status_text or "", re.M)
            if m:
                rss = int(m.group(1)) * 1024
            found[name][pid] = (ticks, rss)
    missing = tuple(p for p in PROC_FILES if p not in files)
    return Reading(t, cpus, mem, load1, net, disks, found, missing)


PROM_LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+'
                          r'(\S+)(?:\s+\S+)?\s*$')
PROM_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq",
             "steal")


def parse_node_exporter(t, text):
    """A Reading from a node_exporter page (Prometheus text): its
    node_cpu_seconds_total, node_memory_MemTotal_bytes and
    MemAvailable_bytes, node_load1, node_network_receive/transmit
    _bytes_total and node_disk_io_time_seconds_total.  CPU times stay in
    seconds (the ticks per second of the arithmetic are then 1)."""
    modes, info, load1, net, disks = {}, {}, None, {}, {}
    for line in text.splitlines():
        if not line.startswith("node_"):
            continue
        m = PROM_LINE_RE.match(line)
        if not m:
            continue
        name, labels = m.group(1), dict(PROM_LABEL_RE.findall(
            m.group(2) or ""))
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        if name == "node_cpu_seconds_total" and "cpu" in labels:
            modes.setdefault(labels["cpu"], {})[labels.get("mode")] = value
        elif name in ("node_memory_MemTotal_bytes",
                      "node_memory_MemAvailable_bytes",
                      "node_memory_SwapTotal_bytes",
                      "node_memory_SwapFree_bytes"):
            info[name] = value
        elif name == "node_load1":
            load1 = value
        elif name in ("node_network_receive_bytes_total",
                      "node_network_transmit_bytes_total"):
            rx, tx = net.get(labels.get("device"), (0, 0))
            net[labels.get("device")] = ((value, tx) if "receive" in name
                                         else (rx, value))
        elif name == "node_disk_io_time_seconds_total" and not (
                NOT_A_DISK_RE.match(labels.get("device", ""))):
            disks[labels.get("device")] = value * 1000.0
    cpus, whole = {}, [0.0] * 5
    for cpu, seconds in modes.items():
        v = [seconds.get(mode, 0.0) for mode in CPU_MODES]
        total = sum(v)
        fields = (total - v[3] - v[4], v[3], v[4], v[7], total)
        cpus["cpu" + cpu] = fields
        whole = [a + b for a, b in zip(whole, fields)]
    if cpus:
        cpus["cpu"] = tuple(whole)
    mem = None
    if "node_memory_MemTotal_bytes" in info:
        swap = None
        if info.get("node_memory_SwapTotal_bytes"):
            swap = info["node_memory_SwapTotal_bytes"] - info.get(
                "node_memory_SwapFree_bytes", 0.0)
        mem = (info["node_memory_MemTotal_bytes"],
               info.get("node_memory_MemAvailable_bytes", 0.0), swap)
    missing = tuple(what for what, have in (
        ("node_cpu_seconds_total", cpus), ("node_memory_MemTotal_bytes", mem),
        ("node_load1", load1 is not None)) if not have)
    return Reading(t, cpus, mem, load1, net, disks, {}, missing)


def reading_metrics(before, after, ticks_per_s=100):
    """The metrics of the period between two Readings of one host, as
    [(metric, value)]: CPU shares from the counters' differences (a
    counter that went back, as after a reboot, gives nothing), memory
    and load as `after` says, rates per second of the period."""
    span = after.t - before.t
    out = []
    if span <= 0:
        return out

    def share(name, index):
        a, b = before.cpus.get(name), after.cpus.get(name)
        if a is None or b is None or b[4] - a[4] <= 0 or b[index] < a[index]:
            return None
        return 100.0 * (b[index] - a[index]) / (b[4] - a[4])
    for metric, index in (("cpu_busy_pct", 0), ("cpu_iowait_pct", 2),
                          ("cpu_steal_pct", 3)):
        value = share("cpu", index)
        if value is not None:
            out.append((metric, value))
    cores = [(share(name, 0), name) for name in after.cpus if name != "cpu"]
    cores = [c for c in cores if c[0] is not None]
    if cores:
        value, name = max(cores, key=lambda c: (c[0], -int(c[1][3:])))
        out.append(("cpu_core_max_pct:" + name, value))
    if after.load1 is not None:
        out.append(("load1", after.load1))
    if after.mem is not None and after.mem[0] > 0:
        total, available, swap = after.mem
        out.append(("mem_used_pct", 100.0 * (total - available) / total))
        out.append(("mem_available_mb", available / 1e6))
        if swap is not None and before.mem is not None and (
                before.mem[2] is not None):
            out.append(("mem_swap_out_mb_s",
                        max(0.0, swap - before.mem[2]) / 1e6 / span))
    for iface in sorted(after.net):
        if iface in before.net:
            (rx0, tx0), (rx1, tx1) = before.net[iface], after.net[iface]
            if rx1 >= rx0 and tx1 >= tx0:
                out.append(("net_rx_mbps:" + iface,
                            (rx1 - rx0) * 8 / 1e6 / span))
                out.append(("net_tx_mbps:" + iface,
                            (tx1 - tx0) * 8 / 1e6 / span))
    for dev in sorted(after.disks):
        if dev in before.disks and after.disks[dev] >= before.disks[dev]:
            busy = (after.disks[dev] - before.disks[dev]) / 1000.0
            out.append(("disk_util_pct:" + dev,
                        min(100.0, 100.0 * busy / span)))
    for name in sorted(after.procs):
        pids, old = after.procs[name], before.procs.get(name, {})
        ticks = sum(t - old[pid][0] for pid, (t, _) in pids.items()
                    if pid in old and t >= old[pid][0])
        out.append(("proc_cpu_pct:" + name,
                    100.0 * ticks / ticks_per_s / span))
        out.append(("proc_rss_mb:" + name,
                    sum(rss for _, rss in pids.values()) / 1e6))
    return out


def metric_base(metric):
    """'cpu_core_max_pct:cpu3' -> 'cpu_core_max_pct'."""
    return metric.partition(":")[0]


def monitor_summary(samples):
    """The settings file's summary.monitor: {host: {metric: {avg, max}}},
    the busiest core's under cpu_core_max_pct whichever core it was."""
    values = collections.OrderedDict()
    for s in samples:
        metric = s.metric
        if metric.startswith("cpu_core_max_pct:"):
            metric = "cpu_core_max_pct"
        values.setdefault(s.host, {}).setdefault(metric, []).append(s.value)
    return dict((host, dict((m, {"avg": round(sum(v) / len(v), 3),
                                 "max": round(max(v), 3)})
                            for m, v in sorted(metrics.items())))
                for host, metrics in values.items())


def saturation(metric, value, speeds=None):
    """Why a sample's value is a saturated resource, in words ('one core
    at 99%'), or None.  speeds: {iface: Mb/s} of the host, where known."""
    base, _, part = metric.partition(":")
    if base == "cpu_busy_pct" and value >= BUSY_CPU_PCT:
        return "CPUs %.0f%% busy" % value
    if base == "cpu_core_max_pct" and value >= CORE_BUSY_PCT:
        return "one core at %.0f%%" % value
    if base == "mem_used_pct" and value >= MEM_USED_PCT:
        return "memory %.0f%% used" % value
    if base == "mem_swap_out_mb_s" and value >= SWAP_OUT_MB_S:
        return "swapping out %.1f MB/s" % value
    if base in ("net_rx_mbps", "net_tx_mbps") and (speeds or {}).get(part):
        if value >= NET_USED_RATIO * speeds[part]:
            return "%s at %.0f%% of its %g Mb/s" % (
                part, 100.0 * value / speeds[part], speeds[part])
    if base == "disk_util_pct" and value >= DISK_BUSY_PCT:
        return "disk %s %.0f%% busy" % (part, value)
    if base == "proc_cpu_pct" and value >= PROC_BUSY_PCT:
        return "%s at %.0f%% of a core" % (part, value)
    if base == "worker_cpu_max_pct" and value >= SATURATION_CPU_RATIO * 100:
        return "a worker %.0f%% busy" % value
    return None


def saturated_spans(samples, speeds=None):
    """The saturated resources in samples (Samples, time order), as
    [(host, metric, start_s, end_s, peak, words)]: a run of at least
    two samples in a row (of that host and metric) at saturation(), or
    one when it is the metric's only sample."""
    series = collections.OrderedDict()
    for s in samples:
        base = s.metric
        if base.startswith("cpu_core_max_pct:"):
            base = "cpu_core_max_pct"
        series.setdefault((s.host, base), []).append(s)
    spans = []
    for (host, _), points in series.items():
        run = []
        for s in points + [None]:
            words = s and saturation(s.metric, s.value,
                                     (speeds or {}).get(host))
            if words:
                run.append((s, words))
                continue
            if len(run) >= 2 or (run and len(points) == 1):
                peak = max(run, key=lambda r: r[0].value)
                spans.append((host, peak[0].metric, run[0][0].elapsed,
                              run[-1][0].elapsed, peak[0].value, peak[1]))
            run = []
    return spans


OWN_HOST_RE = re.compile(r"^(generator|node-[0-9]+)$")


def host_role(host):
    """'generator' and 'node-I' are hammer's own (no --monitor spec is
    named so); any other host is a target (or beside it)."""
    return "generator" if OWN_HOST_RE.match(host) else "target"


def degradation(periods, stages, sizing=None, slo=None, checks=()):
    """When the run degraded (a Degradation), or None: --sizing's SLO
    broke (sizing: a SizingResult; slo: its Threshold); a --fail-if
    threshold failed; the errors rose (a period's share of errors at
    ERRORS_ROSE_PCT or more, and twice the first stage's); p95 rose more
    than P95_RISE_RATIO times its first stage's.  periods: Periods in
    time order."""
    if sizing is not None and sizing.reason in ("condition", "plateau",
                                                "saturated"):
        if sizing.reason == "condition" and slo is not None:
            return Degradation(sizing.at_s, "when %s passed %s" % (
                slo.metric, format_threshold_value(slo.metric, slo.value)))
        if sizing.reason == "plateau":
            return Degradation(sizing.at_s, "when throughput stopped"
                               " growing")
        return Degradation(sizing.at_s, "when hammer saturated")
    answered = [p for p in periods if p.requests]
    first_end = stages[0].end_s if len(stages) > 1 else None
    base = [p for p in answered if first_end is not None
            and p.at_s <= first_end] or answered[:max(1, len(answered) // 4)]
    base_errors = (100.0 * sum(p.errors for p in base)
                   / max(1, sum(p.requests for p in base)))
    p95s = sorted(p.p95_s for p in base if p.p95_s is not None)
    base_p95 = p95s[len(p95s) // 2] if p95s else None
    for p in answered:
        share = 100.0 * p.errors / p.requests
        if share >= ERRORS_ROSE_PCT and share >= 2 * base_errors:
            return Degradation(p.at_s, "when errors rose to %.1f%%" % share)
        if (base_p95 and p.p95_s is not None
                and p.p95_s > P95_RISE_RATIO * base_p95):
            return Degradation(p.at_s, "when p95 passed %s (%gx the first"
                               " stage's %s)" % (
                                   format_seconds(P95_RISE_RATIO * base_p95),
                                   P95_RISE_RATIO, format_seconds(base_p95)))
    failed = [t for t, _, ok in checks if not ok and t.metric != "trusted"]
    if failed:
        return Degradation(None, "when %s failed" % failed[0].expr)
    return None


def bottleneck(samples, degraded, speeds=None, window_s=None):
    """The bottleneck verdict as a dict {host, resource, metric, value,
    at_s, text}, or None when the run did not degrade (degraded: a
    Degradation, or None).  A saturated resource of hammer's own hosts
    (generator, node-I) is blamed first, whatever the target did; else
    the target's resource saturated at the degradation (within window_s
    of it, or over the whole run), the longest saturated first.  With
    none: resource None, and the text says to look inside the
    application."""
    if degraded is None:
        return None
    spans = saturated_spans(samples, speeds)
    if degraded.at_s is not None and window_s is not None:
        spans = [s for s in spans if s[2] <= degraded.at_s + window_s
                 and s[3] >= degraded.at_s - window_s]
    if not spans:
        return {"host": None, "resource": None, "metric": None,
                "value": None, "at_s": degraded.at_s,
                "text": NO_BOTTLENECK_TEXT}
    own = [s for s in spans if host_role(s[0]) == "generator"]
    host, metric, start, end, peak, words = max(
        own or spans, key=lambda s: (s[3] - s[2], -s[2]))
    role = host_role(host)
    if role == "generator":
        text = ("%s (the generator, hammer itself): %s (%s) from %.1fs,"
                " %s: the generator set the pace, not the target; add"
                " processes (-p) or machines" % (host, words, metric, start,
                                                  degraded.text))
    else:
        text = "%s (target): %s (%s) from %.1fs, %s" % (
            host, words, metric, start, degraded.text)
    return {"host": host, "resource": metric_base(metric), "metric": metric,
            "value": round(peak, 3), "at_s": round(start, 3), "text": text}


def trust_verdict(samples, open_model=False, late=False, offsets=None,
                  lost=()):
    """summary.trust: {verdict: trusted | suspect, reasons: [...]}.
    samples: every host's (the generator's hold its CPU, send lag, fd
    and port use); late: the open model fell behind its slots
    (rate_fell_behind()); offsets: {node label: clock offset s}; lost:
    the hosts whose monitoring was lost mid-run."""
    reasons, worst, lags = [], {}, {}
    for s in samples:
        if host_role(s.host) != "generator":
            continue
        key = (s.host, metric_base(s.metric))
        worst[key] = max(worst.get(key, s.value), s.value)
        if key[1] == "send_lag_ms":
            lags.setdefault(key, []).append(s.value)
    for key, values in lags.items():    # its p99 over the periods' longest
        values.sort()
        worst[key] = values[int(math.ceil(0.99 * len(values))) - 1]
    busiest = collections.OrderedDict()
    for host, metric, _, _, peak, words in saturated_spans(samples):
        if host_role(host) == "generator" and metric_base(metric) in (
                "cpu_busy_pct", "worker_cpu_max_pct"):
            key = (host, metric_base(metric))
            if key not in busiest or peak > busiest[key][0]:
                busiest[key] = (peak, "%s: %s (%s)" % (host, words, metric))
    reasons += [text for _, text in busiest.values()]
    for (host, metric), value in sorted(worst.items()):
        if (metric == "send_lag_ms" and not open_model
                and value > SEND_LAG_WARN_S * 1000):
            reasons.append("%s: send lag p99 %.1fms (over %gms)" % (
                host, value, SEND_LAG_WARN_S * 1000))
        elif metric in ("fd_used_pct", "ports_used_pct") and (
                value >= HEADROOM_USED_PCT):
            reasons.append("%s: %s %.0f%% used" % (
                host, "file descriptors" if metric == "fd_used_pct"
                else "ephemeral ports", value))
    if late:
        reasons.append("the open model's sends were late: the rate fell"
                       " behind its slots")
    for label, offset in sorted((offsets or {}).items()):
        if offset is not None and abs(offset) > CLOCK_WARN_S:
            reasons.append("%s's clock is %+.3fs off" % (label, offset))
    for host in lost:
        reasons.append("monitoring of %s was lost during the run" % host)
    return {"verdict": "suspect" if reasons else "trusted",
            "reasons": reasons}


def monitor_verdicts(samples, periods, stages, open_model=False, late=False,
                     sizing=None, slo=None, checks=(), speeds=None,
                     offsets=None, lost=(), window_s=None):
    """(bottleneck, trust) of a monitored run, as hammer's summary and
    crunch's report give them: degradation() of the periods, then
    bottleneck() and trust_verdict() of the samples."""
    degraded = degradation(periods, stages, sizing, slo, checks)
    return (bottleneck(samples, degraded, speeds, window_s),
            trust_verdict(samples, open_model, late, offsets, lost))


def format_verdicts(bottleneck_value, trust):
    """The summary's lines about the bottleneck and the trust."""
    lines = ["bottleneck  " + (bottleneck_value["text"] if bottleneck_value
                               else "none: the run did not degrade")]
    if trust["verdict"] == "trusted":
        lines.append("trust       trusted")
    else:
        lines.append("trust       suspect: " + "; ".join(trust["reasons"]))
    return lines


def latest_samples(samples):
    """Each host's newest instant of samples, for the live view: [{host,
    at_s, cpu, core, core_max, mem, net, load1}] in the hosts' order (a
    key None when that instant lacks it); net sums the interfaces."""
    newest = collections.OrderedDict()
    for s in samples:
        if s.elapsed > newest.get(s.host, -1.0):
            newest[s.host] = s.elapsed
    out = collections.OrderedDict((host, {
        "host": host, "at_s": round(at, 3), "cpu": None, "core": None,
        "core_max": None, "mem": None, "net": None, "load1": None})
        for host, at in newest.items())
    for s in samples:
        line = out[s.host]
        if s.elapsed != newest[s.host]:
            continue
        base, _, part = s.metric.partition(":")
        if base == "cpu_busy_pct":
            line["cpu"] = round(s.value, 1)
        elif base == "cpu_core_max_pct":
            line["core"], line["core_max"] = part, round(s.value, 1)
        elif base == "mem_used_pct":
            line["mem"] = round(s.value, 1)
        elif base == "load1":
            line["load1"] = s.value
        elif base in ("net_rx_mbps", "net_tx_mbps"):
            line["net"] = round((line["net"] or 0.0) + s.value, 3)
    return list(out.values())


def monitor_line(sample):
    """A line of <output>.monitor.csv."""
    return "%.3f,%s,%s,%.3f\n" % (sample.elapsed, csv_cell(sample.host),
                                 csv_cell(sample.metric), sample.value)


# --- scenario inputs: targets files, projects, data files --------------------

MAX_WEIGHT = 1000000            # the biggest '# weight: N' of a target
MAX_TARGETS_FILE_B = 64 << 20   # a --targets file bigger than this is refused
MAX_CONFIG_B = 1 << 20          # and a project's config.cfg
MAX_DATA_FILE_B = 1 << 30       # and a --data-file
DIGITS = frozenset("0123456789")


def positive_whole(text, most):
    """'30' -> 30 when text is ASCII digits worth 1..most, else None (int()
    would also take '+3', ' 3', '3_000' and non-ASCII digits)."""
    if not text or not set(text) <= DIGITS:
        return None
    if len(text.lstrip("0")) > len(str(most)):
        return None
    value = int(text)
    return value if 1 <= value <= most else None


def read_regular(path, limit):
    """The bytes of a regular file, None when it holds more than limit;
    OSError as open() raises it, ValueError when it is not a regular file
    (opening a FIFO would block)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ValueError("not a regular file")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    return data if len(data) <= limit else None


def read_input(path, limit, what, where=""):
    """read_regular(), its failures a UsageError about `what` (such as
    "targets file 'x.txt'"), after where (such as "x.txt:3: ")."""
    try:
        data = read_regular(path, limit)
    except ValueError:
        raise UsageError("%s%s is not a regular file" % (where, what))
    except OSError as exc:
        raise UsageError("%scannot read %s: %s"
                         % (where, what, exc.strerror or exc))
    if data is None:
        raise UsageError("%s%s is bigger than %d MiB"
                         % (where, what, limit >> 20))
    return data


def decode_text(data, path):
    """UTF-8 bytes (a BOM allowed) -> str; UsageError names the line of the
    first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError("%s:%d: not utf-8 text (byte 0x%02x)"
                         % (path, line, data[exc.start]))


# --- --targets FILE: vegeta's http format ------------------------------------

# A target is a line 'METHOD URL', then 'Name: value' header lines, then at
# most one '@path' body line.  Blank lines separate targets; a new 'METHOD
# URL' line (URL starting with / or holding ://) also starts one.  Lines
# starting with '#' are comments anywhere; '# name: X' and '# weight: N'
# ones set the next target's name and weight, and end the target before.

TargetSpec = collections.namedtuple(
    "TargetSpec", "method url headers body_path name weight line")
TargetSpec.__doc__ = """One request of a --targets file: method, url (absolute
http(s) or a path to resolve against the command's URL), headers [(name,
value)], body_path (as written after '@', or None), name (None: the
default), weight (int >= 1) and line (of its METHOD URL line)."""

DIRECTIVE_RE = re.compile(r"#[ \t]*(name|weight)[ \t]*:(.*)$", re.IGNORECASE)


def split_target_line(text):
    """'METHOD URL' -> (method, url), or None when it is not two words."""
    parts = text.split(None, 1)
    if len(parts) != 2:
        return None
    return parts[0], parts[1].strip(" \t")


def looks_like_target(text):
    """Whether a line inside a target is the next target's 'METHOD URL'
    rather than a header: a token, a space, then a URL-looking word."""
    parts = split_target_line(text)
    return (parts is not None and set(parts[0]) <= TOKEN_CHARS
            and ":" not in parts[0]
            and (parts[1].startswith("/") or "://" in parts[1]))


def looks_like_header(text):
    """Whether a line is 'Name: value' rather than 'METHOD URL'."""
    name, colon, _ = text.partition(":")
    return bool(colon and name) and set(name) <= TOKEN_CHARS


def url_problem(url):
    """Why url is no target URL, or None: an absolute http(s) URL with a
    host, or a path starting with '/'.  parse_url checks the rest."""
    if any(c in " \t" for c in url):
        return "it holds a space"
    if has_control(url):
        return "it holds a control character"
    if url.startswith("/"):
        return None
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return "want http://, https:// or a path starting with /"
    if not re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]:
        return "it has no host"
    return None


def parse_target_line(text, where):
    """'METHOD URL' -> (method, url); UsageError (prefixed `where`)."""
    parts = split_target_line(text)
    if parts is None:
        raise UsageError("%s: bad target line %r (want METHOD URL)"
                         % (where, text))
    method, url = parts
    if not set(method) <= TOKEN_CHARS:
        raise UsageError("%s: bad method %r (want a token such as GET)"
                         % (where, method))
    problem = url_problem(url)
    if problem:
        raise UsageError("%s: bad url %r (%s)" % (where, url, problem))
    return method, url


def parse_target_header(text, where):
    """'Name: value' -> (name, value) as parse_header, plus: the value must
    be latin-1, as hammer sends it."""
    name, sep, value = text.partition(":")
    name, value = name.strip(" \t"), value.strip(" \t")
    if not sep or not name or not set(name) <= TOKEN_CHARS:
        raise UsageError("%s: bad header line %r (want Name: value)"
                         % (where, text))
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        raise UsageError("%s: header %r holds a control character"
                         % (where, text))
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise UsageError("%s: header %r holds a character that is not"
                         " latin-1" % (where, text))
    return name, value


def parse_directive(key, value, where):
    """A '# name: X' or '# weight: N' comment -> the name or the weight."""
    if key == "name":
        if not value:
            raise UsageError("%s: '# name:' gives no name" % where)
        if has_control(value):
            raise UsageError("%s: name %r holds a control character"
                             % (where, value))
        return value
    weight = positive_whole(value, MAX_WEIGHT)
    if weight is None:
        raise UsageError("%s: weight %r is not a whole number from 1 to %d"
                         % (where, value, MAX_WEIGHT))
    return weight


def parse_targets(text, path):
    """A --targets file's text -> [TargetSpec]; UsageError names path, the
    line and what is wrong.  path only names the file in messages."""
    targets = []
    pending = {}        # key -> (value, line) of '# name:'/'# weight:'
    state = "between"   # or "headers" (after METHOD URL), "body" (after @)
    if text.startswith("\ufeff"):
        text = text[1:]
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        line = line.strip(" \t")
        where = "%s:%d" % (path, number)
        if not line:
            state = "between"
            continue
        if line.startswith("#"):
            match = DIRECTIVE_RE.match(line)
            if match:
                key = match.group(1).lower()
                if key in pending:
                    raise UsageError("%s: a second '# %s:' for one target"
                                     " (the first is on line %d)"
                                     % (where, key, pending[key][1]))
                value = match.group(2).strip(" \t")
                pending[key] = (parse_directive(key, value, where), number)
                state = "between"
            continue
        if line.startswith("@"):
            if state == "between":
                raise UsageError("%s: body line %r follows no target"
                                 % (where, line))
            if state == "body":
                raise UsageError("%s: second body line %r (a target has at"
                                 " most one)" % (where, line))
            body_path = line[1:].strip(" \t")
            if not body_path:
                raise UsageError("%s: body line %r names no file"
                                 % (where, line))
            targets[-1] = targets[-1]._replace(body_path=body_path)
            state = "body"
            continue
        if state == "between" and looks_like_header(line):
            raise UsageError("%s: header line %r follows no target (a blank"
                             " line or a '# name:' or '# weight:' comment"
                             " ended the one before)" % (where, line))
        if state == "between" or looks_like_target(line):
            method, url = parse_target_line(line, where)
            name = pending.pop("name", (None, 0))[0]
            weight = pending.pop("weight", (1, 0))[0]
            targets.append(TargetSpec(method, url, [], None, name, weight,
                                      number))
            state = "headers"
        elif state == "body":
            raise UsageError("%s: header line %r after the body line (headers"
                             " come first)" % (where, line))
        else:
            targets[-1].headers.append(parse_target_header(line, where))
    if pending:
        key, (value, number) = min(pending.items(), key=lambda kv: kv[1][1])
        raise UsageError("%s:%d: '# %s: %s' is followed by no target"
                         % (path, number, key, value))
    if not targets:
        raise UsageError("%s: holds no target (want lines such as"
                         " 'GET http://host/path')" % path)
    return targets


def load_targets(path):
    """Read, parse and load a --targets file -> [(TargetSpec, body bytes or
    None)].  Body files are relative to the targets file's directory and
    read once each, at most MAX_BODY_B bytes."""
    data = read_input(path, MAX_TARGETS_FILE_B, "targets file %r" % path)
    targets = parse_targets(decode_text(data, path), path)
    here = os.path.dirname(path)
    bodies = {}
    loaded = []
    for target in targets:
        body = None
        if target.body_path is not None:
            full = os.path.normpath(os.path.join(here, target.body_path))
            if full not in bodies:
                bodies[full] = read_target_body(full, target, path)
            body = bodies[full]
        loaded.append((target, body))
    return loaded


def read_target_body(full, target, path):
    """The bytes of a target's body file; UsageError names the line."""
    where = "%s:%d" % (path, target.line)
    return read_input(full, MAX_BODY_B, "body file %r" % target.body_path,
                      where + ": ")


# --- --project DIR: a multi-mechanize project --------------------------------

# DIR/config.cfg (configparser, as multi-mechanize read it) has [global] and
# one [user_group-N] section per group; scripts live in DIR/test_scripts/.

Project = collections.namedtuple("Project", "run_time_s rampup_s"
                                 " results_ts_interval_s progress_bar groups"
                                 " ignored")
Project.__doc__ = """A multi-mechanize project's config: seconds (None when
not given), progress_bar (True, False or None), groups [(script path,
threads)] in the config's order, and ignored: the sorted keys given that
hammer has no equivalent for."""

PROJECT_CONFIG = "config.cfg"
PROJECT_SCRIPTS = "test_scripts"
PROJECT_APPLIED = ("run_time", "rampup", "results_ts_interval",
                   "progress_bar")
PROJECT_IGNORED = ("console_logging", "xml_report", "results_database",
                   "post_run_script")
GROUP_KEYS = ("threads", "script")
NO_DEFAULT_SECTION = "\n"   # no [header] can be this: [DEFAULT] is unknown
SECTION_RE = re.compile(r"\[(.+)\]")
KEY_RE = re.compile(r"([^=:\s][^=:]*?)\s*[=:]")


def key_lines(text):
    """{(section, key): line number} of a config's text, for messages."""
    lines = {}
    section = None
    for number, line in enumerate(text.split("\n"), 1):
        match = SECTION_RE.match(line)
        if match:
            section = match.group(1)
            lines.setdefault((section, None), number)
            continue
        match = KEY_RE.match(line)
        if match and section is not None and line[0] not in "#;":
            lines.setdefault((section, match.group(1).lower()), number)
    return lines


def read_config(path):
    """path -> (ConfigParser, its text); UsageError when it cannot be
    read or parsed."""
    data = read_input(path, MAX_CONFIG_B, path)
    text = decode_text(data, path)
    config = configparser.ConfigParser(
        interpolation=None, inline_comment_prefixes=(";", "#"),
        default_section=NO_DEFAULT_SECTION)
    lines = text.split("\n")
    try:
        config.read_string(text, source=path)
    except configparser.MissingSectionHeaderError as exc:
        raise UsageError("%s:%d: %r comes before any [section]"
                         % (path, exc.lineno, lines[exc.lineno - 1].strip()))
    except configparser.DuplicateSectionError as exc:
        raise UsageError("%s:%d: a second [%s] section"
                         % (path, exc.lineno, exc.section))
    except configparser.DuplicateOptionError as exc:
        raise UsageError("%s:%d: a second %s in [%s]"
                         % (path, exc.lineno, exc.option, exc.section))
    except configparser.ParsingError as exc:
        number = exc.errors[0][0]
        raise UsageError("%s:%d: cannot parse %r (want key = value)"
                         % (path, number, lines[number - 1].strip()))
    except configparser.Error as exc:
        raise UsageError("%s: cannot parse it: %s"
                         % (path, str(exc).splitlines()[0]))
    return config, text


def config_seconds(value, where, key, zero_ok):
    """A [global] time key: seconds > 0 (>= 0 when zero_ok)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if (not math.isfinite(seconds) or seconds < 0
            or seconds == 0 and not zero_ok):
        raise UsageError("%s: %s %r is not a number of seconds %s"
                         % (where, key, value, ">= 0" if zero_ok else "> 0"))
    if seconds > MAX_DURATION_S:
        raise UsageError("%s: %s %r is too long: at most %gs"
                         % (where, key, value, MAX_DURATION_S))
    return seconds


def config_boolean(value, where, key):
    """on/off, true/false, yes/no, 1/0, as multi-mechanize's getboolean."""
    state = configparser.ConfigParser.BOOLEAN_STATES.get(value.lower())
    if state is None:
        raise UsageError("%s: %s %r is not on or off (nor true/false,"
                         " yes/no, 1/0)" % (where, key, value))
    return state


def parse_project(directory):
    """A multi-mechanize project directory -> Project; UsageError names the
    file, the line where known, and the key."""
    if not os.path.isdir(directory):
        raise UsageError("project directory %r %s" % (
            directory, "is not a directory" if os.path.exists(directory)
            else "does not exist"))
    path = os.path.join(directory, PROJECT_CONFIG)
    config, text = read_config(path)
    lines = key_lines(text)

    def where(section, key):
        number = lines.get((section, key))
        return "%s:%d" % (path, number) if number else path

    sections = config.sections()
    for section in sections:
        if section != "global" and not section.startswith("user_group"):
            raise UsageError("%s: unknown section [%s] (want [global] and"
                             " [user_group-N])" % (path, section))
    if "global" not in sections:
        raise UsageError("%s: has no [global] section" % path)
    known = PROJECT_APPLIED + PROJECT_IGNORED
    values = {}
    for key, value in config.items("global"):
        if key not in known:
            raise UsageError("%s: unknown key %r in [global] (known: %s)"
                             % (where("global", key), key, ", ".join(known)))
        values[key] = value
    seconds = {}
    for key, zero_ok in (("run_time", False), ("rampup", True),
                         ("results_ts_interval", False)):
        if key in values:
            seconds[key] = config_seconds(values[key], where("global", key),
                                          key, zero_ok)
    progress_bar = None
    if "progress_bar" in values:
        progress_bar = config_boolean(values["progress_bar"],
                                      where("global", "progress_bar"),
                                      "progress_bar")
    groups = [project_group(config, section, directory, where)
              for section in sections if section != "global"]
    if not groups:
        raise UsageError("%s: has no [user_group-N] section" % path)
    return Project(seconds.get("run_time"), seconds.get("rampup"),
                   seconds.get("results_ts_interval"), progress_bar, groups,
                   sorted(k for k in values if k in PROJECT_IGNORED))


def project_group(config, section, directory, where):
    """A [user_group-N] section -> (script path, threads)."""
    items = dict(config.items(section))
    for key in items:
        if key not in GROUP_KEYS:
            raise UsageError("%s: unknown key %r in [%s] (known: %s)"
                             % (where(section, key), key, section,
                                ", ".join(GROUP_KEYS)))
    for key in GROUP_KEYS:
        if key not in items:
            raise UsageError("%s: [%s] has no %s" % (where(section, None),
                                                     section, key))
    threads = positive_whole(items["threads"], MAX_USERS)
    if threads is None:
        raise UsageError("%s: threads %r in [%s] is not a whole number from"
                         " 1 to %d" % (where(section, "threads"),
                                       items["threads"], section, MAX_USERS))
    script = os.path.join(directory, PROJECT_SCRIPTS, items["script"])
    if not items["script"] or not os.path.isfile(script):
        raise UsageError("%s: script %r in [%s]: no file %s"
                         % (where(section, "script"), items["script"],
                            section, script))
    return script, threads


def format_ignored(path, keys):
    """The one line saying which config keys hammer ignores, or None."""
    if not keys:
        return None
    return ("hammer: %s: ignoring %s (no equivalent in hammer)"
            % (path, ", ".join(keys)))


# --- --data-file FILE.csv ----------------------------------------------------


def load_data_file(path):
    """A CSV with a header -> (fieldnames, [row dict]).  Blank lines are
    skipped; a row with fewer fields than the header gets '' for the rest;
    one with more is an error naming its line."""
    data = read_input(path, MAX_DATA_FILE_B, "--data-file %r" % path)
    reader = csv.reader(io.StringIO(decode_text(data, path), newline=""),
                        strict=True)
    fieldnames = None
    rows = []
    start = 1
    try:
        for record in reader:
            if record:
                if fieldnames is None:
                    fieldnames = data_header(record, path, start)
                elif len(record) > len(fieldnames):
                    raise UsageError("%s:%d: %d fields, and the header has %d"
                                     % (path, start, len(record),
                                        len(fieldnames)))
                else:
                    record += [""] * (len(fieldnames) - len(record))
                    rows.append(dict(zip(fieldnames, record)))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UsageError("%s:%d: %s" % (path, start, str(exc).lower()))
    if fieldnames is None:
        raise UsageError("%s: is empty (want a header line, then rows)" % path)
    if not rows:
        raise UsageError("%s: has a header and no rows" % path)
    return fieldnames, rows


def data_header(record, path, line):
    """A --data-file's header: names neither empty nor repeated."""
    seen = set()
    for name in record:
        if not name.strip():
            raise UsageError("%s:%d: the header has an empty column name"
                             % (path, line))
        if name in seen:
            raise UsageError("%s:%d: the header has column %r twice"
                             % (path, line, name))
        seen.add(name)
    return record


# --- recordings: HAR files, curl commands and access logs --------------------

# Three readers, each plain text (or bytes) in and named records out, never
# touching a socket: a HAR file's entries, a file of curl commands, and an
# access log's lines (a generator, so that a log of any size streams).  The
# kind of a recording is told from its content.  Each refuses bad input
# with one UsageError naming the file and what is wrong.

MAX_RECORDING_B = 200 << 20     # a HAR (read whole) or curl file above this
                                # is refused, its size named
MAX_LOG_LINE_B = 64 << 10       # a longer access log line is unfit

HarEntry = collections.namedtuple(
    "HarEntry", "method url headers body body_type started_s time_s status"
    " response_headers text mime page skip")
HarEntry.__doc__ = """One request of a HAR file: method, url (absolute),
headers [(name, value)], body (bytes or None), body_type (its postData's
mimeType, or None), started_s (epoch seconds, or
None when missing), time_s (its duration, None when missing), status (0
when missing), response_headers [(name, value)], text (the response body
as text, None when absent or binary), mime (the response's MIME type,
lowercase, without parameters), page (its page's title or None) and
skip (why --import drops it whatever it keeps: 'not http(s)' for a
data:, blob: or ws: URL, 'from the browser's cache' for a request the
browser did not send; else None)."""

CurlCommand = collections.namedtuple(
    "CurlCommand", "method url headers body follow insecure ignored line")
CurlCommand.__doc__ = """One curl command: method, url, headers [(name,
value)], body (bytes or None), follow (-L), insecure (-k), ignored (the
options hammer cannot honour, as written) and line (its first line)."""

LogLine = collections.namedtuple("LogLine", "method target stamp_s whole")
LogLine.__doc__ = """One access log line: method, target (path and query),
stamp_s (epoch seconds) and whole (True when the log stamps whole
seconds, as common and combined logs do)."""

MONTHS = {m: i for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
ACCESS_LOG_RE = re.compile(
    r'\S+ \S+ (?:\S+|"[^"]*") \[(\d\d)/(\w\w\w)/(\d{4}):(\d\d):(\d\d):(\d\d)'
    r' ([+-])(\d\d)(\d\d)\] "([^"\\]*(?:\\.[^"\\]*)*)" (?:\d{3}|-)'
    r' (?:\d+|-)(.*)$')
MSEC_RE = re.compile(r"(?:^|\s)(\d{9,10}\.\d{3})(?=\s|$)")
METHOD_RE = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+\Z")
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
CLF_STAMPS = {}         # a common log's stamp fields -> epoch seconds
MAX_CLF_STAMPS = 4096
ISO_TIME_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?"
    r"\s*(Z|[+-]\d\d:?\d\d)?$")
JSON_KEYS = {
    "method": ("method", "request_method", "verb", "http_method"),
    "path": ("path", "request_uri", "uri", "url", "target"),
    "time": ("time", "timestamp", "ts", "@timestamp", "msec", "time_local",
             "time_iso8601", "start_time", "date"),
}
ASSET_MIMES = ("image/", "font/", "video/", "audio/", "text/css",
               "application/javascript", "text/javascript",
               "application/x-javascript", "application/ecmascript",
               "application/font", "application/x-font", "application/wasm",
               "application/vnd.ms-fontobject")
ASSET_EXTENSIONS = frozenset(
    "png jpg jpeg gif webp svg ico bmp avif woff woff2 ttf otf eot css js"
    " mjs map mp4 webm mp3 wav ogg wasm".split())


def iso_epoch(text):
    """'2026-12-05T02:30:34.123Z' (or +01:00, or no zone: UTC) -> epoch
    seconds; None when it is not such a time."""
    m = ISO_TIME_RE.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60
            and s < 61):
        return None
    epoch = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    epoch += float(m.group(7) or 0)
    zone = m.group(8)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "+" else 1
        zone = zone[1:].replace(":", "")
        epoch += sign * (int(zone[:2]) * 3600 + int(zone[2:]) * 60)
    return epoch


def clf_epoch(day, month, year, hour, minute, second, sign, zh, zm):
    """A common log's [10/Oct/2000:13:55:36 -0700] fields -> epoch seconds,
    None for a month or a field out of range."""
    mo = MONTHS.get(month)
    if mo is None or not (1 <= int(day) <= 31 and int(hour) < 24
                          and int(minute) < 60 and int(second) < 61):
        return None
    epoch = calendar.timegm((int(year), mo, int(day), int(hour),
                             int(minute), int(second), 0, 0, 0))
    offset = int(zh) * 3600 + int(zm) * 60
    return epoch - offset if sign == "+" else epoch + offset


def split_request_line(text):
    """'GET /a?b HTTP/1.1' -> (method, target), None when it is not one.
    A target with non-ASCII characters has them percent-encoded (UTF-8),
    as a browser sends them."""
    parts = text.split(" ")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        return None
    method, target = parts[0], parts[1]
    if METHOD_RE.match(method) is None or CONTROL_RE.search(target):
        return None
    try:
        target.encode("ascii")
    except UnicodeEncodeError:
        target = percent_encode(target, "")
    if target[:1] != "/" and is_absolute(target):   # a proxy's log
        rest = target.split("://", 1)[1]
        target = "/" + rest.partition("/")[2]
    if not target.startswith("/"):
        return None
    return method, target


def parse_common_line(line):
    """A common or combined log line (nginx's or Apache's, perhaps with
    $msec as a field after them) -> LogLine, None when it does not fit."""
    m = ACCESS_LOG_RE.match(line)
    if m is None:
        return None
    request = split_request_line(m.group(10))
    key = m.group(1, 2, 3, 4, 5, 6, 7, 8, 9)
    stamp = CLF_STAMPS.get(key, False)
    if stamp is False:  # the lines of one second share their stamp
        if len(CLF_STAMPS) >= MAX_CLF_STAMPS:
            CLF_STAMPS.clear()
        stamp = CLF_STAMPS[key] = clf_epoch(*key)
    if request is None or stamp is None:
        return None
    msec = MSEC_RE.search(m.group(11))
    if msec is not None:
        return LogLine(request[0], request[1], float(msec.group(1)), False)
    return LogLine(request[0], request[1], float(stamp), True)


def json_field(record, what):
    for key in JSON_KEYS[what]:
        if key in record:
            return record[key]
    return None


def parse_json_line(line):
    """A JSON line with a method, a path and a time -> LogLine, None when
    it does not fit.  The time is epoch seconds (milliseconds when above
    1e11), an ISO 8601 time or a common log's time; a 'request' field of
    'GET /a HTTP/1.1' gives the method and the path."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    method, path = json_field(record, "method"), json_field(record, "path")
    if (method is None or path is None) and isinstance(
            record.get("request"), str):
        parsed = split_request_line(record["request"])
        if parsed is None:
            return None
        method, path = parsed
    if not isinstance(method, str) or not isinstance(path, str):
        return None
    request = split_request_line("%s %s" % (method, path))
    stamp = json_field(record, "time")
    if isinstance(stamp, bool) or request is None:
        return None
    if isinstance(stamp, (int, float)):
        seconds = float(stamp) / (1000.0 if stamp > 1e11 else 1.0)
        if not 0 <= seconds < 1e11:
            return None
        return LogLine(request[0], request[1], seconds,
                       isinstance(stamp, int) and stamp < 1e11)
    if isinstance(stamp, str):
        seconds = iso_epoch(stamp)
        whole = seconds is not None and "." not in stamp
        if seconds is None:
            m = re.match(r"\[?(\d\d)/(\w\w\w)/(\d{4}):(\d\d):(\d\d):(\d\d)"
                         r" ([+-])(\d\d)(\d\d)\]?$", stamp.strip())
            seconds = m and clf_epoch(*m.groups())
            whole = True
        if seconds is not None:
            return LogLine(request[0], request[1], float(seconds), whole)
    return None


def parse_log_line(line):
    """One access log line, whatever its format -> LogLine or None."""
    if line[:1] == "{":
        return parse_json_line(line)
    return parse_common_line(line)


def log_lines(lines):
    """An access log's lines (str or bytes, with or without their end) ->
    (LogLine or None, the line as text) for each line that is not blank:
    a generator, so that a log of any size streams."""
    for raw in lines:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if len(line) > MAX_LOG_LINE_B:
            yield None, line[:200]
            continue
        yield parse_log_line(line), line


def spread_instants(lines):
    """(LogLine, ...) pairs in log order -> (instant_s, LogLine, ...)
    with instant_s from the first line on: whole-second stamps are spread
    evenly over their second, in the log's order (m lines stamped S go at
    S, S + 1/m, ...); exact ones are kept.  A line stamped before the one
    above it goes at that one's instant: the schedule never runs back.  A
    generator that holds one second's lines at most."""
    first = last = base = None
    second, held = None, []

    def flush():
        nonlocal first, last, base
        m = len(held)
        for k, item in enumerate(held):
            if base is None:    # instants from it: epoch seconds lose bits
                base = item[0].stamp_s
            at = item[0].stamp_s - base
            if item[0].whole:
                at += k / float(m)
            if first is None:
                first = last = at
            last = max(last, at)
            yield (last - first,) + item
        del held[:]

    for item in lines:
        record = item[0]
        if not record.whole or record.stamp_s != second:
            for out in flush():
                yield out
            second = record.stamp_s if record.whole else None
        held.append(item)
    for out in flush():
        yield out


def har_time(value):
    """A HAR's 'time' in ms -> seconds, None when missing or -1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value / 1000.0 if value >= 0 else None


def har_headers(items, where):
    if items is None:
        return []
    if not isinstance(items, list):
        raise UsageError("%s: headers are not a list" % where)
    headers = []
    for h in items:
        if not isinstance(h, dict) or not isinstance(h.get("name"), str):
            raise UsageError("%s: a header without a name" % where)
        value = h.get("value", "")
        headers.append((h["name"], value if isinstance(value, str)
                        else str(value)))
    return headers


def har_body(post, where):
    """A HAR request's postData -> bytes or None: its text (base64 when
    its encoding says so), else its params form-encoded."""
    if not isinstance(post, dict):
        return None
    text = post.get("text")
    if isinstance(text, str):
        if post.get("encoding") == "base64":
            try:
                return base64.b64decode(text, validate=False)
            except (ValueError, TypeError):
                raise UsageError("%s: a body that is not base64" % where)
        return text.encode("utf-8", "surrogateescape")
    params = post.get("params")
    if isinstance(params, list) and params:
        return urlencode([(p.get("name", ""), p.get("value", ""))
                          for p in params if isinstance(p, dict)]).encode()
    return None


def post_type(post):
    """A HAR request's postData's mimeType, or None."""
    kind = post.get("mimeType") if isinstance(post, dict) else None
    return kind if isinstance(kind, str) and kind else None


def har_text(content):
    """A HAR response's content -> (text or None, mime)."""
    if not isinstance(content, dict):
        return None, ""
    mime = content.get("mimeType") or ""
    mime = mime.split(";")[0].strip().lower() if isinstance(mime, str) else ""
    text = content.get("text")
    if not isinstance(text, str):
        return None, mime
    if content.get("encoding") == "base64":
        try:
            raw = base64.b64decode(text)
        except (ValueError, TypeError):
            return None, mime
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, mime
    return text, mime


def har_entry(e, number, titles, path):
    """One entry of a HAR's log.entries -> HarEntry."""
    where = "%s: entry %d" % (path, number)
    if not isinstance(e, dict) or not isinstance(e.get("request"), dict):
        raise UsageError("%s has no request" % where)
    req = e["request"]
    method, url = req.get("method"), req.get("url")
    if not isinstance(method, str) or not set(method) <= TOKEN_CHARS \
            or not method:
        raise UsageError("%s: bad method %r" % (where, method))
    if not isinstance(url, str) or not is_absolute(url) and not re.match(
            r"(?i)(data|blob|about|javascript):", url):
        raise UsageError("%s: url %r is not a URL" % (where, url))
    skip = None
    if not re.match(r"(?i)https?://[^/?#]", url):
        skip = "not http(s)"
    elif e.get("_fromCache") in ("memory", "disk"):
        skip = "from the browser's cache"
    resp = e.get("response") if isinstance(e.get("response"), dict) else {}
    status = resp.get("status")
    text, mime = har_text(resp.get("content"))
    started = e.get("startedDateTime")
    page = e.get("pageref")
    return HarEntry(
        method.upper(), url, har_headers(req.get("headers"), where),
        har_body(req.get("postData"), where), post_type(req.get("postData")),
        iso_epoch(started) if isinstance(started, str) else None,
        har_time(e.get("time")),
        status if isinstance(status, int) and 0 < status < 1000 else 0,
        har_headers(resp.get("headers"), where), text, mime,
        titles.get(page) if isinstance(page, str) else None, skip)


def parse_har(text, path):
    """A HAR file's text -> [HarEntry] in the order they started (Chrome,
    Firefox with or without pages, Safari, Charles, mitmproxy).  UsageError
    for JSON that is not whole, a document that is not a HAR, or one with
    no entries."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        end = len(text.rstrip())
        if getattr(exc, "pos", 0) >= end - 1:
            raise UsageError("%s: the JSON ends too soon (a truncated"
                             " file?): %s" % (path, exc.msg))
        raise UsageError("%s: not valid JSON: %s" % (path, exc))
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict) or "entries" not in log:
        raise UsageError("%s: JSON, but not a HAR file (no log.entries)"
                         % path)
    entries = log["entries"]
    if not isinstance(entries, list):
        raise UsageError("%s: log.entries is not a list" % path)
    if not entries:
        raise UsageError("%s: a HAR with no entries: record some requests"
                         % path)
    titles = {}
    for page in log.get("pages") or ():
        if isinstance(page, dict) and isinstance(page.get("id"), str):
            title = page.get("title")
            titles[page["id"]] = title if isinstance(title, str) else ""
    out = [har_entry(e, i, titles, path) for i, e in enumerate(entries, 1)]
    order = sorted(range(len(out)), key=lambda i: (
        out[i].started_s if out[i].started_s is not None else -1, i))
    if all(e.started_s is not None for e in out):
        out = [out[i] for i in order]
    return out


CURL_VALUED = {
    "-X": "method", "--request": "method", "-H": "header",
    "--header": "header", "-d": "data", "--data": "data",
    "--data-ascii": "data", "--data-raw": "raw", "--data-binary": "binary",
    "--data-urlencode": "urlencode", "--json": "json", "-u": "user",
    "--user": "user", "-b": "cookie", "--cookie": "cookie",
    "-A": "agent", "--user-agent": "agent", "-e": "referer",
    "--referer": "referer", "--url": "url",
}
CURL_FLAGS = {
    "-L": "follow", "--location": "follow", "-k": "insecure",
    "--insecure": "insecure", "-G": "get", "--get": "get", "-I": "head",
    "--head": "head",
}
# options that change nothing hammer measures, with the count of values
# they take
CURL_HARMLESS = {
    "-s": 0, "--silent": 0, "-S": 0, "--show-error": 0, "-v": 0,
    "--verbose": 0, "-i": 0, "--include": 0, "--compressed": 0,
    "-f": 0, "--fail": 0, "-#": 0, "--progress-bar": 0, "-N": 0,
    "--no-buffer": 0, "--http1.1": 0, "-o": 1, "--output": 1, "-w": 1,
    "--write-out": 1, "-m": 1, "--max-time": 1, "--connect-timeout": 1,
    "--retry": 1, "-D": 1, "--dump-header": 1, "--trace": 1,
    "--trace-ascii": 1, "--stderr": 1, "--retry-delay": 1,
    "--retry-max-time": 1, "-c": 1, "--cookie-jar": 1,
}
# options hammer cannot honour that take a value, named (and skipped with
# --force); an unknown option is named too, and taken as a flag
CURL_UNHONOURED_VALUED = frozenset(
    "-x --proxy -U --proxy-user -F --form --form-string -E --cert --cacert"
    " --capath --key --cert-type --key-type --ciphers --resolve --connect-to"
    " -T --upload-file --limit-rate -r --range -K --config --interface"
    " --local-port -z --time-cond -Y --speed-limit -y --speed-time"
    " --max-filesize --unix-socket --abstract-unix-socket --proxy-header"
    " --noproxy --dns-servers -C --continue-at -Q --quote --pinnedpubkey"
    " --crlfile --oauth2-bearer --max-redirs -e --referer".split()) - set(
        ["-e", "--referer"])
ANSI_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'",
                '"': '"', "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
                "f": "\f", "v": "\v", "?": "?"}


def ansi_c_string(text, i, where):
    """bash's $'...' from just after its quote -> (string, index after the
    closing quote)."""
    out = []
    while i < len(text):
        c = text[i]
        if c == "'":
            return "".join(out), i + 1
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n in ANSI_ESCAPES:
                out.append(ANSI_ESCAPES[n])
                i += 2
                continue
            m = re.compile(r"x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{1,4})|"
                           r"U([0-9a-fA-F]{1,8})|([0-7]{1,3})").match(
                               text, i + 1)
            if m:
                code = int(m.group(m.lastindex), 8 if m.lastindex == 4
                           else 16)
                if code > 0x10FFFF:
                    raise UsageError("%s: bad escape %r" % (where, m.group()))
                out.append(chr(code))
                i = m.end()
                continue
        out.append(c)
        i += 1
    raise UsageError("%s: a $'...' string that is not closed" % where)


def shell_words(text, path):
    """A file of shell commands -> [(first line, [words])], one per
    command: bash's quoting ('...', "...", $'...', backslashes), '\\' line
    continuations, '#' comments, commands ended by a newline, ';' or '&&'.
    UsageError for a quote left open."""
    commands, words, word, line, start = [], [], None, 1, 1
    i, n = 0, len(text)

    def end_word():
        nonlocal word
        if word is not None:
            words.append("".join(word))
            word = None

    def end_command():
        nonlocal words
        end_word()
        if words:
            commands.append((start, words))
        words = []

    while i < n:
        c = text[i]
        where = "%s:%d" % (path, line)
        if c == "\\" and i + 1 < n:
            if text[i + 1] == "\n":
                line += 1
                i += 2
                continue
            if text[i + 1:i + 3] == "\r\n":
                line += 1
                i += 3
                continue
            word = (word or []) + [text[i + 1]]
            i += 2
        elif c in " \t\r":
            end_word()
            i += 1
        elif c == "\n" or c == ";" or text.startswith("&&", i):
            end_command()
            line += c == "\n"
            i += 2 if c == "&" else 1
            if not words:
                start = line
        elif c == "#" and word is None:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise UsageError("%s: a '...' string that is not closed"
                                 % where)
            line += text.count("\n", i, close)
            word = (word or []) + [text[i + 1:close]]
            i = close + 1
        elif c == "$" and text.startswith("$'", i):
            value, after = ansi_c_string(text, i + 2, where)
            line += text.count("\n", i, after)
            word = (word or []) + [value]
            i = after
        elif c == '"':
            j, part = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\$`\n':
                    if text[j + 1] != "\n":
                        part.append(text[j + 1])
                    j += 2
                else:
                    part.append(text[j])
                    j += 1
            if j >= n:
                raise UsageError('%s: a "..." string that is not closed'
                                 % where)
            line += text.count("\n", i, j)
            word = (word or []) + ["".join(part)]
            i = j + 1
        else:
            if word is None and not words:
                start = line
            word = (word or []) + [c]
            i += 1
    end_command()
    return commands


def curl_option(words, i, where):
    """The option at words[i] -> (its name, its value or None, next i).
    '--data=x', '-dx' and '-Hx' are split as curl splits them."""
    word = words[i]
    if word.startswith("--") and "=" in word:
        name, _, value = word.partition("=")
        if name in CURL_VALUED or CURL_HARMLESS.get(name):
            return name, value, i + 1
    if (not word.startswith("--") and len(word) > 2
            and word[:2] in CURL_VALUED):
        return word[:2], word[2:], i + 1
    if (word in CURL_VALUED or CURL_HARMLESS.get(word)
            or word in CURL_UNHONOURED_VALUED):
        if i + 1 >= len(words):
            raise UsageError("%s: %s needs a value" % (where, word))
        return word, words[i + 1], i + 2
    return word, None, i + 1


def curl_command(words, line, path):
    """One command's words (words[0] is curl) -> CurlCommand."""
    where = "%s:%d" % (path, line)
    method, url, headers, data, ignored = None, None, [], [], []
    flags, raw_json = set(), False
    i = 1
    while i < len(words):
        if not words[i].startswith("-") or words[i] == "-":
            if url is not None:
                raise UsageError("%s: two URLs, %r and %r (hammer takes one"
                                 " a command)" % (where, url, words[i]))
            url, i = words[i], i + 1
            continue
        name, value, i = curl_option(words, i, where)
        kind = CURL_VALUED.get(name) or CURL_FLAGS.get(name)
        if kind is None:
            if name not in CURL_HARMLESS and not re.match(r"-[sSvLkfiN]+$",
                                                          name):
                ignored.append(name)
            elif re.match(r"-[sSvLkfiN]+$", name):
                flags.update(CURL_FLAGS.get("-" + c) for c in name[1:]
                             if "-" + c in CURL_FLAGS)
            continue
        if kind in CURL_FLAGS.values():
            flags.add(kind)
        elif kind == "method":
            method = value
        elif kind == "url":
            url = value
        elif kind == "header":
            h_name, sep, h_value = value.partition(":")
            if not sep or not h_name.strip() or not set(
                    h_name.strip()) <= TOKEN_CHARS:
                raise UsageError("%s: header %r is not 'Name: value'"
                                 % (where, value))
            headers.append((h_name.strip(), h_value.strip(" \t")))
        elif kind in ("data", "raw", "binary", "urlencode", "json"):
            if value.startswith("@") and kind != "raw":
                ignored.append("%s @file" % name)
                continue
            if kind == "data":
                value = value.replace("\r", "").replace("\n", "")
            elif kind == "urlencode":
                key, eq, rest = value.partition("=")
                value = (key + "=" + quote_plus(rest)) if eq else quote_plus(
                    value)
            data.append(value)
            raw_json = raw_json or kind == "json"
        elif kind == "user":
            token = base64.b64encode(value.encode("utf-8")).decode("ascii")
            headers.append(("Authorization", "Basic " + token))
        elif kind == "cookie":
            if "=" not in value:
                ignored.append("%s FILE" % name)
                continue
            headers.append(("Cookie", value))
        elif kind == "agent":
            headers.append(("User-Agent", value))
        elif kind == "referer":
            headers.append(("Referer", value))
    if url is None:
        raise UsageError("%s: a curl command without a URL" % where)
    if not re.match(r"(?i)https?://", url):
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url):
            raise UsageError("%s: url %r is not http(s)" % (where, url))
        url = "http://" + url
    body = None
    if data:
        joined = "&".join(data)
        if "get" in flags:
            url += ("&" if "?" in url else "?") + joined
        else:
            body = joined.encode("utf-8")
    given = set(h[0].lower() for h in headers)
    if body is not None and not raw_json and "content-type" not in given:
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    if raw_json:
        for h_name, h_value in (("Content-Type", "application/json"),
                                ("Accept", "application/json")):
            if h_name.lower() not in given:
                headers.append((h_name, h_value))
    if method is None:
        method = ("HEAD" if "head" in flags else
                  "POST" if body is not None else "GET")
    if not set(method) <= TOKEN_CHARS or not method:
        raise UsageError("%s: bad method %r" % (where, method))
    return CurlCommand(method.upper(), url, headers, body,
                       "follow" in flags, "insecure" in flags, ignored, line)


def parse_curl(text, path):
    """A file of curl commands -> [CurlCommand].  UsageError for a
    command that does not parse or is not curl."""
    commands = []
    for line, words in shell_words(text, path):
        if words[0] == "$" and len(words) > 1:      # a prompt, as in docs
            words = words[1:]
        if os.path.basename(words[0]) not in ("curl", "curl.exe"):
            raise UsageError("%s:%d: %r is not a curl command"
                             % (path, line, words[0]))
        commands.append(curl_command(words, line, path))
    if not commands:
        raise UsageError("%s: holds no curl command" % path)
    return commands


def recording_kind(head):
    """What a recording is, from its first bytes: 'har', 'curl', 'log',
    or None.  A JSON document whose first line is a whole object with a
    method and a path is JSON lines; other JSON is a HAR."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if text.startswith("{") or text.startswith("["):
        first = text.split("\n", 1)[0]
        if parse_json_line(first.strip()) is not None:
            return "log"
        return "har"
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if re.match(r"(\$\s+)?curl(\.exe)?(\s|$)", line):
            return "curl"
        if parse_log_line(line) is not None:
            return "log"
        return None
    return None


# --- --import FILE: a recording into a script or a targets file --------------

# A HAR becomes a script whose one task is the whole flow; curl commands a
# script of one task each (or a targets file); an access log a targets file
# weighted by its counts.  Pure functions build the text; import_main()
# reads the file, writes the output and says what it kept and dropped.

MIN_CORRELATED_CHARS = 8    # a shorter value stays a constant
MAX_LOG_TARGETS = 100000    # an access log's targets --import writes
THINK_MIN_S = 0.5           # a longer gap between requests is a user.sleep
MAX_CORRELATIONS_SHOWN = 10  # --import prints this many, then a count
MAX_JSON_LEAVES = 10000     # values of one JSON response looked at
IMPORT_KEEPS = ("assets", "hosts", "headers")
HOP_BY_HOP = frozenset(
    "connection keep-alive proxy-authenticate proxy-authorization"
    " proxy-connection te trailer trailers transfer-encoding upgrade".split())
HAMMER_SETS = frozenset(["host", "content-length"])
BROWSER_HEADERS = frozenset(
    "user-agent accept accept-encoding accept-language referer origin dnt"
    " upgrade-insecure-requests cache-control pragma priority"
    " if-none-match if-modified-since purpose x-client-data".split())
ID_SEGMENT_RE = re.compile(
    r"^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
    r"-[0-9a-fA-F]{12}|(?=[^/]*\d)[0-9a-fA-F]{16,}|(?=[^/]*\d)(?=[^/]*[A-Za-z])"
    r"[A-Za-z0-9_-]{20,})$")
HIDDEN_INPUT_RE = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
ATTRIBUTE_RE = re.compile(
    r"""([A-Za-z_:][-\w:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
TOKEN_SPLIT_RE = re.compile(r"[/?&=#;,\s\"'<>{}\[\]():+]+")
TITLE_RE = re.compile(r"<title[^>]*>([^<]*)</title>", re.IGNORECASE)

Source = collections.namedtuple("Source", "kind key value")
Source.__doc__ = """A value a response gave: kind 'input' (a hidden input,
key its name), 'json' (key the path of keys), 'location' or 'cookie' (key
its name)."""


def collapse_ids(path):
    """/item/123/edit -> /item/{id}/edit: numbers, UUIDs and long hex or
    token segments become {id}, so that the per-name table groups them."""
    path = path.partition("?")[0]
    return "/".join("{id}" if ID_SEGMENT_RE.match(s) else s
                    for s in path.split("/"))


def is_asset(mime, url):
    """Whether a response is a static asset: by its MIME type, or by the
    path's extension when the recording gives no type."""
    if mime:
        return mime.startswith(ASSET_MIMES)
    ext = urlsplit(url).path.rpartition(".")[2].lower()
    return ext in ASSET_EXTENSIONS


def header_kind(name):
    """Why a request header is dropped ('hop-by-hop', 'Cookie', 'the
    browser's'), '' when it is kept, None when hammer always sets it."""
    lower = name.lower()
    if lower in HAMMER_SETS or lower.startswith(":"):
        return None
    if lower in HOP_BY_HOP:
        return "hop-by-hop"
    if lower == "cookie":
        return "Cookie"
    if lower in BROWSER_HEADERS or lower.startswith("sec-"):
        return "the browser's"
    return ""


def url_origin(url):
    parts = urlsplit(url)
    return "%s://%s" % (parts.scheme.lower(), parts.netloc.lower())


def relative_url(url):
    """An absolute URL's path and query."""
    parts = urlsplit(url)
    return (parts.path or "/") + ("?" + parts.query if parts.query else "")


def html_inputs(text):
    """The hidden inputs of an HTML page -> [(name, value)]."""
    found = []
    for tag in HIDDEN_INPUT_RE.findall(text):
        attrs = {}
        for m in ATTRIBUTE_RE.finditer(tag):
            value = next(g for g in m.groups()[1:] if g is not None)
            attrs.setdefault(m.group(1).lower(), value)
        if attrs.get("type", "").lower() == "hidden" and "name" in attrs:
            found.append((attrs["name"], html_unescape(attrs.get("value",
                                                                   ""))))
    return found


def html_unescape(text):
    import html
    return html.unescape(text)


def json_leaves(doc):
    """A JSON document's strings and whole numbers -> [(path, text)]."""
    out, stack = [], [((), doc)]
    while stack and len(out) < MAX_JSON_LEAVES:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((path + (k,), v) for k, v in
                         reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((path + (i,), v) for i, v in
                         reversed(list(enumerate(node))))
        elif isinstance(node, str):
            out.append((path, node))
        elif isinstance(node, int) and not isinstance(node, bool):
            out.append((path, str(node)))
    return out


def response_sources(entry):
    """The values a recorded response gave -> [Source], each at least
    MIN_CORRELATED_CHARS long."""
    sources = []
    for name, value in entry.response_headers:
        lower = name.lower()
        if lower == "location":
            sources.append(Source("location", None, relative_url(value)
                                  if is_absolute(value) else value))
        elif lower == "set-cookie":
            key, _, rest = value.partition("=")
            sources.append(Source("cookie", key.strip(),
                                  rest.split(";")[0].strip().strip('"')))
    text = entry.text
    if text:
        if "html" in entry.mime or "<input" in text[:200000]:
            sources += [Source("input", n, v) for n, v in html_inputs(text)]
        if "json" in entry.mime or text.lstrip()[:1] in ("{", "["):
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
            if isinstance(doc, (dict, list)):
                sources += [Source("json", p, v) for p, v in json_leaves(doc)]
    return [s for s in sources if len(s.value) >= MIN_CORRELATED_CHARS
            and not has_control(s.value)]


def text_tokens(texts):
    """The words of a request's texts, for finding values quickly."""
    tokens = set()
    for text in texts:
        tokens.add(text)
        tokens.update(TOKEN_SPLIT_RE.split(text))
        decoded = unquote(text.replace("+", " "))
        if decoded != text:
            tokens.add(decoded)
            tokens.update(TOKEN_SPLIT_RE.split(decoded))
    return tokens


def occurs(value, tokens, texts):
    """Whether a request's texts (and their tokens) hold value."""
    if value in tokens:
        return True
    if TOKEN_SPLIT_RE.search(value):
        return any(value in t or quote(value, safe="") in t for t in texts)
    return False


def python_name(text, taken):
    """A readable, unused Python name for a value called `text`."""
    import keyword
    base = re.sub(r"[^A-Za-z0-9_]+", "_", str(text)).strip("_").lower() or (
        "value")
    import builtins
    if (base[0].isdigit() or keyword.iskeyword(base)
            or hasattr(builtins, base) or re.match(r"r\d+$", base)):
        base = "v_" + base      # not a keyword, a builtin nor a response
    name, n = base, 2
    while name in taken:
        name, n = "%s_%d" % (base, n), n + 1
    taken.add(name)
    return name


Request = collections.namedtuple(
    "Request", "method url headers body content_type follow started_s"
    " time_s status sources page line")
Request.__doc__ = """A request to write: method, url (a path, or an
absolute URL on another origin), headers kept, body (bytes or None),
content_type, follow (False: allow_redirects=False), started_s and
time_s (None when missing), status, sources (its response's Source
values), page (a block's title when one starts here, else None) and
line (a curl command's first line)."""


def har_requests(entries, keep):
    """HarEntries -> (the Requests kept, the origin, what was dropped
    (counts by reason), the other hosts dropped)."""
    sent = [e for e in entries if not e.skip] or entries
    documents = [e for e in sent if e.mime == "text/html"]
    home = url_origin((documents or sent)[0].url)
    dropped = collections.Counter()
    hosts = set()
    requests = []
    last_page = None
    for e in entries:
        if e.skip:
            dropped[e.skip] += 1
            continue
        same = url_origin(e.url) == home
        if not same and "hosts" not in keep:
            dropped["requests to other hosts"] += 1
            hosts.add(urlsplit(e.url).netloc)
            continue
        if is_asset(e.mime, e.url) and "assets" not in keep:
            dropped["static assets"] += 1
            continue
        headers, content_type = [], e.body_type
        for name, value in e.headers:
            kind = header_kind(name)
            if name.lower() == "content-type":
                content_type = value
                continue
            if kind is None:
                continue
            if kind == "hop-by-hop" or kind and "headers" not in keep:
                dropped["headers: " + kind] += 1
                continue
            headers.append((name, value))
        page = None
        if e.page is not None:
            if e.page != last_page:
                page = e.page or relative_url(e.url)
                last_page = e.page
        elif e.mime == "text/html" and e.method == "GET":
            title = TITLE_RE.search(e.text or "")
            page = (html_unescape(title.group(1)).strip() if title
                    else "") or relative_url(e.url)
        requests.append(Request(
            e.method, relative_url(e.url) if same else e.url, headers,
            e.body, content_type, not 300 <= e.status < 400, e.started_s,
            e.time_s, e.status, response_sources(e), page, None))
    if hosts:
        dropped["hosts"] = len(hosts)
    return requests, home, dropped, sorted(hosts)


def request_texts(r):
    """The texts a request sends that a value may hide in."""
    texts = [r.url] + [v for _, v in r.headers]
    if r.body is not None:
        texts.append(r.body.decode("utf-8", "replace"))
    return texts


def correlate(requests):
    """Which values of which responses later requests send back ->
    {request index: [(Source, variable name)]} to extract after it, and
    [(request index, {value: variable name})] live before each request.
    A value sent before any response gave it stays a constant."""
    taken = set(["user", "hammer", "re", "html", "quote", "flow",
                 "hidden_input", "redirect_path", "set_cookie"])
    seen_tokens, seen_texts = set(), []
    live = {}       # value -> (source index, Source): found as a token
    odd = {}        # the same for values a token split would cut
    uses = [dict() for _ in requests]   # per request: value -> (i, Source)
    constant = set()
    for j, r in enumerate(requests):
        texts = request_texts(r)
        tokens = text_tokens(texts)
        for token in tokens:
            if token in live:
                uses[j][token] = live[token]
        for value, found in odd.items():
            if occurs(value, tokens, texts):
                uses[j][value] = found
        seen_tokens |= tokens
        seen_texts += texts
        for source in r.sources:
            value = source.value
            if value in constant:
                continue
            if value not in live and value not in odd and occurs(
                    value, seen_tokens, seen_texts):
                constant.add(value)     # sent before a response gave it
                continue
            if TOKEN_SPLIT_RE.search(value):
                odd[value] = (j, source)
            else:
                live[value] = (j, source)
    extract = collections.defaultdict(list)
    names = {}
    for used in uses:
        for value, (i, source) in used.items():
            if (i, value) not in names:
                key = source.key
                if source.kind == "json":
                    words = [k for k in source.key if isinstance(k, str)]
                    key = "_".join(words[-2:]) if words and len(
                        words[-1]) < 4 else (words or ["value"])[-1]
                names[(i, value)] = python_name(
                    "location" if source.kind == "location" else key, taken)
                extract[i].append((source, names[(i, value)]))
    for i, found in extract.items():     # in the response's order
        order = requests[i].sources
        found.sort(key=lambda item: order.index(item[0]))
    live_names = [{value: names[(i, value)] for value, (i, _) in used.items()}
                  for used in uses]
    return extract, live_names


def one_line(text):
    """Text from a recording as a generated file's comment shows it: a
    character that is not printable (a line break among them) as ?.  A
    recording's URL, title or name is anybody's text: it must never
    become code, nor another line of a targets file."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def doc_text(text):
    """one_line(text) as a generated script's docstring shows it: nothing
    in it ends the docstring or starts an escape."""
    return one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def py_str(text):
    """A str literal, in double quotes when that reads as well."""
    r = repr(text)
    if r.startswith("'") and '"' not in text:
        r = '"' + r[1:-1].replace("\\'", "'") + '"'
    return r


def text_expr(text, names):
    """A Python expression for text, with the values in names (value ->
    variable) read from their variables: '"/a/" + order_id'."""
    if not names:
        return py_str(text)
    values = sorted(names, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(v) for v in values) + (
        "|" + "|".join(re.escape(quote(v, safe="")) for v in values
                       if quote(v, safe="") != v) if any(
            quote(v, safe="") != v for v in values) else ""))
    pieces, at = [], 0
    for m in pattern.finditer(text):
        if m.start() > at:
            pieces.append(py_str(text[at:m.start()]))
        found = m.group()
        if found in names:
            pieces.append(names[found])
        else:
            raw = next(v for v in values if quote(v, safe="") == found)
            pieces.append("quote(%s, safe=\"\")" % names[raw])
        at = m.end()
    if at < len(text):
        pieces.append(py_str(text[at:]))
    return " + ".join(pieces) if pieces else repr(text)


def literal(obj, names):
    """A Python literal of a JSON value, its strings through text_expr."""
    if isinstance(obj, str):
        return text_expr(obj, names)
    if isinstance(obj, dict):
        return "{%s}" % ", ".join("%s: %s" % (py_str(k) if isinstance(k, str)
                                                else repr(k), literal(v, names))
                                  for k, v in obj.items())
    if isinstance(obj, list):
        return "[%s]" % ", ".join(literal(v, names) for v in obj)
    return repr(obj)


def body_argument(r, names):
    """The request's body as a keyword: data={form}, json=..., data=text
    or data=bytes; None without one.  -> (keyword, whether the
    Content-Type header is needed)."""
    body = r.body
    if body is None:
        return None, False
    ctype = (r.content_type or "").lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "data=%r" % body, True
    if "json" in ctype:
        try:
            return "json=%s" % literal(json.loads(text), names), False
        except ValueError:
            pass
    if "x-www-form-urlencoded" in ctype or (not ctype and "=" in text
                                            and r.method == "POST"):
        from urllib.parse import parse_qsl
        try:
            pairs = parse_qsl(text, keep_blank_values=True,
                              strict_parsing=True)
        except ValueError:
            pairs = None
        if pairs and len(set(k for k, _ in pairs)) == len(pairs) and (
                urlencode(pairs) == text):
            return "data={%s}" % ", ".join(
                "%s: %s" % (py_str(k), text_expr(v, names)) for k, v in pairs), False
    return "data=%s" % text_expr(text, names), bool(ctype)


def call_lines(r, names, assign, name_of, indent="    "):
    """The lines of one user.<method>(...) call: on one line when it fits,
    else an argument a line (and a long dict an entry a line)."""
    method = r.method.lower()
    known = method in ("get", "post", "put", "patch", "delete", "head")
    args = [] if known else [py_str(r.method)]
    args.append(text_expr(r.url, names))
    body, needs_type = body_argument(r, names)
    headers = list(r.headers)
    if needs_type and r.content_type:
        headers.append(("Content-Type", r.content_type))
    if headers:
        args.append(("headers=", ["%s: %s" % (py_str(k), text_expr(v, names))
                                  for k, v in headers]))
    if body:
        args.append(body)
    name = name_of(r, names)
    if name is not None:
        args.append("name=%s" % py_str(name))
    if not r.follow:
        args.append("allow_redirects=False")
    flat = [a if isinstance(a, str) else "%s{%s}" % (a[0], ", ".join(a[1]))
            for a in args]
    head = "%s%s%s(" % (indent, assign + " = " if assign else "",
                        "user.%s" % method if known else "user.request")
    one = head + ", ".join(flat) + ")"
    if len(one) <= 79:
        return [one]
    inner = indent + "    "
    lines = [head]
    for a, text in zip(args, flat):
        if isinstance(a, str) or len(inner + text) < 79:
            lines.append(inner + text + ",")
        else:
            lines.append(inner + a[0] + "{")
            lines += [inner + "    " + item + "," for item in a[1]]
            lines.append(inner + "},")
    return lines + [indent + ")"]


def request_name(r, names):
    """name= for a request: its path with ids collapsed, and values read
    from variables shown as {variable}; None when it is the path."""
    path = r.url if not is_absolute(r.url) else relative_url(r.url)
    path = path.partition("?")[0]
    shown = path
    for value in sorted(names, key=len, reverse=True):
        shown = shown.replace(value, "{%s}" % re.sub(r"_\d+$", "",
                                                       names[value]))
    shown = "/".join(s if s.startswith("{") and s.endswith("}") else
                     collapse_ids(s) if s else s for s in shown.split("/"))
    return None if shown == path else shown


EXTRACTORS = {
    "input": '''
def hidden_input(response, name):
    """The value of the hidden <input name=NAME> of an HTML response."""
    for tag in re.findall(r"<input\\b[^>]*>", response.text, re.I):
        if re.search(r"""\\bname\\s*=\\s*["']?%s["'\\s/>]""" % re.escape(name),
                     tag) and re.search(r"type\\s*=\\s*[\\"']?hidden", tag, re.I):
            found = re.search(r"""\\bvalue\\s*=\\s*(?:"([^"]*)"|'([^']*)')""",
                              tag)
            return html.unescape(found.group(found.lastindex)) if found else ""
    raise AssertionError("no hidden input %r in the response to %s"
                         % (name, response.url))
''',
    "json": "",
    "location": '''
def redirect_path(response):
    """A redirect's Location, as a path when it is a whole URL."""
    where = response.headers.get("Location")
    if where is None:
        raise AssertionError("no Location in the response to %s"
                             % response.url)
    if "://" in where:
        where = "/" + where.split("://", 1)[1].partition("/")[2]
    return where
''',
    "cookie": '''
def set_cookie(response, name):
    """The value the response's Set-Cookie gave the cookie NAME."""
    for header in response.headers.get_all("Set-Cookie") or []:
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";")[0].strip().strip('"')
    raise AssertionError("no Set-Cookie %r in the response to %s"
                         % (name, response.url))
''',
}


def extraction(source, response):
    """The expression that reads a Source from the live response."""
    if source.kind == "input":
        return "hidden_input(%s, %s)" % (response, py_str(source.key))
    if source.kind == "location":
        return "redirect_path(%s)" % response
    if source.kind == "cookie":
        return "set_cookie(%s, %s)" % (response, py_str(source.key))
    path = "".join("[%s]" % (py_str(k) if isinstance(k, str) else k)
                   for k in source.key)
    return "str(%s.json()%s)" % (response, path)


def describe_source(source, r, index):
    if source.kind == "input":
        what = "the hidden input %r" % source.key
    elif source.kind == "location":
        what = "the Location"
    elif source.kind == "cookie":
        what = "the Set-Cookie %r" % source.key
    else:
        what = "the JSON field %s" % "".join("[%r]" % k for k in source.key)
    return one_line("%s of response %d (%s %s)" % (
        what, index + 1, r.method, r.url.partition("?")[0]))


def har_script(requests, recording, origin, script):
    """The text of a script whose one task replays requests in order, with
    its correlations and think times -> (text, correlations)."""
    extract, live = correlate(requests)
    kinds = set(s.kind for found in extract.values() for s, _ in found)
    body, described, pages = [], [], 0
    prev_end = None
    for j, r in enumerate(requests):
        if r.started_s is not None and prev_end is not None:
            gap = r.started_s - prev_end
            if gap > THINK_MIN_S:
                body.append("    user.sleep(%.1f)" % gap)
        if r.started_s is not None:
            end = r.started_s + (r.time_s or 0.0)
            prev_end = end if prev_end is None else max(prev_end, end)
        if r.page is not None or j == 0:
            pages += 1
            title = r.page if r.page is not None else r.url.partition("?")[0]
            if body:
                body.append("")
            body.append("    # --- page %d: %s" % (
                pages, one_line(re.sub(r"\s+", " ", title)[:70])))
        assign = "r%d" % (j + 1) if j in extract else None
        body += call_lines(r, live[j], assign, request_name)
        for source, name in extract.get(j, ()):
            said = describe_source(source, r, j)
            body.append("    # %s: %s" % (name, said))
            body.append("    %s = %s" % (name, extraction(source, assign)))
            described.append("%s, %s" % (name, said))
    imports = []
    if "input" in kinds:
        imports += ["import html", "import re"]
    if any("quote(" in line for line in body):
        imports.append("from urllib.parse import quote")
    doc = ['"""%s as a hammer script: %d requests, written by hammer'
           ' --import.' % (doc_text(os.path.basename(recording)),
                          len(requests)),
           "Edit it freely.", "",
           "    python hammer.py %s/ --script %s \\" % (doc_text(origin),
                                                      doc_text(script)),
           "        -c 10 --runtime 1m", "",
           "The run's URL sets the origin: the paths below go to it."]
    if described:
        doc += ["", "Values that a response gave and a later request sends"
                " back are read from", "the live response:"]
        doc += ["    " + doc_text(d) for d in described]
    doc.append('"""')
    head = "\n".join(doc) + "\n\n"
    if imports:
        head += "\n".join(sorted(imports)) + "\n\n"
    head += "import hammer\n"
    defs = [EXTRACTORS[kind].strip("\n") for kind in ("input", "location",
                                                      "cookie")
            if kind in kinds]
    defs.append("@hammer.task\ndef flow(user):\n" + "\n".join(body))
    return head + "\n\n" + "\n\n\n".join(defs) + "\n", described


def curl_requests(commands, keep):
    """CurlCommands -> (Requests, origin, dropped): the browser's and
    hop-by-hop headers dropped (DevTools' copies carry them), Cookie kept:
    a curl command sends its cookies."""
    home = url_origin(commands[0].url)
    dropped = collections.Counter()
    requests = []
    for c in commands:
        headers, content_type = [], None
        for name, value in c.headers:
            kind = header_kind(name)
            if name.lower() == "content-type":
                content_type = value
            elif kind is None:
                continue
            elif kind == "hop-by-hop" or (
                    kind not in ("", "Cookie") and "headers" not in keep
                    and name.lower() != "accept"):
                dropped["headers: " + kind] += 1
            else:
                headers.append((name, value))
        same = url_origin(c.url) == home
        requests.append(Request(
            c.method, relative_url(c.url) if same else c.url, headers,
            c.body, content_type, c.follow, None, None, 0, [], None,
            c.line))
    return requests, home, dropped


def curl_script(requests, recording, origin, insecure, script):
    """The text of a script of one task per curl command, equal weights."""
    taken = set(["user", "hammer", "flow"])
    defs = []
    for r in requests:
        words = [w for w in re.split(r"[^A-Za-z0-9]+", r.url.partition(
            "?")[0].split("://")[-1]) if w and not w.isdigit()]
        name = python_name("_".join([r.method.lower()] + words[-3:]), taken)
        lines = ["@hammer.task",
                 "def %s(user):    # %s line %d" % (
                     name, one_line(os.path.basename(recording)), r.line)]
        lines += call_lines(r, {}, None, request_name)
        defs.append("\n".join(lines))
    doc = ['"""%s as a hammer script: %d curl commands, one task each with'
           ' equal weights,' % (doc_text(os.path.basename(recording)),
                                 len(requests)),
           "written by hammer --import.  Edit it freely.", "",
           "    python hammer.py %s/ --script %s \\" % (doc_text(origin),
                                                      doc_text(script)),
           "        -c 10 --runtime 1m%s" % (" --insecure" if insecure
                                             else ""), "",
           "The run's URL sets the origin: the paths below go to it.",
           '"""']
    return "\n".join(doc) + "\n\nimport hammer\n\n\n" + "\n\n\n".join(
        defs) + "\n"


def targets_text(targets, recording, origin, note):
    """A --targets file: [(method, path, headers, body file or None,
    name, weight)] -> its text."""
    lines = ["# %s as a hammer targets file, written by hammer --import."
             % one_line(os.path.basename(recording)),
             "#", "#   python hammer.py %s/ --targets THIS_FILE"
             % one_line(origin)]
    if note:
        lines += ["#", "# " + note]
    for method, path, headers, body, name, weight in targets:
        lines.append("")
        if name is not None:
            lines.append("# name: %s" % one_line(name))
        if weight != 1:
            lines.append("# weight: %d" % weight)
        lines.append("%s %s" % (one_line(method), "".join(
            c if c.isprintable() and c != " " else quote(c) for c in path)))
        lines += ["%s: %s" % (one_line(k), one_line(v)) for k, v in headers]
        if body is not None:
            lines.append("@" + body)
    return "\n".join(lines) + "\n"


def log_targets(records, methods):
    """(LogLine or None, line) pairs -> (targets, counts, the first unfit
    line): the lines of the methods given, one target per method and path
    (with its query), weighted by its count (scaled down to MAX_WEIGHT),
    most frequent first; the first MAX_LOG_TARGETS of them.  counts:
    lines, unfit, other methods, beyond (lines of the targets past
    MAX_LOG_TARGETS)."""
    counts = collections.Counter()
    first_unfit = None
    by_target = collections.OrderedDict()
    for record, line in records:
        counts["lines"] += 1
        if record is None:
            counts["unfit"] += 1
            if first_unfit is None:
                first_unfit = line
            continue
        if record.method.upper() not in methods:
            counts["other methods"] += 1
            continue
        key = (record.method.upper(), record.target)
        if key in by_target:
            by_target[key] += 1
        elif len(by_target) < MAX_LOG_TARGETS:
            by_target[key] = 1
        else:
            counts["beyond"] += 1   # memory stays bounded
    most = max(by_target.values()) if by_target else 1
    scale = max(1, -(-most // MAX_WEIGHT))
    order = sorted(by_target.items(), key=lambda kv: -kv[1])
    targets = []
    for (method, target), count in order:
        name = collapse_ids(target)
        targets.append((method, target, [], None,
                        name if name != target.partition("?")[0] else None,
                        max(1, count // scale)))
    return targets, counts, first_unfit


def read_recording(path):
    """The kind of the recording at path and, for a HAR or curl file, its
    text (a log streams later: None).  UsageError for a file that cannot
    be read, is empty, too big, or not a recording."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UsageError("recording %r is not a regular file" % path)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError as exc:
        raise UsageError("cannot read recording %r: %s"
                         % (path, exc.strerror or exc))
    if not head.strip():
        raise UsageError("recording %r is empty" % path)
    kind = recording_kind(head)
    if kind is None:
        raise UsageError("%r is not a recording: want a HAR file, curl"
                         " commands or an access log (common, combined or"
                         " JSON lines)" % path)
    if kind == "log":
        return kind, None
    if size > MAX_RECORDING_B:
        raise UsageError("recording %r is %s: hammer reads a %s of at most"
                         " %d MiB whole; export a shorter one" % (
                             path, format_bytes(size, binary=True),
                             "HAR" if kind == "har" else "curl file",
                             MAX_RECORDING_B >> 20))
    data = read_input(path, MAX_RECORDING_B, "recording %r" % path)
    return kind, decode_text(data, path)


def open_log(path):
    """An access log's lines as bytes, streamed; UsageError when it
    cannot be read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UsageError("log %r is not a regular file" % path)
        return open(path, "rb")
    except OSError as exc:
        raise UsageError("cannot read log %r: %s" % (path,
                                                     exc.strerror or exc))


def parse_keep(text):
    """--import-keep 'assets,hosts' -> frozenset."""
    keep = frozenset(w.strip() for w in (text or "").split(",") if w.strip())
    bad = sorted(keep - set(IMPORT_KEEPS))
    if bad:
        raise UsageError("--import-keep %r: keep what? want some of %s"
                         % (bad[0], ",".join(IMPORT_KEEPS)))
    return keep


def import_output(args, path, to):
    """Where --import writes: --import-out, else the recording's name with
    .py (a script) or -targets.txt.  UsageError when it exists (without
    --force) or is the recording itself."""
    stem = os.path.splitext(path)[0]
    out = args.import_out or stem + (".py" if to == "script"
                                     else "-targets.txt")
    if os.path.abspath(out) == os.path.abspath(path):
        raise UsageError("the output %r is the recording itself: give"
                         " --import-out another name" % out)
    if os.path.exists(out) and not args.force:
        raise UsageError("%r exists: give --force to overwrite it, or"
                         " --import-out another name" % out)
    return out


def write_files(files):
    """Write {path: text}, each through a temporary file; RunError when
    one cannot be written."""
    for path, text in files.items():
        try:
            with open(path + ".tmp", "wb") as f:
                f.write(text if isinstance(text, bytes)
                        else text.encode("utf-8"))
            os.replace(path + ".tmp", path)
        except OSError as exc:
            raise RunError("cannot write %r: %s" % (path, exc.strerror
                                                     or exc))


def dropped_line(dropped, hosts):
    parts = []
    for what, one in (("static assets", "static asset"),
                      ("requests to other hosts", "request to other hosts")):
        if dropped[what]:
            parts.append("%d %s" % (dropped[what], what if dropped[what] > 1
                                    else one) + (
                " (%s)" % ", ".join(hosts) if what.endswith("hosts")
                and hosts else ""))
    for what in ("not http(s)", "from the browser's cache"):
        if dropped[what]:
            parts.append("%d %s" % (dropped[what], what))
    heads = sorted((k[9:], n) for k, n in dropped.items()
                   if k.startswith("headers: "))
    if heads:
        total = sum(n for _, n in heads)
        parts.append("%d header%s (%s)" % (total, "" if total == 1 else "s",
                                           ", ".join("%s %d" % kv
                                                     for kv in heads)))
    return ", ".join(parts) or "nothing"


def import_main(args, out):
    """--import FILE: write a script or a targets file from a recording
    and say what was kept and dropped.  Returns 0; UsageError (nothing
    written) or RunError as main() maps them."""
    path = args.import_
    to = args.import_to
    keep = parse_keep(args.import_keep)
    kind, text = read_recording(path)
    if kind == "har" and to == "targets":
        raise UsageError("a HAR's flow is a script (its values read from"
                         " live responses): leave out --import-to targets")
    if kind == "log" and to == "script":
        raise UsageError("an access log becomes a targets file: leave out"
                         " --import-to script")
    to = to or ("targets" if kind == "log" else "script")
    files, lines = collections.OrderedDict(), []
    if kind == "har":
        entries = parse_har(text, path)
        text = None     # the entries hold what is needed of it
        requests, origin, dropped, hosts = har_requests(entries, keep)
        if not requests:
            raise UsageError("%s: all %d requests were dropped (%s): give"
                             " --import-keep" % (path, len(entries),
                                                 dropped_line(dropped, hosts)))
        output = import_output(args, path, to)
        script, correlations = har_script(requests, path, origin,
                                          os.path.basename(output))
        files[output] = script
        pages = sum(1 for r in requests if r.page is not None) or 1
        lines += ["kept        %d of %d requests, %d page%s, on %s"
                  % (len(requests), len(entries), pages,
                     "" if pages == 1 else "s", origin),
                  "dropped     %s" % dropped_line(dropped, hosts),
                  "correlated  %d value%s%s%s" % (
                      len(correlations), "" if len(correlations) == 1
                      else "s", "".join("\n  " + c for c in correlations[
                          :MAX_CORRELATIONS_SHOWN]), "\n  ... and %d more,"
                      " listed in the script's docstring" % (
                          len(correlations) - MAX_CORRELATIONS_SHOWN)
                      if len(correlations) > MAX_CORRELATIONS_SHOWN else "")]
    elif kind == "curl":
        commands = parse_curl(text, path)
        ignored = sorted(set(o for c in commands for o in c.ignored))
        if ignored and not args.force:
            raise UsageError("%s: hammer cannot honour %s: give --force to"
                             " import without %s" % (
                                 path, ", ".join(ignored),
                                 "it" if len(ignored) == 1 else "them"))
        requests, origin, dropped = curl_requests(commands, keep)
        insecure = any(c.insecure for c in commands)
        output = import_output(args, path, to)
        if to == "script":
            files[output] = curl_script(requests, path, origin, insecure,
                                        os.path.basename(output))
        else:
            files.update(curl_targets(requests, path, origin, output, args))
        lines += ["kept        %d curl command%s on %s%s" % (
                      len(requests), "" if len(requests) == 1 else "s",
                      origin, " (they use -k: run with --insecure)"
                      if insecure else ""),
                  "dropped     %s" % dropped_line(dropped, [])]
        if ignored:
            lines.append("ignored     %s (--force)" % ", ".join(ignored))
    else:
        methods = replay_methods(args.replay_methods)
        with open_log(path) as f:
            targets, counts, unfit = log_targets(log_lines(f), methods)
        if not targets:
            raise UsageError("%s: no %s line in %d line%s%s" % (
                path, "/".join(sorted(methods)), counts["lines"],
                "" if counts["lines"] == 1 else "s", "; the first that does"
                " not fit: %r" % unfit[:200] if unfit else ""))
        output = import_output(args, path, to)
        files[output] = targets_text(targets, path, "http://HOST", None)
        lines += ["kept        %d lines as %d targets weighted by count"
                  % (counts["lines"] - counts["unfit"]
                     - counts["other methods"] - counts["beyond"],
                     len(targets)),
                  "dropped     %d lines of other methods (a log carries no"
                  " bodies: --replay-methods), %d that fit no log format%s%s"
                  % (counts["other methods"], counts["unfit"],
                     ", the first: %r" % unfit[:200] if unfit else "",
                     "; %d of paths past the first %d" % (
                         counts["beyond"], MAX_LOG_TARGETS)
                     if counts["beyond"] else "")]
    write_files(files)
    if args.quiet:
        return 0
    out.write("hammer: %s (%s) -> %s\n" % (path, {
        "har": "HAR", "curl": "curl commands", "log": "access log"}[kind],
        ", ".join(files)))
    for line in lines:
        out.write("  " + line + "\n")
    return 0


def curl_targets(requests, path, origin, output, args):
    """curl commands as a targets file, and the files of their bodies
    beside it -> {path: text}.  UsageError when they name several
    origins (a targets file runs against one)."""
    others = [r for r in requests if is_absolute(r.url)]
    if others:
        raise UsageError("%s:%d: %s is on another origin than %s: a targets"
                         " file runs against one; import it as a script"
                         % (path, others[0].line, others[0].url, origin))
    files, targets = collections.OrderedDict(), []
    stem = os.path.splitext(output)[0]
    for n, r in enumerate(requests, 1):
        headers = list(r.headers)
        if r.content_type:
            headers.append(("Content-Type", r.content_type))
        body = None
        if r.body is not None:
            body_path = "%s-%d.body" % (stem, n)
            if os.path.exists(body_path) and not args.force:
                raise UsageError("%r exists: give --force to overwrite it"
                                 % body_path)
            files[body_path] = r.body
            body = os.path.basename(body_path)
        name = collapse_ids(r.url)
        targets.append((r.method, r.url, headers, body,
                        name if name != r.url.partition("?")[0] else None, 1))
    notes = None
    if any(r.follow for r in requests):
        notes = ("a target's redirects are not followed: -L is not"
                 " honoured here")
    files[output] = targets_text(targets, path, origin, notes)
    files.move_to_end(output, last=False)
    return files


def replay_methods(text):
    """--replay-methods 'GET,HEAD,POST' -> frozenset of methods."""
    methods = frozenset(m.strip().upper() for m in (text or "GET,HEAD").split(
        ",") if m.strip())
    bad = [m for m in methods if not set(m) <= TOKEN_CHARS]
    if bad or not methods:
        raise UsageError("--replay-methods %r: want methods such as"
                         " GET,HEAD,POST" % text)
    return methods


# --- --replay LOG: an access log's requests at their recorded instants -------

# The log streams: each worker process reads it from the start, spreads
# each second's lines over it, and takes its share of the lines as the
# open model's slots (node I of N and process j of P take every (N*P)-th
# line), each slot carrying its line's request.  make_plan() reads the log
# once before the run for its span and counts, in flat memory.

REPLAY_TAIL_S = 0.05    # the run goes on this long after the last line's
                        # instant, so that its slot is not cut
REPLAY_CACHE = 4096     # requests built, kept for lines that repeat
REPLAY_AHEAD = 32768    # lines a worker parses ahead of its slots, so that
                        # a second's lines are parsed while the second
                        # before is sent, not in a burst as it begins
REPLAY_PUMP = 2         # lines parsed ahead per line read, per process

Replay = collections.namedtuple(
    "Replay", "path speed loop methods lines span_s period_s fit unfit"
    " first_unfit other")
Replay.__doc__ = """--replay's plan: the log's path, the speed, loop (start
over), the methods replayed, lines (those replayed in one pass), span_s
(the last one's instant, unscaled), period_s (a pass's length when it
loops), fit (lines that fit a format), unfit (those that do not), the
first unfit line, and other (lines of other methods)."""


class LogReader(object):
    """An access log's LogLines (None for a line that fits no format),
    parsed ahead: pump(n) parses up to n more lines into a buffer of at
    most REPLAY_AHEAD, which iterating takes first.  Not for two threads
    at once."""

    def __init__(self, lines):
        self.source = (record for record, _ in log_lines(lines))
        self.ahead = collections.deque()

    def pump(self, n):
        if len(self.ahead) < REPLAY_AHEAD:
            self.ahead.extend(itertools.islice(self.source, n))

    def __iter__(self):
        ahead = self.ahead
        while True:
            while ahead:
                yield ahead.popleft()
            record = next(self.source, StopIteration)
            if record is StopIteration:
                return
            yield record


def replay_stream(records, methods):
    """An access log's LogLines in order (None for a line that fits no
    format) -> (instant_s, LogLine) for each line of the methods given,
    instants from the log's first line (spread over whole seconds); a
    generator."""
    fitting = ((record,) for record in records if record is not None)
    for at, record in spread_instants(fitting):
        if record.method.upper() in methods:
            yield at, record


def scan_log(lines, methods):
    """One pass over a log -> (fit, unfit, first unfit line, other
    methods, replayed lines, last replayed instant, last instant)."""
    counts = collections.Counter()
    first_unfit = []

    def fitting():
        for record, line in log_lines(lines):
            if record is None:
                counts["unfit"] += 1
                if not first_unfit:
                    first_unfit.append(line)
                continue
            counts["fit"] += 1
            yield (record,)

    last = last_replayed = 0.0
    for at, record in spread_instants(fitting()):
        last = at
        if record.method.upper() in methods:
            counts["replayed"] += 1
            last_replayed = at
        else:
            counts["other"] += 1
    return (counts["fit"], counts["unfit"],
            first_unfit[0] if first_unfit else None, counts["other"],
            counts["replayed"], last_replayed, last)


def loop_period(fit, last_s):
    """A looping replay's pass: the log's span plus its mean gap (1 s for
    a log of one instant)."""
    if fit < 2 or last_s <= 0:
        return 1.0
    return last_s * fit / (fit - 1.0)


def replay_schedule(passes, speed, period_s, first, step):
    """The slots of one process: passes() gives a new stream of (instant_s,
    LogLine) from the log's start; -> (instant_s / speed, LogLine) of the
    lines first, first + step, ... counted over every pass; one pass when
    period_s is None, else endless, each pass period_s after the last."""
    k, offset = 0, 0.0
    while True:
        for at, record in passes():
            if k % step == first:
                yield (offset + at) / speed, record
            k += 1
        if period_s is None or not k:
            return
        offset += period_s


class ReplaySlots(Slots):
    """The open model's slots of one process from a log: each user takes
    the next line and sends its request at its instant (late, never
    skipped, when it is already due).  The request of the slot a user
    took is in self.mine.entry, its thread's own."""

    def __init__(self, schedule, entry, pump, puts):
        self.t0 = self.end = None   # set at the start
        self.slots = schedule
        self.lock = threading.Lock()
        self.mine = threading.local()
        self.entry = entry      # LogLine -> (request, head, big, suffix)
        self.pump = pump        # parse n lines ahead
        self.puts = puts        # suffix -> the append of its rows' queue
        self.counted = False    # True: -n bounds the slots

    def after(self, sent, done):
        with self.lock:
            item = next(self.slots, None)
            self.pump()
        if item is None:    # the log is sent: the run lasts its span;
            return math.inf if self.counted else self.end   # -n's share
        at, record = item
        self.mine.entry = self.entry(record)
        return self.t0 + at

    def due_before(self, instant):
        n = 0
        while True:
            with self.lock:
                item = next(self.slots, None)
            if item is None or self.t0 + item[0] >= instant:
                return n
            n += 1


def replay_entries(plan, queue, puts):
    """LogLine -> (request bytes, is HEAD, is big, its name's suffix),
    built once for a line that repeats: the request line, then the head
    build_request() gives every request of the run.  puts[suffix] is the
    append of the name's queue: an entry holds no method, so that it is
    no object the garbage collector follows."""
    cache = {}
    head = build_request("GET", plan.target, plan.headers, None,
                         plan.keepalive)
    rest = head[head.index(b"\r\n"):]

    def entry(record):
        key = (record.method, record.target)
        found = cache.get(key)
        if found is None:
            if len(cache) >= REPLAY_CACHE:
                cache.clear()
            request = ("%s %s HTTP/1.1" % key).encode("ascii") + rest
            suffix = name_suffix(record.method, collapse_ids(record.target))
            if suffix not in puts:
                puts[suffix] = queue(suffix).append
            found = cache[key] = (request, record.method.upper() == "HEAD",
                                  len(request) > SEND_CHUNK_B, suffix)
        return found
    return entry


def replay_slots(plan, index, queue):
    """--replay: the ReplaySlots of worker `index`, its share of the
    node's lines and of -n, with the log's first REPLAY_AHEAD lines
    parsed (before the start: its t0 and end are set then)."""
    replay = plan.replay
    i, n = plan.node or (1, 1)
    first = i - 1 + n * index
    reader = []
    step = REPLAY_PUMP * n * plan.processes     # it parses every line

    def passes():
        with open(replay.path, "rb") as f:
            reader[:] = [LogReader(f)]
            reader[0].pump(REPLAY_AHEAD)
            for item in replay_stream(reader[0], replay.methods):
                yield item

    schedule = replay_schedule(passes, replay.speed, replay.period_s
                               if replay.loop else None, first,
                               n * plan.processes)
    if plan.requests is not None:
        schedule = itertools.islice(schedule, split_evenly(split_evenly(
            plan.requests, n)[i - 1], plan.processes)[index])
    puts = {}
    slots = ReplaySlots(schedule, replay_entries(plan, queue, puts),
                        lambda: reader and reader[0].pump(step), puts)
    import gc
    freeze = getattr(gc, "freeze", None)    # Python 3.7+ (not on 3.6)
    if freeze is not None:      # a replay's requests outlive a collection
        gc.collect()            # or two, and start full ones; those then
        freeze()                # skip what the worker holds now
    slots.counted = plan.requests is not None
    with slots.lock:    # open the log and parse ahead, before the start
        head = next(schedule, None)
        if head is not None:
            slots.slots = itertools.chain([head], schedule)
    return slots


def replay_plan(args):
    """--replay and its options -> (Replay, runtime_s, notes).  Reads the
    log once, streaming; UsageError for a log that cannot be read, is
    empty or has no line to replay, or options that do not go with it."""
    for name in ("rate", "stages", "cycles", "sizing", "rampup", "arrivals",
                 "script", "targets", "project", "data", "method",
                 "interval"):
        if getattr(args, name) not in (None, False, [], 0, 0.0):
            raise UsageError("--replay sends the log's requests at its"
                             " instants: leave out --%s" % name)
    if option(parse_span, args.think, "--think")[1]:
        raise UsageError("--replay sends the log's requests at its"
                         " instants: leave out --think")
    if args.url is None:
        raise UsageError("--replay needs the URL whose origin the log's"
                         " paths go to")
    speed = 1.0 if args.replay_speed is None else args.replay_speed
    if not (0 < speed <= 1e6) or speed != speed:
        raise UsageError("--replay-speed %g: want a number above 0, as 2"
                         " for twice as fast" % speed)
    methods = replay_methods(args.replay_methods)
    path = args.replay
    with open_log(path) as f:
        try:
            fit, unfit, first_unfit, other, lines, span, last = scan_log(
                f, methods)
        except OSError as exc:
            raise UsageError("cannot read log %r: %s"
                             % (path, exc.strerror or exc))
    if not fit + unfit:
        raise UsageError("log %r is empty" % path)
    if not lines:
        raise UsageError("log %r has no %s line to replay (%d lines fit no"
                         " log format, %d are of other methods%s)" % (
                             path, "/".join(sorted(methods)), unfit, other,
                             "; the first that does not fit: %r"
                             % first_unfit[:200] if first_unfit else ""))
    replay = Replay(path, speed, args.replay_loop, methods, lines, span,
                    loop_period(fit, last), fit, unfit, first_unfit, other)
    runtime = args.runtime
    if runtime is None:
        runtime = (DEFAULT_RUNTIME_S if args.replay_loop
                   else span / speed + REPLAY_TAIL_S)
    if runtime <= 0:
        raise UsageError("--runtime must be more than 0s")
    notes = []
    if unfit or other:
        notes.append("hammer: note: %s: %d of %d lines replayed%s%s" % (
            path, lines, fit + unfit, "; %d of other methods skipped (a log"
            " carries no bodies: --replay-methods)" % other if other else "",
            "; %d fit no log format, skipped, the first: %r"
            % (unfit, first_unfit[:200]) if unfit else ""))
    return replay, runtime, notes


# --- --script FILE[:USERS] groups --------------------------------------------


def group_of_users(counts):
    """Users per group -> the group index of each global user number.

    Largest deficit first: user k-1 goes to the group furthest below its
    share k*counts[i]/total (ties to the lower index), so every prefix
    holds each group's share within one user, and a ramp-up mixes them.
    """
    total = sum(counts)
    if len(counts) == 1:
        return [0] * total
    given = [0] * len(counts)
    order = []
    for k in range(1, total + 1):
        best, best_deficit = None, None
        for i, count in enumerate(counts):
            deficit = k * count - given[i] * total     # times total
            if given[i] < count and (best is None or deficit > best_deficit):
                best, best_deficit = i, deficit
        given[best] += 1
        order.append(best)
    return order


def parse_script_arg(text):
    """'FILE' or 'FILE:USERS' -> (path, users or None).  Only a trailing
    ':digits' is a user count, so 'C:\\x\\a.py' and 'a:b.py' are paths."""
    path, colon, users = text.rpartition(":")
    if not colon or not users or not set(users) <= DIGITS:
        if text.endswith(":"):
            raise UsageError("--script %r: want FILE or FILE:USERS" % text)
        path, users = text, None
    if not path:
        raise UsageError("--script %r names no file" % text)
    if users is None:
        return path, None
    count = positive_whole(users, MAX_USERS)
    if count is None:
        raise UsageError("--script %r: USERS must be a whole number from 1"
                         " to %d" % (text, MAX_USERS))
    return path, count


def groups_of(args, users_option):
    """--script arguments and -c (None when not given) -> [(path, users)].
    One FILE takes -c (None: hammer's default); FILE:USERS ones are groups,
    and -c, when given, must equal their sum."""
    scripts = [parse_script_arg(text) for text in args]
    counted = [users is not None for _, users in scripts]
    if any(counted) and not all(counted):
        raise UsageError("--script: give every file its users (FILE:USERS),"
                         " or give one file without")
    if not any(counted):
        if len(scripts) > 1:
            raise UsageError("several --script files need their users each,"
                             " as in --script a.py:30 --script b.py:10")
        return [(path, users_option) for path, _ in scripts]
    total = sum(users for _, users in scripts)
    if users_option is not None and users_option != total:
        raise UsageError("-c %d disagrees with the %d users of --script %s:"
                         " leave -c out" % (users_option, total,
                                            " + ".join(str(u) for _, u
                                                       in scripts)))
    return scripts


# --- --max-body SIZE ---------------------------------------------------------

SIZE_UNITS_B = {"": 1, "b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3,
                "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3}
SIZE_RE = re.compile(r"([0-9]*\.?[0-9]+)[ \t]*([a-z]*)$")


def parse_size(text):
    """'10MB' / '512kB' / '1MiB' / '100' (bytes) -> bytes as an int >= 0.
    kB, MB, GB are powers of 1000, KiB, MiB, GiB of 1024; any case."""
    if text.strip().startswith("-"):
        raise UsageError("%r must be a size >= 0" % text)
    match = SIZE_RE.match(text.strip().lower())
    if not match or match.group(2) not in SIZE_UNITS_B:
        raise UsageError("%r is not a size: use e.g. 10MB, 512kB, 1MiB or"
                         " 100 (bytes)" % text)
    size = float(match.group(1)) * SIZE_UNITS_B[match.group(2)]
    if not math.isfinite(size):
        raise UsageError("%r is too big a size" % text)
    return int(round(size))


# --- HTTP/1.1 client: the response reader and the one exchange ---------------


class ResponseError(Exception):
    """A response that could not be read: kind goes into the error column."""

    def __init__(self, kind, detail):
        Exception.__init__(self, detail)
        self.kind = kind


# What a request can fail with; ssl.CertificateError is no OSError on 3.6.
TRANSPORT_ERRORS = (OSError, ResponseError, ssl.CertificateError)
RESET_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
# read_response's keep when the response was whole but more bytes came
# after it: the connection is closed and the event counted.
STRAY = None
HEX_DIGITS = b"0123456789abcdefABCDEF"


def error_kind(exc):
    """The error column's word for a transport exception."""
    if isinstance(exc, ResponseError):
        return exc.kind
    if isinstance(exc, (socket.timeout, BlockingIOError)):
        return "timeout"     # BlockingIOError: SO_RCVTIMEO expired
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        return "tls"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, RESET_ERRORS):
        return "reset"
    if isinstance(exc, socket.gaierror):
        return "connect"
    if isinstance(exc, OSError) and exc.errno in (
            errno.EADDRNOTAVAIL, errno.ENETUNREACH, errno.EHOSTUNREACH,
            errno.EADDRINUSE):
        return "connect"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "io"


def describe_error(exc, timeout_s):
    """The same exception as words for a person."""
    kind = error_kind(exc)
    if kind == "refused":
        return "connection refused"
    if kind == "timeout":
        return "timed out after %gs" % timeout_s
    if kind == "tls":
        return "tls handshake failed: %s" % (
            getattr(exc, "verify_message", None) or exc)
    return getattr(exc, "strerror", None) or str(exc) or kind


def make_tls_context(insecure):
    ctx = ssl.create_default_context()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def fast_timeouts_supported():
    """Kernel-side read/write timeouts (SO_RCVTIMEO) spare a poll() per call."""
    return sys.platform.startswith(("linux", "darwin", "freebsd"))


def timeval(seconds):
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1e6))


def readiness(sock, tls):
    """ready(ms) for a connection: whether it has bytes to read, or its
    end, within ms milliseconds.  For TLS, decrypted bytes already waiting
    count, and ms > 0 also sets the socket's timeout to ms, so that a recv
    that then waits for the rest of a TLS record ends in time."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        wait = poller.poll
    else:
        def wait(ms):
            return select.select([sock], [], [], ms / 1000.0)[0]
    if not tls:
        return wait

    def ready(ms):
        if sock.pending():
            return True
        if ms:
            sock.settimeout(ms / 1000.0)
        return wait(ms)
    return ready


def connector(family, address, server_hostname, tls_context, timeout_s,
              clock):
    """connect(deadline): one new connection to the target, ready for
    requests, and its readiness() function; connect and handshake end by
    the deadline (a clock() instant)."""
    kernel = tls_context is None and fast_timeouts_supported()
    full = timeval(timeout_s)
    nodelay = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connect(deadline):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(deadline - clock(), 1e-3))
            sock.connect(address)
            sock.setsockopt(*nodelay)
            if tls_context is not None:
                sock.settimeout(max(deadline - clock(), 1e-3))
                sock = tls_context.wrap_socket(
                    sock, server_hostname=server_hostname)
                sock.settimeout(timeout_s)
            elif kernel:
                sock.settimeout(None)   # blocking: the kernel times out
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, full)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, full)
            else:
                sock.settimeout(timeout_s)
        except BaseException:
            sock.close()
            raise
        return sock, readiness(sock, tls_context is not None)
    return connect


def send_in_pieces(sock, request, deadline, clock, kernel):
    """Send a big request in pieces, each bounded by what is left of the
    timeout, so that a server that reads slowly cannot hold the request
    past its deadline (sendall() would wait a whole timeout per send)."""
    view = memoryview(request)
    while view:
        left = deadline - clock()
        if left <= 0:
            raise socket.timeout("timed out")
        if kernel:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                            timeval(left))
        else:
            sock.settimeout(left)
        view = view[sock.send(view[:SEND_CHUNK_B]):]


def idle_state(sock, tls):
    """What waits on a kept-alive connection that is readable before its
    next request: 'idle_closed' when the server closed or reset it (the
    user reconnects, which is no error), 'stray' when bytes came that no
    request asked for, None for a TLS record without data (such as a late
    session ticket: the connection stays usable)."""
    try:
        if not tls:
            return "stray" if sock.recv(1, socket.MSG_PEEK) else "idle_closed"
        if sock.pending():
            return "stray"
        sock.settimeout(0.0)
        try:
            return "stray" if sock.recv(1) else "idle_closed"
        except ssl.SSLWantReadError:
            return None
    except OSError:
        return "idle_closed"


def _wait(ready, deadline, clock):
    """Wait for bytes to read; socket.timeout once the deadline passes."""
    left = deadline - clock()
    if left <= 0 or not ready(left * 1000.0):
        raise socket.timeout("timed out")


# Body bytes are counted, never read: every user of a process receives them
# into this one buffer, so a user costs no 64 kB of its own.
DISCARD = bytearray(RECV_SIZE_B)


class Body(object):
    """What a script's response keeps of its head and body: the body up
    to limit bytes; the rest is counted by read_response, not kept."""

    __slots__ = ("head", "cookies", "parts", "kept", "limit")

    def __init__(self, limit):
        self.head, self.parts, self.kept, self.limit = b"", [], 0, limit
        self.cookies = False    # whether the head sets a cookie

    def add(self, data):
        room = self.limit - self.kept
        if room > 0 and data:
            piece = bytes(data[:room])
            self.parts.append(piece)
            self.kept += len(piece)

    def value(self):
        parts = self.parts
        return parts[0] if len(parts) == 1 else b"".join(parts)


# Header lookups search the lowercased head for these, built once.  A
# line may end in CRLF or, as RFC 9112 lets a recipient accept, bare LF.
CONNECTION = b"\nconnection:"
CONTENT_LENGTH = b"\ncontent-length:"
TRANSFER_ENCODING = b"\ntransfer-encoding:"
CRLFCRLF = b"\r\n\r\n"
DIGITS_AS_0 = bytes.maketrans(b"123456789", b"000000000")
# A status line's first 13 bytes with every digit made 0 ('HTTP/1.1 200 ').
STATUS_SHAPES = frozenset((b"HTTP/0.0 000 ", b"HTTP/0.0 000\r",
                           b"HTTP/0.0 000\n"))
NO_BODY_STATUSES = frozenset((101, 204, 304))


def _value_at(head, start):
    """The header value that starts at head[start:], up to its line's end."""
    end = head.find(b"\n", start)
    return head[start:end if end >= 0 else len(head)].strip()


def _header_values(head, needle):
    """Every value of the header that `needle` starts, joined by commas."""
    values = []
    i = head.find(needle)
    while i >= 0:
        values.append(_value_at(head, i + len(needle)))
        i = head.find(needle, i + 1)
    return b",".join(values)


def _length_value(value):
    """A Content-Length value (stripped) -> its length: digits only, at
    most MAX_LENGTH_DIGITS of them; ResponseError else."""
    if not value.isdigit() or len(value) > MAX_LENGTH_DIGITS:
        raise ResponseError("protocol", "bad content-length %r" % value[:40])
    return int(value)


def _content_length(head):
    """The Content-Length of a lowercased head that gives several, in
    several headers or as a list: they must agree."""
    values = set(v.strip() for v in
                 _header_values(head, CONTENT_LENGTH).split(b","))
    if len(values) != 1:
        raise ResponseError("protocol", "conflicting content-length values")
    return _length_value(values.pop())


def _head_end(buf):
    """(end of the head, start of the body) in buf, or (-1, -1): the first
    empty line.  Lines end in CRLF or, when the status line does, in bare
    LF (RFC 9112 lets a recipient accept it)."""
    nl = buf.find(b"\n")
    if nl < 0:
        return -1, -1
    if buf[nl - 1:nl] == b"\r":
        end = buf.find(CRLFCRLF)
        return (end, end + 4) if end >= 0 else (-1, -1)
    while nl >= 0:
        if buf[nl + 1:nl + 2] == b"\n":
            return nl, nl + 2
        if buf[nl + 1:nl + 3] == b"\r\n":
            return nl, nl + 3
        nl = buf.find(b"\n", nl + 1)
    return -1, -1


# Memos of what a run's responses repeat, each value checked once: a
# status line's first 13 bytes -> its code, and the bytes after
# "content-length:" (CONTENT_LENGTH_WINDOW of them) -> the length.
STATUS_CODES = {}
LENGTHS = {}
MEMO_MAX = 4096             # entries; a memo starts afresh when full
CONTENT_LENGTH_WINDOW = 24


def _status(buf):
    """The status code of the status line that starts buf: 'HTTP/1.x',
    a space, three digits (100 to 999), then a space or the line's end;
    memoised in STATUS_CODES."""
    line = buf[:13]
    if (line.translate(DIGITS_AS_0) not in STATUS_SHAPES or line[5] != 49
            or line[9] == 48):      # 'HTTP/1.' and a code from 100
        raise ResponseError("protocol", "bad status line %r" % buf[:40])
    if len(STATUS_CODES) >= MEMO_MAX:
        STATUS_CODES.clear()
    code = STATUS_CODES[line] = int(line[9:12])
    return code


def _length(head, i):
    """The only Content-Length of a head, whose value starts at head[i:]
    (_length_value()); memoised in LENGTHS under the
    CONTENT_LENGTH_WINDOW bytes from i when the value ends among them."""
    line_end = head.find(b"\n", i)
    if line_end < 0:
        line_end = len(head)
    value = head[i:line_end].strip()
    if value.find(b",") >= 0:
        return _content_length(head)    # a list: its values must agree
    length = _length_value(value)
    if line_end - i < CONTENT_LENGTH_WINDOW:
        if len(LENGTHS) >= MEMO_MAX:
            LENGTHS.clear()
        LENGTHS[head[i:i + CONTENT_LENGTH_WINDOW]] = length
    return length


def _chunk_size(line):
    """A chunk-size line (extensions allowed) -> its size: hex digits only,
    at most MAX_CHUNK_SIZE_DIGITS of them."""
    digits = line.split(b";", 1)[0].rstrip(b" \t")
    if (not 0 < len(digits) <= MAX_CHUNK_SIZE_DIGITS
            or digits.translate(None, HEX_DIGITS)):
        raise ResponseError("protocol", "bad chunk size %r" % line[:40])
    return int(digits, 16)


def _header_value(head, needle):
    """The first value of the header that `needle` starts, b"" when none."""
    i = head.find(needle)
    return _value_at(head, i + len(needle)) if i >= 0 else b""


# The response parser's states (ResponseParser.state).
HEAD, LENGTH, TO_CLOSE, CHUNK_LINE, CHUNK_DATA, CHUNK_END, TRAILER = range(7)
# The states in which bytes are counted, not parsed: a reader may receive
# them into a scratch buffer (ResponseParser.counting()).
COUNTED = frozenset((LENGTH, TO_CLOSE, CHUNK_DATA))


class ResponseParser(object):
    """One connection's response reader, sans I/O (as h11 is shaped): it
    is fed the bytes that come and says when the response is whole.  Both
    engines read through it, so framing, limits and error kinds are
    written once.

    start(head_request, body) before each response; then feed(data) with
    each piece received (bytes or a memoryview, which it does not keep),
    and eof() when the server closed.  Each returns None while the
    response is unfinished, else (status, body bytes, keep): keep is True
    when the connection may carry the next request, False when it must
    close, STRAY when bytes beyond the response came with it.  Raises
    ResponseError (protocol, closed).  body, a Body, keeps a script's head
    and body.  Framing follows RFC 9112 section 6.3: Transfer-Encoding
    chunked wins over a Content-Length (and the connection then closes),
    disagreeing lengths are an error.  The common case, a whole head with
    CRLF lines and one Content-Length in the first piece, takes the fewest
    steps.
    """

    __slots__ = ("state", "buf", "left", "total", "status", "keep",
                 "head_request", "body", "trailers")

    def __init__(self):
        self.start(False, None)

    def start(self, head_request, body):
        self.state, self.buf, self.head_request, self.body = (
            HEAD, b"", head_request, body)

    def counting(self):
        """Whether the next bytes are counted, not parsed."""
        return self.state in COUNTED

    def feed(self, data):
        state = self.state
        if state == HEAD:
            return self._head(self.buf + bytes(data) if self.buf
                              else bytes(data))
        if state == LENGTH:
            left, n = self.left, len(data)
            if self.body is not None:
                self.body.add(data[:left])
            if n < left:
                self.left = left - n
                return None
            keep = self.keep
            if n > left and keep:
                keep = STRAY
            return self.status, self.total, keep
        if state == TO_CLOSE:
            self.total += len(data)
            if self.body is not None:
                self.body.add(data)
            return None
        if state == CHUNK_DATA and not self.buf and len(data) < self.left:
            self.left -= len(data)
            if self.body is not None:
                self.body.add(data)
            return None
        return self._chunked(self.buf + bytes(data))

    def eof(self):
        """The server closed: the response, if it ends so; ResponseError
        else."""
        if self.state == TO_CLOSE:
            return self.status, self.total, False
        if self.state == HEAD and not self.buf:
            raise ResponseError("closed", "closed before responding")
        if self.state in COUNTED:
            raise ResponseError("closed", "connection closed mid-body")
        raise ResponseError("closed", "connection closed mid-response")

    def _head(self, buf):
        end = buf.find(CRLFCRLF)
        start = end + 4
        if end < 0:
            end, start = self._head_end(buf)
            if end < 0:
                return None
        try:
            status = STATUS_CODES[buf[:13]]
        except KeyError:
            status = _status(buf)
        while status < 200 and status != 101:   # 1xx: the real one follows
            buf = buf[start:]
            end, start = self._head_end(buf)
            if end < 0:
                return None
            status = _status(buf)
        head = buf[:end].lower()
        body = self.body
        if body is not None:
            body.head = buf[:end]
            body.cookies = head.find(b"\nset-cookie:") >= 0
        keep = True
        # (find(), not `in`: bytes.__contains__ raises and clears a
        # TypeError inside, testing for an int, which costs more)
        if head.find(b"close") >= 0 or buf[7] == 48:    # or HTTP/1.0
            conn = _header_value(head, CONNECTION)
            keep = (conn.find(b"keep-alive") >= 0 if buf[7] == 48
                    else conn.find(b"close") < 0)
        if self.head_request or status in NO_BODY_STATUSES:
            if status == 101:
                keep = False    # the connection no longer speaks HTTP/1.1
            elif keep and len(buf) > start:
                keep = STRAY
            return status, 0, keep
        self.status = status
        if head.find(TRANSFER_ENCODING) >= 0:
            codings = _header_values(head, TRANSFER_ENCODING)
            if codings.rsplit(b",", 1)[-1].strip() == b"chunked":
                self.keep = keep and CONTENT_LENGTH not in head
                self.state, self.total, self.trailers = CHUNK_LINE, 0, 0
                return self._chunked(buf[start:])
            return self._to_close(buf, start)
        i = head.find(CONTENT_LENGTH) + 16      # 16: len(CONTENT_LENGTH)
        if i < 16:  # no Content-Length: the body ends when the server closes
            return self._to_close(buf, start)
        if head.find(CONTENT_LENGTH, i) >= 0:
            length = _content_length(head)  # several: they must agree
        else:
            try:
                length = LENGTHS[head[i:i + CONTENT_LENGTH_WINDOW]]
            except KeyError:
                length = _length(head, i)
        have = len(buf) - start
        if body is not None:
            body.add(buf[start:start + length])
        if have < length:
            self.state, self.left, self.total, self.keep = (
                LENGTH, length - have, length, keep)
            return None
        if have > length and keep:
            keep = STRAY
        return status, length, keep

    def _head_end(self, buf):
        """_head_end() of a head not yet whole, which is kept for the
        next piece: (-1, -1) then."""
        if not b"HTTP/".startswith(buf[:5]):
            raise ResponseError("protocol", "not an HTTP response: %r"
                                % buf[:40])
        end, start = _head_end(buf)
        if end < 0:
            if len(buf) >= MAX_HEAD_B:
                raise ResponseError("protocol", "response head longer than"
                                    " %d bytes" % MAX_HEAD_B)
            self.buf = buf
        return end, start

    def _to_close(self, buf, start):
        """A body that ends when the server closes."""
        self.state, self.total, self.keep = TO_CLOSE, len(buf) - start, False
        if self.body is not None:
            self.body.add(buf[start:])
        return None

    def _chunked(self, data):
        """A chunked body's next bytes, data (with what was kept of the
        last piece): chunk-size lines, chunks, their CRLFs, trailers."""
        state, pos, body = self.state, 0, self.body
        while True:
            if state == CHUNK_DATA:
                left = self.left
                if body is not None:
                    body.add(data[pos:pos + left])
                if len(data) - pos < left:
                    self.state, self.buf = state, b""
                    self.left = left - (len(data) - pos)
                    return None
                pos += left
                state = CHUNK_END
            limit = MAX_HEAD_B if state == TRAILER else MAX_CHUNK_LINE_B
            nl = data.find(b"\n", pos)
            if nl < 0 and len(data) - pos <= limit:
                self.state, self.buf = state, data[pos:]
                return None
            if nl < 0 or nl - pos > limit + 1:
                raise ResponseError("protocol", "line longer than %d bytes in"
                                    " a chunked body" % limit)
            line = data[pos:nl]
            if line.endswith(b"\r"):
                line = line[:-1]
            pos = nl + 1
            if state == CHUNK_LINE:
                size = _chunk_size(line)
                if size:
                    self.total += size
                    self.left = size
                    state = CHUNK_DATA
                else:
                    state = TRAILER
            elif state == CHUNK_END:
                if line:
                    raise ResponseError("protocol", "chunk longer than its"
                                        " size")
                state = CHUNK_LINE
            elif line:      # a trailer field
                self.trailers += len(line)
                if self.trailers > MAX_HEAD_B:
                    raise ResponseError("protocol", "trailer longer than %d"
                                        " bytes" % MAX_HEAD_B)
            else:           # the empty line that ends the trailers
                self.state = HEAD
                keep = self.keep
                if keep and pos < len(data):
                    keep = STRAY
                return self.status, self.total, keep


def read_response(sock, ready, parser, buf, scratch, deadline, clock):
    """Read the response whose first bytes are buf, through parser (its
    start() called): (status, body bytes, keep), as ResponseParser says.
    ready is the connection's readiness(); no read waits past the
    deadline (socket.timeout then).  Bytes only counted are received into
    scratch; any that came after the response make keep STRAY."""
    result = parser.feed(buf)
    if result is not None:
        return result
    view = memoryview(scratch)
    while True:
        _wait(ready, deadline, clock)
        if parser.counting():
            n = sock.recv_into(view)
            result = parser.feed(view[:n]) if n else parser.eof()
        else:
            data = sock.recv(RECV_SIZE_B)
            result = parser.feed(data) if data else parser.eof()
        if result is not None:
            return result



# One user's kept-alive connection to one origin: exchange() and close(),
# made by connection().
Connection = collections.namedtuple("Connection", "exchange close")


def connection(connect, tls, keepalive, clock, events, scratch=None):
    """One user's kept-alive connection to one origin, and the one HTTP
    exchange every request makes on it: check, send, read.  connect
    (connector()) opens it; scratch receives the bodies nobody keeps.

    Before a request goes on a kept-alive connection, the connection is
    checked (one poll()): one the server closed is replaced, which is no
    error, and one with bytes waiting that no request asked for is closed;
    events (a Counter of CONNECTION_EVENTS) counts both.  Once a request
    is sent, any failure is its result, and it is never sent again.
    Every wait ends by the request's deadline.  (A closure, not a class:
    its state is read from cells, cheaper than attributes on the path
    every request takes.)"""
    kernel = not tls and fast_timeouts_supported()
    if scratch is None:
        scratch = DISCARD
    sock = ready = None
    parser = ResponseParser()
    begin = parser.start

    def exchange(request, head_request, careful, sent, timeout_s,
                 body=None):
        """Send request at sent (a clock() instant) and read its response
        by sent + timeout_s: (done, status, body bytes, error kind or '').
        careful: send it in pieces, each bounded by the deadline (a big
        request, or a timeout other than the one connect() gave the
        socket); body: a Body that keeps the response's head and body."""
        nonlocal sock, ready
        deadline = sent + timeout_s
        try:
            if sock is not None and ready(0):   # closed, or stray bytes
                state = idle_state(sock, tls)
                if state is not None:
                    events[state] += 1
                    close()
            fresh = sock is None
            if fresh:
                sock, ready = connect(deadline)
                events["opened"] += 1
            elif tls:
                sock.settimeout(timeout_s)  # a read may have cut it
            if careful:
                send_in_pieces(sock, request, deadline, clock, kernel)
            else:   # the socket's own timeouts are this request's
                sock.sendall(request)
            if fresh or careful:    # what is left of the deadline
                _wait(ready, deadline, clock)
            buf = sock.recv(FIRST_RECV_B)
            if not buf:
                raise ResponseError("closed", "closed before responding")
            begin(head_request, body)
            status, nbytes, keep = read_response(
                sock, ready, parser, buf, scratch, deadline, clock)
            done = clock()
            if keep is not True or not keepalive:
                if keep is STRAY:
                    events["stray"] += 1
                close()
            return done, status, nbytes, ""
        except TRANSPORT_ERRORS as exc:
            done = clock()
            close()
            return done, 0, 0, error_kind(exc)

    def close():
        nonlocal sock
        if sock is not None:
            sock.close()
            sock = None

    return Connection(exchange, close)


# --- scenarios: scripts and their users --------------------------------------

# --script FILE.py runs a user flow: the @task functions (weighted), a
# run(user) function or multi-mechanize's class Transaction.  One call is
# one iteration; -n, --interval, --think, --rate and the stages count
# iterations.  Every request a script makes is a row; timers and failed
# tasks are rows too (method 'timer' and 'task').

MAX_REDIRECTS = 10
SCRIPT_RECV_B = 16384      # a script user's receive buffer: it keeps bodies
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
DEFAULT_MAX_BODY_B = 10 * 1000 * 1000
URL_CACHE_MAX = 1024        # a user's parsed URLs; cleared when full
TRACEBACK_KINDS_MAX = 20    # distinct failures a worker keeps the text of
REASONS_MAX = 100   # distinct (name, response.fail() reason) a worker counts
REASON_MAX_CHARS = 200      # of a reason, as the failures' keys keep it
STUCK_S = 1.0   # a script user still busy this long after its last


                # request's deadline is left behind


class HTTPError(Exception):
    """response.raise_for_status(): a transport error or a 4xx/5xx."""

    def __init__(self, message, response):
        Exception.__init__(self, message)
        self.response = response


class Stopped(BaseException):
    """The run is over for this user (its end, -n, Ctrl+C): raised into
    the script by a request or a sleep, and caught by hammer, so that
    `except Exception` in a script does not swallow it."""


def task(weight=1):
    """Mark a script's function as a task: @hammer.task, @hammer.task(3)
    or @hammer.task(weight=3).  Each iteration picks one task by weight."""
    if callable(weight):
        weight.hammer_weight = 1
        return weight
    if (isinstance(weight, bool) or not isinstance(weight, int)
            or weight < 1):
        raise ValueError("a task's weight must be a whole number from 1,"
                         " not %r" % (weight,))

    def mark(function):
        function.hammer_weight = weight
        return function
    return mark


Scenario = collections.namedtuple(
    "Scenario", "path shape tasks weights on_start on_stop run transaction"
                " wait locust")


def script_frames(exc, path):
    """The traceback lines of exc in the script's own file (the last
    frame when none is), without hammer's, importlib's or the standard
    library's."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = os.path.abspath(path)
    own = [f for f in frames if os.path.abspath(f.filename) == mine]
    return "".join(traceback.format_list(own or frames[-1:]))


def load_script(path):
    """Run the script at path as a fresh module: its Scenario.  `import
    locust` gets hammer's own locust module; a script that imports it,
    or holds a concrete User class, is a locustfile.  UsageError names
    the file, the line and the error."""
    import importlib.util
    if os.path.isdir(path):
        raise UsageError("cannot read script %r: it is a directory: give"
                         " the .py file" % path)
    if not os.path.isfile(path):
        raise UsageError("cannot read script %r: no such file" % path)
    # `import hammer` in a script gets this module, even when it runs as
    # __main__, so hammer.task is the one hammer knows
    sys.modules.setdefault("hammer", sys.modules[__name__])
    locust = install_locust(path)
    name = "hammer_script_%d" % abs(hash(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise UsageError("script %r line %s: %s: %s" % (
            path, exc.lineno, type(exc).__name__, exc.msg))
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        frames = traceback.extract_tb(exc.__traceback__)
        line = [f.lineno for f in frames
                if os.path.abspath(f.filename) == os.path.abspath(path)]
        raise UsageError("script %r line %s: %s: %s\n%s" % (
            path, line[-1] if line else "?", type(exc).__name__, exc,
            script_frames(exc, path).rstrip()))
    if locust.imported or defines_users(module):
        found = locust_file(module, path, locust.module.events)
        return Scenario(path, "locust", None, None, locust_start, locust_stop,
                        None, None, None, found)
    return scenario_of(module, path)


LocustInstall = collections.namedtuple("LocustInstall", "module imported")


def install_locust(path):
    """Put a fresh copy of hammer's locust module in sys.modules (over
    Locust's own, if installed), for the script at path or a module it
    imports: (the module, whether the script imports locust itself).
    UsageError for what a locustfile reaches that hammer does not
    cover."""
    import ast
    imported = False
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
        imported = imports_locust(tree)
    except (OSError, SyntaxError, ValueError):
        pass        # loading it says what is wrong
    if imported:
        refused = locust_refusals(tree)
        if refused:
            raise UsageError("script %r line %d: hammer does not cover %s"
                             % ((path,) + refused[0]))
        # its own modules beside it import, as under Locust
        directory = os.path.dirname(os.path.abspath(path))
        if directory not in sys.path:
            sys.path.append(directory)
    modules = locust_modules()
    sys.modules.update(modules)
    return LocustInstall(modules["locust"], imported)


def defines_users(module):
    """Whether a loaded script holds a concrete Locust User class (a
    locustfile that imports locust through another module)."""
    return any(isinstance(v, type) and issubclass(v, LocustUser)
               and not v.abstract for v in vars(module).values())


def locust_start(user):
    """A locustfile's on_start step: its User's __init__ and on_start;
    StopUser there ends the user."""
    try:
        user._life.start()
    except StopUser:
        raise Stopped()


def locust_stop(user):
    """A locustfile's on_stop step: its TaskSets' and User's on_stop."""
    user._life.stop()


def script_wait(module, path):
    """A hammer script's wait_time: seconds or a function of the user
    giving them, called after each iteration; None without one."""
    wait = getattr(module, "wait_time", None)
    if wait is None or callable(wait):
        return wait
    if (isinstance(wait, (int, float)) and not isinstance(wait, bool)
            and 0 <= wait <= MAX_DURATION_S):
        return lambda user: wait
    raise UsageError("script %r: wait_time must be seconds (a number >= 0)"
                     " or a function of the user, such as"
                     " hammer.between(1, 3)" % path)


def scenario_of(module, path):
    """The shape a loaded script has; UsageError when it has none."""
    tasks = sorted((f for f in vars(module).values()
                    if callable(f) and hasattr(f, "hammer_weight")
                    and getattr(f, "__module__", None) == module.__name__),
                   key=lambda f: f.__code__.co_firstlineno
                   if hasattr(f, "__code__") else 0)
    hooks = {}
    for hook in ("on_start", "on_stop"):
        f = getattr(module, hook, None)
        if f is not None and not callable(f):
            raise UsageError("script %r: %s must be a function taking the"
                             " user" % (path, hook))
        hooks[hook] = f
    wait = script_wait(module, path)
    if tasks:
        return Scenario(path, "tasks", tasks, [f.hammer_weight for f in tasks],
                        hooks["on_start"], hooks["on_stop"], None, None, wait,
                        None)
    run = getattr(module, "run", None)
    if callable(run) and not isinstance(run, type):
        return Scenario(path, "run", None, None, hooks["on_start"],
                        hooks["on_stop"], run, None, wait, None)
    transaction = getattr(module, "Transaction", None)
    if isinstance(transaction, type):
        if not callable(getattr(transaction, "run", None)):
            raise UsageError("script %r: class Transaction has no run()"
                             " method" % path)
        return Scenario(path, "transaction", None, None, None, None, None,
                        transaction, wait, None)
    raise UsageError("script %r has nothing to run: give it @hammer.task"
                     " functions, a run(user) function or a class"
                     " Transaction" % path)


WEIGHT_TABLE_MAX = 100000   # a weight table with more slots is bisected


class Bisected(object):
    """weight_table()'s table when the weights are too many slots: slot
    i is the item whose cumulative weight first passes i."""

    def __init__(self, items, cumulative):
        self.items, self.cumulative = items, cumulative

    def __len__(self):
        return self.cumulative[-1]

    def __getitem__(self, i):
        return self.items[bisect.bisect_right(self.cumulative, i)]


def weight_table(items, weights):
    """A table in which each item fills as many slots as its weight (the
    weights divided by their greatest common divisor), so that a
    uniform slot picks by weight with one index."""
    common = 0
    for w in weights:
        common = math.gcd(common, w)
    if sum(weights) // common > WEIGHT_TABLE_MAX:
        return Bisected(items, list(itertools.accumulate(weights)))
    table = []
    for item, w in zip(items, weights):
        table += [item] * (w // common)
    return table


class Headers(collections.abc.Mapping):
    """A response's headers, case-insensitive; repeated ones joined by
    ', ' (Set-Cookie's too: get_all() gives each)."""

    def __init__(self, head):
        self._all = []
        for line in head.split(b"\n")[1:]:
            name, sep, value = line.partition(b":")
            if sep:
                self._all.append((name.strip().decode("latin-1"),
                                  value.strip().decode("latin-1")))
        self._joined = {}
        for name, value in self._all:
            key = name.lower()
            if key in self._joined:
                self._joined[key] = (self._joined[key][0],
                                     self._joined[key][1] + ", " + value)
            else:
                self._joined[key] = (name, value)

    def __getitem__(self, name):
        return self._joined[name.lower()][1]

    def __iter__(self):
        return (name for name, _ in self._joined.values())

    def __len__(self):
        return len(self._joined)

    def get_all(self, name, default=None):
        """Every value of a header, in order (for Set-Cookie)."""
        key = name.lower()
        values = [v for n, v in self._all if n.lower() == key]
        return values or default

    def __repr__(self):
        return "Headers(%r)" % dict(self.items())


class Response(object):
    """What a script's request returns.  status is 0 when the request
    failed in transport; error then holds the kind."""

    __slots__ = ("status", "error", "body", "nbytes", "elapsed", "url",
                 "method", "_head", "_headers", "_user", "_row")

    def __init__(self, method, url, status, error, head, body, nbytes,
                 elapsed, user, row):
        self.method, self.url = method, url
        self.status, self.error = status, error
        self._head, self.body, self.nbytes = head, body, nbytes
        self.elapsed = elapsed
        self._headers = None
        self._user, self._row = user, row

    @property
    def headers(self):
        if self._headers is None:
            self._headers = Headers(self._head)
        return self._headers

    @property
    def ok(self):
        return 0 < self.status < 400 and not self.error

    @property
    def text(self):
        kind = self.headers.get("content-type", "")
        charset = "utf-8"
        for part in kind.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)

    def fail(self, why="failed"):
        """Mark this request's row as failed, with error kind 'check'."""
        self._user._fail_row(self._row, str(why))
        self.error = "check"

    def accept(self):
        """Mark this request's row as no error whatever its status (error
        kind 'accepted' for a status >= 400): fail()'s counterpart.  A
        transport error (status 0) stays one: there was no response."""
        if self.status:
            self._user._accept_row(self._row, self.status)
            self.error = ""

    def raise_for_status(self):
        if self.status == 0:
            raise HTTPError("%s %s failed: %s" % (self.method, self.url,
                                                   self.error), self)
        if self.status >= 400:
            raise HTTPError("%s %s answered %d" % (self.method, self.url,
                                                    self.status), self)
        return self

    def __repr__(self):
        return "<Response %s %d %s>" % (self.method, self.status, self.url)


class CookieRequest(object):
    """What http.cookiejar asks of a request, for one URL."""

    def __init__(self, url, target):
        self.full_url, self.target = url, target
        self.type = target.scheme
        self.host = target.host_header
        self.origin_req_host = target.host
        self.unverifiable = False
        self.headers = {}

    def get_full_url(self):
        return self.full_url

    def get_host(self):
        return self.host

    def get_type(self):
        return self.type

    def get_origin_req_host(self):
        return self.origin_req_host

    def is_unverifiable(self):
        return False

    def has_header(self, name):
        return name.lower() in self.headers

    def get_header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def header_items(self):
        return list(self.headers.items())

    def add_unredirected_header(self, name, value):
        self.headers[name.lower()] = value


class CookieResponse(object):
    """What http.cookiejar asks of a response: its Set-Cookie headers."""

    def __init__(self, headers):
        self._headers = headers

    def info(self):
        return self._headers


class Timer(object):
    """with user.timer(name): one timer row spanning the block."""

    def __init__(self, user, name):
        self.user, self.name = user, name

    def __enter__(self):
        user = self.user
        self.start = user._clock()
        self.requests = user._requests
        return self

    def __exit__(self, kind, exc, tb):
        user = self.user
        done = user._clock()
        if kind is not None and not issubclass(kind, Exception):
            return False    # Stopped, Ctrl+C: the block did not run whole
        status, error = 0, ""
        if kind is not None:
            error = "check" if issubclass(kind, AssertionError) else "script"
        elif user._requests > self.requests:
            status, error = user._last_status, user._last_error
        user._rows.add(self.start, done - self.start, status, 0, error,
                  name_suffix("timer", self.name))
        if user._verbose:
            user._say("timer %s %s%s" % (self.name,
                                         format_seconds(done - self.start),
                                         " " + error if error else ""))
        return False


FORM = "application/x-www-form-urlencoded"


class ScriptContext(object):
    """What one worker's script users share: the plan, a connect function
    per origin, the test's instants, the stop flag, the failures seen."""

    def __init__(self, plan, connect, clock, stop):
        self.plan, self.clock, self.stop = plan, clock, stop
        self.t0 = None
        self.base = plan.target     # None: the scripts name whole URLs
        self.lock = threading.Lock()
        self.connectors = {} if connect is None else {
            origin(plan.target): connect}
        self.tls_context = None
        self.failures = collections.OrderedDict()  # key -> [count, text]
        self.reasons = collections.Counter()  # ('METHOD,name', why) -> rows
        import http.cookiejar   # now, not when the users start
        self.jar = http.cookiejar.CookieJar

    def connector(self, target):
        """connect(deadline) for target's origin, resolved on first use."""
        key = origin(target)
        connect = self.connectors.get(key)
        if connect is None:
            with self.lock:
                if key not in self.connectors:
                    self.connectors[key] = self.new_connector(target)
                connect = self.connectors[key]
        return connect

    def new_connector(self, target):
        plan = self.plan
        tls = None
        if target.scheme == "https":
            if self.tls_context is None:
                self.tls_context = make_tls_context(plan.insecure)
            tls = self.tls_context
        resolved = []

        def connect(deadline):
            if resolved:
                return resolved[0](deadline)
            # resolve in the user's thread; the first address that takes
            # the connection is kept, as resolve_and_probe() does
            infos = socket.getaddrinfo(target.host, target.port, 0,
                                       socket.SOCK_STREAM)
            for i, (family, _, _, _, address) in enumerate(infos):
                attempt = connector(family, address, target.host, tls,
                                    plan.timeout_s, self.clock)
                try:
                    made = attempt(deadline)
                except OSError:
                    if i == len(infos) - 1:
                        raise
                    continue
                resolved[:] = [attempt]
                return made
        return connect

    def note(self, key, text):
        """Count one failure of a kind; keep the text of its first."""
        with self.lock:
            entry = self.failures.get(key)
            if entry is not None:
                entry[0] += 1
            elif len(self.failures) < TRACEBACK_KINDS_MAX:
                self.failures[key] = [1, text]
            else:
                other = self.failures.setdefault("other", [0, ""])
                other[0] += 1

    def note_reasons(self, reasons):
        """Count the rows of an iteration that a script failed, by
        ('METHOD,name', why): at most REASONS_MAX of them, the rows of
        others left to the per-name counts alone."""
        with self.lock:
            for key in reasons:
                if key in self.reasons or len(self.reasons) < REASONS_MAX:
                    self.reasons[key] += 1

    def note_exception(self, exc, where, path):
        kind = type(exc).__name__
        text = "%s in %s:\n%s%s" % (kind, where, script_frames(exc, path),
                                    "".join(traceback.format_exception_only(
                                        type(exc), exc)))
        self.note(kind, text.rstrip())


def origin(target):
    return (target.scheme, target.host, target.port)


def failure_kind(exc):
    """The error column's word for an exception escaping a timer's block
    or a Transaction's run()."""
    return "check" if isinstance(exc, AssertionError) else "script"


NOT_KIND_RE = re.compile(r"[^A-Za-z0-9_.]")
KIND_MAX = 100      # characters of an exception's type in a task's row


def raised_kind(exc):
    """A task's row's error kind: the type of the exception it raised
    (ZeroDivisionError), as a word the CSV needs no quotes for."""
    return NOT_KIND_RE.sub("_", type(exc).__name__)[:KIND_MAX] or "_"


def script_body(data, json_value):
    """A script request's data= or json= -> (body bytes or None, its
    Content-Type or None); TypeError for data of another type."""
    if json_value is not None:
        return json.dumps(json_value).encode("utf-8"), "application/json"
    if isinstance(data, dict):
        return urlencode(data, doseq=True).encode("utf-8"), FORM
    if isinstance(data, str):
        return data.encode("utf-8"), None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), None
    if data is not None:
        raise TypeError("data= takes bytes, a str or a dict, not %s"
                        % type(data).__name__)
    return None, None


def check_script_headers(headers):
    """ValueError unless each (name, value) is a token and a value
    without control characters (such as CR or LF)."""
    for name, value in headers:
        if (not name or not set(name) <= TOKEN_CHARS
                or has_control(value.replace("\t", " "))):
            raise ValueError("header %r: a name is a token and a value"
                             " holds no control character (such as CR"
                             " or LF)" % name)


class IterationRows(object):
    """One script user's rows of the iteration under way, each with its
    'METHOD,name': add() one, mark() one failed, and commit() them, each
    to the worker's queue of its name (record(suffix)), at the
    iteration's end.  In the open model, shift (the iteration's slot
    minus its start) gives each row its scheduled time.  reasons holds
    the response.fail() reason of each row marked 'check', by index,
    for the worker's count of them (ScriptContext.note_reasons())."""

    __slots__ = ("ctx", "record", "rows", "appends", "batch", "shift",
                 "reasons")

    def __init__(self, ctx, record):
        self.ctx, self.record = ctx, record
        self.rows = []
        self.reasons = {}
        self.appends = {}   # 'METHOD,name' -> its queue's append
        self.batch = 0      # which iteration a Response's row is in
        self.shift = None

    def __len__(self):
        return len(self.rows)

    def add(self, start, response_time, status, nbytes, error, suffix):
        """Add one row to this iteration's: (batch, index) of it."""
        elapsed = start - self.ctx.t0
        if self.shift is None:
            row = (elapsed, response_time, status, nbytes, error)
        else:
            row = (elapsed, response_time, status, nbytes, error,
                   elapsed + self.shift)
        self.rows.append((row, suffix))
        return self.batch, len(self.rows) - 1

    def mark(self, where, error, why=None):
        """Give the row add() placed at where the error kind error; why:
        the reason a script failed it ('check'), the last one kept."""
        batch, i = where
        if batch != self.batch:
            raise RuntimeError("response.fail() and accept() must come in the"
                               " iteration that made the request")
        row, suffix = self.rows[i]
        self.rows[i] = (row[:4] + (error,) + row[5:], suffix)
        if why is not None:
            self.reasons[i] = why
        else:
            self.reasons.pop(i, None)

    def commit(self):
        """Hand this iteration's rows to the worker's writer."""
        if self.reasons:
            self.ctx.note_reasons([(self.rows[i][1], why) for i, why
                                   in self.reasons.items()])
            self.reasons = {}
        if self.rows:
            appends = self.appends
            for row, suffix in self.rows:
                append = appends.get(suffix)
                if append is None:
                    append = appends[suffix] = self.record(suffix).append
                append(row)
            self.rows = []
        self.batch += 1


class User(object):
    """The `user` a script is given: requests, cookies, timers, sleep,
    its global number (index), its data-file row (data), its own random
    source (rng)."""

    def __init__(self, ctx, index, data, rng, record, events):
        plan = ctx.plan
        self.index, self.data, self.rng = index, data, rng
        self.cookies = ctx.jar()
        self._ctx, self._events = ctx, events
        self._clock = ctx.clock
        self._stopped = ctx.stop.is_set
        self._verbose = plan.verbose
        self._headers = list(plan.headers)
        self._keepalive = plan.keepalive
        self._timeout = plan.timeout_s
        self._max_body = plan.max_body
        self._conns = {}
        self._urls = {}         # url text -> (Target, absolute url)
        self._prepared = {}     # (method, url) -> request bytes and more
        self._rows = IterationRows(ctx, record)
        self._requests = 0
        self._last_status, self._last_error = 0, ""
        self._until = math.inf  # no request starts at or after it
        self._scratch = bytearray(SCRIPT_RECV_B)

    def __repr__(self):
        return "<hammer user %d>" % self.index

    # -- requests: get() ... head() are made by verb() below the class --
    def request(self, method, url, params=None, headers=None, data=None,
                json=None, name=None, timeout=None, allow_redirects=True,
                ok_status=None):
        """Send one request; its response, whatever happened.  Up to
        MAX_REDIRECTS redirects are followed, each hop a row of its own,
        unless allow_redirects=False (as Locust, requests and k6 do).
        ok_status (a status, or a collection of them such as (404,) or
        range(400, 500)) accepts those statuses: such a response is no
        error (error kind 'accepted')."""
        if ok_status is not None:
            ok_status = ok_statuses(ok_status)
        response = self._send(method, url, params, headers, data, json, name,
                              timeout, ok_status)
        if not allow_redirects or response.status not in REDIRECT_STATUSES:
            return response     # most do not redirect: no call to _follow
        return self._follow(response, method, headers, data, json, timeout,
                            ok_status)

    def _follow(self, response, method, headers, data, json, timeout,
                ok_status=None):
        """The redirects after response, each a request of its own."""
        hops = 0
        home, elsewhere = origin(self._target(response.url)[0]), False
        while response.status in REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                break
            url = self._location(response.url, location)
            if hops == MAX_REDIRECTS or url is None:
                self._rows.mark(response._row, "redirects")
                response.error = "redirects"
                break
            hops += 1
            status = response.status
            if (status == 303 and method != "HEAD") or (
                    status in (301, 302) and method == "POST"):
                method, data, json = "GET", None, None
            # as requests and curl do: no Authorization once a hop left
            # the first request's origin (scheme, host and port), -H's
            # and the request's alike
            elsewhere = elsewhere or origin(self._target(url)[0]) != home
            response = self._send(method, url, None, headers, data, json,
                                  None, timeout, ok_status, elsewhere)
        return response

    def _location(self, url, location):
        """The URL a redirect from url to location goes to; None when it
        is not one hammer can request (another scheme, a control
        character, a malformed host)."""
        try:
            return self._target(urljoin(url, location))[1]
        except ValueError:
            return None

    def _target(self, url):
        """url (a path or an absolute URL) -> (Target, absolute url)."""
        found = self._urls.get(url)
        if found is None:
            if not isinstance(url, str):
                raise TypeError("a url is a str, not %s" % type(url).__name__)
            base = self._ctx.base
            if not is_absolute(url) and base is None:
                raise ValueError("%r is a path, and hammer has no URL to"
                                 " resolve it against: give it one" % url)
            full = url if is_absolute(url) else urljoin(base.url, url)
            try:
                target = parse_url(full)
            except UsageError as exc:
                raise ValueError(str(exc))
            if len(self._urls) >= URL_CACHE_MAX:
                self._urls.clear()
            found = self._urls[url] = (target, target.url)
        return found

    def _send(self, method, url, params, headers, data, json_value, name,
              timeout, ok_status=None, no_auth=False):
        plain = (params is None and headers is None and data is None
                 and json_value is None and not self.cookies._cookies
                 and not no_auth)
        prepared = self._prepared.get((method, url)) if plain else None
        if prepared is None:
            prepared = self._prepare(method, url, params, headers, data,
                                     json_value, no_auth)
            if plain:
                if len(self._prepared) >= URL_CACHE_MAX:
                    self._prepared.clear()
                self._prepared[(method, url)] = prepared
        request, target, full, where, suffix, head = prepared
        clock = self._clock
        if self._stopped():
            raise Stopped()
        conn = self._conns.get(where)
        if conn is None:
            conn = self._conns[where] = connection(
                self._ctx.connector(target), target.scheme == "https",
                self._keepalive, clock, self._events, self._scratch)
        body = Body(self._max_body)
        timeout = request_timeout(timeout) if timeout else self._timeout
        sent = clock()
        if sent >= self._until:
            raise Stopped()
        done, status, nbytes, error = conn.exchange(
            request, head, len(request) > SEND_CHUNK_B
            or timeout != self._timeout, sent, timeout, body)
        if name is not None:
            suffix = name_suffix(method, str(name))
        kind = error
        if ok_status is not None and status >= 400 and status in ok_status:
            kind = ACCEPTED
        row = self._rows.add(sent, done - sent, status, nbytes, kind, suffix)
        self._requests += 1
        self._last_status, self._last_error = status, kind
        response = Response(method, full, status, error, body.head,
                            body.value(), nbytes, done - sent, self, row)
        if body.cookies:
            self.cookies.extract_cookies(
                CookieResponse(response.headers),
                CookieRequest(full, target))
        if self._verbose:
            self._say("%s %s %s %s%s" % (
                method, full, status, format_seconds(done - sent),
                " " + error if error else ""))
        return response

    def _prepare(self, method, url, params, headers, data, json_value,
                 no_auth=False):
        """A request's bytes: (request, Target, absolute url, its origin,
        its default 'METHOD,name', whether it is a HEAD); no_auth leaves
        out every Authorization header (-H's and the request's)."""
        if not isinstance(method, str) or not method or not set(
                method) <= TOKEN_CHARS or method in ("timer", "task"):
            raise ValueError("invalid method %r" % (method,))
        target, full = self._target(url)
        if params:
            query = urlencode(params, doseq=True)
            path = target.path + ("&" if "?" in target.path else "?") + query
            target = target._replace(path=path)
            full = urljoin(full, path)
        body, kind = script_body(data, json_value)
        given = dict((k.lower(), (k, str(v)))
                     for k, v in (headers or {}).items())
        if kind is not None and "content-type" not in given:
            given["content-type"] = ("Content-Type", kind)
        if self.cookies._cookies and "cookie" not in given:
            asked = CookieRequest(full, target)
            self.cookies.add_cookie_header(asked)
            cookie = asked.get_header("cookie")
            if cookie:
                given["cookie"] = ("Cookie", cookie)
        if no_auth:
            given.pop("authorization", None)
            given["authorization"] = None
        sent = [h for h in self._headers if h[0].lower() not in given]
        sent += [h for h in given.values() if h is not None]
        check_script_headers(sent)
        request = build_request(method, target, sent, body, self._keepalive)
        return (request, target, full, origin(target),
                name_suffix(method, default_name(target.path)),
                method == "HEAD")

    # -- rows --
    def _fail_row(self, where, why):
        self._rows.mark(where, "check", why[:REASON_MAX_CHARS])
        if where[1] == len(self._rows) - 1:
            self._last_error = "check"     # a timer's last response
        self._ctx.note("check: " + why[:REASON_MAX_CHARS],
                       "response.fail(): " + why)

    def _accept_row(self, where, status):
        kind = ACCEPTED if status >= 400 else ""
        self._rows.mark(where, kind)
        if where[1] == len(self._rows) - 1:
            self._last_error = kind

    def _say(self, line):
        write_all(2, ("[user %d] %s\n" % (self.index, line)).encode(
            "utf-8", "replace"))

    # -- the rest --
    def timer(self, name):
        return Timer(self, str(name))

    def sleep(self, seconds):
        """Pause; the end of the run and Ctrl+C cut it short (Stopped)."""
        ctx = self._ctx
        wake = self._clock() + max(0.0, float(seconds))
        if wake >= self._until:
            ctx.stop.wait(max(0.0, self._until - self._clock()))
            raise Stopped()
        if ctx.stop.wait(max(0.0, wake - self._clock())):
            raise Stopped()

    def close(self):
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()


def verb(method):
    """User.get() and its kin: request(method, ...)."""
    def send(self, url, params=None, headers=None, data=None, json=None,
             name=None, timeout=None, allow_redirects=method != "HEAD",
             ok_status=None):
        return self.request(method, url, params, headers, data, json, name,
                            timeout, allow_redirects, ok_status)
    send.__name__ = method.lower()
    send.__doc__ = "user.request(%r, url, ...)" % method
    return send


for _method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
    setattr(User, _method.lower(), verb(_method))
del _method


def call_step(user, function, name, ctx, path, start=None):
    """Run one step of a script (a task, run(), on_start, on_stop) that
    starts now or at start: an exception escaping it is a task row and a
    noted failure; Stopped and Ctrl+C go on up."""
    if start is None:
        start = user._clock()
    try:
        function(user)
        return True
    except Exception as exc:
        user._rows.add(start, user._clock() - start, 0, 0, raised_kind(exc),
                       name_suffix("task", name))
        ctx.note_exception(exc, name, path)
        return False


def transaction_name(path):
    """The timer of a Transaction script's run(): named after its script
    ('browse.py:transaction'), so that two groups' are not one name."""
    return os.path.basename(path) + ":transaction"


def transaction_step(user, instance, ctx, path, suffix):
    """multi-mechanize's iteration: run() is a timer row of the name
    suffix (transaction_name()), then each custom_timers entry is a
    timer row of its own (of its name alone, as multi-mechanize's report
    counts them).  A run() that raised is a task row named
    Transaction.run too (an iteration that raised, an error of the
    run)."""
    clock = user._clock
    start = clock()
    requests = user._requests
    error = raised = ""
    try:
        instance.run()
    except Exception as exc:
        error, raised = failure_kind(exc), raised_kind(exc)
        ctx.note_exception(exc, "Transaction.run", path)
    done = clock()
    if raised:
        user._rows.add(start, done - start, 0, 0, raised,
                       name_suffix("task", "Transaction.run"))
    status = user._last_status if user._requests > requests else 0
    if not error and user._requests > requests:
        error = user._last_error
    if error in ("check", "script"):
        status = 0
    user._rows.add(start, done - start, status, 0, error, suffix)
    timers = getattr(instance, "custom_timers", None)
    if not error and isinstance(timers, dict):
        for name, seconds in list(timers.items()):
            try:
                seconds = float(seconds)
            except (TypeError, ValueError):
                continue
            user._rows.add(start, seconds, status, 0, "",
                      name_suffix("timer", str(name)))
        timers.clear()


def make_transaction(cls, user):
    """Transaction(user) when its __init__ takes an argument, else
    Transaction()."""
    import inspect
    try:
        params = [p for p in inspect.signature(cls).parameters.values()
                  if p.default is p.empty and p.kind in (
                      p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return cls(user) if params else cls()


def script_loop(user, scenario, shape, quota, end, stop, clock, events,
                ctx):
    """One script user: drive() with one iteration a step (a task by
    weight, run(user), or a Transaction's run()), after on_start.
    Returns the clock() instant up to which the user took part, None if
    never."""
    path = scenario.path
    user._until = end
    scheduled = isinstance(shape, Slots)
    instance = None     # the Transaction, once begin() made it
    wait = scenario.wait
    if scenario.shape == "tasks":   # a task by weight, as --targets picks
        tasks = weight_table(scenario.tasks, scenario.weights)
        rnd, n = user.rng.random, len(tasks)

        def iteration(start):
            task = tasks[int(rnd() * n)]
            call_step(user, task, task.__name__, ctx, path, start)
    elif scenario.locust is not None:   # one task; it says its wait
        iteration = user._life.step
    elif scenario.transaction is not None:
        timer = name_suffix("timer", transaction_name(path))

        def iteration(start):
            transaction_step(user, instance, ctx, path, timer)
    else:
        def iteration(start):
            call_step(user, scenario.run, "run", ctx, path, start)

    def begin():
        """on_start, and the Transaction: False when it cannot be made."""
        nonlocal instance
        if scenario.on_start is not None:
            call_step(user, scenario.on_start, "on_start", ctx, path)
            user._rows.commit()
        if scenario.transaction is not None:
            start = clock()
            try:
                instance = make_transaction(scenario.transaction, user)
            except Exception as exc:
                user._rows.add(start, clock() - start, 0, 0, raised_kind(exc),
                               name_suffix("task", "Transaction"))
                ctx.note_exception(exc, "Transaction()", path)
                return False
        return True

    def step(start, at):
        events["iterations"] += 1
        if scheduled:
            user._rows.shift = at - start
        pause = iteration(start)
        done = clock()
        user._rows.commit()
        if wait is not None and not scheduled:
            pause = wait_of(user, wait, ctx, path)
        if pause and not scheduled:     # the rate says when the next goes
            user.sleep(pause)
            done = clock()
        return done

    try:
        return drive(shape, quota, end, stop, clock, events, step, begin)
    finally:
        user._rows.commit()


def wait_of(user, wait, ctx, path):
    """A hammer script's wait_time after an iteration, in seconds; a
    wait_time that fails is noted, and no wait."""
    try:
        return float(wait(user))
    except Exception as exc:
        ctx.note_exception(exc, "wait_time", path)
        return 0.0


def stop_user(user, scenario, end, stop, ctx):
    """on_stop(user), unless Ctrl+C stopped the run: its requests may
    start up to one --timeout after the end.  The instant it ended, None
    when it made no row."""
    try:
        if scenario.on_stop is None or stop.is_set():
            return None
        user._until = end + user._timeout
        user._rows.shift = None
        rows = user._requests
        try:
            call_step(user, scenario.on_stop, "on_stop", ctx, scenario.path)
        except Stopped:
            pass
        made = user._requests > rows or user._rows
        user._rows.commit()
        return user._clock() if made else None
    finally:
        user.close()


# --- locustfiles: hammer's own locust module ---------------------------------

# A locustfile runs as it is.  Before it is loaded, hammer puts a `locust`
# module of its own in sys.modules (with locust.contrib.fasthttp,
# locust.exception and the other submodules below), even when Locust is
# installed, so that the engine is always hammer's.  Each hammer user is
# one Locust user: an instance of one of the file's HttpUser or
# FastHttpUser classes (shared out by weight and fixed_count), whose
# self.client sends through hammer's User.  One iteration is one task;
# the task's wait_time follows it.  What the module does not cover is
# refused with one line naming it (NotCovered).

LOCUST_LEGACY_WAIT_S = 1.0      # pre-1.0 Locust's default min/max_wait
SHAPE_TICK_S = 1.0              # how often Locust asks a LoadTestShape
SHAPE_TICKS_MAX = 86400         # a shape's ticks: a day of them at most
LOCUST_SUBMODULES = ("contrib", "contrib.fasthttp", "exception", "user",
                     "user.task", "user.users", "user.wait_time", "clients",
                     "shape", "event", "env")
# what a locustfile may not reach, and why, for the refusal's line
LOCUST_REFUSED = (
    ("gevent", "gevent (hammer's users are threads: use time.sleep or"
               " self.wait())"),
    ("greenlet", "greenlet (hammer's users are threads)"),
    ("locust.runners", "locust.runners (environment.runner internals)"),
    ("locust.rpc", "locust.rpc (Locust's distributed mode: see --hosts)"),
    ("locust.web", "locust.web (Locust's web UI: hammer runs headless)"),
    ("locust.stats", "locust.stats (hammer keeps its own: crunch reads"
                     " them)"),
)

# what a locustfile's environment may not reach, and why
GATE_HINT = "gate the run with --fail-if, as in --fail-if 'errors<1%'"
ENVIRONMENT_REFUSED = {
    "runner": "environment.runner",
    "stats": "environment.stats (%s)" % GATE_HINT,
    "process_exit_code": "environment.process_exit_code (%s)" % GATE_HINT,
}


class NotCovered(Exception):
    """What hammer's locust module does not cover, named."""

    def __init__(self, what):
        Exception.__init__(self, "hammer does not cover %s" % what)


class LocustError(Exception):
    """locust.exception.LocustError: a locustfile's own mistake."""


class LocustResponseError(Exception):
    """locust.exception.ResponseError: raised in a catch_response block,
    the response failed."""


class CatchResponseError(Exception):
    """The exception events.request gets for a failed request."""


class MissingWaitTimeError(LocustError):
    """locust.exception.MissingWaitTimeError, for imports of it."""


class InterruptTaskSet(Exception):
    """TaskSet.interrupt(): back to the parent TaskSet."""

    def __init__(self, reschedule=True):
        Exception.__init__(self)
        self.reschedule = reschedule


class StopUser(Exception):
    """The Locust user stops (its on_stop runs)."""


class RescheduleTask(Exception):
    """The task ends; the wait follows."""


class RescheduleTaskImmediately(Exception):
    """The task ends; the next goes at once."""


def locust_task(weight=1):
    """Locust's @task, @task(3): the weight in locust_task_weight."""
    if callable(weight):
        weight.locust_task_weight = 1
        return weight

    def mark(function):
        function.locust_task_weight = weight
        return function
    return mark


def locust_tag(*tags):
    """Locust's @tag('a', 'b') on a task or a TaskSet."""
    if not tags or callable(tags[0]):
        raise ValueError("No tag name was supplied")

    def mark(decorated):
        if isinstance(decorated, type) and issubclass(decorated,
                                                      LocustTaskSet):
            decorated.tasks = [locust_tag(*tags)(t) for t in decorated.tasks]
        else:
            if "locust_tag_set" not in getattr(decorated, "__dict__", {}):
                decorated.locust_tag_set = set()
            decorated.locust_tag_set |= set(tags)
        return decorated
    return mark


def seq_task(order):
    """Pre-1.0 Locust's @seq_task(n) in a TaskSequence: its place."""
    def mark(function):
        function.locust_task_order = order
        if not hasattr(function, "locust_task_weight"):
            function.locust_task_weight = 1
        return function
    return mark


def collect_tasks(bases, namespace):
    """Locust's tasks of a class: its bases', then its `tasks` (a list,
    (task, count) pairs or a dict of weights), then its @task ones, each
    repeated by its weight; @seq_task ones in their order."""
    tasks = []
    for base in bases:
        tasks += list(getattr(base, "tasks", None) or ())
    given = namespace.get("tasks")
    if given is not None:
        for item in (given.items() if isinstance(given, dict) else given):
            if isinstance(item, tuple):
                tasks += [item[0]] * item[1]
            else:
                tasks.append(item)
    marked = [item for item in namespace.values()
              if hasattr(item, "locust_task_weight")]
    if any(hasattr(item, "locust_task_order") for item in marked):
        marked.sort(key=lambda item: getattr(item, "locust_task_order", 0))
    for item in marked:
        tasks += [item] * item.locust_task_weight
    return tasks


class LocustMeta(type):
    """Collects a User's or a TaskSet's tasks; a User class is concrete
    unless it says abstract = True."""

    def __new__(mcs, name, bases, namespace):
        namespace["tasks"] = collect_tasks(bases, namespace)
        namespace.setdefault("abstract", False)
        return type.__new__(mcs, name, bases, namespace)


def between(min_wait, max_wait):
    """Locust's between(a, b): a uniform wait in seconds."""
    def wait_time(instance):
        return min_wait + locust_random(instance) * (max_wait - min_wait)
    return wait_time


def constant(wait_s):
    """Locust's constant(s)."""
    return lambda instance: wait_s


def pacing_wait(interval_s, last_run, last_wait, now):
    """constant_pacing: the wait after a task, so that tasks start every
    interval_s, given the instant of the last call (last_run) and the
    wait it gave (last_wait); 0 when the task took longer."""
    run_time = now - last_run - last_wait
    return max(0.0, interval_s - run_time)


def constant_pacing(interval_s):
    """Locust's constant_pacing(s): a task every s seconds."""
    def wait_time(instance):
        owner = getattr(instance, "user", instance)
        now = hammer_user_of(instance)._clock()
        last_run = getattr(owner, "_cp_last_run", now)
        wait = pacing_wait(interval_s, last_run,
                           getattr(owner, "_cp_last_wait_time", 0.0), now)
        owner._cp_last_run, owner._cp_last_wait_time = now, wait
        return wait
    return wait_time


def constant_throughput(task_runs_per_second):
    """Locust's constant_throughput(r): r tasks a second at most."""
    return constant_pacing(1.0 / task_runs_per_second)


def hammer_user_of(instance):
    """The hammer User behind a Locust User or TaskSet (or itself)."""
    owner = getattr(instance, "user", instance)
    return getattr(owner, "_hammer", owner)


def locust_random(instance):
    """The random() of the hammer user behind a User or a TaskSet."""
    return hammer_user_of(instance).rng.random()


class LocustUser(metaclass=LocustMeta):
    """Locust's User (and pre-1.0 Locust): a class of simulated users."""

    abstract = True
    host = None
    weight = 1
    fixed_count = 0
    wait_time = None
    min_wait = max_wait = None
    wait_function = None
    task_set = None     # pre-1.0: the root TaskSet
    legacy = False      # pre-1.0's HttpLocust and Locust: waits of 1 s

    def __init__(self, environment=None):
        if environment is not None:
            self.environment = environment

    def on_start(self):
        pass

    def on_stop(self):
        pass

    def wait(self):
        self._hammer.sleep(holder_wait(self))

    @property
    def locust(self):
        return self


class HttpUser(LocustUser):
    """Locust's HttpUser: self.client speaks HTTP through hammer."""
    abstract = True


class FastHttpUser(HttpUser):
    """Locust's FastHttpUser: HttpUser's client, and rest()."""
    abstract = True

    def rest(self, method, url, headers=None, **kwargs):
        return RestCall(self.client, method, url, headers, kwargs)


class HttpLocust(HttpUser):
    """Pre-1.0 Locust's HttpLocust."""
    abstract = True
    legacy = True


class Locust(LocustUser):
    """Pre-1.0 Locust's Locust."""
    abstract = True
    legacy = True


def legacy_http_locust(cls):
    """Whether cls is a Locust of before 0.7, whose Locust class carried
    the HTTP client (the classic guide's `class WebsiteUser(Locust)`,
    whose tasks call l.client): a subclass of pre-1.0's Locust that sets
    no client of its own (no `client`, no __init__).  From 0.7 a Locust
    for another protocol set its client in __init__ (the XML-RPC
    example): that one stays refused."""
    if not issubclass(cls, Locust):
        return False
    own = cls.__mro__[:cls.__mro__.index(Locust)]
    return not any("client" in vars(k) or "__init__" in vars(k) for k in own)


class LocustTaskSet(metaclass=LocustMeta):
    """Locust's TaskSet: tasks run in turn until interrupt()."""

    sequential = False
    min_wait = max_wait = None
    wait_function = None

    def __init__(self, parent):
        self._parent = parent
        self._user = getattr(parent, "user", parent)

    @property
    def user(self):
        return self._user

    locust = user

    @property
    def parent(self):
        return self._parent

    @property
    def client(self):
        return self._user.client

    def on_start(self):
        pass

    def on_stop(self):
        pass

    def interrupt(self, reschedule=True):
        raise InterruptTaskSet(reschedule)

    def wait_time(self):
        return user_wait(self._user, self)

    def wait(self):
        self._user._hammer.sleep(holder_wait(self))


class SequentialTaskSet(LocustTaskSet):
    """Locust's SequentialTaskSet (pre-1.0 TaskSequence): in order."""
    sequential = True


def user_wait(user, taskset=None):
    """A User's wait after a task: its wait_time, else min_wait and
    max_wait in ms (the TaskSet's first), else 0 (1 s before 1.0)."""
    if user.wait_time is not None:
        return user.wait_time()
    for holder in (taskset, user):      # pre-1.0: in ms
        if holder is not None and holder.wait_function is not None:
            return holder.wait_function() / 1000.0
    low = high = None
    for holder in (taskset, user):
        if holder is not None and low is None and holder.min_wait is not None:
            low, high = holder.min_wait, holder.max_wait
    if low is not None:
        return (low + user._hammer.rng.random() * (high - low)) / 1000.0
    return LOCUST_LEGACY_WAIT_S if user.legacy else 0.0


def holder_wait(holder):
    """The wait after a task of a User or a TaskSet, in seconds."""
    if isinstance(holder, LocustTaskSet):
        return float(holder.wait_time())
    return float(user_wait(holder))


class LoadTestShape(object):
    """Locust's LoadTestShape: tick() gives (users, spawn rate), or None
    to stop; hammer asks it once per second of the plan, before the run,
    and makes stages of its answers.  get_run_time() counts from the
    start or the last reset_time(); get_current_user_count() is the
    users the plan has reached at that second."""

    _now_s, _start_s, _users = 0.0, 0.0, 0     # set by each tick

    def get_run_time(self):
        return self._now_s - self._start_s

    def reset_time(self):
        self._start_s = self._now_s

    def get_current_user_count(self):
        return int(self._users)

    def tick(self):
        raise NotImplementedError("a LoadTestShape needs a tick() method")


def shape_steps(tick, ticks_max=SHAPE_TICKS_MAX, tick_s=SHAPE_TICK_S,
                until_s=None):
    """A LoadTestShape's answers -> (duration_s, users) steps, the users
    moving toward each tick's target at its spawn rate (users/s), as
    Locust's runner does.  tick(t, users) gives (users, rate) or None at
    t seconds, with users reached so far; asked until it gives None or
    until until_s (the run time).  ValueError for an answer hammer
    cannot follow."""
    steps, users, t = [], 0.0, 0.0
    for _ in range(ticks_max):
        if until_s is not None and t >= until_s:
            return steps
        answer = tick(t, users)
        if answer is None:
            return steps
        if not isinstance(answer, tuple) or len(answer) != 2:
            raise ValueError("tick() gave %r: hammer follows (users, spawn"
                             " rate) or None; user classes per tick are not"
                             " covered" % (answer,))
        target, rate = answer
        if isinstance(target, float) and target.is_integer():
            target = int(target)        # round(run_time, -2), as in the docs
        if not isinstance(target, int) or target < 0 or not rate or rate < 0:
            raise ValueError("tick() gave %r: users a whole number >= 0 and"
                             " a spawn rate above 0" % (answer,))
        left = tick_s
        while left > 0:
            if users == target:
                steps.append((left, users))
                break
            reach = abs(target - users) / float(rate)
            span = min(reach, left)
            users = target if reach <= left else users + (
                rate * span if target > users else -rate * span)
            steps.append((span, users))
            left -= span
        t += tick_s
    raise ValueError("tick() did not return None within %d ticks: give it"
                     " an end, or give -t" % ticks_max)


def merge_steps(steps):
    """Consecutive steps that hold the same level become one."""
    merged = []
    for duration, level in steps:
        before = merged[-2][1] if len(merged) > 1 else 0
        if merged and merged[-1][1] == level and before == level:
            merged[-1] = (merged[-1][0] + duration, level)
        else:
            merged.append((duration, level))
    return merged


class EventHook(object):
    """One of Locust's events: add_listener(f) (or +=), fire(**kw)."""

    def __init__(self):
        self.listeners = []

    def add_listener(self, listener):
        self.listeners.append(listener)
        return listener

    def remove_listener(self, listener):
        self.listeners.remove(listener)

    def __iadd__(self, listener):
        self.add_listener(listener)
        return self

    def __isub__(self, listener):
        self.remove_listener(listener)
        return self

    def fire(self, **kwargs):
        for listener in self.listeners:
            listener(**kwargs)


LOCUST_EVENTS = ("init", "test_start", "test_stop", "quitting", "request",
                 "request_success", "request_failure")


class Events(object):
    """locust.events: the hooks hammer fires.  init, test_start,
    test_stop and quitting fire in each worker process, as on each of
    Locust's workers; request (and pre-1.0 request_success and
    request_failure) after each request, in the user's thread."""

    def __init__(self):
        for name in LOCUST_EVENTS:
            setattr(self, name, EventHook())

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotCovered("events.%s" % name)


class Environment(object):
    """What listeners and users get as environment: host, events,
    parsed_options; its runner and stats are refused."""

    def __init__(self, host, events, options):
        self.host, self.events, self.parsed_options = host, events, options

    @property
    def runner(self):
        raise NotCovered("environment.runner")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotCovered("environment.%s" % name)


class LocustResponse(object):
    """A response as Locust's clients give it, over hammer's Response."""

    __slots__ = ("_r",)

    def __init__(self, response):
        self._r = response

    status_code = property(lambda self: self._r.status)
    content = property(lambda self: self._r.body)
    text = property(lambda self: self._r.text)
    headers = property(lambda self: self._r.headers)
    url = property(lambda self: self._r.url)
    ok = property(lambda self: self._r.ok)
    error = property(lambda self: self._r.error)

    @property
    def elapsed(self):
        return datetime.timedelta(seconds=self._r.elapsed)

    @property
    def reason(self):
        line = self._r._head.split(b"\n", 1)[0]
        parts = line.decode("latin-1").strip().split(" ", 2)
        return parts[2] if len(parts) == 3 else ""

    def json(self):
        return self._r.json()

    def raise_for_status(self):
        self._r.raise_for_status()

    @property
    def cookies(self):
        """The cookies this response set, {name: value}."""
        import http.cookies
        found = CookieDict()
        for line in self._r.headers.get_all("set-cookie") or ():
            jar = http.cookies.SimpleCookie()
            try:
                jar.load(line)
            except http.cookies.CookieError:
                continue
            found.update((k, m.value) for k, m in jar.items())
        return found

    def __repr__(self):
        return "<Response [%d]>" % self._r.status


class CatchResponse(LocustResponse):
    """catch_response=True: a context manager; success() and failure()
    decide the row's verdict when the block ends (the last call wins).
    Outside a with block, each call decides at once."""

    __slots__ = ("_verdict", "_client", "_name", "_context", "js",
                 "_entered", "_fired")

    def __init__(self, response, client, name, context=None):
        self._r, self._client, self._name = response, client, name
        self._context = context
        self._verdict = None
        self.js = None
        self._entered = self._fired = False

    def __enter__(self):
        self._entered = True
        return self

    def success(self):
        self._verdict = True
        if not self._entered:
            self._settle()

    def failure(self, why):
        self._verdict = str(why) or "failed"
        if not self._entered:
            self._settle()

    def _settle(self):
        """The verdict onto the row, and events.request fired once."""
        verdict = self._verdict
        if verdict is True:
            self._r.accept()
        elif verdict is not None:
            self._r.fail(verdict)
        if not self._fired:
            self._fired = True
            self._client._fire(self, self._name, self._context,
                               verdict is True,
                               None if verdict is True else verdict)

    def __exit__(self, kind, exc, tb):
        if self._verdict is None and kind is not None:
            if not issubclass(kind, LocustResponseError):
                return False    # other exceptions go on, as in Locust
            self._verdict = str(exc) or kind.__name__
        self._settle()
        return kind is None or issubclass(kind, LocustResponseError)


class RestCall(object):
    """FastHttpUser.rest(): a JSON request whose block may assert; .js
    holds the parsed body (None when it is not JSON)."""

    def __init__(self, client, method, url, headers, kwargs):
        given = {"Content-Type": "application/json",
                 "Accept": "application/json"}
        given.update(headers or {})
        self.call = (client, method, url, given, kwargs)
        self.response = None

    def __enter__(self):
        client, method, url, headers, kwargs = self.call
        response = self.response = client.request(
            method, url, headers=headers, catch_response=True, **kwargs)
        response.__enter__()
        if response.error:
            response.failure(response.error)
        elif response.content:
            try:
                response.js = response.json()
            except ValueError as exc:
                response.failure("Could not parse response as JSON. %s,"
                                 " response code %d, error %s" % (
                                     response.text[:250],
                                     response.status_code, exc))
        return response

    def __exit__(self, kind, exc, tb):
        response = self.response
        if kind is not None and issubclass(kind, Exception):
            if issubclass(kind, AssertionError):
                response.failure(exc.args[0] if exc.args
                                 else "Assertion failed")
            else:
                response.failure("%s: %s" % (kind.__name__, exc))
            kind = exc = tb = None
        response.__exit__(kind, exc, tb)
        return kind is None


class CookieDict(dict):
    """A response's cookies, {name: value}, as requests' jar reads."""

    def get_dict(self):
        return dict(self)


class LocustCookies(object):
    """self.client.cookies: the user's jar (http.cookiejar's), with the
    reads and set() of requests' RequestsCookieJar."""

    def __init__(self, jar):
        self._jar = jar

    def __getattr__(self, name):        # clear(), set_cookie(), ...
        return getattr(self._jar, name)

    def __iter__(self):
        return iter(self._jar)

    def __len__(self):
        return len(self._jar)

    def get_dict(self, domain=None, path=None):
        return CookieDict((c.name, c.value) for c in self._jar
                          if domain in (None, c.domain)
                          and path in (None, c.path))

    def get(self, name, default=None, domain=None, path=None):
        return self.get_dict(domain, path).get(name, default)

    def __getitem__(self, name):
        return self.get_dict()[name]

    def __contains__(self, name):
        return name in self.get_dict()

    def keys(self):
        return list(self.get_dict().keys())

    def values(self):
        return list(self.get_dict().values())

    def items(self):
        return list(self.get_dict().items())

    def set(self, name, value, domain="", path="/"):
        """A cookie for every host (domain ""), as requests' set()."""
        import http.cookiejar
        self._jar.set_cookie(http.cookiejar.Cookie(
            0, name, str(value), None, False, domain, bool(domain),
            domain.startswith("."), path, bool(path), False, None, True,
            None, None, {"HttpOnly": None}))


class LocustClient(object):
    """self.client of an HttpUser or FastHttpUser: Locust's session calls
    (get() ... options(), request()) on hammer's User.  Relative URLs are
    added to the user's host, as Locust does; redirects are followed
    unless allow_redirects=False, each hop a row of its own."""

    def __init__(self, user, base_url, events):
        self._user = user
        self.base_url = (base_url or "").rstrip("/")
        self._urls = {}     # a path -> the base URL and it
        self.headers = {}
        self.cookies = LocustCookies(user.cookies)
        self._events = events
        self._listening = bool(events.request.listeners
                               or events.request_success.listeners
                               or events.request_failure.listeners)
        self._renamed = None    # rename_request()'s name, in its block
        self.auth = None        # (user, password) for every request

    def request(self, method, url, name=None, catch_response=False,
                params=None, data=None, json=None, headers=None,
                cookies=None, allow_redirects=True, timeout=None,
                context=None, auth=None, **other):
        if other:
            raise NotCovered("self.client's %s=" % sorted(other)[0])
        method = method.upper()
        if name is None:
            name = self._renamed
        full = self._urls.get(url)
        if full is None:
            if len(self._urls) >= URL_CACHE_MAX:
                self._urls.clear()
            full = self._urls[url] = (url if is_absolute(url)
                                      else self.base_url + url)
        url = full
        if self.headers:
            merged = dict(self.headers)
            merged.update(headers or {})
            headers = merged
        if cookies:
            headers = self._with_cookies(url, headers, cookies)
        if auth is None:
            auth = self.auth
        if isinstance(timeout, tuple):      # requests' (connect, read)
            timeout = None if None in timeout else max(timeout)
        if auth is not None:
            headers = basic_auth(headers, auth)
        user = self._user
        response = user._send(method, url, params, headers, data, json, name,
                              timeout)
        if allow_redirects and response.status in REDIRECT_STATUSES:
            response = user._follow(response, method, headers, data, json,
                                    timeout)
        if catch_response:
            return CatchResponse(response, self, name, context)
        wrapped = LocustResponse(response)
        if self._listening:
            self._fire(wrapped, name, context)
        return wrapped

    def _with_cookies(self, url, headers, cookies):
        """headers with a Cookie header: the jar's for url, then cookies."""
        target, full = self._user._target(url)
        asked = CookieRequest(full, target)
        self._user.cookies.add_cookie_header(asked)
        given = [asked.get_header("cookie")] if asked.get_header(
            "cookie") else []
        given += ["%s=%s" % item for item in cookies.items()]
        merged = dict(headers or {})
        merged["Cookie"] = "; ".join(given)
        return merged

    def _fire(self, response, name, context=None, accepted=False,
              why=None):
        """events.request for response: its exception None when the row
        is no error (under 400, --ok-status's, or accepted), else a
        CatchResponseError of why (a failure()'s message) or the error."""
        if not self._listening:
            return
        r = response._r
        path = urlsplit(r.url)
        name = name or path.path
        error = r.error or (None if accepted or 0 < r.status < 400
                            or r.status in self._user._ctx.plan.ok_status
                            else str(r.status))
        exception = CatchResponseError(why or error) if error else None
        ms = r.elapsed * 1000.0
        events = self._events
        events.request.fire(request_type=r.method, name=name,
                            response_time=ms, response_length=r.nbytes,
                            response=response, context=context or {},
                            exception=exception, url=r.url,
                            start_time=time.time() - r.elapsed)
        if exception is None:
            events.request_success.fire(request_type=r.method, name=name,
                                        response_time=ms,
                                        response_length=r.nbytes)
        else:
            events.request_failure.fire(request_type=r.method, name=name,
                                        response_time=ms,
                                        response_length=r.nbytes,
                                        exception=exception)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, data=None, json=None, **kwargs):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url, data=None, **kwargs):
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url, data=None, **kwargs):
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def head(self, url, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def options(self, url, **kwargs):
        return self.request("OPTIONS", url, **kwargs)

    @property
    def request_event(self):
        return self._events.request

    def rename_request(self, name):
        """with client.rename_request(name): the block's requests named
        name (unless they give name=), as in Locust 2."""
        return RenamedRequests(self, name)


class RenamedRequests(object):
    """rename_request()'s block."""

    def __init__(self, client, name):
        self.client, self.name, self.before = client, name, None

    def __enter__(self):
        self.before, self.client._renamed = self.client._renamed, self.name
        return self

    def __exit__(self, *exc):
        self.client._renamed = self.before
        return False


def http_session(base_url, request_event=None, user=None, **other):
    """locust.clients.HttpSession(base_url, request_event, user): a
    client of the User's own for another host, on its hammer user."""
    if user is None:
        raise NotCovered("HttpSession without user=")
    return LocustClient(hammer_user_of(user), base_url,
                        user.environment.events)


def fast_http_session(environment, base_url, user, **other):
    """locust.contrib.fasthttp.FastHttpSession(environment, base_url,
    user): as HttpSession."""
    return LocustClient(hammer_user_of(user), base_url, environment.events)


def single_user_argv(path, user_class, host=None):
    """run_single_user()'s command line: that class alone, one user,
    each request printed, until Ctrl+C."""
    argv = ["-f", path, user_class.__name__, "-u", "1", "-p", "1",
            "--verbose", "-o", os.devnull, "--run-time", "%gs"
            % MAX_DURATION_S]
    host = host or user_class.host
    return argv + (["--host", host] if host else [])


def basic_auth(headers, auth):
    """headers with the Authorization of auth=(user, password)."""
    if not isinstance(auth, tuple) or len(auth) != 2:
        raise NotCovered("self.client's auth= other than (user, password)")
    pair = ("%s:%s" % auth).encode("utf-8")
    merged = dict(headers or {})
    merged["Authorization"] = "Basic " + base64.b64encode(pair).decode(
        "ascii")
    return merged


def run_single_user(user_class, *args, **kwargs):
    """Locust's run_single_user(cls), for `python locustfile.py`: hammer
    runs the file for that one user, printing each request, until
    Ctrl+C.  Its exit code."""
    path = sys.modules[user_class.__module__].__file__
    return main(single_user_argv(path, user_class, kwargs.get("host")))


def locust_modules():
    """A fresh `locust` module and its submodules: {name: module}.
    Each load of a locustfile gets its own, with its own events."""
    import types
    events = Events()
    names = {
        "User": LocustUser, "HttpUser": HttpUser,
        "FastHttpUser": FastHttpUser, "TaskSet": LocustTaskSet,
        "SequentialTaskSet": SequentialTaskSet, "task": locust_task,
        "tag": locust_tag, "between": between, "constant": constant,
        "constant_pacing": constant_pacing,
        "constant_throughput": constant_throughput, "events": events,
        "LoadTestShape": LoadTestShape, "run_single_user": run_single_user,
        "HttpLocust": HttpLocust, "Locust": Locust,
        "TaskSequence": SequentialTaskSet, "seq_task": seq_task,
        "__version__": "hammer-" + __version__,
    }
    exceptions = {
        "LocustError": LocustError, "ResponseError": LocustResponseError,
        "CatchResponseError": CatchResponseError,
        "InterruptTaskSet": InterruptTaskSet, "StopUser": StopUser,
        "StopLocust": StopUser, "RescheduleTask": RescheduleTask,
        "RescheduleTaskImmediately": RescheduleTaskImmediately,
        "MissingWaitTimeError": MissingWaitTimeError,
    }
    contents = {
        "": names, "contrib": {}, "exception": exceptions,
        "contrib.fasthttp": {"FastHttpUser": FastHttpUser,
                             "FastHttpSession": fast_http_session,
                             "FastResponse": LocustResponse,
                             "ResponseContextManager": CatchResponse,
                             "RestResponseContextManager": CatchResponse},
        "user": dict((k, names[k]) for k in (
            "User", "HttpUser", "TaskSet", "SequentialTaskSet", "task",
            "tag", "between", "constant", "constant_pacing",
            "constant_throughput")),
        "user.task": {"TaskSet": LocustTaskSet, "task": locust_task,
                      "tag": locust_tag},
        "user.users": {"User": LocustUser, "HttpUser": HttpUser},
        "user.wait_time": dict((k, names[k]) for k in (
            "between", "constant", "constant_pacing",
            "constant_throughput")),
        "clients": {"HttpSession": http_session,
                    "ResponseContextManager": CatchResponse},
        "shape": {"LoadTestShape": LoadTestShape},
        "event": {"EventHook": EventHook, "Events": Events},
        "env": {"Environment": Environment},
    }
    modules = {}
    for sub in ("",) + LOCUST_SUBMODULES:
        name = "locust" + ("." + sub if sub else "")
        module = types.ModuleType(name, "hammer's own %s module" % name)
        module.__dict__.update(contents[sub])
        module.__path__ = []
        modules[name] = module
    for name, module in modules.items():    # each its parent's attribute,
        parent, _, leaf = name.rpartition(".")  # unless a name of the
        if parent and not hasattr(modules[parent], leaf):   # parent's
            setattr(modules[parent], leaf, module)
    return modules


def refused_import(module, names, line):
    """Why an import in a locustfile is refused, or None."""
    for prefix, why in LOCUST_REFUSED:
        if module == prefix or module.startswith(prefix + "."):
            return why
        for name in names:
            if "%s.%s" % (module, name) == prefix:
                return why
    if module == "locust" or module.startswith("locust."):
        sub = module[len("locust."):] if module != "locust" else ""
        if sub and sub not in LOCUST_SUBMODULES:
            return module
    return None


def locust_refusals(tree):
    """What a locustfile's syntax tree reaches that hammer does not
    cover: [(line, what)]."""
    import ast
    found = []
    known = locust_modules()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                why = refused_import(alias.name, (), node.lineno)
                if why:
                    found.append((node.lineno, why))
        elif isinstance(node, ast.ImportFrom) and node.module and not (
                node.level):
            names = [a.name for a in node.names]
            why = refused_import(node.module, names, node.lineno)
            if why is None and node.module in known:
                module = known[node.module]
                missing = [n for n in names if n != "*"
                           and not hasattr(module, n)]
                if missing:
                    why = "%s.%s" % (node.module, missing[0])
            if why:
                found.append((node.lineno, why))
        elif (isinstance(node, ast.Attribute)
              and node.attr in ENVIRONMENT_REFUSED
              and ((isinstance(node.value, ast.Attribute)
                    and node.value.attr == "environment")
                   or (isinstance(node.value, ast.Name)
                       and node.value.id in ("environment", "env")))):
            found.append((node.lineno, ENVIRONMENT_REFUSED[node.attr]))
        elif (isinstance(node, ast.Attribute)
              and node.attr not in LOCUST_EVENTS
              and ((isinstance(node.value, ast.Attribute)
                    and node.value.attr == "events"
                    and isinstance(node.value.value, (ast.Name,
                                                      ast.Attribute))
                    and getattr(node.value.value, "attr", getattr(
                        node.value.value, "id", None)) in (
                            "environment", "env"))
                   or (isinstance(node.value, ast.Name)
                       and node.value.id == "events"))):
            found.append((node.lineno, "events.%s" % node.attr))
    return sorted(found)


def imports_locust(tree):
    """Whether a script's syntax tree imports locust."""
    import ast
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
                a.name.split(".")[0] == "locust" for a in node.names):
            return True
        if (isinstance(node, ast.ImportFrom) and node.module
                and node.module.split(".")[0] == "locust"):
            return True
    return False


LocustFile = collections.namedtuple(
    "LocustFile", "module events classes shape")


def locust_file(module, path, events):
    """A loaded locustfile's LocustFile: its concrete HTTP User classes,
    its LoadTestShape class (None without).  UsageError for a User of
    another protocol, or for none."""
    classes, shapes = [], []
    for name, value in vars(module).items():
        if not isinstance(value, type):
            continue
        if issubclass(value, LoadTestShape) and value is not LoadTestShape:
            shapes.append(value)
        if not issubclass(value, LocustUser) or value.abstract:
            continue
        if not (issubclass(value, HttpUser) or legacy_http_locust(value)):
            raise UsageError(
                "script %r: class %s is a User for another protocol: hammer"
                " runs HttpUser and FastHttpUser (HttpLocust) users only"
                % (path, name))
        if value.task_set is not None and not value.tasks:
            value.tasks = [value.task_set]
        if not value.tasks:
            raise UsageError("script %r: class %s has no tasks: give it"
                             " @task methods or tasks" % (path, name))
        classes.append(value)
    if len(shapes) > 1:
        raise UsageError("script %r has %d LoadTestShape classes: keep one"
                         % (path, len(shapes)))
    if not classes:
        raise UsageError("script %r has no User class to run: give it an"
                         " HttpUser or FastHttpUser with tasks" % path)
    return LocustFile(module, events, classes,
                      shapes[0] if shapes else None)


def locust_counts(weights, fixed, users):
    """Users of each User class: the fixed_count ones first (in order,
    while users last), the rest split by weight, largest remainder
    first (ties to the earlier class)."""
    counts = [0] * len(weights)
    left = users
    for i, count in enumerate(fixed):
        if count:
            counts[i] = min(count, left)
            left -= counts[i]
    free = [i for i, count in enumerate(fixed) if not count]
    total = sum(weights[i] for i in free)
    if left <= 0 or not total:
        return counts
    shares = [(left * weights[i] / float(total), i) for i in free]
    for share, i in shares:
        counts[i] += int(share)
    rest = left - sum(int(share) for share, _ in shares)
    for _, i in sorted(shares, key=lambda s: (-(s[0] - int(s[0])), s[1]))[
            :rest]:
        counts[i] += 1
    return counts


def locust_order(classes, users):
    """The User class index of each of a locustfile's users (0-based
    within its group)."""
    counts = locust_counts([c.weight for c in classes],
                           [c.fixed_count for c in classes], users)
    order = group_of_users(counts) if sum(counts) else []
    return order + [0] * (users - len(order))


def filter_by_tags(tasks, tags, exclude, seen=None):
    """A task list kept by --tags and --exclude-tags, as Locust does: a
    TaskSet stays when any of its tasks does."""
    seen = {} if seen is None else seen
    kept = []
    for t in tasks:
        if t not in seen:
            if isinstance(t, type) and issubclass(t, LocustTaskSet):
                t.tasks = filter_by_tags(t.tasks, tags, exclude, seen)
                seen[t] = bool(t.tasks)
            else:
                marks = getattr(t, "locust_tag_set", set())
                seen[t] = ((tags is None or bool(marks & tags))
                           and (exclude is None or not marks & exclude))
        if seen[t]:
            kept.append(t)
    return kept


def locust_chosen(scenario, plan):
    """A locustfile's Scenario with the User classes the command line
    chose (by name, then by --tags and --exclude-tags); UsageError when
    none is left.  Other scenarios as they are."""
    if scenario.locust is None:
        return scenario
    options = (plan.scenario or {}).get("locust") or {}
    return scenario._replace(locust=scenario.locust._replace(
        classes=chosen_classes(scenario.locust.classes, options,
                               scenario.path)))


def chosen_classes(classes, options, path):
    names = options.get("user_classes")
    if names:
        known = [c.__name__ for c in classes]
        for name in names:
            if name not in known:
                raise UsageError("script %r has no User class %r: it has %s"
                                 % (path, name, ", ".join(known)))
        classes = [c for c in classes if c.__name__ in names]
    tags, exclude = options.get("tags"), options.get("exclude_tags")
    if tags is not None or exclude is not None:
        for c in classes:
            c.tasks = filter_by_tags(
                c.tasks, None if tags is None else set(tags),
                None if exclude is None else set(exclude))
        classes = [c for c in classes if c.tasks]
        if not classes:
            raise UsageError("script %r: --tags and --exclude-tags leave no"
                             " task to run" % path)
    return classes


def locust_environment(plan, scenario):
    """The environment a locustfile's users and listeners get."""
    options = (plan.scenario or {}).get("locust") or {}
    parsed = argparse.Namespace(
        host=plan.url, num_users=plan.users, users=plan.users,
        spawn_rate=options.get("spawn_rate"), run_time=plan.runtime_s,
        tags=options.get("tags"), exclude_tags=options.get("exclude_tags"),
        headless=True)
    environment = Environment(plan.url, scenario.locust.events, parsed)
    environment.__dict__["_host_given"] = options.get("host_given", True)
    return environment


class LocustLife(object):
    """One hammer user's Locust user: its User instance and the stack
    of TaskSets it is in.  step() runs one task (entering the TaskSets
    it picks on the way) and gives the wait that follows it."""

    def __init__(self, cls, user, environment, ctx, path):
        instance = cls.__new__(cls)
        instance._hammer = user
        instance.environment = environment
        instance.host = (environment.host if environment._host_given
                         else cls.host or environment.host)
        instance.client = LocustClient(user, instance.host,
                                       environment.events)
        self.user, self.ctx, self.path = user, ctx, path
        self.instance = instance
        self.stack = [(instance, cls.tasks, [0])]
        self.init = (cls, environment)

    def start(self):
        """__init__ and on_start, the user's first step."""
        cls, environment = self.init
        if cls.__init__ is not LocustUser.__init__:
            takes = locust_takes_args(cls.__init__)
            self.instance.__init__(*((environment,) if takes else ()))
        self.instance.on_start()

    def pick(self, holder, tasks, place):
        if not tasks:
            raise LocustError("No tasks defined on %s: use the @task"
                              " decorator or set the tasks attribute"
                              % type(holder).__name__)
        if getattr(holder, "sequential", False):
            task = tasks[place[0] % len(tasks)]
            place[0] += 1
            return task
        return tasks[int(self.user.rng.random() * len(tasks))]

    def step(self, start):
        """One task; the seconds to wait after it (None for none)."""
        user, stack = self.user, self.stack
        holder, tasks, place = stack[-1]
        task = None
        try:
            task = self.pick(holder, tasks, place)
            while isinstance(task, type):   # a TaskSet: enter it
                child = task(holder)
                stack.append((child, task.tasks, [0]))
                holder, tasks, place = stack[-1]
                child.on_start()
                task = self.pick(holder, tasks, place)
            if getattr(task, "__self__", None) is holder:
                task()
            else:
                task(holder)
        except InterruptTaskSet as exc:
            if len(stack) > 1:
                stack.pop()
                self.call(holder.on_stop, start, "on_stop")
                return None if exc.reschedule else self.wait(stack[-1][0])
            self.failed(start, task_name(task), exc)
        except StopUser:
            raise Stopped()
        except RescheduleTaskImmediately:
            return None
        except RescheduleTask:
            pass
        except Exception as exc:
            self.failed(start, task_name(task), exc)
        return self.wait(holder)

    def wait(self, holder):
        """The wait after a task of holder; a wait_time that fails is
        noted, and no wait."""
        try:
            return holder_wait(holder)
        except Exception as exc:
            self.ctx.note_exception(exc, "wait_time", self.path)
            return None

    def call(self, function, start, name):
        try:
            function()
        except (StopUser, InterruptTaskSet):
            pass
        except Exception as exc:
            self.failed(start, name, exc)

    def failed(self, start, name, exc):
        user = self.user
        user._rows.add(start, user._clock() - start, 0, 0, raised_kind(exc),
                       name_suffix("task", name))
        self.ctx.note_exception(exc, name, self.path)

    def stop(self):
        """The TaskSets' on_stop, innermost first, then the User's."""
        while self.stack:
            holder = self.stack.pop()[0]
            self.call(holder.on_stop, self.user._clock(), "on_stop")


def task_name(task):
    """A task's row name: Class.method (or the class of a TaskSet)."""
    if task is None:
        return "task"
    return getattr(task, "__qualname__", None) or repr(task)


def locust_takes_args(function):
    """Whether an __init__ takes an argument besides self."""
    import inspect
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return True
    return len(params) > 1 or any(p.kind == p.VAR_POSITIONAL for p in params)


# --- users: the loop every user runs -----------------------------------------


class StopFlag(object):
    """A worker's stop flag: a threading.Event whose short waits are plain
    sleeps.  A sleep costs half the CPU of Event.wait() (14.5 against 25
    us for 0.2 ms), which the open model pays for most requests; a stop
    is still seen within STOP_POLL_S.  `stopped` is the flag as a plain
    attribute, which drive() reads before every step: Event.is_set() is
    a Python call (about 400 instructions of a request's 36,000)."""

    def __init__(self):
        self.event = threading.Event()
        self.is_set = self.event.is_set
        self.stopped = False
        self.members = []   # --web: the users' own flags, set with it

    def set(self):
        self.stopped = True
        self.event.set()
        for flag in self.members:
            flag.set()

    def member(self):
        """A flag of one user's own, set when this one is (--web stops
        users one by one when their target falls)."""
        flag = StopFlag()
        self.members.append(flag)
        if self.stopped:
            flag.set()
        return flag

    def wait(self, seconds):
        """Wait `seconds`; True when the flag is set."""
        if seconds < STOP_POLL_S:
            time.sleep(seconds)
            return self.event.is_set()
        return self.event.wait(seconds)


def pace(after, sent, done, end, clock, wait):
    """A paced user after a request (or an iteration) from sent to done:
    (the instant the next may go, None) once it has waited for it, or
    (None, the instant up to which the user took part) when it is done:
    its shape has no more, the next instant is past the end, or the stop
    flag was set while it waited."""
    at = after(sent, done)
    if at == math.inf:
        return None, done
    if at >= end:
        return None, max(done, end)
    delay = at - clock()
    if delay > 0 and wait(delay):
        return None, max(done, min(clock(), end))
    return at, None


def drive(shape, quota, end, stop, clock, events, step, begin=None):
    """One simulated user's life, whatever it sends: wait for its first
    instant, call begin() (when given: False ends the user there), then
    step(sent, at) (one request, or one iteration, started at sent for
    the instant at: the instant it ended) and wait for the next instant,
    until the user is done.

    shape (Paced or Slots) says when each step may go; quota bounds the
    steps (math.inf for none); end is the runtime's end, a clock()
    instant: no step starts at or after it, nor once the stop flag is
    set.  A slot due and left unsent at the end counts in events.  A step
    may raise Stopped (a script's request past the end): the user ends.

    Returns the clock() instant up to which the user took part: its last
    step's end, or the end of the runtime (or the instant it was stopped)
    when time, not its quota or its shape, ended it; None when it never
    took part.
    """
    at = shape.first()
    if at == math.inf:
        return None
    if at >= end:
        return end
    wait = stop.wait
    delay = at - clock()
    if delay > 0 and wait(delay):
        return min(clock(), end)
    after = shape.after if shape.paced else None
    scheduled = isinstance(shape, Slots)
    last = None
    try:
        if begin is not None and not begin():
            return clock()
        left = quota
        while left > 0:
            sent = clock()
            if sent >= end or stop.stopped:
                if scheduled and at < min(sent, end):
                    events["unsent_slots"] += 1     # due, and left unsent
                return max(last or at, min(sent, end))
            left -= 1
            last = step(sent, at)
            if after is not None:
                at, ended = pace(after, sent, last, end, clock, wait)
                if at is None:
                    return ended
        return last
    except Stopped:
        return max(last or at, min(clock(), end))


def user_loop(plan, t0, shape, quota, end, stop, record, connect, clock,
              events, targets=None):
    """One simulated user of a URL or a targets file: drive() with one
    request a step, over one Connection (connect(deadline) opens it).

    t0 is the test's start, a clock() instant.  Each request is recorded
    as (elapsed, response_time, status, body bytes, error kind), plus its
    slot's instant (scheduled) in the open model.  events (a Counter of
    CONNECTION_EVENTS and late starts) is added to.  With --targets,
    targets is (table, random): each request is table[int(random() *
    len(table))], its (bytes, whether it is a HEAD, whether it is big,
    and the record() of its name's rows).  Returns what drive() returns.
    """
    conn = connection(connect, plan.tls, plan.keepalive, clock, events)
    exchange, timeout = conn.exchange, plan.timeout_s
    scheduled = isinstance(shape, Slots)
    request, head, big = (plan.request, plan.head_request,
                          len(plan.request) > SEND_CHUNK_B)

    def step(sent, at):
        done, status, nbytes, error = exchange(request, head, big, sent,
                                               timeout)
        row = (sent - t0, done - sent, status, nbytes, error)
        record(row + (at - t0,) if scheduled else row)
        return done

    if isinstance(shape, ReplaySlots):  # the request of the slot taken
        mine, puts = shape.mine, shape.puts

        def step(sent, at):
            request, head, big, suffix = mine.entry
            done, status, nbytes, error = exchange(request, head, big, sent,
                                                   timeout)
            puts[suffix]((sent - t0, done - sent, status, nbytes, error,
                          at - t0))
            return done

    if targets is not None:     # a step of its own: the plain one picks
        table, rnd = targets    # nothing (180 instructions a request)
        n = len(table)

        def step(sent, at):
            request, head, big, put = table[int(rnd() * n)]
            done, status, nbytes, error = exchange(request, head, big, sent,
                                                   timeout)
            row = (sent - t0, done - sent, status, nbytes, error)
            put(row + (at - t0,) if scheduled else row)
            return done

    try:
        return drive(shape, quota, end, stop, clock, events, step)
    finally:
        conn.close()


def targets_table(targets, queue):
    """--targets: the weight_table() the users pick from, each entry
    (request bytes, whether it is a HEAD, whether it is big, the append
    of its name's queue(suffix)), from the plan's (entries, weights)."""
    entries, weights = targets
    return weight_table([(request, head, len(request) > SEND_CHUNK_B,
                          queue(suffix).append)
                         for request, head, suffix, _ in entries], weights)


# --- the event loop: one thread drives every user of a process ---------------

# A user of the loop engine is a LoopUser: drive()'s life and
# connection()'s exchange as a state machine, stepped by the Loop's
# events, timers and deadlines.  Its states:
IDLE, CONNECTING, HANDSHAKE, SENDING, READING = range(5)


def poller():
    """(register, modify, unregister, wait, readable, writable, closed,
    fd) over the box's best readiness API: epoll where there is one
    (Linux), with EPOLLRDHUP, so that a response's event says when the
    server closed after it; else the selectors module (no such flag:
    closed is 0).  wait(seconds) returns [(fd, mask)]; fd is the
    poller's own descriptor when it has one (epoll), else None."""
    if hasattr(select, "epoll"):
        ep = select.epoll()
        return (ep.register, ep.modify, ep.unregister, ep.poll,
                select.EPOLLIN, select.EPOLLOUT,
                getattr(select, "EPOLLRDHUP", 0), ep.fileno())
    sel = selectors.DefaultSelector()

    def wait(seconds):
        return [(key.fd, mask) for key, mask in sel.select(seconds)]
    return (sel.register, sel.modify, sel.unregister, wait,
            selectors.EVENT_READ, selectors.EVENT_WRITE, 0, None)


class LoopUser(object):
    """One user of the Loop: its shape's after() and what is left of its
    quota, its connection (sock, fd, parser) and the request in flight
    (sent, at, deadline, its row's put()).  alive until the user is done, as a
    thread is: is_alive() reads it."""

    __slots__ = ("number", "windows", "after", "left", "stop",
                 "at", "last", "sent", "deadline", "state", "sock", "fd",
                 "parser", "request", "head", "pending", "put", "stale",
                 "alive", "rnd")

    def __init__(self, number, windows, quota, stop):
        self.number, self.windows, self.left, self.stop = (
            number, windows, quota, stop)
        self.after = self.at = self.last = self.sent = None
        self.deadline = 0.0
        self.state, self.sock, self.fd = IDLE, None, -1
        self.parser = ResponseParser()
        self.request = self.head = self.pending = self.put = None
        self.stale = None   # what the server did to its idle connection
        self.alive = True
        self.rnd = None

    def is_alive(self):
        return self.alive


class Loop(object):
    """Every user of one worker process on one thread: one poller over
    all their connections, a heap of the instants they wait for, and the
    deadlines of their requests in the order they were sent (one
    --timeout for all: that order is theirs too).  Each user sends what
    user_loop() sends and records the same rows, from the same shapes
    (Paced, Slots, ReplaySlots); each exchange is connection()'s: check a
    kept-alive connection, send, read through a ResponseParser, and never
    send a request again once it went."""

    def __init__(self, worker, where, tls_context):
        self.worker = worker
        plan = worker.plan
        self.plan, self.clock = plan, worker.clock
        (self.register, self.modify, self.unregister, self.wait, self.IN,
         self.OUT, self.HUP, self.fd) = poller()
        self.family, self.address = where[:2]
        self.tls_context = tls_context
        self.events = collections.Counter()
        self.users = {}         # fd -> the LoopUser whose connection it is
        self.timers = []        # heap of (instant, sequence, LoopUser)
        self.deadlines = collections.deque()    # (deadline, LoopUser)
        self.ready = collections.deque()        # users to step at once
        self.checked = []       # ... after the poller's next look
        self.incoming = collections.deque()     # users added (--web)
        self.sequence = itertools.count()
        self.scratch = bytearray(RECV_SIZE_B)
        self.view = memoryview(self.scratch)
        self.live = 0           # users not done
        self.unflushed = 0      # rows since the last flush
        self.ended = []         # per user: up to when it took part

    def add(self, number, windows, quota, stop):
        """A new user: the loop starts it at its next turn."""
        user = LoopUser(number, windows, quota, stop)
        self.incoming.append(user)
        return user

    # -- a user's life: drive() ------------------------------------------

    def begin(self, user):
        """Start a user: make its shape, wait for its first instant."""
        worker, plan = self.worker, self.plan
        self.live += 1
        shape = worker.shape(user.number, user.windows, self.events)
        user.after = shape.after if shape.paced else None
        if plan.targets is not None:
            user.rnd = user_rng(plan.seed, "targets", user.number).random
        if user.left <= 0:
            return self.finish(user, None)
        at = shape.first()
        if at == math.inf:
            return self.finish(user, None)
        if at >= worker.end:
            return self.finish(user, worker.end)
        self.wait_for(user, at)

    def wait_for(self, user, at):
        """The user waits for instant at, its next request's (the one of
        the log line it took, replaying)."""
        if self.replay is not None:
            user.request, user.head, _, suffix = self.replay.mine.entry
            user.put = self.puts[suffix]
        user.at = at
        user.state = IDLE
        if at <= self.clock():
            self.due(self.wake, user)
        else:
            heapq.heappush(self.timers, (at, next(self.sequence), user))

    def go(self, user):
        """The top of drive()'s loop: send the next request, or end."""
        sent = self.clock()
        end = self.worker.end
        if sent >= end or user.stop.stopped:
            at = user.at
            if self.scheduled and at < min(sent, end):
                self.events["unsent_slots"] += 1    # due, and left unsent
            return self.finish(user, max(user.last or at, min(sent, end)))
        user.left -= 1
        user.sent = sent
        user.deadline = deadline = sent + self.timeout_s
        self.deadlines.append((deadline, user))
        if self.targets is not None:
            table = self.targets
            user.request, user.head, _, user.put = table[int(
                user.rnd() * len(table))]
        if user.stale is not None:      # what the idle check found
            self.events[user.stale] += 1
            user.stale = None
        sock = user.sock
        if sock is None:
            return self.connect(user)
        user.state = SENDING
        try:
            n = sock.send(user.request)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                BlockingIOError):   # full: the rest when it is writable
            n = 0
        except TRANSPORT_ERRORS as exc:
            return self.fail(user, exc)
        if n == len(user.request):
            user.state = READING
            user.parser.start(user.head, None)
        else:
            user.pending = memoryview(user.request)[n:]
            self.modify(user.fd, self.OUT | self.HUP)

    def next(self, user):
        """After a request: pace() and drive()'s loop again."""
        last = user.last
        if user.left <= 0:
            return self.finish(user, last)
        after = user.after
        if after is None:
            return self.due(self.go, user)
        at = after(user.sent, last)
        if at == math.inf:
            return self.finish(user, last)
        end = self.worker.end
        if at >= end:
            return self.finish(user, max(last, end))
        self.wait_for(user, at)

    def due(self, step, user):
        """step(user) now: at once on a new connection; on a kept-alive
        one after the poller's next look at every connection, which
        says whether the server closed this one since its response
        (connection()'s check before reuse, at no cost of its own)."""
        if user.sock is None:
            step(user)
        else:
            self.checked.append((step, user))

    def wake(self, user):
        """A timer of the user's is due: wait no more, as drive() and
        pace() wait (a stop set while it waited ends it there)."""
        if user.stop.stopped:
            return self.stopped(user)
        self.go(user)

    def stopped(self, user):
        """A waiting user whose stop flag is set."""
        end = self.worker.end
        now = min(self.clock(), end)
        self.finish(user, now if user.last is None else max(user.last, now))

    def finish(self, user, ended):
        """The user is done: it took part up to ended (None: never)."""
        self.close(user)
        if user.alive:
            user.alive = False
            self.live -= 1
            if ended is not None:
                self.ended.append(ended)

    # -- a connection: connection()'s exchange ---------------------------

    def connect(self, user):
        """Open the user's connection (its request is due): non-blocking,
        writable once connected."""
        self.close(user)
        try:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
        except OSError as exc:
            return self.fail(user, exc)
        sock.setblocking(False)
        user.sock, user.fd = sock, sock.fileno()
        self.events["opened"] += 1
        err = sock.connect_ex(self.address)
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            return self.fail(user, OSError(err, os.strerror(err)))
        self.users[user.fd] = user
        user.state = CONNECTING
        self.register(user.fd, self.OUT | self.HUP)

    def connected(self, user):
        """The connect ended: its error, or on to TLS or the request."""
        sock = user.sock
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            return self.fail(user, OSError(err, os.strerror(err)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls_context is not None:
            try:
                user.sock = self.tls_context.wrap_socket(
                    sock, server_hostname=self.plan.target.host,
                    do_handshake_on_connect=False)
            except TRANSPORT_ERRORS as exc:
                return self.fail(user, exc)
            user.state = HANDSHAKE
            return self.handshake(user)
        self.send_first(user)

    def handshake(self, user):
        try:
            user.sock.do_handshake()
        except ssl.SSLWantReadError:
            return self.modify(user.fd, self.IN | self.HUP)
        except ssl.SSLWantWriteError:
            return self.modify(user.fd, self.OUT | self.HUP)
        except TRANSPORT_ERRORS as exc:
            return self.fail(user, exc)
        self.send_first(user)

    def send_first(self, user):
        user.pending = memoryview(user.request)
        user.state = SENDING
        self.sending(user)

    def sending(self, user):
        """Send what is left of the request, as much as the socket takes
        (at most SEND_CHUNK_B a call)."""
        pending = user.pending
        try:
            while pending:
                n = user.sock.send(pending[:SEND_CHUNK_B])
                if not n:
                    break
                pending = pending[n:]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                BlockingIOError):
            pass
        except TRANSPORT_ERRORS as exc:
            return self.fail(user, exc)
        if pending:
            user.pending = pending
            return self.modify(user.fd, self.OUT | self.HUP)
        user.pending = None
        user.state = READING
        user.parser.start(user.head, None)
        self.modify(user.fd, self.IN | self.HUP)

    def idle(self, user):
        """An idle connection is readable: the server closed it, or sent
        what no request asked for.  Closed now, counted when the user
        next sends (a TLS record with no data, a late session ticket,
        leaves it open)."""
        state = idle_state(user.sock, self.tls_context is not None)
        if state is not None:
            user.stale = state
            self.close(user)

    def read(self, user, mask):
        """The response's next bytes; its row once it is whole."""
        sock, parser = user.sock, user.parser
        try:
            while True:
                if parser.state in COUNTED:     # into the one scratch
                    n = sock.recv_into(self.scratch)
                    data = self.view[:n]
                else:
                    data = sock.recv(RECV_SIZE_B)
                    n = len(data)
                result = parser.feed(data) if n else parser.eof()
                if result is not None:
                    break
                if self.tls_context is None or not sock.pending():
                    return
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                BlockingIOError):
            return
        except TRANSPORT_ERRORS as exc:
            return self.fail(user, exc)
        done = self.clock()
        status, nbytes, keep = result
        if keep is True and self.tls_context is not None and sock.pending():
            keep = STRAY    # decrypted bytes beyond it wait in the TLS layer
        sent = user.sent
        t0 = self.t0
        row = (sent - t0, done - sent, status, nbytes, "")
        user.put(row + (user.at - t0,) if self.scheduled else row)
        self.unflushed += 1
        user.last = done
        if keep is not True or not self.keepalive:
            if keep is STRAY:
                self.events["stray"] += 1
            self.close(user)
        elif mask & self.HUP:   # the server closed after it, as it ended
            user.stale = "idle_closed"
            self.close(user)
        else:
            user.state = IDLE
        self.next(user)

    def fail(self, user, exc):
        """The request ends in an error: its row; the user goes on at the
        loop's next turn (a connection refused at once must not recurse)."""
        done = self.clock()
        self.close(user)
        sent = user.sent
        t0 = self.t0
        row = (sent - t0, done - sent, 0, 0, error_kind(exc))
        user.put(row + (user.at - t0,) if self.scheduled else row)
        self.unflushed += 1
        user.last = done
        user.state = IDLE
        self.ready.append((self.next, user))

    def expire(self, user):
        """The request's deadline passed before its response ended."""
        self.fail(user, socket.timeout("timed out"))

    def close(self, user):
        sock = user.sock
        if sock is not None:
            if self.users.pop(user.fd, None) is not None:
                try:
                    self.unregister(user.fd)
                except (OSError, ValueError, KeyError):
                    pass
            sock.close()
            user.sock, user.fd = None, -1

    # -- the loop ----------------------------------------------------------

    def setup(self):
        """What every request reads, fixed for the run (after begin)."""
        plan, worker = self.plan, self.worker
        self.t0 = worker.t0
        self.timeout_s, self.keepalive = plan.timeout_s, plan.keepalive
        self.scheduled = worker.open_model
        self.targets = worker.table
        self.replay = worker.slots if plan.replay is not None else None
        self.puts = self.replay.puts if self.replay is not None else None
        self.rows = worker.writer.rows.append

    def start_user(self, user):
        if self.targets is None and self.replay is None:
            user.request, user.head, user.put = (
                self.plan.request, self.plan.head_request, self.rows)
        self.begin(user)

    def run(self):
        """Drive the users added until every one is done, and under --web
        until the run's end or stop; on the worker's thread, which the
        loop lends to the worker's tick() every LOOP_TICK_S (the rows,
        the progress, the stop) and to its flush() every LOOP_FLUSH_ROWS
        rows, so that no other thread takes the GIL from it."""
        try:
            self.turns()
        finally:
            for user in list(self.users.values()):
                self.close(user)
            self.worker.ends.extend(self.ended)
            self.worker.events.append(self.events)

    def turns(self):
        worker, clock = self.worker, self.clock
        self.setup()
        steered = worker.control is not None
        stop = worker.stop
        timers, deadlines, ready, incoming = (self.timers, self.deadlines,
                                              self.ready, self.incoming)
        users_by_fd, wait, read = self.users, self.wait, self.read
        sub_ms = self.fd is not None and self.fd < 1024
        next_tick = clock()
        while self.live or incoming or (steered and not stop.stopped
                                        and clock() < worker.end):
            while incoming:
                self.start_user(incoming.popleft())
            if ready or self.checked:
                timeout = 0.0
            else:
                now = clock()
                timeout, exact = next_tick - now, False
                if timers and timers[0][0] - now < timeout:
                    timeout, exact = timers[0][0] - now, True
                if deadlines and deadlines[0][0] - now < timeout:
                    timeout, exact = deadlines[0][0] - now, False
                if timeout <= 0:
                    timeout = 0.0
                elif exact and sub_ms:
                    # the poller waits whole milliseconds, rounded up: a
                    # user's instant is waited for to the microsecond by a
                    # select() on the poller's own descriptor
                    if timeout < 0.002:
                        select.select([self.fd], [], [], timeout)
                        timeout = 0.0
                    else:
                        timeout = math.floor(timeout * 1000.0 - 1) / 1000.0
            checked, self.checked = self.checked, []
            for fd, mask in wait(timeout):
                user = users_by_fd.get(fd)
                if user is None:
                    continue
                state = user.state
                if state == READING:
                    read(user, mask)
                elif state == SENDING:
                    self.sending(user)
                elif state == CONNECTING:
                    self.connected(user)
                elif state == HANDSHAKE:
                    self.handshake(user)
                else:   # readable, closed or failed while idle
                    self.idle(user)
            for step, user in checked:
                if user.alive:
                    step(user)
            now = clock()
            while timers and timers[0][0] <= now:
                self.wake(heapq.heappop(timers)[2])
            while deadlines and deadlines[0][0] <= now:
                deadline, user = deadlines.popleft()
                if self.pending(deadline, user):
                    self.expire(user)
            if len(deadlines) > 4 * self.live + 1024:
                # most are of requests that ended: at 90,000 req/s a 10 s
                # --timeout would keep 900,000
                kept = [entry for entry in deadlines if self.pending(*entry)]
                deadlines.clear()
                deadlines.extend(kept)
            for _ in range(len(ready)):
                step, user = ready.popleft()
                if user.alive:
                    step(user)
            if self.unflushed >= LOOP_FLUSH_ROWS:
                self.unflushed = 0
                worker.flush(worker.out_fd)
            if now >= next_tick:
                worker.lag_s = max(worker.lag_s, now - next_tick)
                next_tick = now + LOOP_TICK_S
                self.unflushed = 0      # tick() writes them
                worker.tick(now)
                self.scan(stop)

    @staticmethod
    def pending(deadline, user):
        """Whether a deadline is of the user's request still in flight."""
        return user.deadline == deadline and user.state != IDLE and \
            user.alive

    def scan(self, stop):
        """Every LOOP_TICK_S: end the waiting users whose stop flag is set
        (the worker's, or under --web a user's own)."""
        if not stop.stopped and self.worker.control is None:
            return
        waiting = [entry for entry in self.timers if entry[2].stop.stopped]
        if not waiting:
            return
        self.timers[:] = [entry for entry in self.timers
                          if not entry[2].stop.stopped]
        heapq.heapify(self.timers)
        for _, _, user in waiting:
            self.stopped(user)
        for step, user in list(self.ready):     # due, and not yet woken
            if step == self.wake and user.stop.stopped and user.alive:
                self.stopped(user)


# --- workers: processes, their users and their rows --------------------------


def raise_fd_limit(wanted):
    """Let a worker open one socket per user (ulimit -n is often 1024)."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted,
                                                                    hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass


def write_all(fd, data):
    """One write() per block keeps lines whole in an O_APPEND file."""
    while data:
        data = data[os.write(fd, data):]


# What a worker sends the parent: once its threads are made, every
# PROGRESS_PERIOD_S while the test runs, and when it is done.  recent is
# the latency Histogram (as a dict) of the responses since its last
# Progress, for --sizing; None otherwise.  errors count failed tasks, and
# tasks says how many (what errors are a share of: requests and tasks).
# live is LiveTap.take()'s data under --web, else None.  lag_s: the longest
# its supervising thread woke past its due instant since the last (its send
# lag: how long a thread of this worker waits for the GIL and a CPU).
Ready = collections.namedtuple("Ready", "index")
Progress = collections.namedtuple(
    "Progress", "index elapsed_s requests errors latency_n latency_total"
                " active busy_s recent tasks live lag_s")
Progress.__new__.__defaults__ = (0, None, 0.0)
# What the parent sends a worker under --web: the run's new stages, which
# differ from the old ones from at_s on (elapsed seconds).
Retarget = collections.namedtuple("Retarget", "stages at_s")
Done = collections.namedtuple(
    "Done", "index stats written busy_s wall_s end_s failure")


def failure_text(exc):
    """An unexpected exception in one line; the whole traceback with
    HAMMER_DEBUG=1 in the environment."""
    if os.environ.get("HAMMER_DEBUG"):
        return traceback.format_exc().rstrip()
    return "%s: %s" % (type(exc).__name__, exc)


class RowWriter(object):
    """A worker's rows on their way to results.csv.  Its users append
    them to a queue (one per name with --script or --targets, whose
    format writes the name; else one); one writer, the worker's main
    thread, drains every queue with flush(): it counts each batch in
    stats (a WorkerStats) and writes its lines with one write().  With
    --web, --sizing or --monitor its tap (a LiveTap) counts every
    response's latency again as the flush counts it, for the Progress
    that reports the recent ones; once --sizing stopped the run (stop_s,
    elapsed seconds) it marks the timeouts that end after the stop
    ABANDONED."""

    def __init__(self, plan):
        self.open_model = plan.model == "open"
        self.named = (plan.groups is not None or plan.targets is not None
                      or plan.replay is not None)
        self.row_format = row_format(self.open_model, None if self.named
                                     else name_suffix(plan.method,
                                                      plan.name))
        self.rows = collections.deque()     # without names
        self.queues, self.formats = {}, {}  # with names: per name
        self.lock = threading.Lock()
        self.stats = WorkerStats(self.open_model, self.named, plan.ok_status)
        self.stop_s = None      # when --sizing stopped the run
        self.output = plan.output
        self.unwritable = False     # the output refused a write
        self.written = 0
        # the recent responses' latencies: the view's (--web), and each
        # period's p95 (--sizing's verdict, --monitor's p95 rule)
        self.tap = self.live = None
        self.recent = plan.sizing or bool(plan.monitor)
        if plan.live or self.recent:
            self.tap = LiveTap(self.open_model, None if self.named
                               else name_suffix(plan.method, plan.name))
            self.tap.attach(self.stats)
            self.live = self.tap if plan.live else None

    def queue(self, suffix):
        """With names: the queue of rows named by suffix ('METHOD,name'),
        made on first use.  A row in it has no name of its own: the
        queue's line function (its row format's %) writes it."""
        rows = self.queues.get(suffix)
        if rows is None:
            with self.lock:
                rows = self.queues.get(suffix)
                if rows is None:
                    rows = collections.deque()
                    fmt = row_format(self.open_model, suffix)
                    self.formats[suffix] = (
                        fmt.__mod__ if not suffix.startswith("timer,")
                        else timer_line(fmt))
                    self.queues[suffix] = rows
        return rows

    def take(self, rows, suffix):
        """Count the rows in one queue; their lines."""
        pop = rows.popleft
        batch = [pop() for _ in range(len(rows))]
        if self.stop_s is not None:
            batch = self.abandon_timeouts(batch)
        self.stats.add_rows(batch, suffix)
        line = (self.row_format.__mod__ if suffix is None
                else self.formats[suffix])
        return len(batch), "".join(map(line, batch))

    def abandon_timeouts(self, batch):
        """The batch with its timeouts that ended after --sizing's stop
        (requests in flight then) marked ABANDONED, counted in the
        stats' events: the load they measured was over."""
        stop_s, count = self.stop_s, 0
        rows = []
        for r in batch:
            if r[4] == "timeout" and r[0] + r[1] >= stop_s:
                r = r[:4] + (ABANDONED,) + r[5:]
                count += 1
            rows.append(r)
        self.stats.events["abandoned"] += count
        return rows

    def flush(self, fd):
        """Write the rows measured so far to fd and count them.  The
        first time the output refuses a write: why, in one line (the
        rows are still counted, but no more are written); else None."""
        if self.named:
            parts = [self.take(rows, suffix) for suffix, rows
                     in list(self.queues.items()) if rows]
        else:
            parts = [self.take(self.rows, None)] if self.rows else []
        n = sum(count for count, _ in parts)
        if not n or self.unwritable:
            return None
        try:
            write_all(fd, "".join(text for _, text in parts).encode("utf-8"))
        except OSError as exc:
            self.unwritable = True
            return "cannot write rows to %r: %s" % (self.output,
                                                     exc.strerror or exc)
        self.written += n
        return None

    def report(self):
        """(recent, live) for a Progress: the latency Histogram (as a dict)
        of the responses counted since the last call, for --sizing and
        --monitor, and LiveTap.take()'s data, for --web; None for what
        the run does not ask for."""
        if self.tap is None:
            return None, None
        data = self.tap.take(self.stats)
        return (data["latency"] if self.recent else None,
                data if self.live is not None else None)


class Worker(object):
    """One worker process: runs its users and streams their rows to disk.

    Its threads are made before the test's shared start, and wait for it,
    so that the runtime covers the test, not thread creation.  users: the
    global numbers of its users; quotas: each one's share of -n.
    """

    def __init__(self, index, plan, users, quotas, messages, clock):
        self.index, self.plan = index, plan
        self.users, self.quotas = users, quotas
        self.messages, self.clock = messages, clock
        self.open_model = plan.model == "open"
        self.flush_period = (OPEN_FLUSH_PERIOD_S if self.open_model
                             else FLUSH_PERIOD_S)
        self.writer = RowWriter(plan)
        self.stats = self.writer.stats
        self.scenarios = self.ctx = None    # --script: in run()
        self.table = None   # --targets: shared by the users (in run())
        self.abandoned = set()  # script users left running (abandon())
        self.script_users = {}  # thread -> its User
        self.environments = []  # per --script group: a locustfile's
        self.orders = {}        # group -> its users' User classes
        self.ranks = None       # user number -> its place in its group
        self.stop = StopFlag()
        self.lag_s = 0.0     # the longest late wake since the last Progress
        self.begin = threading.Event()  # set once t0 and end are known
        self.t0 = self.end = self.slots = None
        self.cpu0 = 0.0
        self.windows = [user_windows(plan.stages, g) if not self.open_model
                        else [(0.0, plan.runtime_s)] for g in users]
        self.signalled = []
        self.failures = []
        self.ends = []          # per user: up to when it took part
        self.events = []        # per user: its Counter of events
        self.control = None     # --web: the parent's Retarget messages
        self.connect = None
        self.loop = None        # the event loop's Loop, with --engine loop
        self.threads = []       # every user's thread, in start order
        self.records = {}       # user number -> [windows, thread, flag]

    def flush(self, fd):
        """Write the rows measured so far; a write the output refuses
        fails the worker and stops its users."""
        problem = self.writer.flush(fd)
        if problem is not None:
            self.failures.append(problem)
            self.stop.set()

    def shape(self, number, windows, events):
        """When user `number` sends: the process's slots, or its pacing."""
        plan = self.plan
        if self.open_model:
            return self.slots
        rng = user_rng(plan.seed, "user", number) if plan.think_s[1] else None
        return Paced(self.t0, windows, self.end, plan.interval_s,
                     plan.think_s, rng, events)

    def targets(self, number):
        """--targets: user `number`'s (table, random) for user_loop."""
        return self.table, user_rng(self.plan.seed, "targets", number).random

    def script_user(self, number, events):
        """--script: user `number`'s User and its group's Scenario."""
        plan = self.plan
        data = None
        if plan.data:
            data = dict(plan.data[number % len(plan.data)])
        user = User(self.ctx, number, data,
                    user_rng(plan.seed, "script", number), self.writer.queue,
                    events)
        # --web's users beyond the plan's are the one group's
        group = plan.group_of[number] if number < len(plan.group_of) else 0
        scenario = self.scenarios[group]
        if scenario.locust is not None:
            classes = scenario.locust.classes
            order = self.locust_order(group)
            cls = classes[order[self.rank(number) % len(order)]]
            user._life = LocustLife(cls, user, self.environments[group],
                                    self.ctx, scenario.path)
        return user, scenario

    def rank(self, number):
        """User `number`'s place among its group's users."""
        if len(self.plan.groups) == 1:
            return number
        with self.ctx.lock:
            if self.ranks is None:
                seen, ranks = collections.Counter(), []
                for group in self.plan.group_of:
                    ranks.append(seen[group])
                    seen[group] += 1
                self.ranks = ranks
        return self.ranks[number]

    def locust_order(self, group):
        """The User class index of each user of a locustfile's group."""
        with self.ctx.lock:
            order = self.orders.get(group)
            if order is None:
                order = self.orders[group] = locust_order(
                    self.scenarios[group].locust.classes,
                    self.plan.groups[group][1])
        return order

    def locust_events(self, name):
        """Fire a locustfile's events.NAME in this worker; a listener
        that fails is noted."""
        for scenario, environment in zip(self.scenarios or (),
                                         self.environments):
            if scenario.locust is None:
                continue
            for listener in list(getattr(scenario.locust.events,
                                         name).listeners):
                try:
                    listener(environment=environment)
                except Exception as exc:
                    self.ctx.note_exception(exc, "events." + name,
                                            scenario.path)

    def user(self, number, windows, quota, connect, stop):
        events = collections.Counter()
        try:
            self.begin.wait()
            if self.t0 is not None and self.scenarios is not None:
                user, scenario = self.script_user(number, events)
                self.script_users[threading.current_thread()] = user
                end = script_loop(
                    user, scenario, self.shape(number, windows, events),
                    quota, self.end, stop, self.clock, events, self.ctx)
                if end is not None:
                    stopped = stop_user(user, scenario, self.end, self.stop,
                                        self.ctx)
                    self.ends.append(max(end, stopped or end))
                else:
                    user.close()
            elif self.t0 is not None:
                end = user_loop(
                    self.plan, self.t0, self.shape(number, windows, events),
                    quota, self.end, stop, self.writer.rows.append,
                    connect, self.clock, events,
                    None if self.plan.targets is None
                    else self.targets(number))
                if end is not None:
                    self.ends.append(end)
        except BaseException as exc:
            self.failures.append(failure_text(exc))
        finally:
            self.events.append(events)

    def start_users(self, connect):
        """Start every user's thread, waiting for begin; RunError when the
        box refuses a thread (the ones started are released)."""
        try:
            threading.stack_size(THREAD_STACK_B)
        except (ValueError, RuntimeError):
            pass    # the platform's default stack, then
        self.connect = connect
        for args in zip(self.users, self.windows, self.quotas):
            try:
                self.start_user(*args)
            except RuntimeError as exc:
                self.stop.set()
                self.begin.set()
                raise RunError("worker %d could not start thread %d of %d: %s"
                               % (self.index, len(self.threads) + 1,
                                  len(self.users), exc))
        return self.threads

    def start_loop(self, where, tls):
        """--engine loop: the Loop, which runs every user on the worker's
        own thread (supervise() runs it)."""
        self.loop = Loop(self, where, tls)
        self.flush_period = LOOP_TICK_S
        for args in zip(self.users, self.windows, self.quotas):
            self.start_user(*args)
        return self.threads

    def start_user(self, number, windows, quota):
        """Start user `number`'s thread (or hand it to the loop); under
        --web with a stop flag of its own, so that a lower target can
        stop it alone."""
        stop = self.stop.member() if self.control is not None else self.stop
        if self.loop is not None:
            self.records[number] = [windows, self.loop.add(
                number, windows, quota, stop), stop]
            return
        th = threading.Thread(target=self.user, args=(
            number, windows, quota, self.connect, stop))
        th.daemon = True
        th.start()
        self.threads.append(th)
        self.records[number] = [windows, th, stop]

    def retarget(self, stages, at_s):
        """--web: the run's target moves (Retarget): under --rate the slots
        follow the new stages' rate; else each user whose part from at_s
        on changes stops, and starts again (or anew) on the new stages'
        windows, its stop and start at their instants as the stages say."""
        if self.open_model:
            self.slots.instant = RateSchedule(stages).instant
            return
        plan = self.plan
        node, nodes = plan.node or (1, 1)
        count = len(node_users(int(math.ceil(max(s.end for s in stages))),
                               node, nodes))
        mine = set(node - 1 + k * nodes for k in range(
            self.index, count, len(plan.threads_per_process)))
        later = lambda windows: [(max(a, at_s), b) for a, b in windows
                                 if b > at_s]
        for number in sorted(mine | set(self.records)):
            windows = user_windows(stages, number) if number in mine else []
            record = self.records.get(number)
            alive = record is not None and record[1].is_alive()
            if alive and later(record[0]) == later(windows):
                continue
            if alive:
                record[2].set()
            if later(windows):
                try:
                    self.start_user(number, later(windows), math.inf)
                except RuntimeError as exc:
                    self.failures.append("worker %d could not start user"
                                         " %d: %s" % (self.index, number,
                                                      exc))
                    return

    def progress(self, threads, t0, cpu0):
        now = self.clock() - t0
        active = sum(1 for windows, th, _ in self.records.values()
                     if th.is_alive() and any(a <= now < b
                                               for a, b in windows))
        s = self.stats
        s.settle()
        recent, live = self.writer.report()
        self.messages.put(Progress(
            self.index, now, s.requests, s.errors, s.latency.n,
            s.latency.total, active, time.process_time() - cpu0,
            recent, s.classes[TASK_CLASS], live, self.lag_s))
        self.lag_s = 0.0

    def run(self, go, stop_all, start_wall, where, sizing_stop):
        plan, clock = self.plan, self.clock
        raise_fd_limit(len(self.users) + FDS_PER_PROCESS)
        try:
            fd = os.open(plan.output, os.O_WRONLY | os.O_APPEND
                         | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise RunError("cannot open %r: %s" % (plan.output,
                                                   exc.strerror or exc))
        threads = []
        try:
            tls = make_tls_context(plan.insecure) if plan.tls else None
            connect = None if where is None else connector(
                where[0], where[1], plan.target.host, tls, plan.timeout_s,
                clock)
            if plan.groups is not None:
                try:
                    self.scenarios = [locust_chosen(load_script(path), plan)
                                      for path, _ in plan.groups]
                except UsageError as exc:
                    raise RunError("worker %d: %s" % (self.index, exc))
                self.ctx = ScriptContext(plan, connect, clock, self.stop)
                self.environments = [
                    locust_environment(plan, s) if s.locust else None
                    for s in self.scenarios]
                self.locust_events("init")
            if plan.targets is not None:
                self.table = targets_table(plan.targets, self.writer.queue)
            if plan.replay is not None:
                self.slots = replay_slots(plan, self.index, self.writer.queue)
            if plan.engine == "loop":
                threads = self.start_loop(where, tls)
            else:
                threads = self.start_users(connect)
            self.locust_events("test_start")
            self.messages.put(Ready(self.index))
            while not go.wait(STOP_POLL_S):
                if stop_all.is_set() or self.signalled:
                    return self.finish(fd, threads, 0.0, 0.0)
            self.t0 = clock() - (time.time() - start_wall.value)
            self.end = self.t0 + plan.runtime_s
            if self.ctx is not None:
                self.ctx.t0 = self.t0
            if plan.replay is not None:
                self.slots.t0, self.slots.end = self.t0, self.end
            elif self.open_model:
                self.slots = open_slots(plan, self.index, self.t0, self.end)
            cpu0 = self.cpu0 = time.process_time()
            self.begin.set()
            self.supervise(fd, stop_all, sizing_stop)
            busy = time.process_time() - cpu0
            return self.finish(fd, threads, busy, clock() - self.t0)
        finally:
            self.stop.set()
            self.begin.set()
            os.close(fd)

    def supervise(self, fd, stop_all, sizing_stop):
        """Flush rows and report progress until every user is done (tick()
        each STOP_POLL_S at most); sizing_stop is set when --sizing's
        verdict stopped the run.  With --engine loop the loop runs here,
        and ticks itself."""
        clock = self.clock
        self.next_flush = self.next_report = clock()
        self.out_fd, self.stop_all, self.sizing_stop = (fd, stop_all,
                                                        sizing_stop)
        # a script's own code (a sleep, a loop) may not end: its users are
        # left behind STUCK_S after a request would have had to end
        self.give_up = (self.end + self.plan.timeout_s + STUCK_S
                        if self.ctx is not None else math.inf)
        if self.loop is not None:
            try:
                self.loop.run()
            except Exception as exc:
                self.failures.append(failure_text(exc))
                self.stop.set()
            self.flush(fd)
            return
        alive = self.threads
        # --web: users may come back until the end, whatever is alive now
        steered = self.control is not None
        nap = min(STOP_POLL_S, self.flush_period)
        while alive or (steered and not self.stop.is_set()
                        and clock() < self.end):
            due = clock() + nap
            time.sleep(nap)
            self.lag_s = max(self.lag_s, clock() - due)
            if not self.tick(clock()):
                self.abandon(alive)
                break
            alive = [th for th in self.threads if th.is_alive()]
        self.flush(fd)

    def tick(self, now):
        """The supervisor's look at the run: --web's messages, a stop
        asked for, the rows to write, the progress to report.  False once
        the script users still running are to be left behind."""
        if self.control is not None:
            self.steer()
        if not self.stop.is_set() and (self.signalled
                                       or self.stop_all.is_set()):
            if self.sizing_stop.is_set() and not self.signalled:
                self.writer.stop_s = now - self.t0
            self.stop.set()
            self.give_up = min(self.give_up,
                               now + self.plan.timeout_s + STUCK_S)
        if now >= self.give_up:
            return False
        if now >= self.next_flush:
            self.flush(self.out_fd)
            self.next_flush = now + self.flush_period
        if now >= self.next_report:
            self.flush(self.out_fd)
            self.progress(self.threads, self.t0, self.cpu0)
            self.next_report = now + (SIZING_PERIOD_S if self.plan.sizing
                                      else PROGRESS_PERIOD_S)
        return True

    def steer(self):
        """Take the parent's Retarget messages, if any."""
        import queue
        while True:
            try:
                msg = self.control.get_nowait()
            except (queue.Empty, OSError, EOFError):
                return
            if not self.stop.is_set():
                self.retarget(msg.stages, msg.at_s)

    def abandon(self, alive):
        """Leave behind the script users still running their own code
        (their threads die with the process); say so in the summary."""
        self.abandoned = set(alive)
        self.ends.append(self.end)  # they took part to the end, at least
        for th in alive:    # the rows its iteration has measured so far
            user = self.script_users.get(th)
            if user is not None:
                user._rows.commit()
        self.ctx.note("stuck", "users still in their script's own code"
                      " %gs after the run's end (a sleep or a loop hammer"
                      " cannot interrupt: use user.sleep()); left behind,"
                      " with the rows they had measured"
                      % (self.plan.timeout_s + STUCK_S))
        with self.ctx.lock:
            self.ctx.failures["stuck"][0] = len(alive)

    def finish(self, fd, threads, busy_s, wall_s):
        """Release any user still waiting, then send the parent Done."""
        self.stop.set()
        self.begin.set()
        for th in self.threads:
            if th not in self.abandoned:
                th.join()
        if self.ctx is not None:
            self.locust_events("test_stop")
            self.locust_events("quitting")
        self.flush(fd)
        if self.writer.live is not None and self.t0 is not None:
            # --web: the view's counters end equal to the rows written
            self.progress(self.threads, self.t0, self.cpu0)
        for events in self.events:
            self.stats.events.update(events)
        if self.ctx is not None:
            self.stats.failures = dict(self.ctx.failures)
            self.stats.reasons.update(self.ctx.reasons)
        if self.slots is not None and self.slots.lock is not None:
            # Poisson: the slots due before the end, to judge the sent rate
            # by them, not by their expected number
            events = self.stats.events
            events["due_slots"] = (
                sent_count(self.plan, self.stats) + events["unsent_slots"]
                + self.slots.due_before(min(self.end, self.clock())))
        end_s = max(self.ends) - self.t0 if self.ends else 0.0
        self.messages.put(Done(
            self.index, self.stats.to_dict(), self.writer.written, busy_s,
            wall_s,
            end_s, self.failures[0] if self.failures else None))


def worker_main(index, plan, users, quotas, messages, go, stop_all,
                start_wall, where, sizing_stop, control=None):
    """Entry point of a worker process; control: the parent's Retarget
    messages under --web."""
    worker = Worker(index, plan, users, quotas, messages, time.perf_counter)
    worker.control = control

    def on_signal(signum, frame):
        worker.signalled.append(signum)   # the supervisor stops the users

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        worker.run(go, stop_all, start_wall, where, sizing_stop)
    except BaseException as exc:
        text = str(exc) if isinstance(exc, RunError) else failure_text(exc)
        messages.put(Done(index, WorkerStats().to_dict(),
                          worker.writer.written, 0.0, 0.0, 0.0, text))


# --- the run -----------------------------------------------------------------


def available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cpu_times():
    """The /proc/stat times (user, nice, system, idle, iowait, irq,
    softirq, steal; in clock ticks) summed over the CPUs this process may
    use; None where there is no such file."""
    try:
        cpus = os.sched_getaffinity(0)
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
    except (AttributeError, OSError):
        return None
    total = [0] * 8
    for line in lines:
        fields = line.split()
        if (fields and fields[0][:3] == "cpu" and fields[0][3:].isdigit()
                and int(fields[0][3:]) in cpus and len(fields) >= 9):
            total = [t + int(v) for t, v in zip(total, fields[1:9])]
    return total if any(total) else None


def processes_cpu_s(pids):
    """The CPU seconds (user and system) the processes pids have used,
    from /proc/PID/stat; 0.0 for one that has no such file."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            pass
    return total / float(ticks)


def read_number(path):
    """The number a small file starts with, or None when there is no such
    file or number ('max' in cgroup files)."""
    try:
        with open(path, "rb") as f:
            return int(f.read(4096).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cgroup_dirs(controller):
    """The directories of this process's cgroup for a controller: v2's
    unified one, v1's, and the controller's root (where a container's
    namespace hides the path)."""
    dirs = []
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                if names == "":
                    dirs.append("/sys/fs/cgroup" + path)
                elif controller in names.split(","):
                    dirs.append("/sys/fs/cgroup/%s%s" % (controller, path))
                    dirs.append("/sys/fs/cgroup/" + controller)
    except (OSError, ValueError):
        pass
    return dirs


def box_limits():
    """What this box lets hammer use, as far as it says (capacity_problem()
    reads it): open files per process, room for more threads, memory."""
    limits = {"open_files": None, "tasks": None, "memory_b": None}
    try:
        import resource
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY:
            limits["open_files"] = hard
        nproc = resource.getrlimit(resource.RLIMIT_NPROC)[0]
        rooms = [nproc] if (nproc != resource.RLIM_INFINITY
                            and os.geteuid() != 0) else []
    except (ImportError, AttributeError, ValueError, OSError):
        rooms = []
    tasks = None
    try:
        with open("/proc/loadavg") as f:
            tasks = int(f.read().split()[3].split("/")[1])
    except (OSError, ValueError, IndexError):
        pass
    if tasks is not None:
        for path in ("/proc/sys/kernel/threads-max",
                     "/proc/sys/kernel/pid_max"):
            most = read_number(path)
            if most is not None:
                rooms.append(most - tasks)
    for d in cgroup_dirs("pids"):
        most, now = read_number(d + "/pids.max"), read_number(
            d + "/pids.current")
        if most is not None and now is not None:
            rooms.append(most - now)
            break
    if rooms:
        limits["tasks"] = min(rooms)
    memory = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    memory = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    for d in cgroup_dirs("memory"):
        most = read_number(d + "/memory.max")
        now = read_number(d + "/memory.current")
        if most is None:
            most = read_number(d + "/memory.limit_in_bytes")
            now = read_number(d + "/memory.usage_in_bytes")
        if most is not None and now is not None and most < 1 << 60:
            memory = most - now if memory is None else min(memory, most - now)
            break
    limits["memory_b"] = memory
    return limits


def host_port(host, port):
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def probe(plan, insecure, timeout_s):
    """resolve_and_probe() the plan's target: where to connect, or None
    when there is none (scripts that name whole URLs)."""
    if plan.target is None:
        return None
    tls = make_tls_context(insecure) if plan.tls else None
    return resolve_and_probe(plan.target, timeout_s, tls)


def resolve_and_probe(target, timeout_s, tls_context):
    """Resolve the host once and return the first (family, address) that
    accepts a connection (and a TLS handshake); RunError says why not."""
    where = host_port(target.host, target.port)
    try:
        infos = socket.getaddrinfo(target.host, target.port, 0,
                                   socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RunError("cannot resolve host %r: %s"
                       % (target.host, getattr(exc, "strerror", None) or exc))
    last = None
    for family, _, _, _, address in infos:
        connect = connector(family, address, target.host, tls_context,
                            timeout_s, time.monotonic)
        try:
            connect(time.monotonic() + timeout_s)[0].close()
            return family, address
        except (ssl.SSLError, ssl.CertificateError) as exc:
            hint = ""
            if (isinstance(exc, ssl.CertificateError) or getattr(
                    exc, "reason", None) == "CERTIFICATE_VERIFY_FAILED"):
                hint = " (-k/--insecure skips certificate checks)"
            raise RunError("cannot connect to %s: %s%s" % (
                where, describe_error(exc, timeout_s), hint))
        except ConnectionResetError as exc:
            if tls_context is None:     # it accepted, then reset: the run
                return family, address  # records what it does to requests
            last = exc
        except OSError as exc:
            last = exc
    raise RunError("cannot connect to %s: %s"
                   % (where, describe_error(last, timeout_s)))


def write_settings(path, settings):
    """The run's settings as JSON beside the CSV, replaced whole."""
    name = path + SETTINGS_SUFFIX
    with open(name + ".tmp", "w") as f:
        json.dump(settings, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(name + ".tmp", name)


def create_output(path, settings):
    """Start the CSV with its header, and the settings beside it."""
    try:
        with open(path, "wb") as f:
            f.write(CSV_HEADER.encode("ascii"))
        write_settings(path, settings)
    except OSError as exc:
        raise RunError("cannot write %r: %s" % (exc.filename or path,
                                                exc.strerror or exc))


def update_settings(settings, err, **values):
    """Add values to the settings file; a failure is a warning, as the
    rows are safe."""
    settings.update(values)
    try:
        write_settings(settings["output"], settings)
    except OSError as exc:
        err.write("hammer: warning: cannot update %r: %s\n" % (
            settings["output"] + SETTINGS_SUFFIX, exc.strerror or exc))


def iso_utc(epoch_s):
    """Epoch seconds -> '2026-11-22T15:37:01.123456Z'."""
    return datetime.datetime.fromtimestamp(
        epoch_s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def kill(process):
    """Kill a worker that is still alive, and reap it."""
    if process.is_alive():
        if hasattr(signal, "SIGKILL"):   # Process.kill() is 3.7+
            os.kill(process.pid, signal.SIGKILL)
        else:
            process.terminate()          # Windows: TerminateProcess
        process.join(1.0)


class Signals(object):
    """SIGINT/SIGTERM in the parent: the first stops the run gracefully,
    the second kills the workers and exits at once."""

    def __init__(self, err):
        self.err = err
        self.received = None
        self.at = None          # when the first came (time.time())
        self.processes = []
        self.saved = {}

    def install(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.saved[signum] = signal.signal(signum, self.handle)

    def restore(self):
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)

    def handle(self, signum, frame):
        if self.received is None:
            self.received, self.at = signum, time.time()
            return
        for p in self.processes:
            kill(p)
        self.err.write("\nhammer: interrupted again, exiting now; rows not"
                       " yet written are lost\n")
        self.err.flush()
        os._exit(128 + self.received)


# --sizing's settings: plateau is whether the throughput plateau counts
# (the default rule; an explicit --sizing-slo judges by its condition only).
Sizing = collections.namedtuple("Sizing",
                                "max_users time_s window_s slo plateau")
Sizing.__new__.__defaults__ = (False,)
# What --sizing found: reason is "condition" (the SLO broke), "plateau"
# (throughput stopped growing: figures are the two SizingFigures compared),
# "saturated" (hammer's CPU ran out first) or "max" (no breaking point).
SizingResult = collections.namedtuple(
    "SizingResult", "reason users target_rps rps metric value at_s figures")
SizingResult.__new__.__defaults__ = (None,)
# One window's figures for the plateau rule: its end (elapsed seconds), its
# mean load (users, or the target req/s under --rate, over the window, as
# its throughput is), its req/s and the mean latency of its responses.
SizingFigures = collections.namedtuple("SizingFigures",
                                       "at_s load rps latency_s")
# The last window_s of every worker's reports (SizingWatch.window()):
# users are the active ones at its end, mean_users their mean over it,
# tasks the iterations that raised.
SizingWindow = collections.namedtuple(
    "SizingWindow", "span_s requests errors latency busy users at_s"
                    " mean_users tasks")


def plateau_base(history, latest, window_s):
    """The window the plateau rule compares latest with: the newest of
    history (SizingFigures, oldest first) that ended window_s or more
    before latest, at a load SIZING_LOAD_GROWTH or more below latest's;
    None when there is none yet."""
    for figures in reversed(history):
        if (latest.at_s - figures.at_s >= window_s and latest.load
                >= figures.load * (1 + SIZING_LOAD_GROWTH)):
            return figures
    return None


def is_plateau(base, latest):
    """Whether throughput stopped growing from window base to window
    latest (plateau_base()): it grew by less than SIZING_PLATEAU_GROWTH
    while the load grew, and the mean latency grew."""
    return (latest.rps < base.rps * (1 + SIZING_PLATEAU_GROWTH)
            and latest.latency_s > base.latency_s)


def window_of(first, inside):
    """The SizingWindow from each worker's first Progress (a list, one per
    worker) over the reports after it (inside: a list of them per
    worker, the last one's last), on the window's own responses:
    requests, errors, failed tasks and busy CPU are the differences of
    the counters, the latency the merged Histogram of the reports'
    recent ones, not the run's so far, and mean_users the sum of each
    worker's mean of its reports' active users."""
    last = [reports[-1] for reports in inside]
    hist = Histogram()
    for reports in inside:
        for r in reports:
            hist.merge(Histogram.from_dict(r.recent))
    spans = [b.elapsed_s - a.elapsed_s for a, b in zip(first, last)]
    busy = max((b.busy_s - a.busy_s) / s
               for a, b, s in zip(first, last, spans))
    return SizingWindow(sum(spans) / len(spans),
                        sum(b.requests - a.requests
                            for a, b in zip(first, last)),
                        sum(b.errors - a.errors
                            for a, b in zip(first, last)),
                        hist, busy, sum(b.active for b in last),
                        max(b.elapsed_s for b in last),
                        sum(sum(r.active for r in reports) / len(reports)
                            for reports in inside),
                        sum(b.tasks - a.tasks for a, b in zip(first, last)))


class SizingWatch(object):
    """--sizing's judge, fed every worker's Progress: once the last
    window_s breaks the SLO, or shows a throughput plateau (when the
    rule is on), or a worker was busy SATURATION_CPU_RATIO of its CPU
    over it, verdict() says so.  Pure: instants come in the messages."""

    def __init__(self, sizing, processes, stages, open_model):
        self.sizing, self.stages = sizing, stages
        self.open_model = open_model
        self.reports = [collections.deque() for _ in range(processes)]
        self.history = collections.deque()  # SizingFigures, oldest first

    def add(self, progress):
        self.reports[progress.index].append(progress)

    def window(self):
        """The SizingWindow of the last window_s, or None before every
        worker has reported over a whole window."""
        span = self.sizing.window_s
        for reports in self.reports:
            if not reports:
                return None
            newest = reports[-1]
            while (len(reports) > 1
                   and newest.elapsed_s - reports[1].elapsed_s >= span):
                reports.popleft()
            if newest.elapsed_s - reports[0].elapsed_s < span * 0.95:
                return None
        return window_of([reports[0] for reports in self.reports],
                         [list(reports)[1:] for reports in self.reports])

    def plateau(self, w, rps, target):
        """The earlier SizingFigures whose throughput window w's did not
        outgrow (is_plateau()), or None; w joins the history."""
        if not w.latency.n:
            return None
        latest = SizingFigures(w.at_s, target if self.open_model
                               else w.mean_users, rps, w.latency.mean)
        base = plateau_base(self.history, latest, self.sizing.window_s)
        while base is not None and self.history[0] is not base:
            self.history.popleft()  # later windows compare with later ones
        self.history.append(latest)
        if base is not None and is_plateau(base, latest):
            return base, latest
        return None

    def verdict(self):
        """A SizingResult once the run should stop, else None."""
        w = self.window()
        if w is None or not w.requests:
            return None
        slo = self.sizing.slo
        metrics = threshold_metrics(w.latency, w.requests, w.errors,
                                    w.span_s, w.tasks)
        target = target_at(self.stages, w.at_s) if self.open_model else None
        if w.busy >= SATURATION_CPU_RATIO:
            return SizingResult("saturated", w.users, target, metrics["rps"],
                                slo.metric, metrics[slo.metric], w.at_s)
        if not evaluate_thresholds([slo], metrics)[0][2]:
            return SizingResult("condition", w.users, target, metrics["rps"],
                                slo.metric, metrics[slo.metric], w.at_s)
        if self.sizing.plateau:
            middle = (target_at(self.stages, w.at_s - w.span_s / 2)
                      if self.open_model else None)
            figures = self.plateau(w, metrics["rps"], middle)
            if figures is not None:
                base = figures[0]
                return SizingResult(
                    "plateau", w.users if self.open_model
                    else int(round(base.load)),
                    base.load if self.open_model else None, base.rps,
                    "mean", w.latency.mean, w.at_s, figures)
        return None

    def at_end(self, users):
        """The result when the ramp ran out without a verdict."""
        w = self.window()
        rps = w.requests / w.span_s if w else 0.0
        target = self.stages[-1].end if self.open_model else None
        return SizingResult("max", users, target, rps, None, None,
                            self.stages[-1].end_s)


def format_sizing(result, sizing, open_model):
    """The summary's line about --sizing."""
    if result.reason == "max":
        if open_model:
            return "sizing      no breaking point up to %s req/s" % (
                "{:,.0f}".format(result.target_rps))
        return "sizing      no breaking point up to %d users" % (
            sizing.max_users)
    load = lambda value: ("a target of %s req/s" % "{:,.0f}".format(value)
                          if open_model else "%d users" % round(value))
    if result.reason == "plateau":
        base, latest = result.figures
        return ("sizing      throughput plateau at %s (%s req/s): %s made"
                " %s req/s (%+.1f%%) while the mean latency went from %s"
                " to %s" % (load(base.load), "{:,.0f}".format(base.rps),
                            load(latest.load),
                            "{:,.0f}".format(latest.rps),
                            100.0 * (latest.rps / base.rps - 1)
                            if base.rps else 0.0,
                            format_seconds(base.latency_s),
                            format_seconds(latest.latency_s)))
    where = load(result.target_rps if open_model else result.users)
    if result.reason == "saturated":
        return ("sizing      hammer saturated at %s before the target"
                " broke: add processes or machines" % where)
    return ("sizing      breaking point: %s at %s req/s (%s %s over the last"
            " %gs)" % (where, "{:,.0f}".format(result.rps), result.metric,
                       format_threshold_value(result.metric, result.value),
                       sizing.window_s))


class StartGate(object):
    """When the test starts, once every worker is ready: at once, or at
    --start-at's instant.  instant() is that epoch instant, or None while
    it is not known yet (a controller's node waits to be told)."""

    def __init__(self, at=None):
        self.at = at

    def ready(self):
        """Every worker is ready."""

    def instant(self):
        return time.time() if self.at is None else self.at

    def finished(self, done):
        """The workers' Done messages, before the summary."""

    def stop_signal(self):
        """A signal number when something besides a signal stops the run
        as that signal would (a node's controller), else None."""
        return None

    def retarget(self):
        """The run's new stages when its target moved (--web), once,
        else None."""
        return None

    def progress(self, progress):
        """A worker's Progress (--web's live view reads them)."""


def start_instant(when, now, err):
    """The instant elapsed 0 stands for: `when`, or now when this run was
    ready after it (LATE_S or more), with a warning."""
    if now - when < LATE_S:
        return when
    err.write("hammer: warning: ready %.3fs after --start-at %s: started at"
              " %s; elapsed counts from then\n"
              % (now - when, iso_utc(when), iso_utc(now)))
    return now


def run(plan, where, record, out, err, quiet, gate=None, progress=None,
        own_pids=(), monitor=None):
    """Start the workers, report progress, print the summary.

    where: the (family, address) to connect to; record: the settings
    file's dict, which gains the run's start and its summary; own_pids:
    processes whose CPU counts as hammer's, not as other processes'
    (--demo's target: its load is the test); monitor: --monitor's
    Monitor, open (its hosts reached), closed here.  Returns the exit
    code: 0; 1 when a worker failed or no request was made; 3
    when a --fail-if threshold failed; 128 + signal number when SIGINT or
    SIGTERM stopped the run.
    """
    import queue
    ctx = multiprocessing.get_context()
    threads = plan.threads_per_process
    node = plan.node or (1, 1)
    users = user_numbers(threads, *node)
    if plan.model == "open":
        quotas = [[math.inf] * n for n in threads]
    else:
        quotas = request_quotas(threads, plan.requests, node[0], node[1],
                                plan.users)
    messages, go, stop_all = ctx.Queue(), ctx.Event(), ctx.Event()
    sizing_stop = ctx.Event()   # set before stop_all by --sizing's verdict
    start_wall = ctx.Value("d", 0.0, lock=False)
    controls = [ctx.Queue() if plan.live else None for _ in threads]
    signals = Signals(err)
    signals.install()
    procs = [ctx.Process(target=worker_main, name="hammer-worker-%d" % i,
                         args=(i, plan, users[i], quotas[i], messages, go,
                               stop_all, start_wall, where, sizing_stop,
                               controls[i]))
             for i in range(len(threads))]
    signals.processes = procs
    report = progress or ProgressLine(plan, quiet, err.isatty(), err)
    watch = sizing = None
    if plan.sizing:
        watch = SizingWatch(plan.sizing, len(procs), plan.stages,
                            plan.model == "open")
    done, exited, ready = {}, {}, 0
    cpu = (None, 0.0, 0.0)
    gate = gate or StartGate(plan.start_at)
    waiting = stopped_at = None
    try:
        for p in procs:
            p.start()
        started = time.monotonic()
        while len(done) < len(procs):
            if signals.received is None:
                signals.received = gate.stop_signal()
            if signals.received and stopped_at is None:
                stopped_at = signals.at or time.time()
            if signals.received and not stop_all.is_set():
                stop_all.set()
                report.clear()
                err.write("hammer: stopping, waiting for requests in flight"
                          " (again to quit at once)\n")
            try:
                msg = messages.get(timeout=STOP_POLL_S)
            except queue.Empty:
                msg = None
            if isinstance(msg, Ready):
                ready += 1
            elif isinstance(msg, Progress):
                report.update(msg)
                gate.progress(msg)
                if monitor is not None:
                    monitor.progress(msg)
                if watch is not None and sizing is None:
                    watch.add(msg)
                    sizing = watch.verdict()
                    if sizing is not None:
                        sizing_stop.set()
                        stop_all.set()
            elif isinstance(msg, Done):
                done[msg.index] = msg
            retarget = gate.retarget()
            if retarget is not None and go.is_set():
                for control in controls:
                    control.put(retarget)
                report.plan = report.plan._replace(stages=retarget.stages)
                update_settings(record, err, stages=stage_settings(
                    retarget.stages))
            if not go.is_set() and not stop_all.is_set():
                if done:        # a worker failed before the start
                    stop_all.set()
                elif ready == len(procs):
                    if waiting is None:
                        waiting = time.monotonic()
                        gate.ready()
                    when = gate.instant()
                    now = time.time()
                    # sleep to it from up to 3 polls away: a poll late
                    # by its jitter must not make a ready run late
                    if when is not None and when - now <= 3 * STOP_POLL_S:
                        if when > now:      # ready in time: sleep to it
                            time.sleep(when - now)
                            now = when
                        start_wall.value = start_instant(when, now, err)
                        go.set()
                        cpu = (cpu_times(), time.process_time(),
                               processes_cpu_s(own_pids))
                        report.start(start_wall.value)
                        if monitor is not None:
                            monitor.start(start_wall.value,
                                          [p.pid for p in procs])
                        update_settings(
                            record, err, started=iso_utc(start_wall.value),
                            started_epoch_s=round(start_wall.value, 6))
                    elif (when is not None and plan.start_at is not None
                          and waiting > 0 and when - now > 1.0):
                        waiting = -1.0     # said once
                        err.write("hammer: waiting for --start-at %s (in"
                                  " %.1fs)\n" % (iso_utc(when), when - now))
                        err.flush()
                elif time.monotonic() - started > WORKER_START_TIMEOUT_S:
                    stop_all.set()
                    raise RunError("the workers did not start within %gs"
                                   % WORKER_START_TIMEOUT_S)
            for i, p in enumerate(procs):
                if i not in done and p.exitcode is not None:
                    first = exited.setdefault(i, time.monotonic())
                    if time.monotonic() - first > 1.0:
                        done[i] = Done(i, WorkerStats().to_dict(), 0, 0.0,
                                       0.0, 0.0, "worker exited with"
                                       " code %d" % p.exitcode)
            report.show()
    finally:
        for p in procs:
            p.join(STOP_POLL_S * 20)
            kill(p)
        signals.restore()
        report.clear()
        if monitor is not None:
            monitor.close()
    if not go.is_set():
        for d in sorted(done.values()):
            if d.failure:
                err.write("hammer: error: %s\n" % d.failure)
        if signals.received is not None:
            return 128 + signals.received
        return 1
    if watch is not None and sizing is None and signals.received is None:
        sizing = watch.at_end(plan.users)
    own_cpu_s = (time.process_time() - cpu[1]
                 + processes_cpu_s(own_pids) - cpu[2])
    gate.finished(done)
    return finish_run(plan, record, done, signals.received, out, err,
                      (cpu[0], cpu_times(), own_cpu_s), sizing,
                      stopped_at and stopped_at - start_wall.value, monitor)


def run_verdicts(plan, monitor, stats, duration_s, checks, sizing,
                 offsets=None):
    """(bottleneck, trust) of a monitored run (monitor_verdicts())."""
    return monitor_verdicts(
        monitor.samples, monitor.periods, plan.stages,
        plan.model == "open", rate_fell_behind(plan, stats, duration_s),
        sizing, plan.sizing.slo if plan.sizing else None, checks,
        monitor.speeds(), offsets, monitor.lost,
        max(2 * monitor.interval_s, plan.sizing.window_s
            if plan.sizing else 0.0))


def finish_run(plan, record, done, signum, out, err, cpu=(None, None, 0.0),
               sizing=None, stopped_s=None, monitor=None, offsets=None):
    """Merge the workers' results, print the summary, record it and the
    run's duration in the settings file, pick the exit code.  cpu:
    cpu_times() at the start and the end, and the CPU seconds the parent
    (and own_pids) used; sizing: the SizingResult of --sizing; stopped_s:
    the elapsed seconds when the signal signum came; monitor: the run's
    Monitor (closed), whose samples the verdicts judge; offsets: the
    nodes' clock offsets, {label: seconds}."""
    stats = WorkerStats(plan.model == "open", plan.groups is not None
                        or plan.targets is not None
                        or plan.replay is not None, plan.ok_status)
    rows, duration, busy, failed = 0, 0.0, [], False
    for index in sorted(done):
        d = done[index]
        stats.merge(WorkerStats.from_dict(d.stats))
        rows += d.written
        duration = max(duration, d.end_s)
        busy.append(d.busy_s / d.wall_s if d.wall_s > 0 else 0.0)
        if d.failure:
            failed = True
            err.write("hammer: error: worker %d failed: %s\n"
                      % (index, d.failure))
    if stats.lateness is not None:
        stats.events["late_sends"] = stats.lateness.count_above(LATE_S)
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    shares = cpu_shares(cpu[0], cpu[1], cpu[2] + math.fsum(
        d.busy_s for d in done.values()), ticks)
    metrics = threshold_metrics(stats.answered, stats.requests, stats.errors,
                                duration, stats.classes[TASK_CLASS])
    if stats.names is None:
        named = {plan.name: metrics}
    else:
        named = named_metrics(name_entries(stats.names), duration)
    checks = evaluate_thresholds(plan.thresholds, metrics, named)
    verdicts = None
    if monitor is not None:
        verdicts = run_verdicts(plan, monitor, stats, duration, checks,
                                sizing, offsets)
        metrics["trusted"] = verdicts[1]["verdict"] == "trusted"
        checks = evaluate_thresholds(plan.thresholds, metrics, named)
        if record.get("monitor") is not None:   # what crunch judges by
            record["monitor"].update(
                lost=list(monitor.lost), speeds=monitor.speeds(),
                offsets=dict((k, round(v, 6)) for k, v in (
                    offsets or {}).items() if v is not None))
    interrupted = None
    if signum is not None:
        interrupted = (signum, duration if stopped_s is None
                       else max(0.0, stopped_s))
    out.write("\n".join(format_summary(plan, stats, duration, rows, busy,
                                       shares, checks, sizing,
                                       interrupted, verdicts)) + "\n")
    out.flush()
    update_settings(record, err, duration_s=round(duration, 6),
                    summary=run_summary(
                        plan, stats, duration, checks, sizing, interrupted,
                        verdicts, monitor.samples if monitor else ()))
    if plan.locust_csv is not None:
        try:
            write_locust_csv(plan.locust_csv, stats, duration,
                             "local" if plan.hosts is None else "")
        except OSError as exc:
            err.write("hammer: error: cannot write %r: %s\n"
                      % (exc.filename, exc.strerror or exc))
            failed = True
    if signum is not None:
        return 128 + signum
    if failed:
        return 1
    if plan.groups and not rows:
        err.write("hammer: error: the script made no request and recorded"
                  " no timer in %d iterations\n" % stats.events["iterations"])
        return 1
    if not plan.groups and not stats.requests:
        err.write("hammer: error: the run made no requests: no user got to"
                  " send one before the runtime of %gs ended\n"
                  % plan.runtime_s)
        return 1
    if not all(ok for _, _, ok in checks):
        return 3
    return 0


def write_locust_csv(prefix, stats, duration_s, nodes):
    """--csv PREFIX: Locust's PREFIX_stats.csv, PREFIX_failures.csv and
    PREFIX_exceptions.csv, from the run's merged stats (a WorkerStats)
    over duration_s, written as Locust's csv.writer writes them.  nodes:
    the exceptions' Nodes column.  OSError when one cannot be written."""
    names = stats.names or {}
    for suffix, rows in zip(LOCUST_CSV_FILES, (
            locust_stats_rows(names, duration_s),
            locust_failure_rows(names, stats.reasons),
            locust_exception_rows(stats.failures, nodes))):
        with open(prefix + suffix, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)


class ProgressLine(object):
    """The progress line on stderr: in place on a TTY, plain lines else."""

    def __init__(self, plan, quiet, tty, err):
        self.plan = plan
        self.quiet, self.tty, self.err = quiet, tty, err
        self.period = PROGRESS_PERIOD_S if tty else PROGRESS_PLAIN_PERIOD_S
        self.latest = {}
        self.start_wall = None
        self.next_at = 0.0
        self.last = (0.0, 0, 0, 0.0)   # elapsed, requests, responses, total
        self.shown = False
        self.prefix = ""

    def start(self, start_wall):
        self.start_wall = start_wall
        self.next_at = time.monotonic() + self.period

    def update(self, progress):
        self.latest[progress.index] = progress

    def show(self):
        now = time.monotonic()
        if self.quiet or self.start_wall is None or now < self.next_at:
            return
        self.next_at = now + self.period
        elapsed = time.time() - self.start_wall
        latest = self.latest.values()
        requests = sum(p.requests for p in latest)
        responses = sum(p.latency_n for p in latest)
        total = sum(p.latency_total for p in latest)
        then, req0, resp0, total0 = self.last
        self.last = (elapsed, requests, responses, total)
        rate = (requests - req0) / (elapsed - then) if elapsed > then else 0.0
        avg = (total - total0) / (responses - resp0) if responses > resp0 else 0.0
        line = self.prefix + format_progress(
            self.plan, min(elapsed, self.plan.runtime_s),
            sum(p.active for p in latest), rate, avg,
            sum(p.errors for p in latest))
        if self.tty:
            self.err.write("\r\x1b[K" + line)
            self.shown = True
        else:
            self.err.write(line + "\n")
        self.err.flush()

    def clear(self):
        if self.shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.shown = False


# --- many machines: --hosts over the system's ssh ----------------------------

# The controller starts one `ssh host python -c BOOT DIR` per node.  BOOT
# (Python 2 and 3 syntax, so that an old Python can say so) reads this
# file from its stdin into DIR and execs it as the node's agent, which
# goes on reading the same stdin: the files the test needs, the run's
# arguments, pings, the start instant, a stop.  The agent answers with
# JSON lines (ready, progress, done) and, asked, its rows.  Nothing
# listens on any port; when the stream ends, the node stops.

Host = collections.namedtuple("Host", "user host port text")
HOST_RE = re.compile(r"^(?:([A-Za-z0-9_.][A-Za-z0-9_.-]*)@)?"
                     r"([A-Za-z0-9_.][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])"
                     r"(?::([0-9]{1,5}))?$")
SSH_OPTION_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*=[^\r\n]+$")
MAX_HOSTS_FILE_B = 1 << 20
MAX_COPY_B = 256 << 20      # what --hosts copies to each node, at most
NODE_SILENT_S = 15.0        # a node hearing nothing this long stops
TICK_S = 1.0                # the controller speaks at least this often
AGENT = "--node-agent"      # argv[1] of a node's agent (not an option)
BOOT = (
    "import sys,os\n"
    "if sys.version_info<(3,6):\n"
    " v=tuple(sys.version_info[:3])\n"
    " sys.stdout.write('hammer-python %d.%d.%d\\n'%v)\n"
    " sys.stdout.flush();sys.exit(3)\n"
    "d=os.path.expanduser(sys.argv[1]);os.makedirs(d)\n"
    "def r(n):\n"
    " b=b''\n"
    " while len(b)<n:\n"
    "  c=os.read(0,n-len(b))\n"
    "  if not c:sys.exit(4)\n"
    "  b+=c\n"
    " return b\n"
    "p=os.path.join(d,'hammer.py')\n"
    "f=open(p,'wb');f.write(r(int(r(12))));f.close()\n"
    "os.execv(sys.executable,[sys.executable,p,'" + AGENT + "',d])\n")


def parse_host(text):
    """'[user@]host[:port]' -> Host; UsageError for anything else, such
    as a string ssh would take as an option (-oProxyCommand=...)."""
    m = HOST_RE.match(text)
    if (not m or text.startswith("-")
            or m.group(3) and not 1 <= int(m.group(3)) <= 65535):
        raise UsageError("--hosts: %r is not [user@]host[:port]" % text)
    return Host(m.group(1), m.group(2).strip("[]"),
                int(m.group(3)) if m.group(3) else None, text)


def parse_hosts(text):
    """--hosts 'h1,h2' or '@FILE' (one host a line, # comments) -> [Host]."""
    if text.startswith("@"):
        data = read_input(text[1:], MAX_HOSTS_FILE_B,
                          "hosts file %r" % text[1:])
        entries = [line.strip() for line in decode_text(
            data, text[1:]).splitlines()]
        entries = [e for e in entries if e and not e.startswith("#")]
    else:
        entries = [e.strip() for e in text.split(",")]
    if not entries or entries == [""]:
        raise UsageError("--hosts names no host")
    if len(entries) > MAX_NODES:
        raise UsageError("--hosts names %d hosts: at most %d"
                         % (len(entries), MAX_NODES))
    return [parse_host(e) for e in entries]


def ssh_command(host, args, remote):
    """The ssh client's argv for one node: BatchMode first (ssh keeps the
    first value of an option), then the user's options."""
    cmd = ["ssh", "-o", "BatchMode=yes"]
    if args.ssh_config:
        cmd += ["-F", args.ssh_config]
    for opt in args.ssh_option:
        cmd += ["-o", opt]
    cmd += ["-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3"]
    if host.port:
        cmd += ["-p", str(host.port)]
    if host.user:
        cmd += ["-l", host.user]
    return cmd + ["--", host.host, remote]


def redact_url(url):
    """A URL with its password, if any, as ***."""
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:)([^/@]*)@", url)
    return url if not m else m.group(1) + "***@" + url[m.end():]


def copy_plan(args):
    """What --hosts copies to each node: [(name in the run directory,
    local path)], and the arguments as the nodes see them (their paths
    rewritten to the copies).  args: the command line, before
    make_plan()."""
    files = []
    d = dict(args)

    def add(path, name):
        files.append((name, path))
        return name

    d["threads"] = locust_threads(d)
    d["script"] = list(d["script"]) + list(d.get("locustfile") or ())
    d["locustfile"] = []
    for k, text in enumerate(d["script"]):
        path, users = parse_script_arg(text)
        name = add(path, "files/script-%d/%s" % (k, os.path.basename(path)))
        d["script"][k] = name if users is None else "%s:%d" % (name, users)
    if d["targets"] is not None:
        here = os.path.dirname(d["targets"])
        data = read_input(d["targets"], MAX_TARGETS_FILE_B,
                          "targets file %r" % d["targets"])
        specs = parse_targets(decode_text(data, d["targets"]), d["targets"])
        for body in sorted(set(t.body_path for t in specs if t.body_path)):
            rel = os.path.normpath(body)
            if os.path.isabs(rel) or rel.startswith(os.pardir):
                raise UsageError("--hosts copies a targets file's bodies"
                                 " beside it: @%s is outside %s's directory"
                                 % (body, d["targets"]))
            add(os.path.join(here, rel), "files/targets/" + rel)
        d["targets"] = add(d["targets"], "files/targets/"
                           + os.path.basename(d["targets"]))
    if d.get("replay") is not None:
        d["replay"] = add(d["replay"], "files/replay/"
                          + os.path.basename(d["replay"]))
    if d["data_file"] is not None:
        d["data_file"] = add(d["data_file"], "files/data/"
                             + os.path.basename(d["data_file"]))
    if d["data"] is not None and d["data"].startswith("@"):
        d["data"] = "@" + add(d["data"][1:], "files/body/"
                              + os.path.basename(d["data"][1:]))
    if d["project"] is not None:
        top = d["project"]
        for root, dirs, names in os.walk(top):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            for n in sorted(names):
                full = os.path.join(root, n)
                if os.path.isfile(full):
                    add(full, "files/project/" + os.path.relpath(full, top))
        d["project"] = "files/project"
    return files, d


class NodeLink(object):
    """The controller's end of one node: its ssh client, a thread that
    reads its lines into the controller's queue, and its state."""

    def __init__(self, number, host, proc, events, merged, python):
        self.number, self.host, self.proc = number, host, proc
        self.python = python    # --remote-python
        self.events, self.merged = events, merged
        self.label = "node %d (%s)" % (number, host.text)
        self.state = "setup"    # ready, running, done, failed
        self.ready = self.done = None
        self.offset = None      # its clock minus ours, seconds
        self.rows = 0           # rows merged from it
        self.asked = False      # for its rows
        self.heard = time.monotonic()   # its last message
        self.err_thread = None
        self.stderr = collections.deque(maxlen=20)
        self.lock = threading.Lock()

    def send(self, message, data=b""):
        with self.lock:
            try:
                self.proc.stdin.write(json.dumps(message).encode() + b"\n"
                                      + data)
                self.proc.stdin.flush()
            except (OSError, ValueError):
                pass    # it is gone: its reader says so

    def close(self):
        with self.lock:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def read_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line.decode("utf-8", "replace").rstrip())

    def read(self):
        """Its lines, into events; its rows, into the merged file."""
        out = self.proc.stdout
        try:
            for line in out:
                try:
                    message = json.loads(line.decode("utf-8"))
                except ValueError:
                    text = line.decode("utf-8", "replace").strip()
                    if text.startswith("hammer-python "):
                        message = {"op": "error", "text": (
                            "remote Python %r is %s: hammer needs 3.6 or"
                            " newer" % (self.python, text.split()[1]))}
                    else:
                        message = {"op": "error", "text": "unexpected"
                                   " output: %r" % text[:200]}
                if message.get("op") == "rows":
                    self.rows = self.merged.add(self, out, message["size"],
                                                message.get("shift_s", 0.0))
                    continue    # its 'end' follows
                self.events.put((self, message))
        except (OSError, ValueError) as exc:
            self.events.put((self, {"op": "error", "text": "reading from the"
                                    " node failed: %s" % exc}))
        code = self.proc.wait()
        self.events.put((self, {"op": "exit", "code": code}))

    def why_exit(self, code):
        """What an ssh client's exit says, in one line."""
        if self.err_thread is not None:
            self.err_thread.join(2.0)
        text = next((t for t in reversed(self.stderr) if t.strip()), "")
        if code == 127:
            return "remote Python %r not found" % self.python
        if text:
            return text
        return "ssh exited with code %d" % code


class MergedRows(object):
    """The controller's results.csv: every node's rows with a node
    column, each node's elapsed moved by its start's distance from the
    run's start (0 when it started on time)."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def open(self):
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND
                          | getattr(os, "O_BINARY", 0))

    def add(self, link, stream, size, shift_s):
        """Copy `size` bytes of a node's results.csv from stream; return
        its rows."""
        suffix = (",%d\n" % link.number).encode()
        state = [False, True]   # in a quoted field; at the file's header
        rows, left = 0, size
        carry = b""
        while left:
            chunk = stream.read(min(left, 1 << 20))
            if not chunk:
                raise OSError("the node's rows ended early")
            left -= len(chunk)
            chunk = carry + chunk
            cut = chunk.rfind(b"\n") + 1
            chunk, carry = chunk[:cut], chunk[cut:]
            if state[1] and chunk:
                head, _, chunk = chunk.partition(b"\n")
                state[1] = False
                if head + b"\n" != CSV_HEADER.encode():
                    raise OSError("the node's results.csv has another"
                                  " header: %r" % head[:100])
            data, count = node_rows(chunk, suffix, shift_s, state)
            rows += count
            if data and self.fd is not None:
                write_all(self.fd, data)
        if carry:
            raise OSError("the node's results.csv ends in a torn line")
        return rows


def node_rows(chunk, suffix, shift_s, state):
    """Whole lines of a node's results.csv -> (the merged file's lines,
    rows).  suffix: b',NODE\\n'; a row's elapsed and scheduled move by
    shift_s; a newline inside a quoted name is kept (state[0] says
    whether the chunk starts inside one)."""
    if not shift_s and not state[0] and b'"' not in chunk:
        return chunk.replace(b"\n", suffix), chunk.count(b"\n")
    out, rows = [], 0
    for line in chunk.split(b"\n")[:-1]:
        starts = not state[0]
        if line.count(b'"') % 2:
            state[0] = not state[0]
        if starts and shift_s:
            cells = line.split(b",", 6)
            cells[0] = b"%.6f" % (float(cells[0]) + shift_s)
            if len(cells) > 5 and cells[5]:
                cells[5] = b"%.6f" % (float(cells[5]) + shift_s)
            line = b",".join(cells)
        if state[0]:
            out.append(line + b"\n")
        else:
            out.append(line + suffix)
            rows += 1
    return b"".join(out), rows


def clock_offset(samples):
    """(offset_s, rtt_s) from pings [(sent, node's time, received)]: the
    node's clock minus ours, by the fastest round trip."""
    sent, theirs, got = min(samples, key=lambda s: s[2] - s[0])
    return theirs - (sent + got) / 2.0, got - sent


def node_arguments(args, plan, number, nodes):
    """The run's arguments as node `number` of `nodes` runs them."""
    d = dict(args)
    counted = plan.groups is not None and (
        len(plan.groups) > 1 or d["project"] is not None
        or parse_script_arg(d["script"][0])[1] is not None)
    if d["concurrency"] is None and plan.shape == "ramp" and not counted:
        d["concurrency"] = plan.users   # the nodes' -p may differ
        d["threads"] = None             # -c instead of -t, as on our side
    if d["project"] is not None:
        d["script"] = []
    d.update(node="%d/%d" % (number, nodes), start_at=None, hosts=None,
             seed=plan.seed, output="results.csv", quiet=True, demo=False,
             ssh_option=[], ssh_config=None, web=None, web_keep=False,
             web_token=None, live=plan.live, monitor=[],
             monitor_interval=None, node_proc=plan.monitor is not None,
             fail_if=[t for t in d["fail_if"]
                      if "".join(t.split()) != "trusted"])
    return d


def run_hosts(args, raw, plan, out, err, view=None):
    """--hosts: run the test on every node over ssh, merge their rows and
    summaries.  raw: the command line's arguments before make_plan();
    view: --web's LiveView, which watches and steers every node."""
    import queue
    import shlex
    import subprocess
    hosts = args.hosts
    files, node_args = copy_plan(raw)
    payload = []
    me = os.path.abspath(__file__)
    try:
        with open(me, "rb") as f:
            source = f.read()
    except OSError as exc:
        raise RunError("cannot read %s to copy it: %s" % (me, exc.strerror))
    total = len(source)
    for name, path in files:
        data = read_input(path, MAX_COPY_B, "file %r" % path)
        total += len(data)
        payload.append((name, data))
    if total > MAX_COPY_B:
        raise UsageError("--hosts would copy %s to each node: at most %s"
                         % (format_bytes(total), format_bytes(MAX_COPY_B)))
    run_id = "%s-%s" % (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
                        "".join("%02x" % b for b in os.urandom(3)))
    n = len(hosts)
    merged = MergedRows(plan.output)
    record = plan_settings(plan)
    record.update(nodes=n, run_id=run_id, node_hosts=[
        {"node": i + 1, "host": h.text, "dir": "~/hammer-runs/%s/node-%d"
         % (run_id, i + 1), "started_epoch_s": None, "rows": None,
         "exit": None} for i, h in enumerate(hosts)])
    if view is not None:
        view.record = record
    if args.collect == "rows":
        header = CSV_HEADER[:-1] + ",node\n"
        try:
            with open(plan.output, "wb") as f:
                f.write(header.encode("ascii"))
            merged.open()
        except OSError as exc:
            raise RunError("cannot write %r: %s" % (plan.output,
                                                    exc.strerror or exc))
    try:
        write_settings(plan.output, record)
    except OSError as exc:
        raise RunError("cannot write %r: %s" % (
            plan.output + SETTINGS_SUFFIX, exc.strerror or exc))
    monitor = None
    if plan.monitor is not None:
        monitor = Monitor(plan, args, err, nodes=n)
        monitor.open()
        if view is not None:
            view.monitor = monitor
    events = queue.Queue()
    links = []
    signals = Signals(err)
    signals.install()
    report = ProgressLine(plan, args.quiet, err.isatty(), err)
    code = None
    try:
        for i, host in enumerate(hosts):
            remote = "exec %s -c %s %s" % (
                shlex.quote(args.remote_python), shlex.quote(BOOT),
                shlex.quote("~/hammer-runs/%s/node-%d" % (run_id, i + 1)))
            try:
                proc = subprocess.Popen(
                    ssh_command(host, args, remote), stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    start_new_session=True)    # Ctrl+C is the controller's
            except OSError as exc:
                raise RunError("cannot run ssh: %s" % (exc.strerror or exc))
            link = NodeLink(i + 1, host, proc, events, merged,
                            args.remote_python)
            links.append(link)
            for target in (link.read, link.read_err):
                th = threading.Thread(target=target)
                th.daemon = True
                th.start()
            link.err_thread = th
            with link.lock:
                try:
                    proc.stdin.write(b"%12d" % len(source) + source)
                    for name, data in payload:
                        proc.stdin.write(json.dumps(
                            {"op": "file", "name": name,
                             "size": len(data)}).encode() + b"\n" + data)
                    proc.stdin.write(json.dumps(
                        {"op": "plan", "args": node_arguments(
                            node_args, plan, i + 1, n)}).encode() + b"\n")
                    proc.stdin.flush()
                except OSError:
                    pass    # its reader reports the exit
        if monitor is not None:
            for link in links:
                monitor.nodes[link.number].link = link
        code = hosts_loop(plan, args, links, events, signals, report, record,
                          out, err, view, monitor)
        return code
    finally:
        report.clear()
        if monitor is not None:
            monitor.close()
        for link in links:
            link.close()
        for link in links:
            try:
                link.proc.wait(NODE_STOP_S if code is not None else 1.0)
            except subprocess.TimeoutExpired:
                link.proc.kill()
                link.proc.wait()
        if merged.fd is not None:
            os.close(merged.fd)
        signals.restore()


def node_failed(link, text, err):
    if link.state != "failed":
        link.state = "failed"
        err.write("hammer: %s: %s\n" % (link.label, text))
        err.flush()


def hosts_loop(plan, args, links, events, signals, report, record, out, err,
               view=None, monitor=None):
    """The controller's run: setup, the start, progress, the end; view:
    --web's LiveView, whose Stop and change of target go to every
    node."""
    import queue
    cpu0 = time.process_time()
    deadline = time.monotonic() + NODE_SETUP_S + plan.timeout_s
    phase, stopping, pings = "setup", None, {}
    stopped_at = None
    collect0 = None
    start_at = plan.start_at
    next_tick = 0.0
    while True:
        if view is not None and signals.received is None and (
                view.stop_wanted):
            signals.received, signals.at = signal.SIGINT, time.time()
        retarget = view.take_retarget() if view is not None else None
        if retarget is not None and phase == "running":
            for link in links:
                link.send({"op": "target", "at_s": retarget.at_s,
                           "stages": [list(s) for s in retarget.stages]})
            report.plan = report.plan._replace(stages=retarget.stages)
            update_settings(record, err,
                            stages=stage_settings(retarget.stages))
        if signals.received and stopping is None:
            stopping = signals.received
            stopped_at = signals.at or time.time()
            report.clear()
            if phase == "setup":
                err.write("hammer: interrupted before the test started\n")
                return 128 + stopping
            err.write("hammer: stopping every node, waiting for requests in"
                      " flight (again to quit at once)\n")
            for link in links:
                link.send({"op": "stop", "signal": stopping})
        try:
            link, message = events.get(timeout=STOP_POLL_S)
        except queue.Empty:
            link = message = None
        now = time.monotonic()
        if now >= next_tick:
            next_tick = now + TICK_S
            for each in links:
                each.send({"op": "tick"})
        op = message.get("op") if message else None
        if link is not None:
            link.heard = now
        if op == "ready":
            link.state, link.ready = "ready", message
        elif op == "progress":
            progress = Progress(link.number, message["elapsed_s"],
                                message["requests"], message["errors"],
                                message["latency_n"],
                                message["latency_total"],
                                message["active"], message.get("busy_s", 0.0),
                                message.get("recent"), message.get("tasks", 0),
                                message.get("live"), message.get("lag_s", 0.0))
            report.update(progress)
            if monitor is not None:
                monitor.progress(progress, link.number)
                proc = message.get("proc")
                if proc:
                    monitor.node_reading(link.number, parse_proc_files(
                        proc["now"] - (link.offset or 0.0), proc["files"]),
                        proc.get("ticks") or 100, proc.get("headroom") or ())
            if view is not None:
                view.add(progress, link.number)
        elif op == "say":
            text = message["text"]
            if text.startswith("hammer: "):
                text = text[len("hammer: "):]
            if not (stopping and text.startswith("stopping")):
                report.clear()
                err.write("hammer: %s: %s\n" % (link.label, text))
        elif op == "error":
            node_failed(link, message["text"], err)
        elif op == "done":
            link.done = message
            if link.state != "failed":
                link.state = "stopped"
        elif op == "end":
            if link.state != "failed":
                link.state = "merged"
        elif op == "exit":
            if link.state not in ("merged", "failed"):
                why = link.why_exit(message["code"])
                node_failed(link, why if phase == "setup" else
                            "the link dropped (%s): its rows stay in %s"
                            % (why, record["node_hosts"][link.number - 1][
                                "dir"]), err)
        if phase == "setup":
            failed = [l for l in links if l.state == "failed"]
            if failed:
                return 1
            if now > deadline:
                for l in links:
                    if l.state == "setup":
                        node_failed(l, "not ready within %gs"
                                    % (NODE_SETUP_S + plan.timeout_s), err)
                return 1
            if all(l.state == "ready" for l in links):
                threads = sum((l.ready["threads_per_process"]
                               for l in links), [])
                plan = plan._replace(threads_per_process=threads,
                                     processes=len(threads))
                record.update(threads_per_process=threads,
                              processes=len(threads))
                for l in links:
                    record["node_hosts"][l.number - 1][
                        "threads_per_process"] = l.ready[
                            "threads_per_process"]
                report.plan = plan
                clock_pings(links, events, pings)
                for l in links:
                    if pings.get(l.number):
                        l.offset = clock_offset(pings[l.number])[0]
                        if abs(l.offset) > CLOCK_WARN_S:
                            err.write(
                                "hammer: warning: %s's clock is %+.3fs off"
                                " this one's: its rows are aligned on its"
                                " own clock (run NTP on every node)\n"
                                % (l.label, l.offset))
                if start_at is None:
                    start_at = time.time() + START_LEAD_S
                if not args.quiet:
                    err.write("hammer: %d nodes ready, starting at %s\n"
                              % (len(links), iso_utc(start_at)))
                for l in links:
                    l.send({"op": "start", "at": start_at})
                    l.state, l.heard = "running", time.monotonic()
                record.update(start_at=iso_utc(start_at),
                              start_at_epoch_s=round(start_at, 6),
                              started=iso_utc(start_at),
                              started_epoch_s=round(start_at, 6))
                report.start(start_at)
                if monitor is not None:
                    monitor.start(start_at)
                phase = "running"
            continue
        if phase == "running":
            for l in links:     # ssh's keep-alives catch a dead link; this,
                if l.state == "running" and now - l.heard > NODE_SILENT_S:
                    node_failed(l, "no word from it for %gs: given up; its"
                                " rows stay in %s" % (NODE_SILENT_S, record[
                                    "node_hosts"][l.number - 1]["dir"]), err)
                    l.proc.kill()   # a node that hangs
            report.prefix = "nodes %d/%d  " % (
                sum(1 for l in links if l.state == "running"), len(links))
            report.show()
            if all(l.state in ("stopped", "merged", "failed")
                   for l in links):
                phase = "collect"
                collect0 = time.monotonic()
                report.clear()
        if phase == "collect":
            waiting = [l for l in links if l.state == "stopped"]
            if not waiting:
                break
            if not any(l.asked for l in waiting):
                waiting[0].asked = True
                waiting[0].send({"op": "send", "rows": args.collect == "rows",
                                 "shift_s": waiting[0].done["started_epoch_s"]
                                 - start_at})
    record.update(collect_s=round(time.monotonic() - collect0, 6),
                  controller_cpu_s=round(time.process_time() - cpu0, 6))
    if monitor is not None:
        monitor.close()
    return finish_hosts(plan, args, links, record, signals.received, out,
                        err, time.process_time() - cpu0,
                        stopped_at and stopped_at - start_at, monitor)


def clock_pings(links, events, pings):
    """CLOCK_PINGS round trips to every node, one at a time each; their
    answers come back through events (other messages wait there)."""
    import queue
    held = []
    for _ in range(CLOCK_PINGS):
        for l in links:
            l.send({"op": "ping", "t": time.time()})
        deadline = time.monotonic() + 2.0
        got = 0
        while got < len(links) and time.monotonic() < deadline:
            try:
                link, message = events.get(timeout=0.1)
            except queue.Empty:
                continue
            if message.get("op") == "pong":
                pings.setdefault(link.number, []).append(
                    (message["t"], message["now"], time.time()))
                got += 1
            else:
                held.append((link, message))
    for item in held:
        events.put(item)


def finish_hosts(plan, args, links, record, signum, out, err, cpu_s,
                 stopped_s=None, monitor=None):
    """The merged summary, from the nodes' workers' counters; stopped_s:
    the elapsed seconds when the signal signum came; monitor: --monitor's
    Monitor, closed."""
    done = {}
    for l in links:
        if l.done is None:
            continue
        shift = l.done["started_epoch_s"] - record["start_at_epoch_s"]
        for w in l.done["workers"]:
            d = Done(*w)
            key = len(done)
            done[key] = d._replace(index=key, end_s=d.end_s + shift)
        entry = record["node_hosts"][l.number - 1]
        entry.update(started_epoch_s=l.done["started_epoch_s"],
                     rows=l.rows if args.collect == "rows" else None,
                     exit=l.done["code"])
    if args.collect == "none":
        plan = plan._replace(output="the nodes' run directories")
    failed = any(l.state == "failed" for l in links)
    if not done:
        return 128 + signum if signum else 1
    code = finish_run(plan, record, done, signum, out, err, (None, None,
                                                            cpu_s),
                      stopped_s=stopped_s, monitor=monitor, offsets=dict(
                          (l.label, l.offset) for l in links))
    if args.collect == "none":
        for l in links:
            err.write("hammer: %s: rows left in %s\n"
                      % (l.label, record["node_hosts"][l.number - 1]["dir"]))
    if signum is not None:
        return 128 + signum
    return 1 if failed else code


class NodeAgent(object):
    """A node's end: reads the controller's messages from stdin, answers
    on a private copy of stdout (the run's own stdout goes to a file, so
    that nothing a script prints can garble the stream)."""

    def __init__(self, directory):
        self.dir = directory
        self.lock = threading.Lock()
        self.out = os.dup(1)
        self.buf = b""
        self.at = None
        self.lost = False
        self.heard = time.monotonic()
        self.sent = 0.0
        self.after = None   # the 'send' request, once the run is done
        self.signum = None
        self.workers = []
        self.threads = None
        self.target = None  # --web: a Retarget from the controller

    # the stream
    def send(self, message, data=b""):
        if self.lost:
            return
        try:
            with self.lock:
                write_all(self.out, json.dumps(message).encode() + b"\n"
                          + data)
        except OSError:
            self.lost = True

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                raise EOFError
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_message(self):
        while b"\n" not in self.buf:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        self.heard = time.monotonic()
        return json.loads(line.decode("utf-8"))

    def listen(self):
        """The controller's messages while the run goes on, until it asks
        for the rows; a stop, or the stream's end or silence, stops the
        run as SIGINT would."""
        try:
            while self.after is None:
                if not self.buf and not select.select([0], [], [],
                                                      NODE_SILENT_S)[0]:
                    raise EOFError
                message = self.read_message()
                op = message.get("op")
                if op == "ping":
                    self.send({"op": "pong", "t": message["t"],
                               "now": time.time()})
                elif op == "start":
                    self.at = message["at"]
                elif op == "stop":
                    self.stop(message.get("signal") or signal.SIGINT)
                elif op == "target":
                    self.target = Retarget(tuple(
                        Stage(*s) for s in message["stages"]),
                        message["at_s"])
                elif op == "send":
                    self.after = message
        except (EOFError, OSError, ValueError):
            self.lost = True
            self.stop(signal.SIGINT)

    def stop(self, signum):
        """Stop the run gracefully, as signum would (run() looks)."""
        self.signum = self.signum or signum

    def stop_signal(self):
        return self.signum

    def retarget(self):
        target, self.target = self.target, None
        return target

    def progress(self, progress):
        pass    # NodeProgress sends it on

    # the run's hooks (StartGate's)
    def ready(self):
        self.send({"op": "ready", "now": time.time(),
                   "threads_per_process": self.threads})

    def instant(self):
        return self.at

    def finished(self, done):
        self.workers = [list(done[i]) for i in sorted(done)]


class NodeErr(object):
    """The run's stderr on a node: to a file, and each line to the
    controller."""

    def __init__(self, agent, path):
        self.agent = agent
        self.file = open(path, "a")
        self.partial = ""

    def write(self, text):
        self.file.write(text)
        self.file.flush()
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            line = line.strip("\r")
            if line.strip():
                self.agent.send({"op": "say", "text": line})

    def flush(self):
        pass

    def isatty(self):
        return False


class NodeProgress(ProgressLine):
    """A node's progress: its counters to the controller each second."""

    def __init__(self, plan, agent, proc=False):
        ProgressLine.__init__(self, plan, True, False, None)
        self.agent = agent
        self.period = PROGRESS_PERIOD_S
        self.sums = LiveSums() if plan.live else None
        self.recent = Histogram() if proc else None    # --monitor's p95
        self.cpus = None    # --monitor: this node's /proc, with its time
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") \
            else 100
        if proc:
            try:
                self.cpus = os.sched_getaffinity(0)
            except AttributeError:
                self.cpus = set(range(os.cpu_count() or 1))

    def update(self, progress):
        ProgressLine.update(self, progress)
        if self.sums is not None and progress.live is not None:
            self.sums.add(progress.index, progress.live)
        if self.recent is not None and progress.recent is not None:
            self.recent.merge(Histogram.from_dict(progress.recent))

    def start(self, start_wall):
        ProgressLine.start(self, start_wall)
        if self.cpus is not None:
            self.next_at = time.monotonic()   # --monitor's first /proc

    def show(self):
        now = time.monotonic()
        if self.start_wall is None or now < self.next_at:
            return
        self.next_at = now + PROGRESS_PERIOD_S
        latest = self.latest.values()
        self.agent.send({
            "op": "progress",
            "elapsed_s": time.time() - self.start_wall,
            "requests": sum(p.requests for p in latest),
            "errors": sum(p.errors for p in latest),
            "tasks": sum(p.tasks for p in latest),
            "latency_n": sum(p.latency_n for p in latest),
            "latency_total": sum(p.latency_total for p in latest),
            "active": sum(p.active for p in latest),
            "busy_s": max([p.busy_s for p in latest] or [0.0]),
            "live": self.sums.take() if self.sums is not None else None,
            "lag_s": max([p.lag_s for p in latest] or [0.0]),
            "recent": self.take_recent(),
            "proc": None if self.cpus is None else {
                "now": time.time(), "files": read_proc_files(self.cpus),
                "ticks": self.ticks, "headroom": headroom(child_pids())}})

    def take_recent(self):
        """The latencies since the last report (a Histogram's dict), for
        the controller's --monitor; None without it."""
        if self.recent is None:
            return None
        recent, self.recent = self.recent, Histogram()
        return recent.to_dict()

    def clear(self):
        pass


def agent_main(directory):
    """A node's agent (see BOOT): set up, run, report, send the rows."""
    agent = NodeAgent(directory)
    os.chdir(directory)
    log = os.open("stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                  0o644)
    os.dup2(log, 1)     # what a script prints lands here
    err = NodeErr(agent, "stderr.txt")
    try:
        while True:
            message = agent.read_message()
            if message["op"] == "file":
                name = os.path.normpath(message["name"])
                if os.path.isabs(name) or name.startswith(os.pardir):
                    raise RunError("refused file name %r" % message["name"])
                data = agent.read_exact(message["size"])
                if os.path.dirname(name):
                    os.makedirs(os.path.dirname(name), exist_ok=True)
                with open(name, "wb") as f:
                    f.write(data)
            elif message["op"] == "plan":
                break
        args = argparse.Namespace(**message["args"])
        with open("summary.txt", "w") as out:
            code = agent_run(agent, args, out, err)
    except EOFError:
        return 1
    except UsageError as exc:
        agent.send({"op": "error", "text": str(exc)})
        return 2
    except (RunError, OSError) as exc:
        agent.send({"op": "error", "text": str(exc)})
        return 1
    return code


def agent_run(agent, args, out, err):
    """The node's run, as main() would, with the agent's hooks."""
    plan = make_plan(args)
    problem = capacity_problem(plan.threads_per_process, box_limits(),
                               plan.engine)
    if problem:
        raise RunError(problem)
    where = probe(plan, args.insecure, args.timeout)
    record = plan_settings(plan)
    create_output(plan.output, record)
    agent.threads = plan.threads_per_process
    listener = threading.Thread(target=agent.listen)
    listener.daemon = True
    listener.start()
    code = run(plan, where, record, out, err, True, gate=agent,
               progress=NodeProgress(plan, agent, getattr(
                   args, "node_proc", False)))
    out.flush()
    agent.send({"op": "done", "code": code, "workers": agent.workers,
                "started_epoch_s": record.get("started_epoch_s")})
    listener.join()
    if agent.lost or agent.after is None:
        return code
    shift = agent.after.get("shift_s", 0.0)
    if agent.after.get("rows"):
        size = os.path.getsize(plan.output)
        agent.send({"op": "rows", "size": size, "shift_s": shift})
        with open(plan.output, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                try:
                    with agent.lock:
                        write_all(agent.out, chunk)
                except OSError:
                    agent.lost = True
                    break
    agent.send({"op": "end"})
    return code


# --- --monitor: the samplers over /proc, ssh and node_exporter ---------------

# Each monitored host has a source that yields Readings (its counters) on
# a thread of the parent, never in a worker: the generator's box and
# `local` read /proc here; a HOST runs MONITOR_SCRIPT, a fixed POSIX sh
# loop, over the system's ssh and sends raw /proc texts, which
# MonitorStream parses; a node_exporter URL is fetched.  The Monitor
# turns each two Readings into Samples (reading_metrics()), writes them
# to <output>.monitor.csv and keeps them for the verdicts.

MonitorSpec = collections.namedtuple("MonitorSpec", "text kind host names")
# The far side's sampler: $1 the interval, $2 the most samples, then the
# process names (each as /proc/PID/comm shows it).  Nothing of the user's
# is in its text: the names come as quoted arguments.
MONITOR_SCRIPT = r"""i=$1; n=$2; shift 2
t=$(getconf CLK_TCK 2>/dev/null) || t=100
echo "@@hammer-monitor $t"
for f in /sys/class/net/*/speed; do
 s=$( (cat "$f") 2>/dev/null) && d=${f%/speed} && echo "@@speed ${d##*/} $s"
done
k=0
while [ "$k" -lt "$n" ]; do
 k=$((k+1))
 echo "@@sample $(date +%s.%N)"
 for f in /proc/stat /proc/meminfo /proc/loadavg /proc/net/dev /proc/diskstats
 do
  if [ -r "$f" ]; then echo "@@file $f"; cat "$f"; else echo "@@missing $f"; fi
 done
 if [ $# -gt 0 ]; then
  for d in /proc/[0-9]*; do
   { read -r c < "$d/comm"; } 2>/dev/null || continue
   for p in "$@"; do
    if [ "$c" = "$p" ]; then
     echo "@@proc $p ${d#/proc/}"; cat "$d/stat" "$d/status" 2>/dev/null
    fi
   done
  done
 fi
 echo "@@end"
 sleep "$i" || exit 1
done
"""
PROC_NAME_RE = re.compile(r"^[A-Za-z0-9_.+@:-]{1,64}$")
COMM_B = 15     # /proc/PID/comm holds a name's first 15 bytes


def parse_monitor_spec(text):
    """--monitor SPEC -> MonitorSpec: 'local', '[user@]HOST[:PORT]',
    either with '=NAME[,NAME]' (processes), or an http:// URL of a
    node_exporter.  UsageError says why not."""
    if text.startswith(("http://", "https://")):
        try:
            url = parse_url(text)
        except UsageError as exc:
            raise UsageError("--monitor %r: %s" % (text, exc))
        return MonitorSpec(text, "exporter", url, ())
    if OWN_HOST_RE.match(text):
        raise UsageError("--monitor %r is the name of hammer's own samples:"
                         " give the host as user@%s, %s:22 or its address"
                         % (text, text, text))
    where, eq, names = text.partition("=")
    host = None
    if where != "local":
        try:
            host = parse_host(where)
        except UsageError:
            raise UsageError("--monitor %r is not local, [user@]host[:port]"
                             "[=NAME,...] or a node_exporter's http:// URL"
                             % text)
    procs = ()
    if eq:
        procs = tuple(n.strip() for n in names.split(","))
        for name in procs:
            if not PROC_NAME_RE.match(name):
                raise UsageError("--monitor %r: %r is not a process name"
                                 % (text, name))
    return MonitorSpec(text, "local" if host is None else "ssh", host,
                       procs)


class MonitorStream(object):
    """The far side's sampler output, fed one line (bytes) at a time:
    feed() returns what a line completes, ('hello', ticks per second),
    ('speed', iface, Mb/s) or ('reading', Reading), else None.  `now`
    stands for a sample's time when its date has no fraction.  Too many
    lines in one sample raise ValueError."""

    def __init__(self, names=()):
        self.comm = dict((n[:COMM_B], n) for n in names)
        self.t = None
        self.files = self.procs = None
        self.current = None     # the list of lines being filled
        self.lines = 0

    def feed(self, line, now):
        text = line.decode("utf-8", "replace").rstrip("\n")
        if not text.startswith("@@"):
            if self.current is not None:
                self.lines += 1
                if self.lines > MAX_SAMPLE_LINES:
                    raise ValueError("a sample of more than %d lines"
                                     % MAX_SAMPLE_LINES)
                self.current.append(text)
            return None
        word, _, rest = text[2:].partition(" ")
        if word == "hammer-monitor":
            try:
                return ("hello", int(rest) or 100)
            except ValueError:
                return ("hello", 100)
        if word == "speed":
            iface, _, value = rest.partition(" ")
            try:
                speed = float(value)
            except ValueError:
                return None
            return ("speed", iface, speed) if speed > 0 else None
        if word == "sample":
            try:
                self.t = float(rest)
            except ValueError:
                self.t = now
            self.files, self.procs, self.current = {}, {}, None
            self.lines = 0
        elif word == "file" and self.files is not None:
            self.current = self.files.setdefault(rest, [])
        elif word == "missing":
            self.current = None
        elif word == "proc" and self.procs is not None:
            name, _, pid = rest.partition(" ")
            self.current = self.procs.setdefault(
                self.comm.get(name, name), {}).setdefault(pid, [])
        elif word == "end" and self.files is not None:
            files = dict((k, "\n".join(v)) for k, v in self.files.items())
            procs = dict((name, dict((pid, (lines[0] if lines else "",
                                            "\n".join(lines[1:])))
                                     for pid, lines in pids.items()))
                         for name, pids in self.procs.items())
            for name in self.comm.values():
                procs.setdefault(name, {})
            self.files = self.procs = self.current = None
            return ("reading", parse_proc_files(self.t, files, procs))
        return None


def read_proc_files(cpus=None):
    """This box's PROC_FILES as {path: text} (those it has); with cpus
    (a set of numbers), /proc/stat keeps only those CPUs, and its 'cpu'
    line is their sum."""
    files = {}
    for path in PROC_FILES:
        try:
            with open(path) as f:
                files[path] = f.read(MAX_SAMPLE_B)
        except OSError:
            pass
    if cpus is not None and "/proc/stat" in files:
        kept, total = [], [0] * 8
        for line in files["/proc/stat"].splitlines():
            name = line.split(" ", 1)[0]
            if name[:3] == "cpu" and name[3:].isdigit():
                if int(name[3:]) in cpus:
                    kept.append(line)
                    total = [a + int(b) for a, b in zip(
                        total, (line.split()[1:9] + ["0"] * 8)[:8])]
        files["/proc/stat"] = "\n".join(
            ["cpu " + " ".join(map(str, total))] + kept)
    return files


def local_procs(names):
    """{name: {pid: (stat text, status text)}} of this box's processes
    whose /proc/PID/comm is one of names (first COMM_B bytes)."""
    found = dict((n, {}) for n in names)
    comm = dict((n[:COMM_B], n) for n in names)
    if not names:
        return found
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                name = comm.get(f.read().rstrip("\n"))
            if name is None:
                continue
            with open("/proc/%s/stat" % pid) as f:
                stat_text = f.read()
            with open("/proc/%s/status" % pid) as f:
                status_text = f.read()
        except OSError:
            continue
        found[name][pid] = (stat_text, status_text)
    return found


def net_speeds():
    """{iface: Mb/s} of this box's interfaces that say their speed."""
    speeds = {}
    try:
        ifaces = os.listdir("/sys/class/net")
    except OSError:
        return speeds
    for iface in ifaces:
        speed = read_number("/sys/class/net/%s/speed" % iface)
        if speed is not None and speed > 0:
            speeds[iface] = float(speed)
    return speeds


def fd_use(pid):
    """(open files, their soft limit) of a process, or None."""
    try:
        count = len(os.listdir("/proc/%d/fd" % pid))
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max open files"):
                    return count, int(line.split()[3])
    except (OSError, ValueError, IndexError):
        pass
    return None


def headroom(pids):
    """fd_used_pct (the fullest of the processes pids) and ports_used_pct
    (port_use() of their open files), as [(metric, value)]; [] when
    /proc does not say."""
    uses = [u for u in map(fd_use, pids) if u is not None and u[1]]
    if not uses:
        return []
    out = [("fd_used_pct", max(100.0 * n / limit for n, limit in uses))]
    ports = port_use(sum(n for n, _ in uses))
    if ports is not None:
        out.append(("ports_used_pct", ports))
    return out


def child_pids():
    """This process's children (a node's workers), from /proc."""
    pids = []
    try:
        for task in os.listdir("/proc/self/task"):
            with open("/proc/self/task/%s/children" % task) as f:
                pids += [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        pass
    return pids


def port_use(sockets):
    """The ephemeral ports in use, in % of the range: hammer's sockets
    (about its open files) and the box's TIME_WAIT ones, or None."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = map(int, f.read().split()[:2])
        with open("/proc/net/sockstat") as f:
            m = re.search(r"^TCP:.*\btw (\d+)", f.read(), re.M)
        tw = int(m.group(1)) if m else 0
    except (OSError, ValueError):
        return None
    return 100.0 * (sockets + tw) / max(1, high - low + 1)


class HostSource(object):
    """A monitored host: its label (the spec as given, or generator),
    what reading() returns, the ticks per second of its CPU counters and
    its interfaces' speeds."""

    kind = "local"

    def __init__(self, label, names=()):
        self.label, self.names = label, tuple(names)
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") \
            else 100
        self.speeds = {}
        self.offset = 0.0   # its clock minus ours

    def open(self, timeout_s):
        self.speeds = net_speeds()

    def readings(self):
        """The Readings since the last call, oldest first (OSError when
        the host is lost)."""
        return [self.reading()]

    def reading(self):
        return parse_proc_files(time.time(), read_proc_files(),
                                local_procs(self.names))

    def extra(self, span_s):
        """Samples besides the Readings' (the generator's own figures)."""
        return []

    def close(self):
        pass


class GeneratorSource(HostSource):
    """The box hammer runs on, as its CPUs hammer may use see it, with
    hammer's own figures: the busiest worker, the send lag, fds and
    ports.  feed() takes the workers' Progress."""

    def __init__(self):
        HostSource.__init__(self, "generator")
        try:
            self.cpus = os.sched_getaffinity(0)
        except AttributeError:
            self.cpus = None
        self.lock = threading.Lock()
        self.latest, self.before = {}, {}
        self.lag = {}       # worker -> the longest lag since the sample
        self.pids = ()

    def feed(self, progress):
        with self.lock:
            self.latest[progress.index] = progress
            self.before.setdefault(progress.index, progress)
            self.lag[progress.index] = max(self.lag.get(progress.index, 0.0),
                                           progress.lag_s or 0.0)

    def reading(self):
        return parse_proc_files(time.time(), read_proc_files(self.cpus))

    def extra(self, span_s):
        out = []
        with self.lock:
            latest, before = dict(self.latest), self.before
            self.before = latest
            lag, self.lag = self.lag, {}
        busy = [(p.busy_s - before[i].busy_s) / (p.elapsed_s
                                                 - before[i].elapsed_s)
                for i, p in latest.items() if i in before
                and p.elapsed_s > before[i].elapsed_s]
        if busy:
            out.append(("worker_cpu_max_pct", 100.0 * max(busy)))
        if lag:
            out.append(("send_lag_ms", 1000.0 * max(lag.values())))
        return out + self.headroom()

    def headroom(self):
        return headroom(self.pids)


class NodeSource(GeneratorSource):
    """A --hosts node, hammer's own: its /proc and its workers' figures
    come with its progress over the existing link (push(), feed())."""

    kind = "node"

    def __init__(self, number):
        GeneratorSource.__init__(self)
        self.label = "node-%d" % number
        self.pending = collections.deque(maxlen=1000)
        self.link = None
        self.room = []      # its latest headroom()

    def open(self, timeout_s):
        pass    # it speaks once the nodes are set up

    def push(self, reading, ticks, room=()):
        """A Reading of the node's /proc; room: its headroom()."""
        with self.lock:
            self.pending.append(reading)
            self.ticks = ticks
            self.room = [tuple(pair) for pair in room]

    def headroom(self):
        with self.lock:
            return list(self.room)

    def readings(self):
        with self.lock:
            taken = list(self.pending)
            self.pending.clear()
        if not taken and self.link is not None and (
                self.link.state == "failed"):
            raise OSError("its link dropped")
        return taken


class SSHSource(HostSource):
    """A HOST over the system's ssh: MONITOR_SCRIPT's lines, read by a
    thread into Readings; the clock offset from the samples' dates."""

    kind = "ssh"

    def __init__(self, spec, args, interval_s, count):
        HostSource.__init__(self, spec.text, spec.names)
        self.spec, self.args = spec, args
        self.interval_s, self.count = interval_s, count
        self.proc = self.err_thread = self.read_thread = None
        self.pending = collections.deque(maxlen=1000)
        self.ready = threading.Event()
        self.lock = threading.Lock()
        self.error = None
        self.stderr = collections.deque(maxlen=5)
        self.offsets = []

    def command(self):
        import shlex
        words = ["exec", "sh", "-c", MONITOR_SCRIPT, "hammer-monitor",
                 "%g" % self.interval_s, str(self.count)] + [
                     n[:COMM_B] for n in self.names]
        return ssh_command(self.spec.host, self.args, " ".join(
            shlex.quote(w) for w in words))

    def open(self, timeout_s):
        import subprocess
        try:
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True)
        except OSError as exc:
            raise RunError("--monitor %s: cannot run ssh: %s"
                           % (self.label, exc.strerror or exc))
        self.err_thread = threading.Thread(target=self.read_err)
        self.err_thread.daemon = True
        self.err_thread.start()
        self.read_thread = threading.Thread(target=self.read)
        self.read_thread.daemon = True
        self.read_thread.start()
        if not self.ready.wait(timeout_s):
            self.close()
            raise RunError("--monitor %s: no sample within %gs"
                           % (self.label, timeout_s))
        if self.error is not None and not self.pending:
            raise RunError("--monitor %s: %s" % (self.label, self.error))

    def read_err(self):
        for line in self.proc.stderr:
            text = line.decode("utf-8", "replace").strip()
            if text:
                self.stderr.append(text[:200])

    def read(self):
        stream = MonitorStream(self.names)
        out = self.proc.stdout
        try:
            while True:
                line = out.readline(MAX_SAMPLE_LINE_B)
                if not line:
                    break
                now = time.time()
                event = stream.feed(line, now)
                if event is None:
                    continue
                if event[0] == "hello":
                    self.ticks = event[1]
                elif event[0] == "speed":
                    self.speeds[event[1]] = event[2]
                else:
                    reading = event[1]
                    with self.lock:
                        self.offsets.append(reading.t - now)
                        del self.offsets[:-50]
                        self.pending.append(reading)
                    self.ready.set()
        except (OSError, ValueError) as exc:
            self.error = str(exc)
        code = self.proc.wait()
        if self.error is None:
            if self.err_thread is not None:
                self.err_thread.join(2.0)
            why = self.stderr[-1] if self.stderr else None
            self.error = why or "ssh exited with code %d" % code
        self.ready.set()

    def readings(self):
        """The Readings not yet taken, on our clock: its offset is the
        largest of a sample's date minus our time of arrival (the
        fastest trip).  OSError once the stream ended."""
        with self.lock:
            taken = list(self.pending)
            self.pending.clear()
            if self.offsets:
                self.offset = max(self.offsets)
        if not taken and self.error is not None:
            raise OSError(self.error)
        return [r._replace(t=r.t - self.offset) for r in taken]

    def close(self):
        """Stop the ssh client (the far side's loop dies with its
        stream), reap it, and close its pipes."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
        try:
            self.proc.wait(2.0)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        for th in (self.read_thread, self.err_thread):
            if th is not None:
                th.join(2.0)
        for pipe in (self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass


class ExporterSource(HostSource):
    """A node_exporter: its page fetched each period by a thread of its
    own (a slow exporter never holds up the other hosts), each fetch
    bounded by timeout_s; the first fetch fails the run's start."""

    kind = "exporter"

    def __init__(self, spec, timeout_s, interval_s):
        HostSource.__init__(self, spec.text)
        self.url, self.timeout_s = spec.host, timeout_s
        self.interval_s = interval_s
        self.ticks = 1      # its CPU counters are seconds
        self.lock = threading.Lock()
        self.pending = collections.deque(maxlen=1000)
        self.error = self.thread = None
        self.stop = threading.Event()

    def fetch(self):
        import http.client
        url = self.url
        cls = (http.client.HTTPSConnection if url.scheme == "https"
               else http.client.HTTPConnection)
        conn = cls(url.host, url.port, timeout=self.timeout_s)
        try:
            conn.request("GET", url.path, headers={
                "User-Agent": USER_AGENT, "Accept": "text/plain"})
            response = conn.getresponse()
            body = response.read(MAX_SAMPLE_B + 1)
            if response.status != 200:
                raise OSError("status %d" % response.status)
            if len(body) > MAX_SAMPLE_B:
                raise OSError("a page bigger than %s"
                              % format_bytes(MAX_SAMPLE_B))
            return body.decode("utf-8", "replace")
        finally:
            conn.close()

    def get(self):
        """The page; OSError says why not, in words."""
        try:
            return self.fetch()
        except (OSError, http_client_errors()) as exc:
            raise OSError(describe_error(exc, self.timeout_s))

    def open(self, timeout_s):
        try:
            self.pending.append(self.reading())
        except OSError as exc:
            raise RunError("--monitor %s: cannot fetch it: %s"
                           % (self.label, exc))
        self.thread = threading.Thread(target=self.poll)
        self.thread.daemon = True
        self.thread.start()

    def poll(self):
        while not self.stop.wait(self.interval_s):
            try:
                reading = self.reading()
            except OSError as exc:
                self.error = str(exc)
                return
            with self.lock:
                self.pending.append(reading)

    def reading(self):
        return parse_node_exporter(time.time(), self.get())

    def readings(self):
        """The pages fetched since the last call; OSError once a fetch
        failed."""
        with self.lock:
            taken = list(self.pending)
            self.pending.clear()
        if not taken and self.error is not None:
            raise OSError(self.error)
        return taken

    def close(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(self.timeout_s + 1.0)


def http_client_errors():
    import http.client
    return http.client.HTTPException


class Monitor(object):
    """--monitor's samplers: one thread that reads every source each
    interval (an ssh source's own thread reads its stream), the samples
    in time order, and <output>.monitor.csv.  Pure parts do the rest."""

    def __init__(self, plan, args, err, nodes=0):
        self.interval_s = plan.monitor.interval_s
        self.path = plan.output + MONITOR_SUFFIX
        self.err = err
        count = int(math.ceil((plan.runtime_s + plan.timeout_s
                               + NODE_SETUP_S) / self.interval_s)) + 10
        self.generator = GeneratorSource()
        self.nodes = dict((i, NodeSource(i)) for i in range(1, nodes + 1))
        self.sources = [self.generator] + [self.nodes[i] for i in
                                           sorted(self.nodes)]
        for spec in plan.monitor.specs:
            if spec.kind == "local":
                self.sources.append(HostSource(spec.text, spec.names))
            elif spec.kind == "ssh":
                self.sources.append(SSHSource(spec, args, self.interval_s,
                                              count))
            else:
                self.sources.append(ExporterSource(spec, min(
                    MONITOR_WAIT_S, max(1.0, 2 * self.interval_s)),
                    self.interval_s))
        self.samples = []
        self.lock = threading.Lock()
        self.start_wall = None
        self.stop_flag = threading.Event()
        self.thread = None
        self.previous = {}      # label -> its last Reading
        self.lost, self.missing_said = [], set()
        self.periods = []
        self.run_totals = {}
        self.counted = (0, 0)
        self.recent = Histogram()
        self.file = None
        self.heard = {}

    # before the start
    def open(self):
        """Reach every host, and take a first Reading of each: RunError
        names the first that cannot be sampled."""
        try:
            self.file = open(self.path, "w")
            self.file.write(MONITOR_HEADER)
            self.file.flush()
        except OSError as exc:
            raise RunError("cannot write %r: %s" % (self.path,
                                                    exc.strerror or exc))
        try:
            for source in self.sources:
                source.open(MONITOR_WAIT_S)
                try:
                    readings = source.readings()
                except OSError as exc:
                    raise RunError("--monitor %s: %s" % (source.label, exc))
                for reading in readings:
                    self.note_missing(source, reading)
                    self.previous[source.label] = reading
                self.heard[source.label] = time.monotonic()
        except BaseException:
            self.close()
            raise
        self.thread = threading.Thread(target=self.loop)
        self.thread.daemon = True
        self.thread.start()

    def say(self, line):
        """A warning line from the sampling thread: on a TTY, over the
        progress line (which the next second redraws)."""
        tty = getattr(self.err, "isatty", lambda: False)()
        self.err.write(("\r\x1b[K" if tty else "") + line + "\n")
        self.err.flush()

    def note_missing(self, source, reading):
        for what in reading.missing:
            if (source.label, what) not in self.missing_said:
                self.missing_said.add((source.label, what))
                self.say("hammer: warning: --monitor %s has no %s: its"
                         " metrics are left out" % (source.label, what))

    def start(self, start_wall, pids=()):
        self.start_wall = start_wall
        self.generator.pids = tuple(pids)
        now = time.monotonic()
        for label in self.heard:    # silence counts from the start
            self.heard[label] = now

    def node_reading(self, number, reading, ticks=100, room=()):
        """Node `number`'s /proc and headroom, as its progress brought
        them."""
        self.nodes[number].push(reading, ticks, room)

    def progress(self, progress, node=None):
        """A worker's Progress (or node `node`'s): the generator's (or
        the node's) figures and the run's periods."""
        (self.generator if node is None else self.nodes[node]).feed(progress)
        with self.lock:
            self.run_totals[progress.index] = progress
            if progress.recent is not None:
                self.recent.merge(Histogram.from_dict(progress.recent))

    # the sampling thread
    def loop(self):
        next_at = time.monotonic() + self.interval_s
        while not self.stop_flag.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.interval_s
            if time.monotonic() > next_at:   # fell behind: no burst
                next_at = time.monotonic() + self.interval_s
            self.sample_all()

    def sample_all(self):
        now = time.monotonic()
        for source in self.sources:
            if source.label in self.lost:
                continue
            try:
                readings = source.readings()
            except OSError as exc:
                self.lose(source, str(exc))
                continue
            silent = now - self.heard[source.label]
            if not readings and self.start_wall is not None and silent > max(
                    MONITOR_WAIT_S, 5 * self.interval_s):
                self.lose(source, "no sample for %.0fs" % silent)
            for reading in readings:
                self.heard[source.label] = now
                self.take(source, reading)
        if self.start_wall is not None:
            self.period(time.time() - self.start_wall)

    def take(self, source, reading):
        """A source's new Reading: the samples of its period, once the
        run has started."""
        self.note_missing(source, reading)
        before = self.previous.get(source.label)
        self.previous[source.label] = reading
        if before is None or self.start_wall is None:
            return
        elapsed = reading.t - self.start_wall
        if elapsed < 0:
            return
        metrics = reading_metrics(before, reading, source.ticks)
        metrics += source.extra(reading.t - before.t)
        self.add([Sample(elapsed, source.label, m, v) for m, v in metrics])

    def period(self, at_s):
        """Close the run's Period ending at at_s (elapsed seconds)."""
        with self.lock:
            totals = self.run_totals.values()
            requests = sum(p.requests for p in totals)
            errors = sum(p.errors for p in totals)
            hist, self.recent = self.recent, Histogram()
        requests0, errors0 = self.counted
        self.counted = (requests, errors)
        self.periods.append(Period(at_s, requests - requests0,
                                   errors - errors0, hist.percentile(95)
                                   if hist.n else None))

    def latest(self):
        """The live view's monitor panel: latest_samples() and the hosts
        lost."""
        with self.lock:
            tail = self.samples[-LATEST_SAMPLES_MAX:]
        return {"hosts": latest_samples(tail), "lost": list(self.lost)}

    def speeds(self):
        """{host: {iface: Mb/s}} of the hosts whose speeds are known."""
        return dict((s.label, s.speeds) for s in self.sources if s.speeds)

    def lose(self, source, why):
        self.lost.append(source.label)
        self.say("hammer: warning: --monitor %s lost during the run: %s;"
                 " its samples stop, the load goes on" % (source.label, why))

    def add(self, samples):
        with self.lock:
            self.samples += samples
            if self.file is not None:
                try:
                    self.file.write("".join(map(monitor_line, samples)))
                    self.file.flush()
                except OSError:
                    pass

    def close(self):
        """Stop sampling, take what the hosts sent last, close them."""
        if self.stop_flag.is_set():
            return
        self.stop_flag.set()
        if self.thread is not None:
            self.thread.join(MONITOR_WAIT_S)
            self.sample_all()
        for source in self.sources:
            source.close()
        if self.file is not None:
            self.file.close()
            self.file = None


# --- the live view: --web and /metrics ---------------------------------------

# The live view's figures are the workers' own: each Progress carries
# LiveTap.take()'s data (rows by name and status, errors by kind, and the
# latency Histograms of the rows counted since its last report).  The
# parent adds them up (LiveSums) and closes a second once every worker
# (or node) has reported, so that a second's percentiles are those of its
# responses, merged across processes and nodes.  The page polls
# GET /api/state once a second (see README: The live view).

DEFAULT_WEB = ("127.0.0.1", 8089)   # Locust's port
WEB_SECOND_S = 1.0          # the live view's second: at least this long
WEB_SECOND_MAX_S = 1.5      # closed then even if a worker has not reported
WEB_WINDOW_S = 10           # the live histogram: the last 10 seconds
WEB_SERIES_MAX = 3600       # seconds the charts keep (the oldest go)
WEB_RETARGET_LEAD_S = 0.25  # a change of target applies this far ahead,
WEB_HOSTS_LEAD_S = 1.0      # and over --hosts this far, for the ssh links
MAX_WEB_BODY_B = 65536      # a POST's body
CRUNCH_TIMEOUT_S = 300      # crunch's HTML report of a run, made at most
WEB_TOKEN_B = 18            # random bytes of a generated --web-token
# /metrics' hammer_latency_seconds buckets, fine around a 1 ms SLO
METRICS_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015,
                     0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1,
                     0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LIVE_PERCENTILES = (50, 95, 99)
# The live histogram's bins: 10 a decade from 10 us (their upper edges)
HISTOGRAM_EDGES_US = tuple(int(round(10 ** (1 + k / 10.0)))
                           for k in range(0, 71))


def parse_web(text):
    """--web's HOST:PORT, PORT or nothing -> (host, port)."""
    if not text:
        return DEFAULT_WEB
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = DEFAULT_WEB[0], text
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port.isdigit() or int(port) > 65535 or not host:
        raise ValueError("%r is not HOST:PORT, as in 127.0.0.1:8089 or"
                         " 0.0.0.0:8089" % text)
    return host, int(port)


def is_loopback(host):
    """Whether an address is the box's own loopback."""
    if host == "localhost":
        return True
    try:
        import ipaddress
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(header, bound):
    """Whether a request's Host header names this view: its bound address,
    localhost or a loopback address; bound to every address (0.0.0.0,
    ::), any address written as such (a DNS rebinding needs a name)."""
    if not header:
        return False
    name = header.strip().lower()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name in ("localhost", "127.0.0.1", "::1", bound.lower()):
        return True
    try:
        import ipaddress
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return bound in ("0.0.0.0", "::")


def redact_argv(argv):
    """A command line as the view shows it: header values, URL passwords
    and the token as ***, however the option is spelt (-H V, -HV,
    --header V, --header=V, or a prefix argparse takes, as --head=V)."""
    options = build_parser()._option_string_actions   # every spelling

    def secret(option):
        """'header', 'token' or None: what an option's value holds."""
        if option == "-H":
            return "header"
        for long_name, kind in (("--header", "header"),
                                ("--web-token", "token")):
            if option == long_name or (
                    len(option) > 4 and long_name.startswith(option)
                    and option not in options):     # not --web itself
                return kind
        return None

    def hidden(kind, value):
        name, sep, _ = value.partition(":")
        return name + sep + " ***" if kind == "header" and sep else "***"

    shown, hide = [], None
    for word in argv:
        if hide:
            shown.append(hidden(hide, word))
            hide = None
            continue
        option, eq, value = word.partition("=")
        if word.startswith("--") and eq and secret(option):
            shown.append(option + "=" + hidden(secret(option), value))
        elif secret(word):
            hide = secret(word)
            shown.append(word)
        elif word.startswith("-H") and not word.startswith("--"):
            shown.append("-H" + hidden("header", word[2:]))
        else:
            shown.append(redact_url(word))
    return shown


class LiveSums(object):
    """The live data (LiveTap.take()'s) of several sources, workers or
    nodes, added up: their counters (each source's latest, since the
    start) and their latency Histograms since the last take()."""

    def __init__(self):
        self.latest = {}    # source -> its last data
        self.clear()

    def clear(self):
        self.latency, self.service, self.names = Histogram(), None, {}

    def add(self, source, data):
        self.latest[source] = data
        self.latency.merge(Histogram.from_dict(data["latency"]))
        if data.get("service") is not None:
            if self.service is None:
                self.service = Histogram()
            self.service.merge(Histogram.from_dict(data["service"]))
        for suffix, hist in data["name_latency"].items():
            self.names.setdefault(suffix, Histogram()).merge(
                Histogram.from_dict(hist))

    def counters(self):
        """(Counter {(suffix, status): rows}, Counter {kind: errors},
        {suffix: [requests, errors]}) over every source."""
        rows, errors, names = (collections.Counter(),
                               collections.Counter(), {})
        for data in self.latest.values():
            rows.update(dict(((s, status), n)
                             for s, status, n in data["rows"]))
            errors.update(data["errors"])
            for suffix, (requests, failed) in data["names"].items():
                mine = names.setdefault(suffix, [0, 0])
                mine[0] += requests
                mine[1] += failed
        return rows, errors, names

    def take(self):
        """The sources' data added up, as one source's (a node's to its
        controller); the Histograms start afresh."""
        rows, errors, names = self.counters()
        data = {"rows": [[s, status, n] for (s, status), n in rows.items()],
                "errors": dict(errors), "names": names,
                "latency": self.latency.to_dict(),
                "service": (self.service.to_dict()
                            if self.service is not None else None),
                "name_latency": dict((s, h.to_dict())
                                     for s, h in self.names.items())}
        self.clear()
        return data


def ms(seconds):
    return round(seconds * 1000.0, 3)


def histogram_bins(hist):
    """The live histogram: [[from_ms, to_ms, count]] on
    HISTOGRAM_EDGES_US, from the first bin with a count to the last."""
    counts = [0] * (len(HISTOGRAM_EDGES_US) + 1)
    for key, n in hist.counts.items():
        counts[bisect.bisect_left(HISTOGRAM_EDGES_US, key)] += n
    used = [i for i, n in enumerate(counts) if n]
    if not used:
        return []
    edges = (0,) + HISTOGRAM_EDGES_US + (math.inf,)
    return [[edges[i] / 1000.0, edges[i + 1] / 1000.0
             if edges[i + 1] != math.inf else None, counts[i]]
            for i in range(used[0], used[-1] + 1)]


def metrics_text(rows, errors, hist, users, target_rps, up):
    """The Prometheus text exposition (format 0.0.4) of a run so far:
    rows (Counter {('METHOD,name', status): rows}), errors (Counter
    {kind: rows}), hist (the answered latency Histogram), the users, the
    target rate and whether a run goes on."""
    def label(value):
        return (str(value).replace("\\", "\\\\").replace("\n", "\\n")
                .replace('"', '\\"'))
    lines = ["# HELP hammer_requests_total Rows written (requests, timers,"
             " failed tasks), by name and status.",
             "# TYPE hammer_requests_total counter"]
    by_name = collections.Counter()
    for (suffix, status), n in rows.items():
        by_name[(split_suffix(suffix)[1], status)] += n
    for (name, status), n in sorted(by_name.items(),
                                    key=lambda kv: (kv[0][0], str(kv[0][1]))):
        lines.append('hammer_requests_total{name="%s",status="%s"} %d'
                     % (label(name), label(status), n))
    lines += ["# HELP hammer_errors_total Errors, by kind (transport kinds,"
              " the script's, Nxx statuses, task).",
              "# TYPE hammer_errors_total counter"]
    for kind, n in sorted(errors.items()):
        lines.append('hammer_errors_total{kind="%s"} %d' % (label(kind), n))
    lines += ["# HELP hammer_latency_seconds Latency of the responses (from"
              " the slot under --rate).",
              "# TYPE hammer_latency_seconds histogram"]
    keys, counts = hist.sorted_counts()
    cumulative = list(itertools.accumulate(counts))
    for le in METRICS_BUCKETS_S:
        i = bisect.bisect_right(keys, le * 1e6 + 1e-6)
        lines.append('hammer_latency_seconds_bucket{le="%s"} %d'
                     % (repr(le), cumulative[i - 1] if i else 0))
    lines += ['hammer_latency_seconds_bucket{le="+Inf"} %d' % hist.n,
              "hammer_latency_seconds_sum %.6f" % hist.total,
              "hammer_latency_seconds_count %d" % hist.n,
              "# HELP hammer_users Users taking part (in flight under"
              " --rate).", "# TYPE hammer_users gauge",
              "hammer_users %d" % users,
              "# HELP hammer_target_rps The target rate under --rate, else"
              " 0.", "# TYPE hammer_target_rps gauge",
              "hammer_target_rps %s" % repr(float(target_rps)),
              "# HELP hammer_up 1 while a run goes on.",
              "# TYPE hammer_up gauge", "hammer_up %d" % up]
    return "\n".join(lines) + "\n"


def retarget_stages(stages, at_s, target, ramp_s, runtime_s):
    """The stages after a change of target at instant at_s: as they were
    up to at_s, then from the target there to `target` over ramp_s (a
    step when 0), held to runtime_s."""
    kept = [s for s in stages if s.end_s <= at_s]
    now = target_at(stages, at_s)
    for s in stages:
        if s.start_s < at_s < s.end_s:
            kept.append(Stage(s.start_s, at_s, s.begin, now))
    if not kept and at_s > 0:
        kept.append(Stage(0.0, at_s, now, now))
    if ramp_s > 0:
        kept.append(Stage(at_s, at_s + ramp_s, now, target))
        at_s += ramp_s
    kept.append(Stage(at_s, max(at_s, runtime_s), target, target))
    return tuple(kept)


class LiveView(object):
    """The live view's state: the current or last run, its latest second,
    its series and its files.  run() feeds it the workers' Progress (via
    WebGate); the web handlers read it (state(), metrics()) and call its
    methods for the controls.  Every method takes its lock."""

    def __init__(self, clock=time.monotonic, wall=time.time):
        self.lock = threading.RLock()
        self.clock, self.wall = clock, wall
        self.state = "idle"
        self.files = {}     # name -> path: what runs wrote, served
        self.reports = {}   # 'NAME.html' -> the results CSV crunch reads
        self.made = None    # the directory of the reports made (report())
        self.making = threading.Lock()
        self.run = self.plan = self.record = None
        self.error = self.exit_code = self.summary = None
        self.reset(None, 1)

    def reset(self, plan, sources):
        self.plan, self.sources = plan, sources
        self.stages = plan.stages if plan is not None else ()
        self.sums = LiveSums()
        self.latest = {}        # source -> its last Progress
        self.reported = set()   # sources heard since the second closed
        self.closed_at = self.clock()
        self.last = None        # (elapsed, requests, errors, busy) then
        self.total = Histogram()
        self.service_total = Histogram()
        self.names_total = {}
        self.window = collections.deque(maxlen=WEB_WINDOW_S)
        self.series = collections.deque(maxlen=WEB_SERIES_MAX)
        self.now = None
        self.stop_wanted = False
        self.pending = None     # a Retarget for run() to send
        self.node_labels = {}
        self.busy = 0.0
        self.monitor = None     # --monitor's Monitor, while it samples

    # the run's life
    def begin(self, plan, record, argv, sources=None):
        """A run starts: its plan, its settings (a dict the run fills in)
        and its command line."""
        with self.lock:
            self.reset(plan, sources or len(plan.threads_per_process))
            self.record = record
            self.run = {"command": redact_argv(argv), "output": plan.output}
            self.error = self.exit_code = self.summary = None
            self.state = "running"

    def failed(self, text):
        with self.lock:
            self.error = text
            self.state = "done"
            self.exit_code = 1

    def finish(self, code, files, reports=None):
        """The run ended with exit code `code`; files: {name: path} it
        wrote; reports: {'NAME.html': results CSV}, crunch's HTML reports
        to offer (made when first asked for: report())."""
        with self.lock:
            self.tick(force=True)
            self.exit_code = code
            self.summary = (self.record or {}).get("summary")
            self.files.update(files)
            self.reports.update(reports or {})
            self.state = "done"

    def report(self, name, crunch):
        """The path of crunch's HTML report `name` (one of reports), made
        on the first call in a directory of the view's own, not beside
        the run's files; None when crunch could not make it."""
        import subprocess
        import tempfile
        with self.making:
            with self.lock:
                where, csv_path = self.files.get(name), self.reports[name]
            if where is not None:
                return where
            if self.made is None:
                self.made = tempfile.mkdtemp(prefix="hammer-web-")
            where = os.path.join(self.made, name)
            try:
                subprocess.call([sys.executable, crunch, csv_path, "--html",
                                 where], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                timeout=CRUNCH_TIMEOUT_S)
            except (OSError, subprocess.SubprocessError):
                pass
            if not os.path.isfile(where):
                return None
            with self.lock:
                self.files[name] = where
            return where

    def close(self):
        """Remove the reports made."""
        if self.made is not None:
            import shutil
            shutil.rmtree(self.made, ignore_errors=True)

    # the workers' reports
    def add(self, progress, source=None):
        with self.lock:
            key = (source, progress.index)
            self.latest[key] = progress
            if progress.live is not None:
                self.sums.add(key, progress.live)
            self.reported.add(key)
            self.tick()

    def tick(self, force=False):
        """Close the second once every source has reported in it (or
        WEB_SECOND_MAX_S passed)."""
        now = self.clock()
        span = now - self.closed_at
        if not self.latest or not (
                (force and self.reported) or span >= WEB_SECOND_MAX_S or (
                    span >= WEB_SECOND_S * 0.5
                    and len(self.reported) >= self.sources)):
            return
        self.closed_at, self.reported = now, set()
        latest = list(self.latest.values())
        elapsed = max(p.elapsed_s for p in latest)
        requests = sum(p.requests for p in latest)
        errors = sum(p.errors for p in latest)
        busy = dict((k, p.busy_s) for k, p in self.latest.items())
        second, service = self.sums.latency, self.sums.service
        for suffix, hist in self.sums.names.items():
            self.names_total.setdefault(suffix, Histogram()).merge(hist)
        self.sums.clear()
        self.total.merge(second)
        if service is not None:
            self.service_total.merge(service)
        self.window.append(second)
        then = self.last or (0.0, 0, 0, {})
        dt = elapsed - then[0]
        self.busy = max([(b - then[3].get(k, 0.0)) / dt
                         for k, b in busy.items()] or [0.0]) if dt > 0 else 0.0
        self.last = (elapsed, requests, errors, busy)
        p = second.percentiles(LIVE_PERCENTILES)
        point = {
            "elapsed_s": round(elapsed, 3),
            "users": sum(p.active for p in latest),
            "target": round(target_at(self.stages, elapsed), 3),
            "rps": round((requests - then[1]) / dt, 3) if dt > 0 else 0.0,
            "p50_ms": ms(p[0]), "p95_ms": ms(p[1]), "p99_ms": ms(p[2]),
            "errors": errors - then[2],
            "errors_pct": round(100.0 * (errors - then[2])
                                / (requests - then[1]), 3)
            if requests > then[1] else 0.0,
            "responses": second.n}
        if service is not None:
            s = service.percentiles(LIVE_PERCENTILES)
            point.update(service_p50_ms=ms(s[0]), service_p95_ms=ms(s[1]),
                         service_p99_ms=ms(s[2]))
        self.series.append(point)
        self.now = point

    # the controls
    def elapsed(self):
        started = (self.record or {}).get("started_epoch_s")
        return None if started is None else self.wall() - started

    def stop(self):
        """A graceful stop, as Ctrl+C: False when no run goes on."""
        with self.lock:
            if self.state != "running":
                return False
            self.stop_wanted, self.state = True, "stopping"
            return True

    def retarget(self, target, ramp_s, lead_s):
        """Move the run's target (users, or req/s under --rate) to target
        over ramp_s from lead_s ahead; UsageError says why not."""
        with self.lock:
            plan, elapsed = self.plan, self.elapsed()
            if self.state != "running" or elapsed is None:
                raise UsageError("no run is going on (or it has not started"
                                 " yet)")
            if plan.requests is not None or plan.sizing or (
                    plan.groups is not None and len(plan.groups) > 1):
                raise UsageError("the target of a run with -n, --sizing or"
                                 " --script FILE:USERS cannot change")
            if plan.replay is not None:
                raise UsageError("a --replay sends at the log's instants:"
                                 " its rate cannot change (--replay-speed"
                                 " sets it)")
            if plan.model == "open" and target <= 0:
                raise UsageError("the rate must stay above 0 req/s")
            at_s = elapsed + lead_s
            if at_s >= plan.runtime_s:
                raise UsageError("the run is about to end")
            stages = retarget_stages(self.stages, at_s, target, ramp_s,
                                     plan.runtime_s)
            if plan.model == "closed" and plan.hosts is None:
                users = int(math.ceil(max(s.end for s in stages)))
                mine = len(node_users(users, *(plan.node or (1, 1))))
                problem = capacity_problem(split_evenly(
                    mine, len(plan.threads_per_process)), box_limits(),
                    plan.engine)
                if problem:
                    raise UsageError(problem)
            self.stages = stages
            self.pending = Retarget(stages, at_s)
            return at_s

    def take_retarget(self):
        with self.lock:
            pending, self.pending = self.pending, None
            return pending

    # what the handlers read
    def counters(self):
        rows, errors, names = self.sums.counters()
        return rows, errors, names

    def state_data(self, extra=(), since=None):
        """GET /api/state's JSON: extra percentiles (of the last second)
        besides p50, p95 and p99; the series' seconds after `since` (an
        elapsed_s) only, when given."""
        with self.lock:
            self.tick()
            rows, errors, names = self.counters()
            statuses = collections.Counter()
            for (_, status), n in rows.items():
                statuses[str(status)] += n
            table = []
            for suffix, (requests, failed) in sorted(names.items()):
                method, name = split_suffix(suffix)
                hist = self.names_total.get(suffix, Histogram())
                p = hist.percentiles(LIVE_PERCENTILES)
                table.append({"method": method, "name": name,
                              "requests": requests, "errors": failed,
                              "p50_ms": ms(p[0]), "p95_ms": ms(p[1]),
                              "p99_ms": ms(p[2])})
            now = dict(self.now) if self.now else None
            if now is not None and self.window:
                extra = [p for p in extra if 0 < p <= 100]
                values = self.window[-1].percentiles(extra) if extra else []
                now["percentiles"] = dict(("%g" % p, ms(v))
                                          for p, v in zip(extra, values))
            window = Histogram()
            for hist in self.window:
                window.merge(hist)
            nodes = collections.OrderedDict()
            for (source, _), p in sorted(
                    self.latest.items(), key=lambda kv: (
                        kv[0][0] is not None, kv[0][0] or 0, kv[0][1])):
                if source is None:
                    continue
                line = nodes.setdefault(source, {
                    "node": source, "requests": 0, "errors": 0, "users": 0,
                    "elapsed_s": 0.0})
                line["requests"] += p.requests
                line["errors"] += p.errors
                line["users"] += p.active
                line["elapsed_s"] = max(line["elapsed_s"],
                                        round(p.elapsed_s, 3))
            totals = self.summary
            if totals is None and self.latest:
                latest = self.latest.values()
                elapsed = max(p.elapsed_s for p in latest)
                requests = sum(p.requests for p in latest)
                p = self.total.percentiles((50, 90, 95, 99))
                totals = {"requests": requests,
                          "errors": sum(p.errors for p in latest),
                          "rps": round(requests / elapsed, 3)
                          if elapsed > 0 else 0.0,
                          "duration_s": round(elapsed, 6),
                          "latency_ms": {"p50": ms(p[0]), "p90": ms(p[1]),
                                         "p95": ms(p[2]), "p99": ms(p[3]),
                                         "mean": ms(self.total.mean),
                                         "max": ms(self.total.max)}}
            run = None
            if self.run is not None:
                run = dict(self.record or {})
                run.pop("summary", None)
                run.update(self.run)
                run["stages"] = stage_settings(self.stages)
            return {
                "state": self.state, "run": run, "now": now,
                "series": [p for p in self.series if since is None
                           or p["elapsed_s"] > since], "totals": totals,
                "names": table, "nodes": list(nodes.values()),
                "statuses": dict(statuses), "errors": dict(errors),
                "histogram": histogram_bins(window),
                "cpu": {"busy": round(self.busy, 3),
                        "saturated": self.busy >= SATURATION_CPU_RATIO},
                "model": self.plan.model if self.plan else None,
                "monitor": None if self.monitor is None
                else self.monitor.latest(),
                "files": ["/files/" + n for n in sorted(
                    set(self.files) | set(self.reports))],
                "error": self.error, "exit_code": self.exit_code}

    def metrics(self):
        with self.lock:
            self.tick()
            rows, errors, _ = self.counters()
            latest = self.latest.values()
            elapsed = max([p.elapsed_s for p in latest] or [0.0])
            target = 0.0
            if self.plan is not None and self.plan.model == "open":
                target = target_at(self.stages, elapsed)
            return metrics_text(rows, errors, self.total,
                                sum(p.active for p in latest), target,
                                1 if self.state in ("running", "stopping")
                                else 0)


class WebGate(StartGate):
    """run()'s hooks under --web: the view gets every Progress, and its
    Stop and change of target reach the run."""

    def __init__(self, view, at=None):
        StartGate.__init__(self, at)
        self.view = view

    def progress(self, progress):
        self.view.add(progress)

    def stop_signal(self):
        return signal.SIGINT if self.view.stop_wanted else None

    def retarget(self):
        return self.view.take_retarget()


def start_argv(fields, output):
    """POST /api/start's fields -> the command line they stand for: the
    form's fields as their options, `args` split as a shell would, and
    -o output last; the URL after '--', so that no field is read as an
    option it does not name."""
    import shlex
    argv = []
    for field, option_name in (("users", "-c"), ("rate", "--rate"),
                               ("rampup", "--rampup"),
                               ("runtime", "--runtime"),
                               ("script", "--script"),
                               ("targets", "--targets"),
                               ("project", "--project")):
        value = str(fields.get(field) or "").strip()
        if value:
            argv.append("%s=%s" % (option_name if option_name != "-c"
                                   else "--concurrency", value))
    try:
        argv += shlex.split(str(fields.get("args") or ""))
    except ValueError as exc:
        raise UsageError("args: %s" % exc)
    argv += ["--output=" + output]
    url = str(fields.get("url") or "").strip()
    return argv + (["--", url] if url else [])


def outside_paths(args, top):
    """The first path of a run's arguments that lies outside the
    directory top, or None: the view runs only what is under the
    directory hammer was started in."""
    paths = [parse_script_arg(s)[0] for s in args.script]
    paths += list(args.locustfile or ()) + [args.output]
    paths += [args.targets, args.project, args.data_file, args.ssh_config,
              args.replay]
    if args.data is not None and args.data.startswith("@"):
        paths.append(args.data[1:])
    if args.hosts is not None and str(args.hosts).startswith("@"):
        paths.append(str(args.hosts)[1:])
    top = os.path.realpath(top)
    for path in paths:
        if path is None:
            continue
        real = os.path.realpath(os.path.join(top, path))
        if os.path.commonpath([top, real]) != top:
            return path
    return None


def output_name(top, wall):
    """A new run's results-YYYYmmdd-HHMMSS.csv in top, not yet there."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(wall))
    name, n = "results-%s.csv" % stamp, 1
    while os.path.exists(os.path.join(top, name)):
        n += 1
        name = "results-%s-%d.csv" % (stamp, n)
    return name


WebJob = collections.namedtuple("WebJob", "argv args raw plan listener")


def web_server(view, host, port, token, top, jobs):
    """The view's HTTP server, bound (OSError when it cannot be); its
    handler threads serve until shutdown()."""
    import http.server
    import socketserver

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        address_family = (socket.AF_INET6 if ":" in host
                          else socket.AF_INET)

        def handle_error(self, request, client_address):
            """One line, not a traceback; nothing for a client gone
            mid-answer."""
            exc = sys.exc_info()[1]
            if not isinstance(exc, (ConnectionError, socket.timeout)):
                sys.stderr.write("hammer: warning: the live view failed a"
                                 " request: %s\n" % failure_text(exc))

    class Handler(WebHandler, http.server.BaseHTTPRequestHandler):
        pass

    server = Server((host, port), Handler)
    server.view, server.token, server.top, server.jobs = (view, token, top,
                                                          jobs)
    server.bound = host
    server.start_lock = threading.Lock()
    return server


def web_form(handler, body):
    """A POST's fields: JSON or a form; UsageError when neither."""
    ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip()
    try:
        text = body.decode("utf-8")
        if ctype == "application/json":
            fields = json.loads(text) if text.strip() else {}
            if not isinstance(fields, dict):
                raise ValueError("not an object")
            return fields
        from urllib.parse import parse_qsl
        return dict(parse_qsl(text, keep_blank_values=True))
    except ValueError as exc:
        raise UsageError("the request's body is not a form nor JSON: %s"
                         % exc)


class WebHandler(object):
    """The view's HTTP interface, a thin adapter (web_server() mixes it
    into http.server's handler): GETs read the view, POSTs call its
    methods; the Host, Origin and token checks come first."""

    server_version = "hammer/" + __version__
    protocol_version = "HTTP/1.0"
    timeout = 30    # a client that sends nothing more is dropped then

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", extra=()):
        if not isinstance(body, bytes):
            body = (json.dumps(body, sort_keys=True) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def refuse(self, status, text):
        self.send(status, {"error": text})

    def host_ok(self):
        if host_allowed(self.headers.get("Host"), self.server.bound):
            return True
        self.refuse(421, "the Host header must name this view's address,"
                         " localhost or 127.0.0.1")
        return False

    def do_GET(self):
        if not self.host_ok():
            return
        from urllib.parse import parse_qs
        path, _, query = self.path.partition("?")
        view = self.server.view
        if path == "/":
            self.send(200, WEB_PAGE.encode("utf-8"),
                      "text/html; charset=utf-8", [(
                          "Content-Security-Policy",
                          "default-src 'none'; script-src 'unsafe-inline';"
                          " style-src 'unsafe-inline'; img-src data:;"
                          " connect-src 'self'; form-action 'self'")])
        elif path == "/api/state":
            fields, extra, since = parse_qs(query), [], None
            for text in fields.get("p", []):
                for part in text.split(","):
                    try:
                        extra.append(float(part))
                    except ValueError:
                        pass
            try:
                since = float(fields.get("since", [""])[0])
            except ValueError:
                pass
            self.send(200, view.state_data(extra[:8], since))
        elif path == "/metrics":
            self.send(200, view.metrics().encode("utf-8"),
                      "text/plain; version=0.0.4; charset=utf-8")
        elif path.startswith("/files/"):
            name = path[len("/files/"):]
            with view.lock:
                where = view.files.get(name)
                wanted = name in view.reports
            if where is None and wanted:
                where = view.report(name, crunch_beside())
                if where is None:
                    return self.refuse(500, "crunch.py could not make %s"
                                       % name)
            if where is None:
                return self.refuse(404, "no such file: /files/ serves the"
                                        " files runs wrote")
            try:
                with open(where, "rb") as f:
                    data = f.read()
            except OSError as exc:
                return self.refuse(404, "cannot read %s: %s"
                                   % (name, exc.strerror or exc))
            ctype = {".csv": "text/csv", ".json": "application/json",
                     ".html": "text/html"}.get(os.path.splitext(name)[1],
                                               "application/octet-stream")
            self.send(200, data, ctype + "; charset=utf-8", [(
                "Content-Disposition", 'attachment; filename="%s"' % name)])
        else:
            self.refuse(404, "no such page")

    do_HEAD = do_GET

    def do_POST(self):
        if not self.host_ok():
            return
        origin = self.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != self.headers.get(
                "Host") or self.headers.get("Sec-Fetch-Site") in (
                    "cross-site", "same-site"):
            return self.refuse(403, "a POST must come from this view's own"
                                    " page")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_WEB_BODY_B:
            return self.refuse(413, "a POST's body holds at most %d bytes"
                               % MAX_WEB_BODY_B)
        body = self.rfile.read(length)
        try:
            fields = web_form(self, body)
        except UsageError as exc:
            return self.refuse(400, "hammer: error: %s" % exc)
        if not self.token_ok(fields):
            return self.refuse(403, "this view is bound beyond loopback:"
                                    " send its token (Authorization: Bearer"
                                    " TOKEN, or a form field token)")
        route = {"/api/start": self.start, "/api/users": self.users,
                 "/api/stop": self.stop}.get(self.path.partition("?")[0])
        if route is None:
            return self.refuse(404, "no such action")
        route(fields)

    def token_ok(self, fields):
        import hmac
        token = self.server.token
        if token is None:
            return True
        given = str(fields.get("token") or "")
        auth = self.headers.get("Authorization") or ""
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        return hmac.compare_digest(given.encode("utf-8"),
                                   token.encode("utf-8"))

    def start(self, fields):
        server, view = self.server, self.server.view
        with server.start_lock:
            with view.lock:
                if view.state in ("running", "stopping"):
                    return self.refuse(409, "a run is going on: one run at"
                                            " a time")
            output = output_name(server.top, time.time())
            try:
                argv = start_argv(fields, output)
                job = web_command(argv, server.top)
            except UsageError as exc:
                return self.refuse(400, "hammer: error: %s" % exc)
            view.begin(job.plan, plan_settings(job.plan), argv,
                       len(job.args.hosts) if job.args.hosts else None)
            server.jobs.put(job)
        self.send(202, {"state": "running", "output": job.plan.output,
                        "command": redact_argv(argv)})

    def users(self, fields):
        view = self.server.view
        plan = view.plan
        if plan is None or view.state != "running":
            return self.refuse(409, "no run is going on")
        try:
            rate = plan.model == "open"
            text = str(fields.get("rate" if rate else "users") or "").strip()
            if not text:
                raise UsageError("give %s" % ("the rate (req/s): this run"
                                              " has --rate" if rate else
                                              "the users"))
            target = parse_level(text, rate)
            ramp = str(fields.get("rampup") or "0").strip()
            ramp_s = parse_duration(ramp)
        except (UsageError, ValueError) as exc:
            return self.refuse(400, "hammer: error: %s" % exc)
        try:
            at_s = view.retarget(target, ramp_s, WEB_HOSTS_LEAD_S
                                 if plan.hosts else WEB_RETARGET_LEAD_S)
        except UsageError as exc:
            return self.refuse(409, "hammer: error: %s" % exc)
        self.send(200, {"target": target, "at_s": round(at_s, 3)})

    def stop(self, fields):
        if not self.server.view.stop():
            return self.refuse(409, "no run is going on")
        self.send(200, {"state": "stopping"})


# The live view's page: one document, its style and script inline, nothing
# loaded from elsewhere.  Every value from a run is set with textContent
# (or drawn on a canvas), never parsed as HTML.
WEB_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hammer</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f6f4}
header{background:#2b2b2b;color:#eee;padding:8px 16px;display:flex;gap:16px;
align-items:baseline;flex-wrap:wrap}
header b{font-size:18px}#state{font-weight:bold}
main{padding:12px 16px;display:grid;gap:12px;
grid-template-columns:repeat(auto-fit,minmax(420px,1fr))}
section{background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px 12px}
h2{font-size:14px;margin:0 0 6px}
canvas{width:100%;height:160px;display:block}
table{border-collapse:collapse;width:100%}
td,th{padding:2px 6px;text-align:right;border-bottom:1px solid #eee;
font-variant-numeric:tabular-nums}
td:first-child,th:first-child{text-align:left;word-break:break-all}
form{display:grid;grid-template-columns:max-content 1fr;gap:4px 8px}
input{font:inherit;padding:2px 4px}
button{font:inherit;padding:3px 10px;margin:4px 4px 0 0}
.warn{color:#a40000;font-weight:bold}.muted{color:#777}
.key{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px}
#error{white-space:pre-wrap}
</style></head><body>
<header><b>hammer</b><span>state: <span id="state">-</span></span>
<span id="elapsed"></span><span id="command" class="muted"></span>
<span id="cpu"></span></header>
<main>
<section><h2>Start a run</h2>
<form id="start">
<label for="f-url">URL</label><input id="f-url" name="url"
 placeholder="http://127.0.0.1:8000/">
<label for="f-users">users</label><input id="f-users" name="users"
 placeholder="10">
<label for="f-rate">or rate (req/s)</label><input id="f-rate" name="rate">
<label for="f-rampup">ramp-up</label><input id="f-rampup" name="rampup"
 placeholder="0s">
<label for="f-runtime">runtime</label><input id="f-runtime" name="runtime"
 placeholder="60s">
<label for="f-script">script</label><input id="f-script" name="script">
<label for="f-targets">targets</label><input id="f-targets" name="targets">
<label for="f-project">project</label><input id="f-project" name="project">
<label for="f-args">more options</label><input id="f-args" name="args"
 placeholder="--think 1s --fail-if 'p99<250ms'">
<label for="f-token">token</label><input id="f-token" name="token"
 type="password" autocomplete="off"
 placeholder="when bound beyond loopback">
</form>
<button id="go">Start</button> <button id="stop">Stop</button>
<div id="error" class="warn"></div></section>
<section><h2>Steer the run</h2>
<form id="steer"><label for="s-target" id="s-label">users</label>
<input id="s-target"><label for="s-ramp">over</label>
<input id="s-ramp" placeholder="0s"></form>
<button id="set">Set</button>
<h2>Percentiles to chart</h2>
<form id="pick"><label for="p-extra">besides p50, p95, p99</label>
<input id="p-extra" placeholder="90, 99.9"></form>
<h2>Downloads</h2><ul id="files"></ul></section>
<section><h2>Requests/s</h2><canvas id="c-rps"></canvas></section>
<section><h2>Latency (ms), each second's responses
<span id="lat-keys"></span></h2><canvas id="c-lat"></canvas></section>
<section id="svc-box" hidden><h2>Service time (ms), without the wait
for the slot</h2><canvas id="c-svc"></canvas></section>
<section><h2>Errors %</h2><canvas id="c-err"></canvas></section>
<section><h2 id="load-title">Users</h2><canvas id="c-load"></canvas></section>
<section><h2>Latency histogram, last 10 s (ms)</h2>
<canvas id="c-hist"></canvas></section>
<section><h2>Totals</h2><table id="totals"></table></section>
<section><h2>Status codes and errors</h2><table id="codes"></table></section>
<section style="grid-column:1/-1"><h2>Per name</h2><table id="names"></table>
</section>
<section id="nodes-box" hidden><h2>Nodes</h2><table id="nodes"></table>
</section>
<section id="monitor-box" hidden style="grid-column:1/-1"><h2>Hosts
(--monitor), their latest sample</h2><table id="monitor"></table>
<p id="monitor-lost"></p></section>
</main>
<script>
(function () {
"use strict";
var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
              "#8c564b", "#e377c2"];
var extra = [];
function $(id) { return document.getElementById(id); }
function text(el, value) { el.textContent = value == null ? "" : String(value); }
function row(table, cells, head) {
  var tr = document.createElement("tr");
  cells.forEach(function (c) {
    var td = document.createElement(head ? "th" : "td");
    text(td, c);
    tr.appendChild(td);
  });
  table.appendChild(tr);
}
function fill(table, head, rows) {
  while (table.firstChild) table.removeChild(table.firstChild);
  if (head) row(table, head, true);
  rows.forEach(function (r) { row(table, r, false); });
}
function num(v) {   // an axis label: 3 digits, k and M for thousands
  if (v >= 1e6) return +(v / 1e6).toPrecision(3) + "M";
  if (v >= 1e3) return +(v / 1e3).toPrecision(3) + "k";
  return String(+v.toPrecision(3));
}
function blank(canvas) {  // a cleared canvas at the screen's resolution
  var w = canvas.clientWidth, h = canvas.clientHeight;
  var ratio = window.devicePixelRatio || 1;
  canvas.width = w * ratio; canvas.height = h * ratio;
  var g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, w, h);
  return {g: g, w: w, h: h};
}
function chart(canvas, series, xs) {
  var c = blank(canvas), g = c.g, w = c.w, h = c.h;
  var top = 0;
  series.forEach(function (s) {
    s.values.forEach(function (v) { if (v != null && v > top) top = v; });
  });
  top = top > 0 ? top * 1.1 : 1;
  var left = 48, bottom = h - 16, n = xs.length;
  g.strokeStyle = "#ccc"; g.fillStyle = "#555"; g.font = "11px sans-serif";
  for (var k = 0; k <= 4; k++) {
    var y = bottom - (bottom - 4) * k / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(w, y); g.stroke();
    g.fillText(num(top * k / 4), 2, y + 4);
  }
  if (n) {
    g.fillText(xs[0].toFixed(0) + "s", left, h - 2);
    g.fillText(xs[n - 1].toFixed(0) + "s", w - 40, h - 2);
  }
  series.forEach(function (s, i) {
    g.strokeStyle = s.color || COLORS[i % COLORS.length];
    g.lineWidth = 1.5; g.beginPath();
    var started = false;
    s.values.forEach(function (v, j) {
      if (v == null) { started = false; return; }
      var x = left + (w - left - 4) * (n > 1 ? j / (n - 1) : 0);
      var y = bottom - (bottom - 4) * v / top;
      if (started) g.lineTo(x, y); else g.moveTo(x, y);
      started = true;
    });
    g.stroke();
  });
}
function bars(canvas, bins) {
  var c = blank(canvas), g = c.g, w = c.w, h = c.h;
  if (!bins.length) return;
  var top = Math.max.apply(null, bins.map(function (b) { return b[2]; }));
  var bw = (w - 8) / bins.length;
  g.font = "11px sans-serif";
  bins.forEach(function (b, i) {
    var bh = (h - 30) * b[2] / top;
    g.fillStyle = "#1f77b4";
    g.fillRect(4 + i * bw, h - 16 - bh, Math.max(1, bw - 1), bh);
  });
  g.fillStyle = "#555";
  g.fillText(bins[0][0] + " ms", 4, h - 2);
  var last = bins[bins.length - 1];
  g.fillText((last[1] == null ? last[0] + "+" : last[1]) + " ms",
             w - 70, h - 2);
  g.fillText(top + " responses", 4, 10);
}
var picked = {};    // the picked percentiles' values, by elapsed second
function keys(names) {
  var box = $("lat-keys");
  while (box.firstChild) box.removeChild(box.firstChild);
  names.forEach(function (name, i) {
    var k = document.createElement("span");
    k.className = "key"; k.style.background = COLORS[i % COLORS.length];
    box.appendChild(k);
    box.appendChild(document.createTextNode(name));
  });
}
var series = [], runKey;  // this run's seconds; its output names it
function show(s) {
  text($("state"), s.state);
  text($("command"), s.run ? s.run.command.join(" ") : "");
  text($("error"), s.error || "");
  (s.series || []).forEach(function (p) {
    if (!series.length || p.elapsed_s > series[series.length - 1].elapsed_s)
      series.push(p);
  });
  if (series.length > 3600) series.splice(0, series.length - 3600);
  var xs = series.map(function (p) { return p.elapsed_s; });
  var pick = function (k) { return series.map(function (p) { return p[k]; }); };
  if (s.now) {
    text($("elapsed"), s.now.elapsed_s.toFixed(0) + " s, " +
         s.now.rps.toFixed(1) + " req/s, p99 " + s.now.p99_ms + " ms");
    if (s.now.percentiles) picked[s.now.elapsed_s] = s.now.percentiles;
  }
  var cpu = s.cpu || {};
  text($("cpu"), "generator CPU " + Math.round((cpu.busy || 0) * 100) + "%" +
       (cpu.saturated ? "  SATURATED: hammer, not the target, is the limit" : ""));
  $("cpu").className = cpu.saturated ? "warn" : "";
  chart($("c-rps"), [{values: pick("rps")}], xs);
  var lat = [{values: pick("p50_ms")}, {values: pick("p95_ms")},
             {values: pick("p99_ms")}];
  var names = ["p50", "p95", "p99"];
  extra.forEach(function (p) {
    names.push("p" + p);
    lat.push({values: series.map(function (q) {
      var h = picked[q.elapsed_s];
      return h && h[String(p)] != null ? h[String(p)] : null; })});
  });
  keys(names);
  chart($("c-lat"), lat, xs);
  var open = s.model === "open";
  $("svc-box").hidden = !open;
  if (open) chart($("c-svc"), [{values: pick("service_p50_ms")},
                               {values: pick("service_p95_ms")},
                               {values: pick("service_p99_ms")}], xs);
  chart($("c-err"), [{values: pick("errors_pct"), color: "#d62728"}], xs);
  text($("load-title"), open ? "Target rate (req/s) and users in flight"
                             : "Users (and their target)");
  text($("s-label"), open ? "rate (req/s)" : "users");
  chart($("c-load"), [{values: pick("users")}, {values: pick("target")}], xs);
  bars($("c-hist"), s.histogram || []);
  var t = s.totals || {};
  var l = t.latency_ms || {};
  fill($("totals"), null, [["requests", t.requests], ["errors", t.errors],
       ["req/s", t.rps], ["duration (s)", t.duration_s],
       ["p50 (ms)", l.p50], ["p95 (ms)", l.p95], ["p99 (ms)", l.p99],
       ["max (ms)", l.max], ["exit code", s.exit_code]]);
  var codes = [];
  Object.keys(s.statuses || {}).sort().forEach(function (k) {
    codes.push(["status " + k, s.statuses[k]]); });
  Object.keys(s.errors || {}).sort().forEach(function (k) {
    codes.push(["error " + k, s.errors[k]]); });
  fill($("codes"), ["", "rows"], codes);
  fill($("names"), ["name", "method", "requests", "errors", "p50 ms",
                    "p95 ms", "p99 ms"],
       (s.names || []).map(function (n) {
         return [n.name, n.method, n.requests, n.errors, n.p50_ms, n.p95_ms,
                 n.p99_ms]; }));
  var m = s.monitor;
  $("monitor-box").hidden = !m;
  fill($("monitor"), ["host", "at s", "CPU %", "busiest core", "core %",
                      "memory %", "net Mb/s", "load1"],
       (m ? m.hosts : []).map(function (h) {
         return [h.host, h.at_s, h.cpu, h.core, h.core_max, h.mem, h.net,
                 h.load1]; }));
  text($("monitor-lost"), m && m.lost.length ?
       "lost during the run: " + m.lost.join(", ") : "");
  $("nodes-box").hidden = !(s.nodes && s.nodes.length);
  fill($("nodes"), ["node", "users", "requests", "errors", "elapsed s"],
       (s.nodes || []).map(function (n) {
         return [n.node, n.users, n.requests, n.errors, n.elapsed_s]; }));
  var files = $("files");
  while (files.firstChild) files.removeChild(files.firstChild);
  (s.files || []).forEach(function (href) {
    var li = document.createElement("li"), a = document.createElement("a");
    a.href = href; a.setAttribute("download", "");
    text(a, href.slice(7));
    li.appendChild(a); files.appendChild(li);
  });
}
function poll() {
  var q = ["since=" + (series.length ? series[series.length - 1].elapsed_s
                                       : -1)];
  if (extra.length) q.push("p=" + extra.join(","));
  fetch("/api/state?" + q.join("&"), {cache: "no-store"}).then(function (r) {
    return r.json(); }).then(function (s) {
      var key = s.run ? s.run.output : null;
      if (key !== runKey) {     // another run: its whole series, afresh
        runKey = key; series = []; picked = {};
        return poll();
      }
      show(s);
    }).catch(function (e) { text($("state"), "unreachable"); });
}
function post(path, data) {
  var body = new URLSearchParams(data);
  var token = $("f-token").value;
  if (token) body.set("token", token);
  return fetch(path, {method: "POST", body: body}).then(function (r) {
    return r.json().then(function (j) {
      text($("error"), r.ok ? "" : j.error); poll(); });
  });
}
$("go").addEventListener("click", function () {
  post("/api/start", new FormData($("start")));
});
$("stop").addEventListener("click", function () { post("/api/stop", {}); });
$("set").addEventListener("click", function () {
  var open = $("s-label").textContent.indexOf("rate") === 0;
  var data = {rampup: $("s-ramp").value};
  data[open ? "rate" : "users"] = $("s-target").value;
  post("/api/users", data);
});
$("p-extra").addEventListener("change", function () {
  extra = this.value.split(",").map(function (v) { return parseFloat(v); })
    .filter(function (v) { return v > 0 && v <= 100; }).slice(0, 4);
});
["start", "steer", "pick"].forEach(function (id) {
  $(id).addEventListener("submit", function (e) { e.preventDefault(); });
});
poll();
setInterval(poll, 1000);
})();
</script></body></html>
"""


# --- the demo target ---------------------------------------------------------


def demo_listener():
    """--demo's listening socket on 127.0.0.1, bound before the plan so
    that its URL is known."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


def demo_server_main(listener):
    """A small HTTP/1.1 target on 127.0.0.1 for --demo (its own process)."""
    import http.server
    import random
    import socketserver
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    body = b"hello from hammer's demo target\n"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True   # head and body are two writes

        def do_GET(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            time.sleep(random.uniform(0.0002, 0.004))   # some latency to see
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.serve_forever()


def start_demo_server(listener):
    """Serve --demo's target on listener in its own process."""
    ctx = multiprocessing.get_context()
    proc = ctx.Process(target=demo_server_main, args=(listener,),
                       name="hammer-demo-target")
    proc.daemon = True
    proc.start()
    listener.close()    # the server process has its own
    return proc


# --- command line ------------------------------------------------------------


def duration_arg(text):
    """argparse type: a duration (parse_duration) in seconds."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


def seed_arg(text):
    """argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 1 << 63:
        raise argparse.ArgumentTypeError("%r must be a whole number >= 0"
                                         % text)
    return value


def positive_int_arg(text):
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("%r must be a whole number >= 1"
                                         % text)
    return value


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is one line and where to
    look, as wrk and curl print theirs: `hammer: error: ...`, then `try
    'hammer.py --help'`; exit 2.  crunch's parser is one too."""

    def error(self, message):
        self.exit(2, "%s: error: %s\ntry '%s.py --help'\n"
                  % (self.prog, message, self.prog))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help's layout: an option's metavar once ("-t, --threads N"), as
    Python 3.13 writes it, so that most options fit on one line; the
    epilog's example lines as they are written."""

    def _format_action_invocation(self, action):
        if not action.option_strings or action.nargs == 0:
            return argparse.HelpFormatter._format_action_invocation(
                self, action)
        metavar = self._format_args(
            action, self._get_default_metavar_for_optional(action))
        if action.nargs == "+":     # TAG..., not TAG [TAG ...]
            metavar = self._metavar_formatter(action, action.dest.upper())(
                1)[0] + "..."
        return "%s %s" % (", ".join(action.option_strings), metavar)


HELP_EPILOG = """examples:
  python hammer.py --demo
  python hammer.py http://127.0.0.1:8000/ -c 50 --rampup 30s --runtime 2m
  python hammer.py http://127.0.0.1:8000/ --rate 500 --fail-if 'p99<250ms'
  python hammer.py http://127.0.0.1:8000/ --stages 30s:10,2m:50,30s:0
  python hammer.py http://127.0.0.1:8000/ --script examples/tasks.py -c 20

Time options take 30, 30s, 500ms, 5m or 1h.  Exit codes: 0 run complete,
1 run failed, 2 bad usage, 3 a --fail-if threshold failed, 130 SIGINT,
143 SIGTERM.  README.md explains each option at length."""


def build_parser():
    """The command line, in the README's groups; --help fits in 110
    lines at 80 columns (a test counts them)."""
    p = ArgumentParser(
        prog="hammer", formatter_class=HelpFormatter, epilog=HELP_EPILOG,
        usage="python hammer.py URL [options]\n"
              "       python hammer.py --demo [options]",
        description="HTTP load generator: processes x threads of simulated"
                    " users, one CSV row per\nrequest, percentiles over every"
                    " response.")
    p._optionals.title = "options"     # "optional arguments" before 3.10
    p.add_argument("--demo", action="store_true",
                   help="a short test against a target of its own on"
                        " 127.0.0.1")
    p.add_argument("--version", action="version",
                   version="hammer " + __version__)

    g = p.add_argument_group("target and request")
    g.add_argument("url", nargs="?", metavar="URL",
                   help="http:// or https:// URL to load")
    g.add_argument("-X", "--method", metavar="METHOD",
                   help="request method (default: GET, POST with -d)")
    g.add_argument("-H", "--header", action="append", default=[],
                   metavar="'K: V'",
                   help="add a request header; repeatable (default: none)")
    g.add_argument("-d", "--data", metavar="TEXT|@F",
                   help="request body, or the bytes of file F (default:"
                        " none)")
    g.add_argument("--timeout", type=duration_arg, default=DEFAULT_TIMEOUT_S,
                   metavar="S",
                   help="per request: connect, send and read (default:"
                        " %(default)gs)")
    g.add_argument("--no-keepalive", action="store_true",
                   help="a new connection per request (default: keep-alive)")
    g.add_argument("-k", "--insecure", action="store_true",
                   help="skip TLS certificate checks (default: verify)")

    g = p.add_argument_group("users and load shape")
    g.add_argument("-p", "--processes", type=positive_int_arg, metavar="N",
                   help="worker processes (default: %d, the CPUs)"
                        % available_cpus())
    g.add_argument("--engine", choices=("loop", "threads"), metavar="E",
                   help="loop or threads per process (default: loop)")
    g.add_argument("-t", "--threads", metavar="N",
                   help="users per process; with -f, the run time (default:"
                        " %d)" % DEFAULT_THREADS)
    g.add_argument("-c", "--concurrency", type=positive_int_arg,
                   metavar="N",
                   help="users in all, instead of -t (default: -p x -t)")
    g.add_argument("-n", "--requests", type=positive_int_arg, metavar="N",
                   help="stop after N requests in all (default: no limit)")
    g.add_argument("--runtime", type=duration_arg, default=None, metavar="S",
                   help="how long the test sends (default: %gs; %gs with"
                        " --demo)" % (DEFAULT_RUNTIME_S, DEMO_RUNTIME_S))
    g.add_argument("--rampup", type=duration_arg, default=None, metavar="S",
                   help="start the users over S, linearly (default: 0s)")
    g.add_argument("--interval", type=duration_arg, default=0.0, metavar="S",
                   help="start a request at most every S (default:"
                        " %(default)gs)")
    g.add_argument("--think", default="0", metavar="S|A:B",
                   help="pause after a response: S, or A to B (default:"
                        " %(default)ss)")
    g.add_argument("--seed", type=seed_arg, metavar="N",
                   help="seed of every random choice (default: random)")
    g.add_argument("--stages", metavar="D:T,...",
                   help="k6 stages: users move to T over D (default: none)")
    g.add_argument("--cycles", metavar="L1:L2:...",
                   help="hold each level of users --cycle-time (default:"
                        " none)")
    g.add_argument("--cycle-time", type=duration_arg, metavar="S",
                   help="each cycle's hold (default: %gs)" % DEFAULT_CYCLE_S)
    g.add_argument("--cycle-rampup", type=duration_arg, metavar="S",
                   help="each cycle's climb (default: 0s)")

    g = p.add_argument_group("open model")
    g.add_argument("--rate", nargs="?", const="", metavar="R|FROM:TO",
                   help="R requests/s, whatever the server does (default:"
                        " off)")
    g.add_argument("--arrivals", choices=ARRIVALS, metavar="KIND",
                   help="uniform or poisson gaps (default: uniform)")

    g = p.add_argument_group("scenarios")
    g.add_argument("--script", action="append", default=[],
                   metavar="F[:USERS]",
                   help="run F.py's user flow; repeatable (default: none)")
    g.add_argument("--project", metavar="DIR",
                   help="run a multi-mechanize project (default: none)")
    g.add_argument("-f", "--locustfile", action="append", default=[],
                   metavar="F",
                   help="run a locustfile as it is (default: none)")
    g.add_argument("--targets", metavar="FILE",
                   help="requests from a vegeta targets file (default: none)")
    g.add_argument("--data-file", metavar="FILE.csv",
                   help="user g's user.data is row g (default: none)")
    g.add_argument("--max-body", default="10MB", metavar="SIZE",
                   help="body bytes a script's response keeps (default:"
                        " %(default)s)")
    g.add_argument("--verbose", action="store_true",
                   help="print a script's requests and timers (default: off)")

    g = p.add_argument_group("recordings")
    g.add_argument("--import", dest="import_", metavar="FILE",
                   help="write a script from a HAR, curl or log (default:"
                        " none)")
    g.add_argument("--import-out", metavar="PATH",
                   help="--import's output (default: FILE's name with .py)")
    g.add_argument("--import-to", choices=("script", "targets"),
                   metavar="KIND",
                   help="script|targets (default: script; a log: targets)")
    g.add_argument("--import-keep", metavar="LIST",
                   help="keep assets,hosts,headers (default: drop them)")
    g.add_argument("--force", action="store_true",
                   help="overwrite; drop curl options it lacks (default:"
                        " off)")
    g.add_argument("--replay", metavar="LOG",
                   help="send a log's requests at its pace (default: none)")
    g.add_argument("--replay-speed", type=float, metavar="F",
                   help="2 replays twice as fast (default: 1)")
    g.add_argument("--replay-loop", action="store_true",
                   help="start the log over until --runtime (default: off)")
    g.add_argument("--replay-methods", metavar="M",
                   help="the methods replayed (default: GET,HEAD)")

    g = p.add_argument_group(
        "Locust's options (with -f, or a --script that imports locust)")
    g.add_argument("--host", metavar="URL",
                   help="the URL; -H URL too (default: the Users' host)")
    g.add_argument("-u", "--users", type=positive_int_arg, metavar="N",
                   help="-c N (default: -c's)")
    g.add_argument("-r", "--spawn-rate", type=float, metavar="R",
                   help="users per second: --rampup N/R (default: at once)")
    g.add_argument("--run-time", type=duration_arg, metavar="TIME",
                   help="--runtime (default: --runtime's)")
    g.add_argument("--headless", "--no-web", action="store_true",
                   help="accepted: headless unless --web")
    g.add_argument("--csv", metavar="PREFIX",
                   help="-o PREFIX_requests.csv; Locust's CSVs (default:"
                        " -o's)")
    g.add_argument("-T", "--tags", nargs="+", metavar="TAG",
                   help="only the tasks tagged so (default: all)")
    g.add_argument("-E", "--exclude-tags", nargs="+", metavar="TAG",
                   help="not the tasks tagged so (default: none)")

    g = p.add_argument_group("thresholds and sizing")
    g.add_argument("--fail-if", action="append", default=[], metavar="EXPR",
                   help="exit 3 unless EXPR holds; repeatable (default:"
                        " none)")
    g.add_argument("--ok-status", action="append", default=[],
                   metavar="LIST",
                   help="no error: 404,409 or 400-499 (default: none)")
    g.add_argument("--sizing", action="store_true",
                   help="ramp up until --sizing-slo breaks (default: off)")
    g.add_argument("--sizing-max", type=positive_int_arg, metavar="N",
                   help="the most users (default: %d)" % DEFAULT_SIZING_MAX)
    g.add_argument("--sizing-time", type=duration_arg, metavar="S",
                   help="the ramp's length (default: %gs)" % DEFAULT_SIZING_S)
    g.add_argument("--sizing-window", type=duration_arg, metavar="S",
                   help="judge the last S (default: %gs)"
                        % DEFAULT_SIZING_WINDOW_S)
    g.add_argument("--sizing-slo", metavar="EXPR",
                   help="as --fail-if (default: %s, or a plateau)"
                        % DEFAULT_SIZING_SLO.replace("%", "%%"))

    g = p.add_argument_group("many machines")
    g.add_argument("--node", metavar="I/N",
                   help="run share I of a test over N nodes (default: all)")
    g.add_argument("--start-at", metavar="TIME",
                   help="start at epoch, ISO 8601 UTC or +30s (default:"
                        " ready)")
    g.add_argument("--hosts", metavar="LIST|@FILE",
                   help="run on these nodes over ssh (default: this box)")
    g.add_argument("--ssh-option", action="append", default=[],
                   metavar="K=V",
                   help="ssh -o K=V; repeatable (default: BatchMode=yes)")
    g.add_argument("--ssh-config", metavar="FILE",
                   help="ssh -F FILE (default: ssh's own)")
    g.add_argument("--remote-python", default="python3", metavar="CMD",
                   help="the nodes' Python (default: %(default)s)")
    g.add_argument("--collect", choices=("rows", "none"), default="rows",
                   metavar="rows|none",
                   help="copy the nodes' rows into -o (default:"
                        " %(default)s)")
    g.add_argument("--monitor", action="append", default=[],
                   metavar="SPEC",
                   help="sample local, HOST[=PROCS] or a URL (default:"
                        " none)")
    g.add_argument("--monitor-interval", type=duration_arg, metavar="S",
                   help="--monitor's period (default: %gs)"
                        % DEFAULT_MONITOR_INTERVAL_S)

    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="FILE",
                   help="CSV file; settings in FILE.json (default:"
                        " %(default)s)")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no progress line (default: on stderr)")
    g.add_argument("--web", nargs="?", const="", metavar="ADDR",
                   help="the live view and /metrics (default: %s:%d)"
                        % DEFAULT_WEB)
    g.add_argument("--web-keep", action="store_true",
                   help="--web serves on after the run (default: exit)")
    g.add_argument("--web-token", metavar="TOKEN",
                   help="--web's POSTs beyond loopback (default: random)")
    return p


# Locust's options hammer has no counterpart for: refused by name.
LOCUST_ONLY_OPTIONS = frozenset((
    "--web-host", "--web-port", "-P", "--web-login", "--web-auth",
    "--web-base-path", "--tls-cert", "--tls-key", "--class-picker",
    "--autostart", "--autoquit", "--master", "--worker", "--slave",
    "--master-host", "--master-port", "--master-bind-host",
    "--master-bind-port", "--expect-workers", "--expect-slaves",
    "--expect-workers-max-wait", "--enable-rebalancing",
    "--csv-full-history", "--print-stats", "--only-summary",
    "--reset-stats", "--html", "--json", "--json-file", "--skip-log-setup",
    "--loglevel", "-L", "--logfile", "--show-task-ratio",
    "--show-task-ratio-json", "-l", "--list", "--stop-timeout", "-s",
    "--exit-code-on-error", "--equal-weights", "--config", "--modern-ui",
    "--legacy-ui", "--step-load", "--step-users", "--step-clients",
    "--step-time", "--heartbeat-liveness", "--heartbeat-interval",
    "--profile", "--run-time-limit", "-i", "--iterations", "--hatch-rate",
    "--clients", "--num-request"))
DURATION_PARTS_RE = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def locust_only_option(argv, parser):
    """The first of Locust's options that hammer does not cover in
    argv (and that is not one of hammer's own), or None."""
    own = parser._option_string_actions
    for word in argv:
        if word == "--":
            break
        name = word.split("=", 1)[0]
        if name in LOCUST_ONLY_OPTIONS and name not in own:
            return name
    return None


def parse_run_time(text):
    """Locust's run time: '90', '30s', '5m', '1h30m' -> seconds;
    ValueError for anything else."""
    value = text.strip().lower()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    parts = DURATION_PARTS_RE.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return parse_duration(value)     # 500ms, or its error
    return sum(float(n) * DURATION_UNITS_S[u] for n, u in parts)


def has_unit(text):
    """Whether a -t value carries a time unit (30s, 5m, 1h30m, 500ms)."""
    return text.strip().lower()[-1:] in ("s", "m", "h")


def is_locustfile(path):
    """Whether the script at path imports locust (False if unreadable)."""
    import ast
    try:
        with open(path, "rb") as f:
            return imports_locust(ast.parse(f.read(), path))
    except (OSError, SyntaxError, ValueError):
        return False


def locust_mode(args):
    """Whether the command line runs a locustfile (-f, or a --script
    that imports locust)."""
    return bool(args.locustfile) or any(
        is_locustfile(parse_script_arg(text)[0]) for text in args.script)


def locust_threads(d):
    """--hosts: the nodes' -t (None where it was Locust's run time, which
    goes to d's run_time), as locust_args() reads it."""
    threads = d.get("threads")
    if threads is None:
        return None
    scripts = [parse_script_arg(t)[0] for t in d["script"]]
    if d.get("locustfile") or (has_unit(threads) and any(
            is_locustfile(path) for path in scripts)):
        if d.get("runtime") is None and d.get("run_time") is None:
            d["run_time"] = parse_run_time(threads)
        return None
    return threads


def locust_args(args):
    """Locust's options onto hammer's, in place.  Locust's mode is on
    with -f, or with a --script that imports locust: then -t with a
    unit is the run time (with -f, any -t is), -H URL is the host, a
    URL that is a Python name names the User class to run.  UsageError
    for a mix that does not hold."""
    mode = locust_mode(args)
    args.script = list(args.script) + list(args.locustfile)
    for name in ("host", "users", "spawn_rate", "run_time", "csv", "tags",
                 "exclude_tags", "headless"):
        if getattr(args, name) not in (None, False) and not mode:
            raise UsageError("--%s is Locust's option: use it with -f"
                             " locustfile.py" % name.replace("_", "-"))
    threads = args.threads
    args.threads = DEFAULT_THREADS
    if threads is not None:
        if mode and (args.locustfile or has_unit(threads)):
            if args.run_time is not None or args.runtime is not None:
                raise UsageError("-t %s is the run time: give it once"
                                 % threads)
            args.runtime = option(parse_run_time, threads, "-t")
        else:
            try:
                args.threads = int(threads)
            except ValueError:
                args.threads = 0
            if args.threads < 1:
                raise UsageError("argument -t/--threads: %r must be a whole"
                                 " number >= 1" % threads)
            if args.concurrency is not None:
                raise UsageError("argument -c/--concurrency: not allowed"
                                 " with argument -t/--threads")
    if not mode:
        return False
    if args.run_time is not None:
        if args.runtime is not None:
            raise UsageError("--run-time and --runtime: give one")
        args.runtime = args.run_time
    if args.users is not None:
        if args.concurrency is not None:
            raise UsageError("-u/--users and -c/--concurrency: give one")
        args.concurrency = args.users
    if args.spawn_rate is not None:
        if not 0 < args.spawn_rate < math.inf:
            raise UsageError("-r/--spawn-rate must be above 0 users a"
                             " second")
        if args.rampup is not None:
            raise UsageError("-r/--spawn-rate and --rampup: give one")
        if args.concurrency is None:
            raise UsageError("-r/--spawn-rate needs -u/--users")
        args.rampup = args.concurrency / args.spawn_rate
    hosts = [h for h in args.header if HOST_LIKE_RE.match(h.strip())]
    args.header = [h for h in args.header if h not in hosts]
    hosts += [args.host] if args.host else []
    if args.url is not None and args.url.isidentifier():
        args.user_classes = [args.url]      # locust -f FILE UserClass
        args.url = None
    else:
        args.user_classes = None
    if len(hosts) > 1 or (hosts and args.url is not None):
        raise UsageError("the host is given twice: give the URL once (as"
                         " URL, -H URL or --host URL)")
    args.host_given = bool(hosts) or args.url is not None
    if hosts:
        args.url = hosts[0]
    if args.csv is not None:
        if not args.csv.strip() or args.csv.endswith(("/", os.sep)):
            raise UsageError("--csv %r: give a file prefix, as in --csv"
                             " out/run" % args.csv)
        if args.output != DEFAULT_OUTPUT:
            raise UsageError("--csv and -o/--output: give one")
        args.output = args.csv + "_requests.csv"
    return True


def locust_plan(args, loaded):
    """With a locustfile: the URL from the User classes' host when the
    command line gave none, the stages of its LoadTestShape, and the
    settings its workers read.  loaded: path -> Scenario."""
    locust = [s for s in loaded.values() if s.locust is not None]
    if not locust:
        return None
    options = {"user_classes": args.user_classes, "tags": args.tags,
               "exclude_tags": args.exclude_tags,
               "spawn_rate": args.spawn_rate, "host_given": args.host_given}
    classes = []
    for scenario in locust:
        classes += chosen_classes(scenario.locust.classes, options,
                                  scenario.path)
    if args.url is None:
        hosts = [c.host for c in classes if c.host]
        if not hosts:
            raise UsageError("the locustfile's users set no host: give the"
                             " URL (or -H URL)")
        args.url = hosts[0]
    shapes = [s for s in locust if s.locust.shape is not None]
    if shapes:
        args.stage_steps = shape_of_locustfile(shapes[0], args)
        args.stages = "the LoadTestShape"
        args.runtime = None
    return options


def shape_of_locustfile(scenario, args):
    """A locustfile's LoadTestShape as (duration_s, users) steps, cut at
    the run time when one is given.  UsageError for a clash."""
    for name, given in (("-u/-c", args.concurrency), ("-r", args.spawn_rate),
                        ("--rampup", args.rampup), ("--stages", args.stages),
                        ("--cycles", args.cycles), ("--sizing", args.sizing)):
        if given:
            raise UsageError("the locustfile's %s sets the users: leave out"
                             " %s" % (scenario.locust.shape.__name__, name))
    shape = scenario.locust.shape()

    def tick(t, users):
        shape._now_s, shape._users = t, users
        return shape.tick()
    try:
        steps = shape_steps(tick, until_s=args.runtime)
    except ValueError as exc:
        raise UsageError("script %r: %s.%s" % (
            scenario.path, scenario.locust.shape.__name__, exc))
    except Exception as exc:
        raise UsageError("script %r: %s.tick(): %s: %s" % (
            scenario.path, scenario.locust.shape.__name__,
            type(exc).__name__, exc))
    if args.runtime is not None:
        cut, left = [], args.runtime
        for duration, users in steps:
            if left <= 0:
                break
            cut.append((min(duration, left), users))
            left -= duration
        steps = cut
    if not steps:
        raise UsageError("script %r: %s.tick() returned None at once" % (
            scenario.path, scenario.locust.shape.__name__))
    return merge_steps(steps)


def read_body(data):
    """--data: the text itself (UTF-8), or the bytes of @FILE, a regular
    file of at most MAX_BODY_B bytes."""
    if data is None:
        return None
    if not data.startswith("@"):
        body = data.encode("utf-8", "surrogateescape")
    else:
        path = data[1:]
        try:
            # stat first: opening a FIFO would block
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise UsageError("data file %r is not a regular file"
                                 % path)
            with open(path, "rb") as f:
                body = f.read(MAX_BODY_B + 1)
        except OSError as exc:
            raise UsageError("cannot read data file %r: %s"
                             % (path, exc.strerror or exc))
    if len(body) > MAX_BODY_B:
        raise UsageError("the request body is bigger than the limit of %s"
                         % format_bytes(MAX_BODY_B, binary=True))
    return body


# The run, as make_plan() derives it from the command line: the parent, the
# workers and the settings file all read it, and nothing changes it.
Plan = collections.namedtuple("Plan", (
    "url method target request head_request keepalive tls insecure"
    " processes users threads_per_process model shape stages rampup_s"
    " runtime_s rate_rps arrivals interval_s think_s seed requests"
    " timeout_s output sizing thresholds name headers groups group_of"
    " targets data max_body verbose scenario notes quiet node start_at"
    " hosts ok_status demo locust_csv live monitor replay engine"))
# --monitor: the hosts' MonitorSpecs and the period; None when off (the
# generator alone is sampled when --fail-if trusted asks for a verdict).
# node: a --hosts node's, whose progress carries its /proc and its
# responses' latencies to the controller, which samples.
Monitoring = collections.namedtuple("Monitoring", "specs interval_s node")
Monitoring.__new__.__defaults__ = (False,)


def exclusive(args, names):
    """UsageError when more than one of the options named was given."""
    given = [n for n in names if getattr(args, n.lstrip("-").replace(
        "-", "_")) not in (None, False, [])]
    if len(given) > 1:
        raise UsageError("%s and %s cannot be combined" % tuple(given[:2]))


def option(parse, text, name):
    """parse(text), a ValueError becoming a UsageError naming the option."""
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError("%s: %s" % (name, exc))


def shape_of(args):
    """Which load shape the options ask for: ramp, stages, cycles or
    sizing.  UsageError for options that do not go together."""
    exclusive(args, ("--stages", "--cycles", "--sizing"))
    for name, needs in (("--sizing-max", "sizing"), ("--sizing-time", "sizing"),
                        ("--sizing-window", "sizing"),
                        ("--sizing-slo", "sizing"), ("--cycle-time", "cycles"),
                        ("--cycle-rampup", "cycles"), ("--arrivals", "rate")):
        if (getattr(args, name[2:].replace("-", "_")) is not None
                and getattr(args, needs) in (None, False)):
            raise UsageError("%s needs --%s" % (name, needs))
    shape = ("stages" if args.stages is not None else "cycles"
             if args.cycles is not None else "sizing" if args.sizing
             else "ramp")
    if shape != "ramp":
        for name in ("--runtime", "--rampup"):
            if getattr(args, name[2:]) is not None:
                raise UsageError("--%s sets the runtime and the ramp: leave"
                                 " out %s" % (shape, name))
    if shape in ("stages", "cycles") and args.rate:
        raise UsageError("with --%s the targets are the rates: give --rate"
                         " without a value" % shape)
    if shape not in ("stages", "cycles") and args.rate == "":
        raise UsageError("--rate needs a rate in req/s, as in --rate 500 or"
                         " --rate 100:1000")
    if shape == "sizing" and args.rate is not None and args.sizing_max:
        raise UsageError("--sizing-max counts users: with --rate the"
                         " sizing ramps the rate up to --rate's")
    return shape


def sizing_of(args):
    """--sizing's settings."""
    sizing = Sizing(
        args.sizing_max or DEFAULT_SIZING_MAX,
        DEFAULT_SIZING_S if args.sizing_time is None else args.sizing_time,
        DEFAULT_SIZING_WINDOW_S if args.sizing_window is None
        else args.sizing_window,
        option(parse_threshold, args.sizing_slo or DEFAULT_SIZING_SLO,
               "--sizing-slo"), args.sizing_slo is None)
    if sizing.time_s <= 0:
        raise UsageError("--sizing-time must be more than 0s")
    if not 0 < sizing.window_s <= sizing.time_s:
        raise UsageError("--sizing-window must be more than 0s and at most"
                         " --sizing-time (%gs)" % sizing.time_s)
    return sizing


def load_shape(args, users):
    """The load over time from the options: (model, shape, stages,
    runtime_s, rate_rps, sizing).  UsageError for a bad mix."""
    open_model = args.rate is not None
    shape = shape_of(args)
    rate = option(parse_rate, args.rate, "--rate") if args.rate else None
    if shape == "ramp" and rate and ":" in args.rate and not args.rampup:
        raise UsageError("--rate %s ramps over --rampup: give --rampup"
                         % args.rate)
    sizing = sizing_of(args) if shape == "sizing" else None
    if shape == "stages" and getattr(args, "stage_steps", None):
        stages = build_stages(args.stage_steps)     # a LoadTestShape's
    elif shape == "stages":
        stages = build_stages(option(lambda t: parse_stages(t, open_model),
                                     args.stages, "--stages"))
    elif shape == "cycles":
        levels = option(lambda t: parse_levels(t, open_model), args.cycles,
                        "--cycles")
        cycle_s = DEFAULT_CYCLE_S if args.cycle_time is None else args.cycle_time
        if cycle_s <= 0:
            raise UsageError("--cycle-time must be more than 0s")
        stages = build_stages(cycle_steps(levels, cycle_s,
                                          args.cycle_rampup or 0.0))
    elif sizing:
        stages = (build_stages([(sizing.time_s, rate[1])], rate[0])
                  if open_model else
                  build_stages([(sizing.time_s, sizing.max_users)], 0))
    else:
        runtime = DEFAULT_RUNTIME_S if args.runtime is None else args.runtime
        if runtime <= 0:
            raise UsageError("--runtime must be more than 0s")
        stages = (ramp_stages(args.rampup or 0.0, runtime, rate[0], rate[1])
                  if open_model else
                  ramp_stages(args.rampup or 0.0, runtime, 0, users))
    runtime = stages_end(stages)
    if not 0 < runtime <= MAX_DURATION_S:
        raise UsageError("--%s must last more than 0s and at most %gs"
                         % (shape, MAX_DURATION_S))
    if not open_model and max(s.end for s in stages) < 1:
        raise UsageError("--%s never asks for a user: give a %s of 1 or"
                         " more" % (shape, "level" if shape == "cycles"
                                    else "target"))
    if open_model and RateSchedule(stages).total <= 0:
        raise UsageError("--%s never asks for a request: give a rate above"
                         " 0" % shape)
    return ("open" if open_model else "closed", shape, stages, runtime, rate,
            sizing)


Scenes = collections.namedtuple(
    "Scenes", "groups targets settings notes quiet")


def project_args(args):
    """--project DIR: its user groups as --script FILE:USERS ones; its
    run_time and rampup where the command line gave none.  Returns the
    Project."""
    project = parse_project(args.project)
    args.script = ["%s:%d" % (path, users) for path, users in project.groups]
    if args.runtime is None and project.run_time_s is not None:
        args.runtime = project.run_time_s
    if args.rampup is None and project.rampup_s is not None:
        args.rampup = project.rampup_s
    return project


def target_requests(specs, path, base, headers, keepalive):
    """A --targets file's entries -> [(request bytes, is HEAD,
    'METHOD,name')] and their weights, for one origin."""
    entries, weights, origins = [], [], set()
    for spec, body in specs:
        where = "%s:%d" % (path, spec.line)
        url = spec.url
        if not is_absolute(url):
            if base is None:
                raise UsageError("%s: %r is a path: give the URL to resolve"
                                 " it against" % (where, url))
            url = urljoin(base.url, url)
        try:
            target = parse_url(url)
        except UsageError as exc:
            raise UsageError("%s: %s" % (where, exc))
        given = set(name.lower() for name, _ in spec.headers)
        sent = [h for h in headers if h[0].lower() not in given]
        sent += list(spec.headers)
        check_framing_headers(sent, body)
        try:
            request = build_request(spec.method, target, sent, body,
                                    keepalive)
        except UnicodeError:
            raise UsageError("%s: headers must be latin-1 text" % where)
        origins.add(origin(target))
        entries.append((request, spec.method.upper() == "HEAD", name_suffix(
            spec.method, spec.name or default_name(target.path)), target))
        weights.append(spec.weight)
    if len(origins) > 1:
        raise UsageError("the targets name %d hosts: hammer's --targets"
                         " runs against one (scheme, host and port)"
                         % len(origins))
    return entries, weights


def scenes(args, headers, users_option):
    """--script, --project, --targets and --data-file: their Scenes;
    the scripts are loaded once here, so that a broken one stops the
    run before any load."""
    exclusive(args, ["--script", "--project", "--targets"])
    notes, quiet, settings = [], False, None
    groups = targets = None
    if args.project is not None:
        project = project_args(args)
        ignored = format_ignored(os.path.join(args.project, "config.cfg"),
                                 project.ignored)
        if ignored:
            notes.append(ignored)
        quiet = project.progress_bar is False
        settings = {"kind": "project", "project": args.project,
                    "crunch_interval_s": project.results_ts_interval_s}
    if args.script:
        groups = groups_of(args.script, users_option)
        loaded = {}
        for path, _ in groups:
            if path not in loaded:
                loaded[path] = load_script(path)
        shapes = [loaded[path].shape for path, _ in groups]
        settings = dict(settings or {"kind": "script"}, groups=[
            {"script": path, "users": users, "shape": shape}
            for (path, users), shape in zip(groups, shapes)])
        locust = locust_plan(args, loaded)
        if locust is not None:
            settings["locust"] = locust
        notes += script_waits(args, loaded.values())
    if args.targets is not None:
        targets = load_targets(args.targets)
        settings = {"kind": "targets", "targets": args.targets}
    if (groups or targets) and (args.data is not None
                                or args.method is not None):
        raise UsageError("-d/--data and -X/--method: the %s gives each"
                         " request's method and body"
                         % ("targets file" if targets else "script"))
    if args.verbose and not groups:
        raise UsageError("--verbose prints a script's requests: use it with"
                         " --script or --project")
    if args.data_file is not None and not groups:
        raise UsageError("--data-file gives scripts their user.data: use it"
                         " with --script or --project")
    return Scenes(groups, targets, settings, notes, quiet)


def more_users(args, shape, counted, least):
    """How to ask for `least` users or more, by what sets them: the
    groups, the stages or cycles, else -c (a usage error's advice)."""
    if counted:
        return ("give the project's user groups %d threads or more in all"
                % least if args.project is not None else
                "give the --script groups %d users or more in all" % least)
    if args.rate is None and shape in ("stages", "cycles"):
        return "give --%s a %s of %d or more" % (
            shape, "target" if shape == "stages" else "level", least)
    return "give -c %d or more" % least


def script_waits(args, scenarios):
    """UsageError when a script's wait_time meets --think or --rate, as
    --think would; with a locustfile, --rate leaves its wait_time out,
    which the note returned says."""
    think = option(parse_span, args.think, "--think")[1] > 0
    for s in scenarios:
        if s.wait is None and s.locust is None:
            continue
        what = ("the locustfile's users wait by their wait_time"
                if s.locust is not None else
                "script %r sets a wait_time" % s.path)
        if think:
            raise UsageError("--think: %s; leave out one" % what)
        if args.rate is not None and s.locust is None:
            raise UsageError("--rate says when iterations go: %s; leave"
                             " out one" % what)
        if args.rate is not None:
            return ["hammer: note: with --rate the rate says when each task"
                    " goes: the locustfile's wait_time is left out"]
    return []


def make_plan(args):
    """Check the arguments and derive the run's Plan.

    Raises UsageError for a user's mistake.
    """
    locust_args(args)
    headers = [parse_header(h) for h in args.header]
    scene = scenes(args, headers, args.concurrency)
    base = parse_url(args.url) if args.url is not None else None
    targets = None
    if scene.targets is not None:
        targets = target_requests(scene.targets, args.targets, base,
                                  headers, not args.no_keepalive)
        if base is None or origin(base) != origin(targets[0][0][3]):
            base = targets[0][0][3]
    target = base
    body = read_body(args.data)
    check_framing_headers(headers, body)
    method = args.method
    if method is None:
        method = "POST" if body is not None else "GET"
    if not method or not set(method) <= TOKEN_CHARS:
        raise UsageError("invalid method %r: a method is a token such as"
                         " GET or POST" % method)
    if not args.output:
        raise UsageError("-o/--output needs a file name")
    if args.timeout <= 0:
        raise UsageError("--timeout must be more than 0s")
    think = option(parse_span, args.think, "--think")
    thresholds = tuple(option(parse_threshold, t, "--fail-if")
                       for t in args.fail_if)
    ok_status = frozenset().union(*(option(parse_ok_status, t, "--ok-status")
                                    for t in args.ok_status))
    node = option(parse_node, args.node, "--node") if args.node else None
    nodes = node[1] if node else len(args.hosts or ()) or 1
    processes = args.processes or available_cpus()
    users = args.concurrency or processes * args.threads * nodes
    groups = scene.groups
    counted = groups is not None and (
        len(groups) > 1 or parse_script_arg(args.script[0])[1] is not None)
    if counted:
        users = sum(n for _, n in groups)
        if args.stages or args.cycles or args.sizing:
            raise UsageError("--script FILE:USERS sets the users: leave the"
                             " users to it, or to --stages, --cycles or"
                             " --sizing")
    replay = None
    if args.replay is not None:
        replay, runtime, replay_notes = replay_plan(args)
        log_rps = replay.lines / max(replay.span_s / replay.speed, 1e-9)
        model, shape, rate, sizing = "open", "replay", (log_rps,) * 2, None
        stages = (Stage(0.0, runtime, log_rps, log_rps),)
    else:
        model, shape, stages, runtime, rate, sizing = load_shape(args, users)
    if model == "open":
        if args.interval or think[1]:
            raise UsageError("--interval and --think pace users; with --rate"
                             " the rate says when requests go")
    elif shape != "ramp":
        if args.concurrency:
            raise UsageError("-c/--concurrency: the --%s set the users"
                             % shape)
        users = int(math.ceil(max(s.end for s in stages)))
    if sizing and args.requests is not None:
        raise UsageError("-n/--requests cannot be combined with --sizing")
    if sizing and nodes > 1:
        raise UsageError("--sizing judges one box's measurements as they"
                         " come: it cannot be split over nodes")
    mine = len(node_users(users, *node)) if node else users
    if not mine:
        raise UsageError("--node %d/%d has no users: %d users in all over %d"
                         " nodes; %s" % (node + (users, node[1], more_users(
                             args, shape, counted, node[1]))))
    processes = min(processes, mine)
    start_at = None
    if args.start_at is not None:
        start_at = parse_start_at(args.start_at, time.time())
    try:
        if target is None:      # the scripts' requests will send them
            "".join(name + value for name, value in headers).encode(
                "latin-1")
            request = None
        else:
            request = build_request(method, target, headers, body,
                                    not args.no_keepalive)
    except UnicodeError:
        raise UsageError("headers must be latin-1 text")
    seed = args.seed
    if seed is None and node and start_at is not None:
        seed = int(round(start_at * 1e6)) % (1 << 32)  # the same on all
    elif seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    notes = list(scene.notes) + (replay_notes if replay else [])
    if node and args.seed is None and start_at is None:
        notes.append("hammer: note: --node without --seed or --start-at:"
                     " this node's seed, %d, is its own; give every node the"
                     " same --seed so that they draw as one box" % seed)
    group_of = data = None
    if groups is not None:
        group_of = (group_of_users([n for _, n in groups]) if counted
                    else [0] * users)
        groups = [(path, n if counted else users) for path, n in groups]
        for entry, (_, n) in zip(scene.settings["groups"], groups):
            entry["users"] = n      # a lone script's users: -c, -t or a plan
        if args.data_file is not None:
            data = load_data_file(args.data_file)[1]
            if len(data) < users:
                notes.append("hammer: warning: %s has %d rows for %d users:"
                             " users %d and on reuse them (user g gets row g"
                             " mod %d)" % (args.data_file, len(data), users,
                                           len(data), len(data)))
    try:
        max_body = parse_size(args.max_body)
    except UsageError as exc:
        raise UsageError("--max-body: %s" % exc)
    return Plan(
        url=target and target.url, method=method, target=target,
        request=request, head_request=method.upper() == "HEAD",
        keepalive=not args.no_keepalive,
        tls=target is not None and target.scheme == "https",
        insecure=args.insecure, processes=processes, users=users,
        threads_per_process=split_evenly(mine, processes), model=model,
        shape=shape, stages=stages, rampup_s=args.rampup or 0.0,
        runtime_s=runtime, rate_rps=rate,
        arrivals=("replay" if replay else args.arrivals or "uniform")
        if model == "open" else None,
        interval_s=args.interval, think_s=think, seed=seed,
        requests=args.requests, timeout_s=args.timeout, output=args.output,
        sizing=sizing, thresholds=thresholds,
        name=target and default_name(target.path), headers=headers,
        groups=groups,
        group_of=group_of, targets=targets, data=data, max_body=max_body,
        verbose=args.verbose, scenario=scene.settings, notes=notes,
        quiet=scene.quiet, node=node, start_at=start_at,
        hosts=len(args.hosts) if args.hosts else None, ok_status=ok_status,
        demo=bool(getattr(args, "demo", False)), locust_csv=args.csv,
        live=getattr(args, "web", None) is not None
        or bool(getattr(args, "live", False)),
        monitor=monitoring(args, thresholds), replay=replay,
        engine=engine_of(args, groups))


def engine_of(args, groups):
    """--engine: what runs the users, "loop" or "threads"; a script's
    users run their own code, so they need threads."""
    if groups is None:
        return args.engine or "loop"
    if args.engine == "loop":
        raise UsageError("--engine loop runs no scripts: a script's users run"
                         " their own code, each in a thread (--engine"
                         " threads)")
    return "threads"


def monitoring(args, thresholds):
    """--monitor and --monitor-interval -> Monitoring, or None when
    nothing asks for it (no --monitor, no --fail-if trusted)."""
    specs = tuple(parse_monitor_spec(text) for text in
                  getattr(args, "monitor", None) or ())
    interval = getattr(args, "monitor_interval", None)
    if interval is not None and not specs:
        raise UsageError("--monitor-interval is for --monitor")
    if interval is not None and interval < MIN_MONITOR_INTERVAL_S:
        raise UsageError("--monitor-interval must be at least %gs"
                         % MIN_MONITOR_INTERVAL_S)
    if len(set(s.text for s in specs)) < len(specs):
        raise UsageError("--monitor names a host twice")
    if getattr(args, "node", None) and specs:
        raise UsageError("--monitor is the controller's: leave it out of"
                         " --node runs")
    if getattr(args, "node_proc", False):
        return Monitoring((), DEFAULT_MONITOR_INTERVAL_S, True)
    if not specs and not any(t.metric == "trusted" for t in thresholds):
        return None
    return Monitoring(specs, interval or DEFAULT_MONITOR_INTERVAL_S)


def hosts_options(args):
    """--hosts and its options: parsed and checked (args.hosts becomes a
    list of Host)."""
    over_ssh = any(parse_monitor_spec(m).kind == "ssh"
                   for m in getattr(args, "monitor", None) or ())
    if args.hosts is None:
        for name in ("ssh_option", "ssh_config"):
            if getattr(args, name) and not over_ssh:
                raise UsageError("--%s is for --hosts and --monitor HOST"
                                 % name.replace("_", "-"))
        for text in args.ssh_option:
            if not SSH_OPTION_RE.match(text):
                raise UsageError("--ssh-option %r is not KEY=VALUE" % text)
        return
    args.hosts = parse_hosts(args.hosts)
    if args.node:
        raise UsageError("--node and --hosts cannot be combined: --hosts"
                         " numbers its nodes")
    if args.demo:
        raise UsageError("--demo runs its target on this box: leave out"
                         " --hosts")
    for text in args.ssh_option:
        if not SSH_OPTION_RE.match(text):
            raise UsageError("--ssh-option %r is not KEY=VALUE" % text)
    if not args.remote_python or has_control(args.remote_python):
        raise UsageError("--remote-python %r is not a command"
                         % args.remote_python)


def stage_settings(stages):
    """The settings file's "stages"."""
    return [{"start_s": s.start_s, "end_s": s.end_s, "from": s.begin,
             "to": s.end} for s in stages]


def plan_settings(plan):
    """The settings file's first contents: the plan, readable by people
    and by crunch; the run adds its start, duration and summary."""
    sizing = None
    if plan.sizing:
        sizing = {"max_users": plan.sizing.max_users,
                  "time_s": plan.sizing.time_s,
                  "window_s": plan.sizing.window_s,
                  "slo": plan.sizing.slo.expr,
                  "plateau": plan.sizing.plateau}
    return {
        "hammer": __version__,
        "engine": plan.engine,
        "url": redact_url(plan.url) if plan.url is not None else None,
        "method": plan.method,
        "processes": plan.processes, "users": plan.users,
        "threads_per_process": plan.threads_per_process,
        "model": plan.model, "shape": plan.shape,
        "stages": stage_settings(plan.stages),
        "rampup_s": plan.rampup_s, "runtime_s": plan.runtime_s,
        "rate_rps": list(plan.rate_rps) if plan.rate_rps else None,
        "arrivals": plan.arrivals, "interval_s": plan.interval_s,
        "think_s": list(plan.think_s) if plan.think_s[1] else None,
        "seed": plan.seed, "timeout_s": plan.timeout_s,
        "keepalive": plan.keepalive, "requests": plan.requests,
        "output": plan.output, "sizing": sizing,
        "thresholds": [t.expr for t in plan.thresholds],
        "error_rule": rule_settings(plan.ok_status),
        "scenario": plan.scenario,
        "replay": None if plan.replay is None else {
            "log": plan.replay.path, "speed": plan.replay.speed,
            "loop": plan.replay.loop,
            "methods": sorted(plan.replay.methods),
            "lines": plan.replay.lines, "span_s": plan.replay.span_s},
        "crunch_interval_s": (plan.scenario or {}).get("crunch_interval_s"),
        "started": None, "started_epoch_s": None, "duration_s": None,
        "node": plan.node[0] if plan.node else None,
        "nodes": plan.node[1] if plan.node else None,
        "host": socket.gethostname(),
        "start_at": (iso_utc(plan.start_at) if plan.start_at is not None
                     else None),
        "start_at_epoch_s": (round(plan.start_at, 6)
                             if plan.start_at is not None else None),
        "monitor": None if plan.monitor is None or plan.monitor.node else {
            "hosts": ["generator"] + [m.text for m in plan.monitor.specs],
            "interval_s": plan.monitor.interval_s,
            "file": plan.output + MONITOR_SUFFIX},
    }


# --- main --------------------------------------------------------------------


def command(argv, parser, err):
    """The command line -> (args, raw, plan, listener): raw, the
    arguments before make_plan(); listener, --demo's socket.  UsageError
    for a mistake (argparse's own go to parser.error()).  With --web and
    nothing to run: (args, None, None, None)."""
    refused = locust_only_option(argv, parser)
    if refused:
        raise UsageError("%s is Locust's option, which hammer does not"
                         " cover (README: Locustfiles)" % refused)
    args = parser.parse_args(argv)
    if import_options(args):
        return args, None, None, None
    web_options(args)
    if args.url is None and not (args.demo or args.targets is not None
                                 or args.script or args.project
                                 or args.locustfile):
        if args.web is not None:
            return args, None, None, None
        raise UsageError("a URL is required (or --demo to try hammer on a"
                         " built-in target)")
    if args.url is not None and args.demo:
        raise UsageError("--demo runs against its own target: leave out the"
                         " URL")
    if args.demo and args.runtime is None and not (
            args.stages is not None or args.cycles is not None
            or args.sizing or args.replay is not None):
        args.runtime = DEMO_RUNTIME_S
    listener = None
    try:
        hosts_options(args)
        if args.demo:
            listener = demo_listener()
            args.url = "http://127.0.0.1:%d/" % listener.getsockname()[1]
        raw = dict(vars(args))
        plan = make_plan(args)
        for note in plan.notes:
            err.write(note + "\n")
        problem = None if args.hosts else capacity_problem(
            plan.threads_per_process, box_limits(), plan.engine)
        if problem:
            raise UsageError(problem)
    except BaseException:
        if listener is not None:
            listener.close()
        raise
    return args, raw, plan, listener


def import_options(args):
    """--import and its options, checked (and --replay's): True when the
    command is an --import (which sends nothing)."""
    if args.replay is None:
        for name in ("replay_speed", "replay_loop"):
            if getattr(args, name) not in (None, False):
                raise UsageError("--%s is for --replay"
                                 % name.replace("_", "-"))
        if args.replay_methods is not None and args.import_ is None:
            raise UsageError("--replay-methods is for --replay (or the"
                             " --import of a log)")
    if args.import_ is None:
        for name in ("import_out", "import_to", "import_keep", "force"):
            if getattr(args, name):
                raise UsageError("--%s is for --import"
                                 % name.replace("_", "-"))
        return False
    if args.url is not None:
        raise UsageError("--import writes a script and sends nothing: leave"
                         " out the URL %r" % args.url)
    for action in build_parser()._actions:
        if (action.dest not in IMPORT_DESTS and action.option_strings
                and getattr(args, action.dest, None) != action.default):
            raise UsageError("--import writes a script and sends nothing:"
                             " leave out %s" % action.option_strings[-1])
    return True


IMPORT_DESTS = frozenset(["import_", "import_out", "import_to", "import_keep",
                          "force", "replay_methods", "help", "version",
                          "output", "quiet"])   # -o: a run's CSV, untouched


def web_options(args):
    """--web and its options, checked (args.web becomes (host, port))."""
    if args.web is None:
        for name in ("web_keep", "web_token"):
            if getattr(args, name):
                raise UsageError("--%s is for --web" % name.replace("_", "-"))
        return
    try:
        args.web = parse_web(args.web)
    except ValueError as exc:
        raise UsageError("--web: %s" % exc)
    if args.web_token is not None and (len(args.web_token) < 8 or
                                       has_control(args.web_token)):
        raise UsageError("--web-token: at least 8 printable characters")


def run_job(job, out, err, view=None):
    """Run a command line's plan (a WebJob); its exit code.  view: the
    live view (--web) that watches and steers it."""
    args, plan, listener = job.args, job.plan, job.listener
    demo = None
    try:
        if listener is not None:
            demo = start_demo_server(listener)
            err.write("hammer: demo target listening at %s\n" % args.url)
        if args.hosts:
            return run_hosts(args, job.raw, plan, out, err, view)
        where = probe(plan, args.insecure, args.timeout)
        record = plan_settings(plan)
        create_output(plan.output, record)
        if view is not None:
            view.record = record
        monitor = None
        if plan.monitor is not None:
            monitor = Monitor(plan, args, err)
            monitor.open()
            if view is not None:
                view.monitor = monitor
        return run(plan, where, record, out, err,
                   args.quiet or plan.quiet,
                   gate=None if view is None else WebGate(view,
                                                          plan.start_at),
                   own_pids=[demo.pid] if demo is not None else (),
                   monitor=monitor)
    except RunError as exc:
        err.write("hammer: error: %s\n" % exc)
        if view is not None:
            view.failed(str(exc))
        return 1
    except KeyboardInterrupt:
        err.write("hammer: interrupted before the test started\n")
        return 130
    finally:
        if demo is not None:
            demo.terminate()
            demo.join()


def web_command(argv, top):
    """A run the view was asked for: its command line, checked as main()
    checks one and with every path under top -> WebJob; UsageError says
    why not, and nothing runs."""
    parser = build_parser()

    def error(message):
        raise UsageError(message)
    parser.error = error
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        raise UsageError("--help and --version are for the command line")
    if args.web is not None or args.web_keep or args.web_token:
        raise UsageError("--web and its options are the view's own")
    if args.import_ is not None:
        raise UsageError("--import writes a file and sends nothing: run it"
                         " on the command line")
    outside = outside_paths(args, top)
    if outside is not None:
        raise UsageError("%r is outside %s, the directory hammer was started"
                         " in" % (outside, top))
    args, raw, plan, listener = command(argv, parser, io.StringIO())
    return WebJob(argv, args, raw, plan._replace(live=True), listener)


def crunch_beside():
    """crunch.py beside hammer.py, or None."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "crunch.py")
    return path if os.path.isfile(path) else None


def web_run(job, view, out, err):
    """One run under the view: its files offered when it ends, with
    crunch's HTML report when crunch.py sits beside hammer.py (made when
    first asked for, so that a run that nobody looks at costs nothing)."""
    code = run_job(job, out, err, view)
    files, reports = {}, {}
    output = job.plan.output
    for path in (output, output + SETTINGS_SUFFIX):
        if os.path.isfile(path):
            files[os.path.basename(path)] = os.path.abspath(path)
    if os.path.isfile(output) and crunch_beside() is not None:
        name = os.path.splitext(os.path.basename(output))[0] + ".html"
        reports[name] = os.path.abspath(output)
    view.finish(code, files, reports)
    return code


def signalled(code, view):
    """Whether Ctrl+C (or SIGTERM), not the page's Stop, ended a run
    under --web: hammer exits then, as without it."""
    return code in (128 + signal.SIGINT, 128 + signal.SIGTERM) and not (
        view.stop_wanted)


def web_main(job, out, err):
    """--web: serve the live view; run the command line's plan at once,
    if any, then (with --web-keep, or with nothing to run) the runs the
    view starts, until Ctrl+C.  The exit code is the run's, or 130."""
    import queue
    args = job.args
    host, port = args.web
    token = None
    if not is_loopback(host):
        token = args.web_token or base64.urlsafe_b64encode(
            os.urandom(WEB_TOKEN_B)).decode("ascii")
    view, jobs, top = LiveView(), queue.Queue(), os.getcwd()
    if job.plan is not None:    # running from the first request on
        view.begin(job.plan, None, job.argv, len(args.hosts)
                   if args.hosts else None)
    try:
        server = web_server(view, host, port, token, top, jobs)
    except OSError as exc:
        if job.listener is not None:
            job.listener.close()
        err.write("hammer: error: cannot serve --web on %s: %s\n"
                  % (host_port(host, port), exc.strerror or exc))
        return 1
    thread = threading.Thread(target=server.serve_forever,
                              args=(STOP_POLL_S,))
    thread.daemon = True
    thread.start()
    err.write("hammer: live view at http://%s/ (metrics at /metrics)\n"
              % host_port(host, server.server_address[1]))
    if token is not None and args.web_token is None:
        err.write("hammer: the view's token, for its POSTs (shown once): %s\n"
                  % token)
    err.flush()
    code = 0
    try:
        if job.plan is not None:
            code = web_run(job, view, out, err)
            if not args.web_keep or signalled(code, view):
                return code
        while True:
            try:
                code = web_run(jobs.get(timeout=STOP_POLL_S * 5), view, out,
                               err)
            except queue.Empty:
                continue
            if signalled(code, view):
                return code
    except KeyboardInterrupt:
        err.write("\nhammer: live view closed\n")
        return 130
    finally:
        server.shutdown()
        server.server_close()
        view.close()


def main(argv=None, out=None, err=None):
    """Run hammer with argv; return the exit code.

    0 run complete, 1 run failed (target unreachable at start, output not
    writable, a worker failed, no request made), 2 bad usage (also more
    users than the box can hold), 3 a --fail-if threshold failed, 130
    SIGINT, 143 SIGTERM.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [AGENT] and len(argv) == 2:
        return agent_main(argv[1])
    parser = build_parser()
    try:
        try:
            args, raw, plan, listener = command(argv, parser, err)
            if args.import_ is not None:
                return import_main(args, out)
        except UsageError as exc:
            parser.error(str(exc))
    except SystemExit as exc:
        return exc.code
    except RunError as exc:
        err.write("hammer: error: %s\n" % exc)
        return 1
    job = WebJob(argv, args, raw, plan, listener)
    if args.web is not None:
        return web_main(job, out, err)
    return run_job(job, out, err)


if __name__ == "__main__":
    sys.exit(main())

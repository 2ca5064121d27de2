#!/usr/bin/env python3
"""hammer: a single-file HTTP load generator (Python standard library only).

Usage:

    python hammer.py URL [--interval S] [--runtime S] [--rampup S]
                         [-p PROCESSES] [-t THREADS | -c CONCURRENCY] ...
    python hammer.py --demo

Work is split over worker processes; each process runs threads, and each
thread is one simulated user that sends a request, waits for the whole
response, pauses --interval seconds and goes again until --runtime is over.
Users start on a linear ramp-up: with N users in all, user g starts at
g * rampup / N.  Every request becomes one row of the CSV output
(results.csv), written as the test runs; at the end a summary gives
throughput, latency percentiles over every response, status codes and
transport errors.  Time options take 30, 30s, 500ms, 5m or 1h.

Exit codes: 0 run complete, 1 run failed (target unreachable at start,
output not writable, a worker failed), 2 bad usage, 130 interrupted by
SIGINT (Ctrl+C), 143 stopped by SIGTERM.
"""

import argparse
import base64
import bisect
import collections
import errno
import itertools
import math
import multiprocessing
import operator
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from urllib.parse import urlsplit, unquote

__version__ = "0.1.0"

# --- constants ---------------------------------------------------------------

DEFAULT_RUNTIME_S = 60.0
DEMO_RUNTIME_S = 5.0
DEFAULT_THREADS = 10
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_OUTPUT = "results.csv"
FLUSH_PERIOD_S = 0.25           # a worker writes its rows at least this often
PROGRESS_PERIOD_S = 1.0         # workers report counters, the TTY line updates
PROGRESS_PLAIN_PERIOD_S = 5.0   # plain progress lines when stderr is no TTY
STOP_POLL_S = 0.1               # how often a worker looks at the stop flag
WORKER_START_TIMEOUT_S = 60.0   # spawn on a slow box may take a while
SATURATION_CPU_RATIO = 0.9      # a worker busier than this is the bottleneck
RECV_SIZE_B = 65536
FIRST_RECV_B = 4096     # a response's first read: its head and a small body;
                        # a user waiting for a response holds this much
USER_AGENT = "hammer/" + __version__

# The CSV contract: README.md shows the same block.
CSV_HEADER = "elapsed,response_time,status,bytes,error\n"
CSV_COLUMNS = (
    ("elapsed", "seconds from the test's start to when the request was sent"),
    ("response_time", "seconds from just before the request was sent (and"
                      " connected, when it needed a new connection) until"
                      " the last byte of the body arrived"),
    ("status", "HTTP status code; 0 when the request failed in transport"),
    ("bytes", "response body bytes received"),
    ("error", "transport error kind for status 0, else empty: connect,"
              " refused, timeout, reset, closed, protocol, tls, io"),
)
ROW_FORMAT = "%.6f,%.6f,%d,%d,%s\n"
SETTINGS_SUFFIX = ".json"       # the run's settings: results.csv.json
# An HTTP token (RFC 9110): what a method and a header name are made of.
TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789"
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Latency histogram buckets are latencies rounded to 3 significant digits,
# so a bucket's value is within 0.5% of every latency in it.
LATENCY_KEY_FORMAT = "%.2e"
PERCENTILES = (50, 90, 95, 99)

# --- pure functions and small types ------------------------------------------


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
    return seconds


def split_evenly(total, parts):
    """total split into `parts` whole shares; the remainder goes to the first."""
    share, extra = divmod(total, parts)
    return [share + (1 if i < extra else 0) for i in range(parts)]


def user_numbers(threads_per_process):
    """Global user numbers of every thread, one list per process.

    Users are numbered round-robin across the processes (process 0's first
    thread is user 0, process 1's first is user 1, ...) so that each
    process ramps up evenly and takes an even share of every quota.
    """
    numbers = [[] for _ in threads_per_process]
    g = 0
    for j in range(max(threads_per_process, default=0)):
        for i, count in enumerate(threads_per_process):
            if j < count:
                numbers[i].append(g)
                g += 1
    return numbers


def rampup_offsets(threads_per_process, rampup_s):
    """Start offsets (s) of every thread, one list per process.

    With N users in all, user g starts at g * rampup_s / N.
    """
    total = sum(threads_per_process)
    return [[g * rampup_s / total for g in users]
            for users in user_numbers(threads_per_process)]


def request_quotas(threads_per_process, requests):
    """Each thread's share of `requests` in all (None: unbounded)."""
    if requests is None:
        return [[math.inf] * count for count in threads_per_process]
    shares = split_evenly(requests, sum(threads_per_process))
    return [[shares[g] for g in users]
            for users in user_numbers(threads_per_process)]


class Histogram(object):
    """Latency histogram over every value, bounded in memory.

    Values (seconds) are counted under their 3-significant-digit rounding,
    so percentiles are within 0.5% of the exact nearest-rank value, and at
    most about 900 keys exist per decade of latency.  min, max and the sum
    are exact.  Histograms from several processes merge by addition.
    """

    __slots__ = ("counts", "n", "total", "min", "max")

    def __init__(self):
        self.counts = collections.Counter()
        self.n = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0

    def add_many(self, values):
        """Count a list of latencies (seconds)."""
        if not values:
            return
        self.counts.update(map(LATENCY_KEY_FORMAT.__mod__, values))
        self.n += len(values)
        self.total += math.fsum(values)
        self.min = min(self.min, min(values))
        self.max = max(self.max, max(values))

    def merge(self, other):
        self.counts.update(other.counts)
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

    def percentiles(self, ps):
        """Several nearest-rank percentiles (0 < p <= 100); 0.0 when empty.

        The bucket holding rank r is the first whose cumulative count
        reaches r; its value is clamped to the exact min and max.
        """
        counts = self.counts
        if not self.n or not counts:
            return [0.0 for _ in ps]
        keys = sorted(counts, key=float)
        cumulative = list(itertools.accumulate(map(counts.__getitem__, keys)))
        last = len(keys) - 1
        values = []
        for p in ps:
            rank = max(1, int(math.ceil(p / 100.0 * self.n)))
            value = float(keys[min(bisect.bisect_left(cumulative, rank), last)])
            values.append(min(max(value, self.min), self.max))
        return values

    def to_dict(self):
        return {"counts": dict(self.counts), "n": self.n, "total": self.total,
                "min": self.min, "max": self.max}

    @classmethod
    def from_dict(cls, data):
        h = cls()
        h.counts.update(data["counts"])
        h.n, h.total = data["n"], data["total"]
        h.min, h.max = data["min"], data["max"]
        return h


def is_error_status(code):
    """Errors are transport failures (status 0) and 5xx responses."""
    return code == 0 or 500 <= code <= 599


class WorkerStats(object):
    """Counters one worker keeps over its rows; the parent merges them."""

    __slots__ = ("bytes", "statuses", "errors", "latency")

    def __init__(self):
        self.bytes = 0
        self.statuses = collections.Counter()   # responses, by status
        self.errors = collections.Counter()     # status 0 rows, by kind
        self.latency = Histogram()   # over responses (status > 0), as wrk

    @property
    def failures(self):
        """Transport errors: rows of status 0 (each has an error kind)."""
        return sum(self.errors.values())

    @property
    def server_errors(self):
        return sum(c for s, c in self.statuses.items()
                   if is_error_status(s))

    @property
    def requests(self):
        return self.failures + sum(self.statuses.values())

    def add_rows(self, rows):
        """Count a batch of (elapsed, response_time, status, bytes, error)."""
        statuses = collections.Counter(map(_STATUS_OF, rows))
        failures = statuses.pop(0, 0)
        self.statuses.update(statuses)
        self.bytes += sum(map(_BYTES_OF, rows))
        if failures:
            self.errors.update(filter(None, map(_ERROR_OF, rows)))
            self.latency.add_many([r[1] for r in rows if r[2]])
        else:
            self.latency.add_many(list(map(_TIME_OF, rows)))

    def merge(self, other):
        self.bytes += other.bytes
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.latency.merge(other.latency)

    def to_dict(self):
        return {"bytes": self.bytes, "statuses": dict(self.statuses),
                "errors": dict(self.errors),
                "latency": self.latency.to_dict()}

    @classmethod
    def from_dict(cls, data):
        s = cls()
        s.bytes = data["bytes"]
        s.statuses.update(data["statuses"])
        s.errors.update(data["errors"])
        s.latency = Histogram.from_dict(data["latency"])
        return s


_TIME_OF = operator.itemgetter(1)
_STATUS_OF = operator.itemgetter(2)
_BYTES_OF = operator.itemgetter(3)
_ERROR_OF = operator.itemgetter(4)

Target = collections.namedtuple(
    "Target", "url scheme host port path host_header auth")


def parse_url(url):
    """Split an http(s) URL into a Target; UsageError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        if not parts.scheme or "://" not in url:
            raise UsageError("url %r has no scheme: write it as http://%s"
                             % (url, url))
        raise UsageError("unsupported url scheme %r in %r: use http:// or"
                         " https://" % (parts.scheme, url))
    if not parts.hostname:
        raise UsageError("url %r has no host" % url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise UsageError("url %r has an invalid port" % url)
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    auth = None
    if parts.username is not None:
        auth = "%s:%s" % (unquote(parts.username),
                          unquote(parts.password or ""))
    return Target(url, parts.scheme, parts.hostname, port, path,
                  parts.netloc.rpartition("@")[2], auth)


def parse_header(text):
    """'Name: value' -> (name, value); UsageError when malformed."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if (not sep or not name or not set(name) <= TOKEN_CHARS
            or "\r" in value or "\n" in value):
        raise UsageError("malformed header %r: expected 'Name: value'" % text)
    return name, value


def build_request(method, target, headers, body, keepalive):
    """The request's bytes, built once; every request of a run sends them."""
    given = set(name.lower() for name, _ in headers)
    lines = ["%s %s HTTP/1.1" % (method, target.path)]
    defaults = [("Host", target.host_header), ("User-Agent", USER_AGENT),
                ("Accept", "*/*")]
    if target.auth is not None:
        token = base64.b64encode(target.auth.encode("utf-8")).decode("ascii")
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


def format_seconds(seconds):
    """A latency for people: 212us, 1.20ms, 12.3ms, 1.23s."""
    if seconds < 0.001:
        return "%.0fus" % (seconds * 1e6)
    if seconds < 1.0:
        ms = seconds * 1000
        return ("%.2fms" if ms < 10 else "%.1fms" if ms < 100 else "%.0fms") % ms
    return "%.2fs" % seconds


def format_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= 1000.0


def format_counts(counter):
    return "  ".join("%s: %d" % kv for kv in sorted(counter.items())) or "none"


def format_progress(elapsed_s, runtime_s, active, users, rate, avg_s, errors):
    """The one-line progress report."""
    return ("[%6.1fs/%gs] users %d/%d  %8.1f req/s  avg %s  errors %d"
            % (elapsed_s, runtime_s, active, users, rate,
               format_seconds(avg_s), errors))


def format_summary(settings, stats, duration_s, rows, busy):
    """The end-of-run summary as a list of lines.

    settings: the run's settings dict; stats: the merged WorkerStats;
    duration_s: from the start to the last response; rows: rows written;
    busy: per worker, the share of a CPU it used while the test ran.
    """
    s = settings
    lat = stats.latency
    rate = stats.requests / duration_s if duration_s > 0 else 0.0
    pcts = lat.percentiles(PERCENTILES)
    lines = [
        "hammer %s  %s %s" % (s["hammer"], s["method"], s["url"]),
        "load       %d users (%s), rampup %gs, interval %gs, runtime %gs, %s"
        % (s["users"], " + ".join(map(str, s["threads_per_process"]))
           + (" threads" if len(s["threads_per_process"]) == 1 else
              " threads in %d processes" % s["processes"]),
           s["rampup_s"], s["interval_s"], s["runtime_s"],
           "keep-alive" if s["keepalive"] else "a new connection per request"),
        "requests   %d in %.2fs = %.1f req/s" % (stats.requests, duration_s,
                                                 rate),
        "latency    min %s  avg %s  %s  max %s  (over %d responses)"
        % (format_seconds(lat.min if lat.n else 0.0), format_seconds(lat.mean),
           "  ".join("p%d %s" % (p, format_seconds(v))
                     for p, v in zip(PERCENTILES, pcts)),
           format_seconds(lat.max), lat.n),
        "status     " + format_counts(stats.statuses),
        "errors     " + format_counts(stats.errors),
        "received   %s of response bodies" % format_bytes(stats.bytes),
        "output     %s (%d rows)" % (s["output"], rows),
    ]
    for index, share in enumerate(busy):
        if share >= SATURATION_CPU_RATIO:
            lines.append(
                "warning: worker %d was busy %.0f%% of a CPU: hammer itself"
                " may be the bottleneck, so req/s and latency understate the"
                " target; add processes (-p) or lower the users"
                % (index, share * 100))
    return lines


# --- HTTP/1.1 client ----------------------------------------------------------


class ResponseError(Exception):
    """A response that could not be read: kind goes into the error column."""

    def __init__(self, kind, detail):
        Exception.__init__(self, detail)
        self.kind = kind


# What a request can fail with; ssl.CertificateError is no OSError on 3.6.
TRANSPORT_ERRORS = (OSError, ResponseError, ssl.CertificateError)
# How a kept-alive connection that the server closed shows at the next send.
CLOSED_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


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
    if isinstance(exc, CLOSED_ERRORS):
        return "reset"
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


def connector(family, address, server_hostname, tls_context, timeout_s):
    """A function that opens one ready connection to the target."""
    timeval = None
    if tls_context is None and fast_timeouts_supported():
        whole = int(timeout_s)
        timeval = struct.pack("ll", whole, int((timeout_s - whole) * 1e6))
    nodelay = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connect():
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout_s)
            sock.connect(address)
            sock.setsockopt(*nodelay)
            if tls_context is not None:
                return tls_context.wrap_socket(
                    sock, server_hostname=server_hostname)
            if timeval is not None:
                sock.settimeout(None)   # blocking: the kernel times out
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        except BaseException:
            sock.close()
            raise
        return sock
    return connect


def _recv_more(sock, deadline, clock):
    data = sock.recv(RECV_SIZE_B)
    if not data:
        raise ResponseError("closed", "connection closed mid-response")
    if clock() > deadline:
        raise socket.timeout("timed out")
    return data


# Body bytes are counted, never read: every user of a process receives them
# into this one buffer, so a user costs no 64 kB of its own.
DISCARD = bytearray(RECV_SIZE_B)


def _skip(sock, count, scratch, deadline, clock):
    """Read and drop exactly count bytes."""
    view = memoryview(scratch)
    size = len(scratch)
    while count > 0:
        n = sock.recv_into(view, count if count < size else size)
        if not n:
            raise ResponseError("closed", "connection closed mid-body")
        count -= n
        if count and clock() > deadline:
            raise socket.timeout("timed out")


# Header lookups search the lowercased head for these, built once.
CONNECTION = b"\r\nconnection:"
CONTENT_LENGTH = b"\r\ncontent-length:"
TRANSFER_ENCODING = b"\r\ntransfer-encoding:"


def _header_value(head, needle):
    """Value of the header that `needle` (b"\\r\\nname:") starts."""
    i = head.find(needle)
    if i < 0:
        return None
    start = i + len(needle)
    j = head.find(b"\r\n", start)
    return head[start:j if j >= 0 else len(head)].strip()


def _read_chunked(sock, data, scratch, deadline, clock):
    """Read a chunked body whose first bytes are data; return its length."""
    total = 0
    pos = 0
    while True:
        nl = data.find(b"\r\n", pos)
        while nl < 0:
            data = data[pos:] + _recv_more(sock, deadline, clock)
            pos = 0
            nl = data.find(b"\r\n")
        try:
            size = int(data[pos:nl].split(b";", 1)[0], 16)
        except ValueError:
            raise ResponseError("protocol", "bad chunk size line")
        pos = nl + 2
        if size == 0:
            break
        total += size
        have = len(data) - pos
        if have >= size + 2:
            pos += size + 2
        else:
            _skip(sock, size + 2 - have, scratch, deadline, clock)
            data, pos = b"", 0
    while True:     # trailer fields, up to the empty line
        nl = data.find(b"\r\n", pos)
        while nl < 0:
            data = data[pos:] + _recv_more(sock, deadline, clock)
            pos = 0
            nl = data.find(b"\r\n")
        if nl == pos:
            return total
        pos = nl + 2


def read_response(sock, buf, head_request, scratch, deadline, clock):
    """Read one response whose first bytes are buf.

    Returns (status, body bytes, whether the connection may be reused).
    """
    while True:
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            if len(buf) > RECV_SIZE_B:
                raise ResponseError("protocol", "response head too long")
            buf += _recv_more(sock, deadline, clock)
            end = buf.find(b"\r\n\r\n")
        if buf[:5] != b"HTTP/":
            raise ResponseError("protocol", "not an HTTP response")
        try:
            status = int(buf[9:12])
        except ValueError:
            raise ResponseError("protocol", "bad status line")
        if status >= 200 or status == 101:
            break
        buf = buf[end + 4:]     # 1xx interim response: the real one follows
    head = buf[:end].lower()
    keep = buf[5:8] != b"1.0"
    if b"close" in head or not keep:
        conn = _header_value(head, CONNECTION) or b""
        keep = b"keep-alive" in conn if not keep else b"close" not in conn
    if head_request or status < 200 or status == 204 or status == 304:
        return status, 0, keep
    length = _header_value(head, CONTENT_LENGTH)
    if length is not None:
        try:
            length = int(length)
        except ValueError:
            raise ResponseError("protocol", "bad content-length")
        have = len(buf) - end - 4
        if have < length:
            _skip(sock, length - have, scratch, deadline, clock)
        return status, length, keep
    coding = _header_value(head, TRANSFER_ENCODING)
    if coding is not None and b"chunked" in coding:
        return status, _read_chunked(sock, buf[end + 4:], scratch, deadline,
                                     clock), keep
    total = len(buf) - end - 4      # the body ends when the server closes
    while True:
        n = sock.recv_into(scratch)
        if not n:
            return status, total, False
        total += n
        if clock() > deadline:
            raise socket.timeout("timed out")


# --- workers ------------------------------------------------------------------


def user_loop(cfg, t0, start_at, quota, end, stop, record, connect, clock):
    """One simulated user: request, wait for the response, pause, repeat.

    t0 (the test's start), start_at and end are clock() instants; quota
    bounds the requests (math.inf for none).  Each request is recorded as
    (elapsed, response_time, status, body bytes, error kind).
    """
    request, head_request = cfg["request"], cfg["head_request"]
    keepalive, interval = cfg["keepalive"], cfg["interval_s"]
    timeout = cfg["timeout_s"]
    scratch = DISCARD
    wait, stopped = stop.wait, stop.is_set
    delay = start_at - clock()
    if delay > 0 and wait(delay):
        return
    sock = None
    left = quota
    while left > 0 and not stopped():
        sent = clock()
        if sent >= end:
            break
        left -= 1
        try:
            reused = sock is not None
            if not reused:
                sock = connect()
            try:
                sock.sendall(request)
                buf = sock.recv(FIRST_RECV_B)
            except CLOSED_ERRORS:
                if not reused:
                    raise
                buf = b""
            if not buf and reused:  # the server closed the idle connection
                sock.close()
                sock = connect()
                sock.sendall(request)
                buf = sock.recv(FIRST_RECV_B)
            if not buf:
                raise ResponseError("closed", "closed before responding")
            status, nbytes, keep = read_response(
                sock, buf, head_request, scratch, sent + timeout, clock)
            done = clock()
            record((sent - t0, done - sent, status, nbytes, ""))
            if not (keep and keepalive):
                sock.close()
                sock = None
        except TRANSPORT_ERRORS as exc:
            done = clock()
            record((sent - t0, done - sent, 0, 0, error_kind(exc)))
            if sock is not None:
                sock.close()
                sock = None
        if interval:
            if done + interval >= end:
                break
            if wait(interval):
                break
    if sock is not None:
        sock.close()


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


class Worker(object):
    """One worker process: runs its users and streams their rows to disk."""

    def __init__(self, index, cfg, offsets, quotas, messages, clock):
        self.index, self.cfg = index, cfg
        self.offsets, self.quotas = offsets, quotas
        self.messages, self.clock = messages, clock
        self.rows = collections.deque()
        self.stats = WorkerStats()
        self.stop = threading.Event()
        self.signalled = []
        self.failures = []
        self.unwritable = False     # the output refused a write
        self.written = 0

    def flush(self, fd):
        """Write the rows measured so far and count them."""
        rows = self.rows
        n = len(rows)
        if not n:
            return
        pop = rows.popleft
        batch = [pop() for _ in range(n)]
        self.stats.add_rows(batch)
        if self.unwritable:
            return      # counted, but the file takes no more rows
        try:
            write_all(fd, "".join(map(ROW_FORMAT.__mod__, batch)).encode(
                "ascii"))
        except OSError as exc:
            self.unwritable = True
            self.failures.append("cannot write rows to %r: %s" % (
                self.cfg["output"], exc.strerror or exc))
            self.stop.set()
            return
        self.written += n

    def user(self, t0, start_at, quota, end, connect):
        try:
            user_loop(self.cfg, t0, start_at, quota, end, self.stop,
                      self.rows.append, connect, self.clock)
        except BaseException:
            self.failures.append(traceback.format_exc())

    def progress(self, threads, t0):
        now = self.clock()
        active = sum(1 for th, off in zip(threads, self.offsets)
                     if t0 + off <= now and th.is_alive())
        s = self.stats
        self.messages.put(("progress", self.index, s.requests,
                           s.failures + s.server_errors, s.latency.n,
                           s.latency.total, active))

    def run(self, go, stop_all, start_wall):
        cfg, clock = self.cfg, self.clock
        raise_fd_limit(len(self.offsets) + 64)
        fd = os.open(cfg["output"],
                     os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
        try:
            tls = make_tls_context(cfg["insecure"]) if cfg["tls"] else None
            connect = connector(cfg["family"], cfg["address"], cfg["host"],
                                tls, cfg["timeout_s"])
            self.messages.put(("ready", self.index))
            while not go.wait(STOP_POLL_S):
                if stop_all.is_set() or self.signalled:
                    return self.finish(fd, 0.0, 0.0)
            t0 = clock() - (time.time() - start_wall.value)
            end = t0 + cfg["runtime_s"]
            cpu0 = time.process_time()
            threads = [threading.Thread(target=self.user,
                                        args=(t0, t0 + off, quota, end, connect))
                       for off, quota in zip(self.offsets, self.quotas)]
            for th in threads:
                th.daemon = True
                th.start()
            self.supervise(threads, fd, t0, stop_all)
            busy = time.process_time() - cpu0
            return self.finish(fd, busy, clock() - t0)
        finally:
            os.close(fd)

    def supervise(self, threads, fd, t0, stop_all):
        """Flush rows and report progress until every user is done."""
        clock = self.clock
        next_flush = next_report = clock()
        alive = threads
        while alive:
            time.sleep(STOP_POLL_S)
            if not self.stop.is_set() and (self.signalled
                                           or stop_all.is_set()):
                self.stop.set()
            now = clock()
            if now >= next_flush:
                self.flush(fd)
                next_flush = now + FLUSH_PERIOD_S
            if now >= next_report:
                self.progress(threads, t0)    # all threads: zips offsets
                next_report = now + PROGRESS_PERIOD_S
            alive = [th for th in alive if th.is_alive()]
        self.flush(fd)

    def finish(self, fd, busy_s, wall_s):
        self.flush(fd)
        self.messages.put(("done", self.index, self.stats.to_dict(),
                           self.written, busy_s, wall_s,
                           self.failures[0] if self.failures else None))


def worker_main(index, cfg, offsets, quotas, messages, go, stop_all,
                start_wall):
    """Entry point of a worker process."""
    worker = Worker(index, cfg, offsets, quotas, messages, time.perf_counter)

    def on_signal(signum, frame):
        worker.signalled.append(signum)   # the supervisor stops the users

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        worker.run(go, stop_all, start_wall)
    except BaseException:
        messages.put(("done", index, WorkerStats().to_dict(), worker.written,
                      0.0, 0.0, traceback.format_exc()))


# --- the run ------------------------------------------------------------------


def available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def host_port(host, port):
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


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
                            timeout_s)
        try:
            connect().close()
            return family, address
        except (ssl.SSLError, ssl.CertificateError) as exc:
            hint = ""
            if (isinstance(exc, ssl.CertificateError) or getattr(
                    exc, "reason", None) == "CERTIFICATE_VERIFY_FAILED"):
                hint = " (-k/--insecure skips certificate checks)"
            raise RunError("cannot connect to %s: %s%s" % (
                where, describe_error(exc, timeout_s), hint))
        except OSError as exc:
            last = exc
    raise RunError("cannot connect to %s: %s"
                   % (where, describe_error(last, timeout_s)))


def create_output(path, settings):
    """Start the CSV with its header, and the settings beside it."""
    import json
    try:
        with open(path, "wb") as f:
            f.write(CSV_HEADER.encode("ascii"))
        with open(path + SETTINGS_SUFFIX, "w") as f:
            json.dump(settings, f, indent=1, sort_keys=True)
            f.write("\n")
    except OSError as exc:
        raise RunError("cannot write %r: %s" % (exc.filename or path,
                                                exc.strerror or exc))


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
            self.received = signum
            return
        for p in self.processes:
            kill(p)
        self.err.write("\nhammer: interrupted again, exiting now; rows not"
                       " yet written are lost\n")
        self.err.flush()
        os._exit(128 + self.received)


def run(settings, cfg, out, err, quiet):
    """Start the workers, report progress, print the summary.

    Returns the exit code: 0, 1 when a worker failed, 128 + signal number
    when SIGINT or SIGTERM stopped the run.
    """
    import queue
    ctx = multiprocessing.get_context()
    threads = settings["threads_per_process"]
    offsets = rampup_offsets(threads, settings["rampup_s"])
    quotas = request_quotas(threads, settings["requests"])
    messages, go, stop_all = ctx.Queue(), ctx.Event(), ctx.Event()
    start_wall = ctx.Value("d", 0.0, lock=False)
    signals = Signals(err)
    signals.install()
    procs = [ctx.Process(target=worker_main, name="hammer-worker-%d" % i,
                         args=(i, cfg, offsets[i], quotas[i], messages, go,
                               stop_all, start_wall))
             for i in range(len(threads))]
    signals.processes = procs
    tty = err.isatty()
    report = Progress(settings, quiet, tty, err)
    done, exited, ready = {}, {}, 0
    try:
        for p in procs:
            p.start()
        started = time.monotonic()
        while len(done) < len(procs):
            if signals.received and not stop_all.is_set():
                stop_all.set()
                report.clear()
                err.write("hammer: stopping, waiting for requests in flight"
                          " (again to quit at once)\n")
            try:
                msg = messages.get(timeout=STOP_POLL_S)
            except queue.Empty:
                msg = None
            if msg is not None:
                if msg[0] == "ready":
                    ready += 1
                elif msg[0] == "progress":
                    report.update(msg[1], msg[2:])
                else:
                    done[msg[1]] = msg[2:]
            if not go.is_set():
                if ready + len(done) == len(procs):
                    start_wall.value = time.time()
                    go.set()
                    report.start(start_wall.value)
                elif time.monotonic() - started > WORKER_START_TIMEOUT_S:
                    stop_all.set()
                    raise RunError("the workers did not start within %gs"
                                   % WORKER_START_TIMEOUT_S)
            for i, p in enumerate(procs):
                if i not in done and p.exitcode is not None:
                    first = exited.setdefault(i, time.monotonic())
                    if time.monotonic() - first > 1.0:
                        done[i] = (WorkerStats().to_dict(), 0, 0.0, 0.0,
                                   "worker exited with code %d" % p.exitcode)
            report.show()
    finally:
        for p in procs:
            p.join(STOP_POLL_S * 20)
            kill(p)
        signals.restore()
        report.clear()
    return finish_run(settings, done, signals.received, out, err)


def finish_run(settings, done, signum, out, err):
    """Merge the workers' results, print the summary, pick the exit code."""
    stats = WorkerStats()
    rows, duration, busy, failed = 0, 0.0, [], False
    for index in sorted(done):
        data, written, busy_s, wall_s, failure = done[index]
        stats.merge(WorkerStats.from_dict(data))
        rows += written
        duration = max(duration, wall_s)
        busy.append(busy_s / wall_s if wall_s > 0 else 0.0)
        if failure:
            failed = True
            err.write("hammer: worker %d failed: %s\n"
                      % (index, failure.rstrip()))
    out.write("\n".join(format_summary(settings, stats, duration, rows, busy))
              + "\n")
    out.flush()
    if signum is not None:
        return 128 + signum
    return 1 if failed else 0


class Progress(object):
    """The progress line on stderr: in place on a TTY, plain lines else."""

    def __init__(self, settings, quiet, tty, err):
        self.runtime_s = settings["runtime_s"]
        self.users = settings["users"]
        self.quiet, self.tty, self.err = quiet, tty, err
        self.period = PROGRESS_PERIOD_S if tty else PROGRESS_PLAIN_PERIOD_S
        self.latest = {}
        self.start_wall = None
        self.next_at = 0.0
        self.last = (0.0, 0, 0, 0.0)   # elapsed, requests, responses, total
        self.shown = False

    def start(self, start_wall):
        self.start_wall = start_wall
        self.next_at = time.monotonic() + self.period

    def update(self, index, counters):
        self.latest[index] = counters

    def show(self):
        now = time.monotonic()
        if self.quiet or self.start_wall is None or now < self.next_at:
            return
        self.next_at = now + self.period
        elapsed = time.time() - self.start_wall
        requests = sum(c[0] for c in self.latest.values())
        errors = sum(c[1] for c in self.latest.values())
        responses = sum(c[2] for c in self.latest.values())
        total = sum(c[3] for c in self.latest.values())
        active = sum(c[4] for c in self.latest.values())
        then, req0, resp0, total0 = self.last
        self.last = (elapsed, requests, responses, total)
        rate = (requests - req0) / (elapsed - then) if elapsed > then else 0.0
        avg = (total - total0) / (responses - resp0) if responses > resp0 else 0.0
        line = format_progress(min(elapsed, self.runtime_s), self.runtime_s,
                               active, self.users, rate, avg, errors)
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


# --- the demo target ------------------------------------------------------------


def demo_server_main(ports):
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

    server = Server(("127.0.0.1", 0), Handler)
    ports.put(server.server_address[1])
    server.serve_forever()


def start_demo_server():
    ctx = multiprocessing.get_context()
    ports = ctx.Queue()
    proc = ctx.Process(target=demo_server_main, args=(ports,),
                       name="hammer-demo-target")
    proc.daemon = True
    proc.start()
    return proc, "http://127.0.0.1:%d/" % ports.get(timeout=30)


# --- command line ---------------------------------------------------------------


def duration_arg(text):
    """argparse type: a duration (parse_duration) in seconds."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


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


def build_parser():
    p = argparse.ArgumentParser(
        prog="hammer.py",
        description="HTTP load generator: processes x threads of simulated"
                    " users, one CSV row per request, percentiles over every"
                    " response.",
        epilog="Time options take 30, 30s, 500ms, 5m or 1h.  Exit codes: 0 run"
               " complete, 1 run failed, 2 bad usage, 130 SIGINT, 143"
               " SIGTERM.")
    p.add_argument("url", nargs="?",
                   help="http:// or https:// URL to load (127.0.0.1, [::1]"
                        " or a host name)")
    p.add_argument("--interval", type=duration_arg, default=0.0, metavar="S",
                   help="pause of each user after each response before its"
                        " next request (default: %(default)gs)")
    p.add_argument("--runtime", type=duration_arg, default=None, metavar="S",
                   help="how long the test sends requests (default: %gs;"
                        " %gs with --demo)" % (DEFAULT_RUNTIME_S,
                                               DEMO_RUNTIME_S))
    p.add_argument("--rampup", type=duration_arg, default=0.0, metavar="S",
                   help="linear ramp-up: user g of N starts at g*S/N"
                        " (default: %(default)gs)")
    p.add_argument("-p", "--processes", type=positive_int_arg,
                   default=available_cpus(), metavar="N",
                   help="worker processes (default: %(default)s, the CPUs"
                        " this process may use)")
    users = p.add_mutually_exclusive_group()
    users.add_argument("-t", "--threads", type=positive_int_arg,
                       default=DEFAULT_THREADS, metavar="N",
                       help="threads (users) per process"
                            " (default: %(default)s)")
    users.add_argument("-c", "--concurrency", type=positive_int_arg, metavar="N",
                       help="users in all instead of -t, split over the"
                            " processes (default: processes x threads)")
    p.add_argument("-n", "--requests", type=positive_int_arg, metavar="N",
                   help="stop after N requests in all, split over the users"
                        " (default: no limit, --runtime ends the test)")
    p.add_argument("-X", "--method", metavar="METHOD",
                   help="request method (default: GET, or POST with --data)")
    p.add_argument("-H", "--header", action="append", default=[],
                   metavar="'NAME: VALUE'",
                   help="add a request header; repeatable (default: Host,"
                        " User-Agent and Accept are sent)")
    p.add_argument("-d", "--data", metavar="TEXT|@FILE",
                   help="request body, or @FILE to send a file's bytes; read"
                        " once at start (default: no body)")
    p.add_argument("--timeout", type=duration_arg, default=DEFAULT_TIMEOUT_S,
                   metavar="S",
                   help="per request, covering connect, send and read"
                        " (default: %(default)gs)")
    p.add_argument("--no-keepalive", action="store_true",
                   help="open a new connection for every request, as urllib"
                        " does (default: one kept-alive connection per user)")
    p.add_argument("-k", "--insecure", action="store_true",
                   help="skip TLS certificate checks (default: verify, with"
                        " SNI)")
    p.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="FILE",
                   help="CSV file for the rows; the settings go to FILE.json"
                        " (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress line (default: progress on stderr)")
    p.add_argument("--demo", action="store_true",
                   help="start a small target on 127.0.0.1 and run a short"
                        " test against it")
    p.add_argument("--version", action="version",
                   version="hammer " + __version__)
    return p


def read_body(data):
    """--data: the text itself, or the bytes of @FILE."""
    if data is None:
        return None
    if data.startswith("@"):
        try:
            with open(data[1:], "rb") as f:
                return f.read()
        except OSError as exc:
            raise UsageError("cannot read data file %r: %s"
                             % (data[1:], exc.strerror or exc))
    return data.encode("utf-8")


def plan(args):
    """Check the arguments and derive the run's settings and worker config.

    Raises UsageError for a user's mistake.
    """
    target = parse_url(args.url)
    headers = [parse_header(h) for h in args.header]
    body = read_body(args.data)
    method = args.method or ("POST" if body is not None else "GET")
    if not set(method) <= TOKEN_CHARS:
        raise UsageError("invalid method %r" % method)
    if args.runtime <= 0:
        raise UsageError("--runtime must be more than 0s")
    if args.timeout <= 0:
        raise UsageError("--timeout must be more than 0s")
    users = args.concurrency or args.processes * args.threads
    processes = min(args.processes, users)
    threads = split_evenly(users, processes)
    try:
        request = build_request(method, target, headers, body,
                                not args.no_keepalive)
    except UnicodeError:
        raise UsageError("headers must be latin-1 text")
    settings = {
        "hammer": __version__, "url": target.url, "method": method,
        "processes": processes, "users": users,
        "threads_per_process": threads, "rampup_s": args.rampup,
        "interval_s": args.interval, "runtime_s": args.runtime,
        "timeout_s": args.timeout, "keepalive": not args.no_keepalive,
        "requests": args.requests, "output": args.output,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    cfg = {
        "request": request, "head_request": method.upper() == "HEAD",
        "keepalive": not args.no_keepalive, "interval_s": args.interval,
        "timeout_s": args.timeout, "runtime_s": args.runtime,
        "output": args.output, "tls": target.scheme == "https",
        "insecure": args.insecure, "host": target.host,
    }
    return target, settings, cfg


def main(argv=None, out=None, err=None):
    """Run hammer with argv; return the exit code.

    0 run complete, 1 run failed (target unreachable at start, output not
    writable, a worker failed), 2 bad usage, 130 SIGINT, 143 SIGTERM.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    demo = None
    try:
        args = parser.parse_args(argv)
        if args.url is None and not args.demo:
            parser.error("a URL is required (or --demo to try hammer on a"
                         " built-in target)")
        if args.url is not None and args.demo:
            parser.error("--demo runs against its own target: leave out the"
                         " URL")
        if args.runtime is None:
            args.runtime = DEMO_RUNTIME_S if args.demo else DEFAULT_RUNTIME_S
        if args.demo:
            args.url = "http://127.0.0.1:1/"    # checked now, replaced below
        try:
            target, settings, cfg = plan(args)
        except UsageError as exc:
            parser.error(str(exc))
    except SystemExit as exc:
        return exc.code
    try:
        if args.demo:
            demo, url = start_demo_server()
            args.url = url
            target, settings, cfg = plan(args)
            err.write("hammer: demo target listening at %s\n" % url)
        tls = make_tls_context(args.insecure) if cfg["tls"] else None
        cfg["family"], cfg["address"] = resolve_and_probe(
            target, args.timeout, tls)
        create_output(args.output, settings)
        return run(settings, cfg, out, err, args.quiet)
    except RunError as exc:
        err.write("hammer: %s\n" % exc)
        return 1
    except KeyboardInterrupt:
        err.write("hammer: interrupted before the test started\n")
        return 130
    finally:
        if demo is not None:
            demo.terminate()
            demo.join()


if __name__ == "__main__":
    sys.exit(main())

"""Tests for hammer.py: pure parts with injected clocks, and whole runs
against real HTTP servers on 127.0.0.1 (no mocks of the network).

Run with:  python -m unittest -v
"""

import contextlib
import io
import math
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import hammer

HERE = os.path.dirname(os.path.abspath(__file__))
HAMMER = os.path.join(HERE, "hammer.py")
ROW_RE = re.compile(r"^\d+\.\d{6},\d+\.\d{6},\d+,\d+,[a-z]*$")

# A self-signed certificate for localhost/127.0.0.1/::1, valid until 2126.
CERT_PEM = """-----BEGIN CERTIFICATE-----
MIIDOjCCAiKgAwIBAgIUfCcVLDCjfJEziU3bb0JH42YtqTkwDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjA5MzkyMFoYDzIxMjYx
MDI5MDkzOTIwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQCumGjw/EpbzIdwHgnNEr2UVmWwK8qA8XCOVXm1KsqE
vDDf1jHuZMK2I7lNtHhPzJ/EZ7ChB62yZ/5UuJbci+C4mSpSRQ0W84FjwIcOaNW6
ehmRRShiZbcM/xNWta8sTn3LVo3P/px22cmTgJ9BEw3fldOOpFOLOhYIwSoIfsC7
lrFJ0xn7wiqQwRFazfciOjvoEtXbz7pNHtTh6SmCzioNN3GasTzrTNMcJBRogA+q
Z7is9zXjIWIdy75DqiJFrFIgxh1mbRhMD4JydNmrjPohWkxtwiRq1FkErG800acD
f53QDqKn9JNKScJuU5jjcEsBKKSwhtwdvvwwvIN2aOhhAgMBAAGjgYEwfzAdBgNV
HQ4EFgQUNZx31E+eb28uVPDJ4S6m6k808zAwHwYDVR0jBBgwFoAUNZx31E+eb28u
VPDJ4S6m6k808zAwDwYDVR0TAQH/BAUwAwEB/zAsBgNVHREEJTAjgglsb2NhbGhv
c3SHBH8AAAGHEAAAAAAAAAAAAAAAAAAAAAEwDQYJKoZIhvcNAQELBQADggEBAHQa
PgUqpu6TGtPt8SOf/DCCyvRWp9tMzO1mKaocqc9A2qp4poavVObXwFXZk6qxucdi
ERhLYho99MEAfVlue8gUfq4JzSEt+bTT7w81MLwcslXCGaQWH9HP0Ya9ee7Si4Rq
5VKOIMs8d0LcScUGG7/DoOom8wyg1Z9XQBeTkbIqNnQNGLlPsGLC0DaLWxdpP8ix
PrgwH07mF2+jOc2BSFApwIvzigW1NrnJhRHZRs5Akmgc04OD/h6stJwJFOr+NE6Z
tE0fxnVZ40oN6R5+Tz1d+4tsAS3aDvpkf3a7GFNU7AB5b4MJ7UVrqOmkp37RJCU3
LyiDxAq3fGmIspjvNHg=
-----END CERTIFICATE-----"""
KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCumGjw/EpbzIdw
HgnNEr2UVmWwK8qA8XCOVXm1KsqEvDDf1jHuZMK2I7lNtHhPzJ/EZ7ChB62yZ/5U
uJbci+C4mSpSRQ0W84FjwIcOaNW6ehmRRShiZbcM/xNWta8sTn3LVo3P/px22cmT
gJ9BEw3fldOOpFOLOhYIwSoIfsC7lrFJ0xn7wiqQwRFazfciOjvoEtXbz7pNHtTh
6SmCzioNN3GasTzrTNMcJBRogA+qZ7is9zXjIWIdy75DqiJFrFIgxh1mbRhMD4Jy
dNmrjPohWkxtwiRq1FkErG800acDf53QDqKn9JNKScJuU5jjcEsBKKSwhtwdvvww
vIN2aOhhAgMBAAECggEAD3vMsrJtFb8Js9O2Is2qqmEPG5SGnPDMfpLt/DcTRro5
y1//hZjB+80nPdDnaoxHDu/zJhS8ProiP/kux9hP0Y8jxbAB/SsTKnmEgK6jZao2
Yj+z2SYUGb71RBdQtakwVrwST4PQ9GlUCxS5CthZvp5W6KuCDTLViWk4BRDYnsoU
5wHUYTeVWYPi9BK8zCt8CPxspQ9W7WTbNIfs03BAWvMEoaL+bsCz8G7RfxqY/c8Q
7lHaQwVnILA9sTlN6/RMuK5t9/y3Ic9sh3rSeGT2+iILg5leZMt08StToAy3d/oQ
lZUcdRd1oTcvuo3iOw4YBYpT2p6th15SEll1QLJB0QKBgQDVMgrk6HfLhH5Kpivr
NVxw9mxBowNBJw2776TUMCQXsfhZBbYYFKgic4UUlRkp10MdK0xcZvLV7jYYru4E
sbwXqrWWAR9ij2U2d26sV+dFzx5vKmaBEHgCx5rjUCb5gz1Saf8MvI78jY4kqwK/
dDnCQC3lzCNHTFtpN+wYjaD1PwKBgQDRpl+UQihuJs+HdMdcI3jUFb+zsanw7HaO
DLu6e34Is4s6NHJraZ8cFTUGnMeeza28kZPrau4lBjVX/n3IbI0BVVTF1fH0hkl3
jA4FA67kz/yKYfnENGYgeVAO0+nzPZe4eV3mKfJrMHOwtulklLoCsQTnMoEsmeWJ
baWfJFqaXwKBgEoU8o4qbX4t0wizh21bBH1IU8PXFklsfaxBkMAe3lvRft/ISUdC
3k3iYGsPiEfuwiZ/pjAxoc5O0UNwfcrpy9dZfXHbgAFqnJv5kl6WyQmL+CJe1HGi
vGES5TJ55qErRoK9zF+rofAGbE83kWPfyjZCwPAqKFQdJ2J/iS3bAQRXAoGBAMJB
q6xfRMET+xVjElqAj7PMVy20gGe5YvyqNcRMKvL7EhWjhSWb348Q42o2GQ0/PS1N
osbu9KyfvQvExl3QnzLOE1egrqnJSAeaYV8qE4L2aOT8dYbkmoCah6DFoK/+sTeA
VY4v7ex+H6RtR4Mn/9cAmS90b5aZHsOhMmZsM/t3AoGAYlnCKKr8e16JjlzVgAWy
iPMf0/uybAi9/5lBsZTGqWv/WndMUHcaw1+/j0qFkGh7f1TFNfktN9xpFJRX87en
qTv0RsaJeZN+ZzYL2vTo///fnPi+p5FG8QLqjtKJjIbpyGL0P4SrgSNDvcgNjM8o
IZW1tozjwV3Ykq07YBGIyTg=
-----END PRIVATE KEY-----"""


# --- a real HTTP/1.1 server with framing under the test's control -------------


class TargetServer(object):
    """HTTP/1.1 on 127.0.0.1:0 in a thread.

    mode: "length" (Content-Length), "chunked", "close" (body ends when the
    connection closes, HTTP/1.0 style) or "drop" (Content-Length, then the
    server closes the connection after every response without saying so).
    It counts accepted connections and answered requests.
    """

    def __init__(self, mode="length", body=b"hello world", tls=False,
                 host="127.0.0.1", delay_s=0.0, head=b""):
        self.mode, self.body, self.delay_s = mode, body, delay_s
        self.head = head    # more header lines for "length" responses
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.methods = set()
        self.bodies = set()
        self.headers = set()
        owner = self
        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tmp = tempfile.mkdtemp()
            paths = [os.path.join(tmp, n) for n in ("c.pem", "k.pem")]
            for path, pem in zip(paths, (CERT_PEM, KEY_PEM)):
                with open(path, "w") as f:
                    f.write(pem)
            context.load_cert_chain(*paths)

        class Handler(socketserver.StreamRequestHandler):
            def setup(self):
                if context is not None:
                    self.request = context.wrap_socket(self.request,
                                                       server_side=True)
                socketserver.StreamRequestHandler.setup(self)
                with owner.lock:
                    owner.connections += 1

            def handle(self):
                while owner.serve_one(self.rfile, self.wfile):
                    pass

            def finish(self):
                socketserver.StreamRequestHandler.finish(self)
                self.request.close()    # the TLS socket wrapped in setup()

        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(socketserver.ThreadingTCPServer):
            address_family = family
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256

            def handle_error(self, request, client_address):
                pass    # clients that reject our certificate, resets

        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "%s://%s:%d/" % ("https" if tls else "http",
                                    "[%s]" % host if ":" in host else host,
                                    self.port)
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.daemon = True
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def serve_one(self, rfile, wfile):
        line = rfile.readline()
        if not line:
            return False
        method = line.split(b" ")[0].decode()
        length = 0
        while True:
            h = rfile.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            with self.lock:
                self.headers.add(h.decode("latin-1").strip())
        body = rfile.read(length) if length else b""
        with self.lock:
            self.requests += 1
            self.methods.add(method)
            self.bodies.add(body)
        if self.delay_s:
            time.sleep(self.delay_s)
        payload = b"" if method == "HEAD" else self.body
        if self.mode == "chunked":
            half = len(payload) // 2
            chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c)
                              for c in (payload[:half], payload[half:]) if c)
            wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                        b"\r\n" + chunks + b"0\r\nX-Trailer: yes\r\n\r\n")
            return True
        if self.mode == "close":
            wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                        + payload)
            return False
        wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s"
                    % (len(self.body), self.head, payload))
        return self.mode != "drop"


class ServerTestCase(unittest.TestCase):
    """Runs hammer.py as a command against a TargetServer."""

    mode = "length"

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.csv = os.path.join(self.tmp.name, "results.csv")

    def tearDown(self):
        self.tmp.cleanup()

    def start_server(self, **kwargs):
        server = TargetServer(**kwargs)
        self.addCleanup(server.stop)
        return server

    def hammer(self, *args, **kwargs):
        cmd = [sys.executable, HAMMER] + list(args) + ["-o", self.csv, "-q"]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=kwargs.get("timeout", 60), cwd=HERE)
        return proc

    def rows(self):
        with open(self.csv) as f:
            lines = f.read().split("\n")
        self.assertEqual(lines[0], "elapsed,response_time,status,bytes,error")
        self.assertEqual(lines[-1], "", "the file ends with a whole line")
        for line in lines[1:-1]:
            self.assertRegex(line, ROW_RE)
        return [line.split(",") for line in lines[1:-1]]


# --- pure functions -------------------------------------------------------------


class TestParseDuration(unittest.TestCase):
    def test_units(self):
        self.assertEqual(hammer.parse_duration("30"), 30.0)
        self.assertEqual(hammer.parse_duration("30s"), 30.0)
        self.assertEqual(hammer.parse_duration("500ms"), 0.5)
        self.assertEqual(hammer.parse_duration("5m"), 300.0)
        self.assertEqual(hammer.parse_duration("1h"), 3600.0)
        self.assertEqual(hammer.parse_duration("1.5M"), 90.0)

    def test_negative(self):
        with self.assertRaisesRegex(ValueError, r"'-1' must be a duration >= 0"):
            hammer.parse_duration("-1")

    def test_garbage(self):
        with self.assertRaisesRegex(ValueError, r"'soon' is not a duration"):
            hammer.parse_duration("soon")
        with self.assertRaises(ValueError):
            hammer.parse_duration("nan")


class TestSchedule(unittest.TestCase):
    def test_split_spreads_the_remainder(self):
        self.assertEqual(hammer.split_evenly(10, 3), [4, 3, 3])
        self.assertEqual(sum(hammer.split_evenly(1001, 7)), 1001)

    def test_users_interleave_processes(self):
        self.assertEqual(hammer.user_numbers([3, 2]), [[0, 2, 4], [1, 3]])

    def test_rampup_offsets_are_linear(self):
        self.assertEqual(hammer.rampup_offsets([2, 2], 8.0),
                         [[0.0, 4.0], [2.0, 6.0]])
        flat = sorted(sum(hammer.rampup_offsets([3, 3, 2], 16.0), []))
        self.assertEqual(flat, [g * 2.0 for g in range(8)])

    def test_no_rampup_starts_everyone_at_once(self):
        self.assertEqual(hammer.rampup_offsets([2, 1], 0.0), [[0.0, 0.0], [0.0]])

    def test_quotas_add_up(self):
        quotas = hammer.request_quotas([3, 2], 11)
        self.assertEqual(quotas, [[3, 2, 2], [2, 2]])
        self.assertEqual(hammer.request_quotas([1], None), [[math.inf]])


class FakeClock(object):
    """A clock that only moves when the user waits (timeit's FakeTimer)."""

    def __init__(self, now):
        self.now = now
        self.waits = []

    def __call__(self):
        return self.now

    def wait(self, seconds):
        self.waits.append(seconds)
        self.now += seconds
        return False

    def is_set(self):
        return False


class TestUserLoopSchedule(unittest.TestCase):
    """user_loop with an injected clock against a real server."""

    def setUp(self):
        self.server = TargetServer()
        self.addCleanup(self.server.stop)

    def run_user(self, start_at, end, interval, quota=math.inf):
        clock = FakeClock(100.0)
        cfg = {"request": hammer.build_request(
                   "GET", hammer.parse_url(self.server.url), [], None, True),
               "head_request": False, "keepalive": True,
               "interval_s": interval, "timeout_s": 5.0}
        connect = hammer.connector(socket.AF_INET,
                                   ("127.0.0.1", self.server.port),
                                   "127.0.0.1", None, 5.0)
        rows = []
        hammer.user_loop(cfg, 100.0, start_at, quota, end, clock, rows.append,
                         connect, clock)
        return rows, clock

    def test_waits_for_its_start_then_paces_by_interval(self):
        rows, clock = self.run_user(start_at=103.0, end=108.5, interval=1.0)
        self.assertEqual([r[0] for r in rows], [3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
        self.assertEqual(clock.waits[0], 3.0)
        self.assertEqual([r[2] for r in rows], [200] * 6)
        self.assertEqual(self.server.requests, 6)
        self.assertEqual(self.server.connections, 1)

    def test_stops_at_quota(self):
        rows, _ = self.run_user(start_at=100.0, end=1e9, interval=0.5, quota=4)
        self.assertEqual(len(rows), 4)
        self.assertEqual(self.server.requests, 4)

    def test_no_request_starts_at_or_after_the_end(self):
        rows, _ = self.run_user(start_at=110.0, end=110.0, interval=0.0)
        self.assertEqual(rows, [])
        self.assertEqual(self.server.requests, 0)


class TestHistogram(unittest.TestCase):
    def exact(self, values, p):
        ordered = sorted(values)
        return ordered[max(1, int(math.ceil(p / 100.0 * len(ordered)))) - 1]

    def test_percentiles_within_one_percent(self):
        rng = random.Random(7)
        samples = {
            "lognormal": [rng.lognormvariate(-6, 1.2) for _ in range(20000)],
            "uniform": [rng.uniform(0.0001, 2.0) for _ in range(20000)],
            "bimodal": [rng.choice((0.0004, 0.25)) * rng.uniform(0.9, 1.1)
                        for _ in range(20000)],
        }
        for name, values in samples.items():
            h = hammer.Histogram()
            h.add_many(values[:7000])
            h.add_many(values[7000:])
            for p in (1, 25, 50, 90, 95, 99, 99.9, 100):
                with self.subTest(name=name, p=p):
                    want = self.exact(values, p)
                    self.assertLessEqual(abs(h.percentile(p) - want) / want,
                                         0.01)
            self.assertEqual(h.n, len(values))
            self.assertEqual(h.min, min(values))
            self.assertEqual(h.max, max(values))
            self.assertAlmostEqual(h.mean, sum(values) / len(values))

    def test_merge_equals_one_histogram(self):
        rng = random.Random(3)
        values = [rng.expovariate(100) for _ in range(5000)]
        whole, a, b = hammer.Histogram(), hammer.Histogram(), hammer.Histogram()
        whole.add_many(values)
        a.add_many(values[:1234])
        b.add_many(values[1234:])
        a.merge(hammer.Histogram.from_dict(b.to_dict()))
        self.assertEqual(a.counts, whole.counts)
        self.assertEqual(a.percentiles([50, 99]), whole.percentiles([50, 99]))

    def test_memory_is_bounded(self):
        h = hammer.Histogram()
        rng = random.Random(1)
        h.add_many([rng.uniform(0.001, 0.01) for _ in range(100000)])
        # 900 three-digit mantissas in a decade, + values rounding up to 1e-2
        self.assertLessEqual(len(h.counts), 901)

    def test_empty(self):
        self.assertEqual(hammer.Histogram().percentiles([50, 99]), [0.0, 0.0])


class TestRequestAndParsing(unittest.TestCase):
    def test_parse_url_ipv6_and_auth(self):
        t = hammer.parse_url("http://user:p%40ss@[::1]:8080/a?b=1#frag")
        self.assertEqual((t.host, t.port, t.path, t.host_header, t.auth),
                         ("::1", 8080, "/a?b=1", "[::1]:8080", "user:p@ss"))
        self.assertEqual(hammer.parse_url("https://example.test").port, 443)

    def test_bad_urls(self):
        for url, message in [
                ("ftp://127.0.0.1/", "unsupported url scheme 'ftp'"),
                ("127.0.0.1:8000/", "has no scheme"),
                ("http:///x", "has no host"),
                ("http://127.0.0.1:99999/", "has an invalid port")]:
            with self.subTest(url=url):
                with self.assertRaisesRegex(hammer.UsageError, message):
                    hammer.parse_url(url)

    def test_build_request(self):
        t = hammer.parse_url("http://127.0.0.1:8000/x")
        req = hammer.build_request("POST", t, [("X-A", "1"), ("Host", "h")],
                                   b"abc", False)
        self.assertEqual(req, b"POST /x HTTP/1.1\r\nUser-Agent: hammer/"
                         + hammer.__version__.encode() + b"\r\nAccept: */*\r\n"
                         b"Connection: close\r\nContent-Type: application/"
                         b"x-www-form-urlencoded\r\nContent-Length: 3\r\n"
                         b"X-A: 1\r\nHost: h\r\n\r\nabc")

    def test_parse_header(self):
        self.assertEqual(hammer.parse_header("X-Key:  v: w "), ("X-Key", "v: w"))
        for bad in ("novalue", ": x", "Bad Name: x"):
            with self.assertRaisesRegex(hammer.UsageError, "malformed header"):
                hammer.parse_header(bad)

    def read(self, *pieces, **kw):
        """read_response over a real socketpair fed in pieces."""
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        for piece in pieces[1:]:
            b.sendall(piece)
        if kw.get("close"):
            b.close()
        return hammer.read_response(a, pieces[0], kw.get("head", False),
                                    bytearray(8), time.perf_counter() + 5,
                                    time.perf_counter)

    def test_content_length_in_pieces(self):
        self.assertEqual(self.read(b"HTTP/1.1 200 OK\r\nContent-Le",
                                   b"ngth: 20\r\n\r\n0123", b"4567890123456789"),
                         (200, 20, True))

    def test_chunked_with_extensions_and_trailers(self):
        self.assertEqual(self.read(
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r",
            b"\nhello\r\n1a\r\n" + b"z" * 26 + b"\r\n0\r\nA: b\r\n\r\n"),
            (201, 31, True))

    def test_close_delimited(self):
        self.assertEqual(self.read(b"HTTP/1.0 200 OK\r\n\r\nab", b"cdef" * 10,
                                   close=True), (200, 42, False))

    def test_no_body_statuses_and_head(self):
        self.assertEqual(self.read(b"HTTP/1.1 204 No Content\r\n\r\n"),
                         (204, 0, True))
        self.assertEqual(self.read(b"HTTP/1.1 304 Not Modified\r\n"
                                   b"Content-Length: 10\r\n\r\n"), (304, 0, True))
        self.assertEqual(self.read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                                   head=True), (200, 0, True))

    def test_interim_response_is_skipped(self):
        self.assertEqual(self.read(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 No",
                                   b"\r\nContent-Length: 2\r\nConnection: close"
                                   b"\r\n\r\nno"), (404, 2, False))

    def test_http10_keep_alive(self):
        self.assertEqual(self.read(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
                                   b"Content-Length: 0\r\n\r\n"), (200, 0, True))

    def test_garbage_is_a_protocol_error(self):
        with self.assertRaises(hammer.ResponseError) as cm:
            self.read(b"SSH-2.0-OpenSSH\r\n\r\n")
        self.assertEqual(cm.exception.kind, "protocol")

    def test_early_close_is_closed(self):
        with self.assertRaises(hammer.ResponseError) as cm:
            self.read(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nab",
                      close=True)
        self.assertEqual(cm.exception.kind, "closed")


class TestSummary(unittest.TestCase):
    def test_format_summary(self):
        stats = hammer.WorkerStats()
        stats.add_rows([(0.1, 0.002, 200, 10, ""), (0.2, 0.004, 200, 10, ""),
                        (0.3, 0.003, 503, 5, ""), (0.4, 1.0, 0, 0, "timeout")])
        settings = {"hammer": "9", "method": "GET", "url": "http://x/",
                    "users": 3, "threads_per_process": [2, 1], "processes": 2,
                    "rampup_s": 1.0, "interval_s": 0.0, "runtime_s": 2.0,
                    "keepalive": True, "output": "r.csv"}
        lines = hammer.format_summary(settings, stats, 2.0, 4, [0.5, 0.95])
        self.assertEqual(lines, [
            "hammer 9  GET http://x/",
            "load       3 users (2 + 1 threads in 2 processes), rampup 1s,"
            " interval 0s, runtime 2s, keep-alive",
            "requests   4 in 2.00s = 2.0 req/s",
            "latency    min 2.00ms  avg 3.00ms  p50 3.00ms  p90 4.00ms"
            "  p95 4.00ms  p99 4.00ms  max 4.00ms  (over 3 responses)",
            "status     200: 2  503: 1",
            "errors     timeout: 1",
            "received   25 B of response bodies",
            "output     r.csv (4 rows)",
            "warning: worker 1 was busy 95% of a CPU: hammer itself may be the"
            " bottleneck, so req/s and latency understate the target; add"
            " processes (-p) or lower the users"])
        self.assertEqual((stats.failures, stats.server_errors), (1, 1))

    def test_format_seconds(self):
        self.assertEqual([hammer.format_seconds(s) for s in
                          (0.000212, 0.0012, 0.0123, 0.123, 1.234)],
                         ["212us", "1.20ms", "12.3ms", "123ms", "1.23s"])


# --- whole runs against real servers ---------------------------------------------


class TestRuns(ServerTestCase):
    def test_rows_equal_requests_with_processes_and_threads(self):
        server = self.start_server(body=b"x" * 300)
        proc = self.hammer(server.url, "-p", "3", "-t", "7", "-n", "3000",
                           "--runtime", "30")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = self.rows()
        self.assertEqual(len(rows), 3000)
        self.assertEqual(server.requests, 3000)
        self.assertEqual({r[2] for r in rows}, {"200"})
        self.assertEqual({r[3] for r in rows}, {"300"})
        self.assertIn("requests   3000 in ", proc.stdout)
        self.assertIn("status     200: 3000", proc.stdout)
        self.assertIn("output     %s (3000 rows)" % self.csv, proc.stdout)

    def test_runtime_bounds_the_run(self):
        server = self.start_server()
        proc = self.hammer(server.url, "-p", "2", "-t", "2", "--runtime",
                           "0.5", "--interval", "10ms")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = self.rows()
        self.assertEqual(len(rows), server.requests)
        self.assertGreater(len(rows), 4)
        self.assertLess(max(float(r[0]) for r in rows), 0.5)

    def test_keepalive_reuses_one_connection_per_user(self):
        server = self.start_server()
        proc = self.hammer(server.url, "-p", "2", "-c", "5", "-n", "200")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(server.requests, 200)
        # one per user, plus the probe that checks the target at start
        self.assertEqual(server.connections, 5 + 1)

    def test_no_keepalive_opens_one_connection_per_request(self):
        server = self.start_server()
        proc = self.hammer(server.url, "-p", "2", "-c", "4", "-n", "100",
                           "--no-keepalive")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(self.rows()), 100)
        self.assertEqual(server.connections, 100 + 1)
        self.assertIn("Connection: close", server.headers)

    def test_chunked_responses(self):
        server = self.start_server(mode="chunked", body=b"y" * 1001)
        proc = self.hammer(server.url, "-p", "1", "-t", "3", "-n", "90")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = self.rows()
        self.assertEqual([r[2:] for r in rows], [["200", "1001", ""]] * 90)
        self.assertEqual(server.connections, 3 + 1)

    def test_head_and_body_longer_than_the_first_read(self):
        head = b"X-Pad: %s\r\n" % (b"p" * (2 * hammer.FIRST_RECV_B))
        size = 3 * hammer.RECV_SIZE_B + 7
        server = self.start_server(body=b"b" * size, head=head)
        proc = self.hammer(server.url, "-p", "1", "-t", "2", "-n", "40")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = self.rows()
        self.assertEqual([r[2:] for r in rows], [["200", str(size), ""]] * 40)
        self.assertEqual(server.connections, 2 + 1)   # framing kept in step

    def test_close_delimited_responses(self):
        server = self.start_server(mode="close", body=b"z" * 5000)
        proc = self.hammer(server.url, "-p", "1", "-t", "3", "-n", "60")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = self.rows()
        self.assertEqual([r[2:] for r in rows], [["200", "5000", ""]] * 60)
        self.assertEqual(server.connections, 60 + 1)

    def test_server_closing_idle_connections_is_not_an_error(self):
        server = self.start_server(mode="drop")
        proc = self.hammer(server.url, "-p", "1", "-t", "2", "-n", "80")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = self.rows()
        self.assertEqual([r[2] for r in rows], ["200"] * 80)
        self.assertEqual(server.requests, 80)
        self.assertIn("errors     none", proc.stdout)

    def test_head_reads_no_body(self):
        server = self.start_server(body=b"q" * 100)
        proc = self.hammer(server.url, "-X", "HEAD", "-t", "2", "-p", "1",
                           "-n", "20", "--timeout", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([r[2:] for r in self.rows()], [["200", "0", ""]] * 20)
        self.assertEqual(server.methods, {"HEAD"})

    def test_post_body_from_file_and_headers(self):
        server = self.start_server()
        body = os.path.join(self.tmp.name, "body.json")
        with open(body, "wb") as f:
            f.write(b'{"a": 1}')
        proc = self.hammer(server.url, "-d", "@" + body, "-H",
                           "Content-Type: application/json", "-H", "X-Run: 7",
                           "-p", "1", "-t", "1", "-n", "3")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(server.methods, {"POST"})
        self.assertEqual(server.bodies, {b'{"a": 1}'})
        self.assertIn("Content-Type: application/json", server.headers)
        self.assertIn("X-Run: 7", server.headers)
        self.assertNotIn("Content-Type: application/x-www-form-urlencoded",
                         server.headers)

    def test_ipv6_literal(self):
        if not socket.has_ipv6:
            self.skipTest("this Python has no IPv6")
        try:
            server = self.start_server(host="::1")
        except OSError as exc:
            self.skipTest("no IPv6 loopback here: %s" % exc)
        proc = self.hammer(server.url, "-p", "1", "-t", "2", "-n", "10")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(self.rows()), 10)
        self.assertIn("Host: [::1]:%d" % server.port, server.headers)

    def test_transport_errors_are_rows(self):
        # a target that accepts the start probe, then resets every
        # connection once it has read the request
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        reset = struct.pack("ii", 1, 0)     # SO_LINGER on, 0 s: RST on close

        def serve():
            probe, _ = listener.accept()
            probe.close()
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
                conn.close()
        t = threading.Thread(target=serve)
        t.daemon = True
        t.start()
        proc = self.hammer("http://127.0.0.1:%d/" % port, "-p", "1", "-t",
                           "1", "-n", "5")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([r[2:] for r in self.rows()], [["0", "0", "reset"]] * 5)
        self.assertIn("errors     reset: 5", proc.stdout)
        self.assertIn("status     none", proc.stdout)


    def test_requests_in_flight_at_the_end_are_recorded(self):
        server = self.start_server(delay_s=0.3)
        proc = self.hammer(server.url, "-p", "1", "-t", "2", "--runtime",
                           "0.5")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = self.rows()
        self.assertEqual(len(rows), server.requests)
        self.assertEqual(len(rows), 4)     # sent at about 0 and 0.3 s
        self.assertGreater(max(float(r[0]) + float(r[1]) for r in rows), 0.5)

    def test_demo(self):
        proc = self.hammer("--demo", "--runtime", "1", "-p", "1", "-t", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = self.rows()
        self.assertGreater(len(rows), 10)
        self.assertEqual({r[2] for r in rows}, {"200"})
        self.assertRegex(proc.stderr, r"^hammer: demo target listening at"
                         r" http://127.0.0.1:\d+/\n$")
        self.assertIn("output     %s (%d rows)" % (self.csv, len(rows)),
                      proc.stdout)


    def test_output_that_fills_up_fails_the_run(self):
        try:
            import resource
        except ImportError:
            self.skipTest("no resource module on this system")
        server = self.start_server()

        def limit_file_size():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        proc = subprocess.run(
            [sys.executable, HAMMER, server.url, "-p", "1", "-t", "2",
             "--runtime", "30", "-q", "-o", self.csv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=60, preexec_fn=limit_file_size)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stderr, "hammer: worker 0 failed: cannot write"
                         " rows to %r: File too large\n" % self.csv)
        self.assertLessEqual(os.path.getsize(self.csv), 4096)
        self.assertIn("requests   %d in " % server.requests, proc.stdout)


class TestSpawnAndForkserver(ServerTestCase):
    def run_with(self, method):
        server = self.start_server()
        code = ("import multiprocessing, sys; sys.path.insert(0, %r);"
                "multiprocessing.set_start_method(%r); import hammer;"
                "sys.exit(hammer.main(sys.argv[1:]))" % (HERE, method))
        proc = subprocess.run([sys.executable, "-c", code, server.url, "-p",
                               "2", "-t", "3", "-n", "300", "-q", "-o",
                               self.csv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(self.rows()), 300)
        self.assertEqual(server.requests, 300)

    def test_spawn(self):
        self.run_with("spawn")

    def test_forkserver(self):
        self.run_with("forkserver")


class TestHttps(ServerTestCase):
    def test_self_signed_fails_without_insecure(self):
        server = self.start_server(tls=True)
        proc = self.hammer(server.url, "-p", "1", "-t", "1", "-n", "5")
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stderr, r"^hammer: cannot connect to 127.0.0.1:%d:"
                         r" tls handshake failed: .*certificate.* \(-k/--insecure"
                         r" skips certificate checks\)\n$" % server.port)
        self.assertEqual(server.requests, 0)
        self.assertFalse(os.path.exists(self.csv))

    def test_insecure_runs_over_one_tls_connection_per_user(self):
        server = self.start_server(tls=True, body=b"s" * 64)
        proc = self.hammer(server.url, "-k", "-p", "1", "-t", "2", "-n", "40")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([r[2:] for r in self.rows()], [["200", "64", ""]] * 40)
        self.assertEqual(server.requests, 40)
        self.assertEqual(server.connections, 2 + 1)


class TestSignals(ServerTestCase):
    def start_long_run(self, server):
        proc = subprocess.Popen(
            [sys.executable, HAMMER, server.url, "-p", "2", "-t", "2",
             "--runtime", "60", "--interval", "5ms", "-o", self.csv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, start_new_session=True)
        self.addCleanup(self.kill_group, proc.pid)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if server.requests >= 50 and os.path.exists(self.csv) and \
                    os.path.getsize(self.csv) > 200:
                return proc
            time.sleep(0.05)
        self.fail("the run did not get going")

    @staticmethod
    def kill_group(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass

    def assert_stopped_cleanly(self, proc, server, code):
        out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, code, err)
        rows = self.rows()
        self.assertEqual(len(rows), server.requests)
        self.assertIn("requests   %d in " % len(rows), out)
        self.assert_group_gone(proc.pid)

    def assert_group_gone(self, pgid):
        """No worker is left behind in the process group."""
        deadline = time.monotonic() + 5
        while True:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            self.assertLess(time.monotonic(), deadline, "a worker outlived")
            time.sleep(0.05)

    def test_sigint_to_the_process_group_keeps_every_row(self):
        server = self.start_server()
        proc = self.start_long_run(server)
        os.killpg(proc.pid, signal.SIGINT)
        self.assert_stopped_cleanly(proc, server, 130)

    def test_sigint_to_the_parent_only(self):
        server = self.start_server()
        proc = self.start_long_run(server)
        proc.send_signal(signal.SIGINT)
        self.assert_stopped_cleanly(proc, server, 130)

    def test_second_sigint_exits_at_once(self):
        server = self.start_server(delay_s=0.2)
        proc = self.start_long_run(server)
        server.delay_s = 60     # requests in flight now hang
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(proc.returncode, 130)
        self.assertIn("interrupted again, exiting now", err)
        self.assert_group_gone(proc.pid)

    def test_sigterm(self):
        server = self.start_server()
        proc = self.start_long_run(server)
        os.killpg(proc.pid, signal.SIGTERM)
        self.assert_stopped_cleanly(proc, server, 143)


# --- the command line -------------------------------------------------------------


class TestMain(unittest.TestCase):
    def main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = hammer.main(list(argv), out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def assert_usage(self, argv, message):
        code, out, err = self.main(*argv)
        self.assertEqual(code, 2)
        self.assertEqual(err.splitlines()[-1], "hammer.py: error: " + message)
        self.assertNotIn("Traceback", err)

    def test_main_unknown_option(self):
        self.assert_usage(["http://127.0.0.1/", "--bogus"],
                          "unrecognized arguments: --bogus")

    def test_main_bad_scheme(self):
        self.assert_usage(["ftp://127.0.0.1/"], "unsupported url scheme 'ftp'"
                          " in 'ftp://127.0.0.1/': use http:// or https://")

    def test_main_missing_url(self):
        self.assert_usage([], "a URL is required (or --demo to try hammer on a"
                              " built-in target)")

    def test_main_negative_interval(self):
        self.assert_usage(["http://127.0.0.1/", "--interval", "-1"],
                          "argument --interval: '-1' must be a duration >= 0")

    def test_main_bad_duration(self):
        self.assert_usage(["http://127.0.0.1/", "--runtime", "soon"],
                          "argument --runtime: 'soon' is not a duration: use"
                          " e.g. 30, 30s, 500ms, 5m or 1h")

    def test_main_zero_runtime(self):
        self.assert_usage(["http://127.0.0.1/", "--runtime", "0"],
                          "--runtime must be more than 0s")

    def test_main_negative_threads(self):
        self.assert_usage(["http://127.0.0.1/", "-t", "-3"],
                          "argument -t/--threads: '-3' must be a whole number"
                          " >= 1")

    def test_main_zero_processes(self):
        self.assert_usage(["http://127.0.0.1/", "-p", "0"],
                          "argument -p/--processes: '0' must be a whole number"
                          " >= 1")

    def test_main_threads_and_concurrency(self):
        self.assert_usage(["http://127.0.0.1/", "-t", "2", "-c", "4"],
                          "argument -c/--concurrency: not allowed with"
                          " argument -t/--threads")

    def test_main_unreadable_data_file(self):
        self.assert_usage(["http://127.0.0.1/", "-d", "@/nonexistent/body"],
                          "cannot read data file '/nonexistent/body': No such"
                          " file or directory")

    def test_main_malformed_header(self):
        self.assert_usage(["http://127.0.0.1/", "-H", "NoColonHere"],
                          "malformed header 'NoColonHere': expected"
                          " 'Name: value'")

    def test_main_unreachable_target(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()       # nothing listens there now
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.csv")
            code, stdout, err = self.main("http://127.0.0.1:%d/" % port,
                                          "-o", out)
            self.assertFalse(os.path.exists(out))
        self.assertEqual(code, 1)
        self.assertEqual(err, "hammer: cannot connect to 127.0.0.1:%d:"
                              " connection refused\n" % port)
        self.assertEqual(stdout, "")

    def test_main_output_not_writable(self):
        server = TargetServer()
        self.addCleanup(server.stop)
        code, _, err = self.main(server.url, "-o", "/nonexistent/dir/r.csv")
        self.assertEqual(code, 1)
        self.assertEqual(err, "hammer: cannot write '/nonexistent/dir/r.csv':"
                              " No such file or directory\n")
        self.assertEqual(server.requests, 0)

    def test_main_output_full(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full on this system")
        server = TargetServer()
        self.addCleanup(server.stop)
        code, _, err = self.main(server.url, "-o", "/dev/full")
        self.assertEqual(code, 1)
        self.assertEqual(err, "hammer: cannot write '/dev/full': No space left"
                              " on device\n")
        self.assertEqual(server.requests, 0)

    def test_main_version(self):
        code, out, _ = self.main("--version")
        self.assertEqual((code, out), (0, "hammer %s\n" % hammer.__version__))

    def test_help_states_every_default(self):
        code, out, _ = self.main("--help")
        self.assertEqual(code, 0)
        for option in ("--interval", "--runtime", "--rampup", "--processes",
                       "--threads", "--timeout", "--output"):
            self.assertRegex(out, r"(?s)%s.*?\(default: " % option)


class TestReadme(unittest.TestCase):
    """README.md stays true to --help and to the CSV contract."""

    def setUp(self):
        with open(os.path.join(HERE, "README.md")) as f:
            self.readme = f.read()

    def test_every_option_is_in_the_options_table(self):
        options = [o for a in hammer.build_parser()._actions
                   for o in a.option_strings if o not in ("-h", "--help")]
        self.assertGreater(len(options), 20)
        for option in options:
            with self.subTest(option=option):
                row = r"\n\| `(-\w, )?%s[ `,]" % re.escape(option)
                self.assertTrue(re.search(row, self.readme), row)

    def test_csv_columns_block(self):
        for name, meaning in hammer.CSV_COLUMNS:
            with self.subTest(column=name):
                row = r"\n\| `%s` \|[^|]*\| %s \|\n" % (name, re.escape(meaning))
                self.assertTrue(re.search(row, self.readme), row)
        self.assertEqual(hammer.CSV_HEADER, ",".join(
            name for name, _ in hammer.CSV_COLUMNS) + "\n")


if __name__ == "__main__":
    unittest.main()

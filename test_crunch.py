"""Tests for crunch.py: python -m unittest -v (standard library only)."""

import collections
import csv
import html.parser
import http.server
import io
import json
import math
import os
import random
import re
import shutil
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import unittest
from unittest import mock

import crunch
import hammer
from test_hammer import (HypothesisTestCase, assert_options_listed,
                         assert_sections_listed)

HERE = os.path.dirname(os.path.abspath(__file__))
CRUNCH = os.path.join(HERE, "crunch.py")
HEADER = "elapsed,response_time,status,bytes,error\n"
HEADER6 = "elapsed,response_time,status,bytes,error,scheduled\n"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE_ALL = os.environ.get("HAMMER_TEST_REQUIRE_ALL") == "1"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-quic", "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


def row(elapsed, response_time, status=200, size=10, error=""):
    return "%.6f,%.6f,%d,%d,%s\n" % (elapsed, response_time, status, size,
                                     error)


def open_row(elapsed, response_time, scheduled, status=200, size=10,
             error=""):
    """A row of hammer's open model: the scheduled column filled."""
    return row(elapsed, response_time, status, size, error)[:-1] + (
        ",%.6f\n" % scheduled)


def closed_row(elapsed, response_time, status=200, size=10, error=""):
    """A row of hammer's closed model in the 6-column file: no scheduled."""
    return row(elapsed, response_time, status, size, error)[:-1] + ",\n"


def stalled_run():
    """100 slots 10 ms apart, one user: slot 50 waits 500 ms for its
    response, so slots 51 to 99 go 500 ms late, one per 10 ms response.
    Corrected latency: 50 x 10 ms then 50 x 510 ms; service time: 99 x
    10 ms and one 510 ms."""
    rows = [open_row(k * 0.01, 0.010, k * 0.01) for k in range(50)]
    rows.append(open_row(0.50, 0.510, 0.50))
    rows += [open_row(1.010 + (k - 51) * 0.01, 0.010, k * 0.01)
             for k in range(51, 100)]
    return HEADER6 + "".join(rows)


def nearest_rank(values, p):
    ordered = sorted(values)
    return ordered[max(1, int(math.ceil(p / 100.0 * len(ordered)))) - 1]


def random_rows(n, seed, runtime_s=10.0):
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        status = rnd.choice((200,) * 30 + (503, 0))
        rows.append((round(rnd.uniform(0, runtime_s), 6),
                     round(rnd.lognormvariate(-4, 0.8), 6), status))
    return rows


class CrunchTestCase(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="crunch-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def serve(self, handler):
        """A threaded http.server on 127.0.0.1:0 with handler, stopped at
        the test's end."""
        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
        server = Server(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", newline="") as f:
            f.write(text)
        return path

    def write_rows(self, name, rows, header=HEADER):
        text = header + "".join(row(e, t, s, 10, "timeout" if s == 0 else "")
                                for e, t, s in rows)
        return self.write(name, text)

    def run_main(self, argv, stdin=b""):
        out, err = io.StringIO(), io.StringIO()
        code = crunch.main(argv, stdin=io.BytesIO(stdin), stdout=out,
                           stderr=err)
        return code, out.getvalue(), err.getvalue()

    def run_json(self, argv, stdin=b""):
        code, out, err = self.run_main(argv + ["--json"], stdin)
        self.assertEqual(code, 0, err)
        return json.loads(out), err


class ExactTest(CrunchTestCase):
    """Hand-made files whose every figure is known."""

    ROWS = (row(0.1, 0.010) + row(0.5, 0.020) + row(1.9, 0.030, 500) +
            row(0.7, 0.5, 0, 0, "timeout") +        # not in latency stats
            row(2.0, 0.040) + row(3.5, 0.060, 404) +
            row(7.0, 0.100) + row(7.5, 0.200))      # 4-6 s is empty

    def test_interval_counts_means_and_errors(self):
        path = self.write("r.csv", HEADER + self.ROWS)
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        got = [(r["start_s"], r["requests"], r["responses"], r["errors"],
                r["mean_s"]) for r in report["intervals"]]
        self.assertEqual(got, [(0.0, 4, 3, 2, 0.02), (2.0, 2, 2, 0, 0.05),
                               (4.0, 0, 0, 0, None), (6.0, 2, 2, 0, 0.15)])
        first = report["intervals"][0]
        self.assertEqual(first["rps"], 2.0)
        self.assertEqual(first["error_pct"], 50.0)
        self.assertEqual(first["max_s"], 0.03)
        self.assertEqual(first["p50_s"], 0.02)

    def test_partial_last_interval_ends_with_the_last_response(self):
        path = self.write("r.csv", HEADER + self.ROWS)
        report, _ = self.run_json([path])
        last = report["intervals"][-1]
        self.assertEqual(last["width_s"], 1.7)    # 6.0 .. 7.5 + 0.2 s
        self.assertAlmostEqual(last["rps"], 2 / 1.7, places=6)
        totals = report["totals"]
        self.assertEqual(totals["requests"], 8)
        self.assertEqual(totals["width_s"], 7.7)
        self.assertAlmostEqual(totals["rps"], 8 / 7.7, places=6)
        self.assertEqual(totals["errors"], 2)
        self.assertAlmostEqual(totals["mean_s"], 0.46 / 7, places=9)
        self.assertEqual(report["statuses"],
                         {"0": 1, "200": 5, "404": 1, "500": 1})
        self.assertEqual(report["transport_errors"], {"timeout": 1})
        self.assertEqual(report["errors"], {"total": 2, "5xx": 1,
                                            "transport": 1, "script": 0})

    def test_table_on_stdout(self):
        path = self.write("r.csv", HEADER + self.ROWS)
        code, out, err = self.run_main([path])
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(lines[0], "crunch %s: %s, 8 rows, interval 2s"
                         % (crunch.__version__, path))
        self.assertEqual(lines[1].split(), [
            "start_s", "requests", "req/s", "mean_ms", "p50_ms", "p90_ms",
            "p95_ms", "p99_ms", "max_ms", "errors", "error_%"])
        self.assertEqual(lines[2].split(), [
            "0.0", "4", "2.0", "20.000", "20.000", "30.000", "30.000",
            "30.000", "30.000", "2", "50.00"])
        self.assertEqual(lines[4].split(), ["4.0", "0", "0.0"] + ["-"] * 6 +
                         ["0", "0.00"])
        self.assertEqual(lines[7].split()[:3], ["total", "8", "1.0"])
        self.assertEqual(lines[8], "status: 200 x 5, 404 x 1, 500 x 1; "
                                   "errors 2 (5xx: 1; transport: timeout 1)")

    def test_table_columns_as_wide_as_their_widest_cell(self):
        rnd = random.Random(51)
        rows = []
        for i in range(300):
            p = rnd.choice((None, 0.0995, 12.0, 0.0999996))
            latency = (1, rnd.choice((None, rnd.uniform(0, 0.01), 9.9996)),
                       [p] * 4, p, p)
            rows.append(crunch.stats_row(i * 2.0, rnd.choice((2.0, 0.2)),
                                         rnd.choice((0, 1, 19, 9999)),
                                         rnd.choice((0, 1, 12)), latency))
        totals = crunch.stats_row(0.0, 600.0, 99999, 5, (0, None, [None] * 4,
                                                         None, None))
        cells = crunch.table_cells(rows, totals)
        header = [h for h, _, _, _ in crunch.TABLE_COLUMNS]
        widths = [max(len(c[i]) for c in cells + [header])
                  for i in range(len(header))]
        lines = crunch.format_table(rows, totals)
        self.assertEqual(lines[0], "  ".join(h.rjust(w) for h, w
                                             in zip(header, widths)))
        self.assertEqual(lines[1:-2], ["  ".join(c.rjust(w) for c, w in
                                                 zip(r, widths))
                                       for r in cells[:-1]])
        self.assertEqual(lines[-1], "  ".join(c.rjust(w) for c, w in
                                              zip(cells[-1], widths)))

    def test_csv_output(self):
        path = self.write("r.csv", HEADER + self.ROWS)
        out_csv = os.path.join(self.dir, "out.csv")
        code, _, _ = self.run_main([path, "--csv", out_csv, "--interval",
                                    "4s"])
        self.assertEqual(code, 0)
        with open(out_csv) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "start_s,requests,req_per_s,mean_ms,"
                         "p50_ms,p90_ms,p95_ms,p99_ms,max_ms,errors,error_pct")
        self.assertEqual(lines[1], "0.0,6,1.5,32.000,30.000,60.000,60.000,"
                                   "60.000,60.000,2,33.33")
        self.assertEqual(lines[2], "4.0,2,0.5,150.000,100.000,200.000,"
                                   "200.000,200.000,200.000,0,0.00")
        self.assertEqual(lines[3].split(",")[:3], ["total", "8", "1.0"])
        self.assertEqual(len(lines), 4)

    def test_interval_takes_units(self):
        path = self.write("r.csv", HEADER + self.ROWS)
        report, _ = self.run_json([path, "--interval", "500ms"])
        self.assertEqual(report["interval_s"], 0.5)
        self.assertEqual(report["intervals"][0]["requests"], 1)
        self.assertEqual(len(report["intervals"]), 16)

    def test_header_less_original_format(self):
        text = "0.5,0.010,200\n1.0,0.030,200\n2.5,0.050,503\n"
        path = self.write("old.csv", text)
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        got = [(r["requests"], r["errors"], r["mean_s"])
               for r in report["intervals"]]
        self.assertEqual(got, [(2, 0, 0.02), (1, 1, 0.05)])

    def test_header_with_extra_columns_in_any_order(self):
        text = ("status,url,elapsed,response time\n"
                "200,/a,0.5,0.010\n500,/b,1.0,0.030\n")
        path = self.write("other.csv", text)
        report, _ = self.run_json([path])
        self.assertEqual(report["totals"]["requests"], 2)
        self.assertEqual(report["totals"]["errors"], 1)
        self.assertEqual(report["totals"]["mean_s"], 0.02)


class ErrorsTest(CrunchTestCase):
    """Errors are transport errors (status 0) plus 5xx, in every output."""

    def test_every_row_503_is_100_percent_errors_everywhere(self):
        path = self.write_rows("r.csv", [(0.5 * i, 0.01, 503)
                                         for i in range(10)])
        out_csv = os.path.join(self.dir, "out.csv")
        out_html = os.path.join(self.dir, "out.html")
        code, out, err = self.run_main([path, "--csv", out_csv, "--html",
                                        out_html])
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        for line in lines[2:5] + lines[6:7]:
            self.assertEqual(line.split()[-2:], [line.split()[1], "100.00"])
        self.assertEqual(lines[6].split()[:2], ["total", "10"])
        self.assertEqual(lines[7], "status: 503 x 10; errors 10 (5xx: 10)")
        with open(out_csv) as f:
            for line in f.read().splitlines()[1:]:
                self.assertEqual(line.split(",")[-1], "100.00")
        report, _ = self.run_json([path])
        self.assertEqual([(r["errors"], r["error_pct"])
                          for r in report["intervals"]],
                         [(4, 100.0), (4, 100.0), (2, 100.0)])
        self.assertEqual((report["totals"]["errors"],
                          report["totals"]["error_pct"]), (10, 100.0))
        self.assertEqual(report["errors"], {"total": 10, "5xx": 10,
                                            "transport": 0, "script": 0})
        with open(out_html) as f:
            page = f.read()
        self.assertIn("status: 503 x 10; errors 10 (5xx: 10)", page)
        self.assertIn('<tr class="total"><td>total</td><td>10</td>', page)
        # the totals table, the errors by kind (5xx: 503 x 10) and the
        # status codes (503), then the 3 intervals and the totals again
        self.assertEqual(page.count("<td>100.00</td>"), 7)
        self.assertIn("<tr><td>5xx</td><td>status 503</td><td>10</td>"
                      "<td>100.00</td></tr>", page)
        self.assertIn("<tr><td>503</td><td>10</td><td>100.00</td></tr>",
                      page)

    def test_counts_line_breaks_errors_down(self):
        rows = ([(0.1, 0.01, 200)] * 3 + [(0.2, 0.01, 502), (0.3, 0.01, 500)]
                + [(0.4, 1.0, 0)] * 2)
        text = HEADER + "".join(row(e, t, s, 0, "") for e, t, s in rows[:5])
        text += row(0.4, 1.0, 0, 0, "timeout") + row(0.5, 0.2, 0, 0, "reset")
        text += row(0.6, 0.2, 0, 0, "reset") + row(0.7, 0.01, 404)
        path = self.write("r.csv", text)
        code, out, _ = self.run_main([path])
        self.assertEqual(out.splitlines()[-1], "status: 200 x 3, 404 x 1, "
                         "500 x 1, 502 x 1; errors 5 (5xx: 2; transport: "
                         "reset 2, timeout 1)")
        report, _ = self.run_json([path])
        self.assertEqual(report["errors"], {"total": 5, "5xx": 2,
                                            "transport": 3, "script": 0})
        self.assertEqual(report["totals"]["errors"], 5)
        path = self.write("old.csv", "0.1,0.01,200\n0.2,1.0,0\n")
        code, out, _ = self.run_main([path])
        self.assertEqual(out.splitlines()[-1],
                         "status: 200 x 1; errors 1 (transport: 1)")
        path = self.write_rows("fine.csv", [(0.1, 0.01, 200)])
        code, out, _ = self.run_main([path])
        self.assertEqual(out.splitlines()[-1], "status: 200 x 1; errors none")


class PercentileTest(CrunchTestCase):

    def test_json_exact_table_three_digits_as_before(self):
        # 10 x 5 ms, 50 x 6.731 ms, 39 x 10.143 ms, 1 x 20 ms
        times = [0.005] * 10 + [0.006731] * 50 + [0.010143] * 39 + [0.02]
        path = self.write_rows("r.csv", [(0.01 * i, t, 200)
                                         for i, t in enumerate(times)])
        report, _ = self.run_json([path])
        totals = report["totals"]
        self.assertEqual([totals[k] for k in ("p50_s", "p90_s", "p95_s",
                                              "p99_s", "max_s")],
                         [0.006731, 0.010143, 0.010143, 0.010143, 0.02])
        self.assertNotIn("min_s", totals)
        code, out, _ = self.run_main([path])
        self.assertEqual(out.splitlines()[-2].split(), [
            "total", "100", "99.0", "8.021", "6.730", "10.100", "10.100",
            "10.100", "20.000", "0", "0.00"])

    def test_percentiles_exact_below_100ms(self):
        rows = random_rows(20000, seed=7, runtime_s=20.0)
        path = self.write_rows("r.csv", rows)
        report, _ = self.run_json([path, "--interval", "5s"])
        groups = [("totals", [t for e, t, s in rows if s])]
        for i in range(4):
            groups.append((i, [t for e, t, s in rows
                               if s and i * 5 <= e < (i + 1) * 5]))
        for name, values in groups:
            got = (report["totals"] if name == "totals"
                   else report["intervals"][name])
            self.assertEqual(got["responses"], len(values))
            self.assertAlmostEqual(got["mean_s"], math.fsum(values) / len(values),
                                   places=9)
            self.assertEqual(got["max_s"], max(values))
            for p in crunch.hammer.PERCENTILES:
                exact = nearest_rank(values, p)
                if exact < 0.1:
                    self.assertEqual(got["p%d_s" % p], exact, (name, p))
                else:   # 5 significant digits
                    self.assertLessEqual(abs(got["p%d_s" % p] - exact),
                                         0.00005 * exact, (name, p))


class IngestTest(CrunchTestCase):
    """The column-wise ingestion agrees with hammer's own counting."""

    def hammer_intervals(self, rows, width):
        """Per-interval hammer.Histogram.add_many() over the responses."""
        hists = {}
        for e, t, s in rows:
            hists.setdefault(int(e // width), crunch.hammer.Histogram())
            if s:
                hists[int(e // width)].add_many([t])
        return hists

    def assert_like_hammer(self, text, rows, width, argv=()):
        path = self.write("r.csv", text)
        report, _ = self.run_json([path, "--interval", repr(width)] +
                                  list(argv))
        hists = self.hammer_intervals(rows, width)
        self.assertEqual(report["rows"], len(rows))
        for got in report["intervals"]:
            hist = hists.get(int(round(got["start_s"] / width)))
            if hist is None or not hist.n:
                self.assertEqual(got["responses"], 0)
                continue
            self.assertEqual(got["responses"], hist.n)
            self.assertEqual(got["max_s"], round(hist.max, 9))
            self.assertAlmostEqual(got["mean_s"], hist.mean, places=9)
            for p in crunch.hammer.PERCENTILES:     # JSON shows ns: round(, 9)
                self.assertEqual(got["p%d_s" % p],
                                 round(hist.percentile(p), 9), p)

    def test_microsecond_times_counted_under_hammer_keys(self):
        rnd = random.Random(21)
        rows = [(round(rnd.uniform(0, 12), 6),
                 round(rnd.lognormvariate(-4, 1.2), 6),
                 rnd.choice((200,) * 20 + (0, 503))) for _ in range(5000)]
        rows += [(1.0, 0.02745, 200), (1.0, 0.5625, 200), (3.0, 1.125, 200),
                 (5.0, 0.0, 200), (5.0, 2.5, 0), (7.0, 0.000105, 200)]
        text = HEADER + "".join(row(e, t, s, 1, "" if s else "reset")
                                for e, t, s in rows)
        self.assert_like_hammer(text, rows, 2.0)
        self.assert_like_hammer(text, rows, 0.3, ["--processes", "1"])

    def test_other_time_formats_counted_under_hammer_keys(self):
        rnd = random.Random(22)
        rows = [(round(rnd.uniform(0, 9), 3), rnd.lognormvariate(-4, 1),
                 200) for _ in range(2000)]
        rows += [(1.5, 0.0274500001, 200), (2.5, 1e-7, 200), (3.5, 30.0, 200)]
        text = HEADER + "".join("%r,%r,%d,1,\n" % r for r in rows)
        self.assert_like_hammer(text, rows, 1.0)

    def test_block_size_does_not_change_the_result(self):
        rows = random_rows(3000, seed=23, runtime_s=9.0)
        path = self.write_rows("r.csv", rows)
        whole, _ = self.run_json([path, "--interval", "0.7"])
        for size in (64, 1000, 7777):
            with mock.patch.object(crunch, "READ_BLOCK_B", size):
                cut, _ = self.run_json([path, "--interval", "0.7"])
            self.assertEqual(cut, whole, size)

    def test_lines_short_and_long_of_a_field_are_malformed(self):
        # found by FuzzTest: the fast path counted fields per block, so a
        # line short of a field and one with a field too many made two rows
        fmt = crunch.parse_first_line(HEADER.rstrip("\n").encode())[0]
        block = b"0.000000,0.000000,200,0\n,0.000000,0.000000,200,0,\n"
        self.assertIsNone(crunch.fast_columns(block, 2, fmt))
        tally = crunch.Tally(fmt, 2.0)
        tally.add_block(block)
        self.assertEqual((tally.rows, tally.reader.malformed,
                          tally.reader.first_bad),
                         (0, 2, 1))
        tally = crunch.Tally(crunch.Format(3), 2.0)       # header-less
        tally.add_block(b"0.5,0.01\n200,0.5,0.01,200\n")
        self.assertEqual((tally.rows, tally.reader.malformed), (0, 2))

    def test_latency_sum_beside_a_huge_transport_error(self):
        # found by FuzzTest: a status 0 row's time was taken off the
        # block's sum by subtraction, which cancelled the small ones
        fmt = crunch.parse_first_line(HEADER.rstrip("\n").encode())[0]
        block = (row(0.0, 1e6, 0, 0, "timeout") + row(0.0, 0.0) +
                 row(0.0, 1e-6) + row(0.0, 0.0)).encode()
        for cls in (crunch.Tally, SlowTally):
            tally = cls(fmt, 2.0)
            tally.add_block(block)
            hist = tally.buckets[0].peek()
            self.assertEqual((hist.n, hist.total, hist.max), (3, 1e-6, 1e-6))

    def test_blank_line_then_a_last_line_without_newline(self):
        # found by FuzzTest: add_block lost a blank line at a block's start
        # when the block ended with a line without a newline
        fmt = crunch.parse_first_line(HEADER.rstrip("\n").encode())[0]
        tally = crunch.Tally(fmt, 2.0)
        tally.add_block(row(0.1, 0.01).encode())
        tally.add_block(b"\n0.2,0.0")
        self.assertEqual((tally.reader.lines, tally.rows,
                          tally.reader.truncated), (3, 1, 3))

    def test_times_counted_to_the_microsecond_as_hammer_counts(self):
        seconds = [0.1234567, 0.0274500001, 0.02745, 1e-7, 2.5000005, 0.0,
                   0.0000015, 0.0000025]
        for per_s, values in ((1.0, seconds),
                              (crunch.US_PER_S, [12, 27450, 3])):
            bucket, want = crunch.Bucket(), crunch.hammer.Histogram()
            bucket.add_us(*crunch.timed_us(crunch.times_of(values, per_s)))
            hist = bucket.peek()
            want.add_many([v / per_s for v in values])
            self.assertEqual((dict(hist.counts), hist.n, hist.min, hist.max),
                             (dict(want.counts), want.n, want.min, want.max))
            self.assertEqual(set(map(type, hist.counts)), {int})
            self.assertAlmostEqual(hist.total, want.total, places=12)

    def test_micro_shape(self):
        shape = lambda *fields: crunch.micro_shape(b",".join(fields),
                                                   len(fields))
        self.assertEqual(shape(b"0.000001", b"9.999999"), 2)
        self.assertEqual(shape(b"10.000000", b".500000", b"3.250000"), 1)
        for bad in (b"0.5", b"1.0000000", b"-0.100000", b"", b"1e-06",
                    b"nan", b"1.000000.000000", b" 1.000000", b"1_0.000000"):
            self.assertEqual(shape(b"1.000000", bad), 0, bad)
            self.assertEqual(shape(bad, b"1.000000"), 0, bad)

    def test_bucket_slots_agree_with_float_division(self):
        rnd = random.Random(25)
        for width in (0.1, 0.3, 1 / 3.0, 0.5, 2.0, 0.001, 7.0):
            base = rnd.uniform(10, 90)
            edge = (int(base // width) + 1) * width
            values = [round(base + rnd.uniform(0, 3 * width), 6)
                      for _ in range(200)]
            values += [round(edge + d, 6) for d in (-1e-6, 0.0, 1e-6)]
            fields = [b"%.6f" % v for v in values]
            floats = list(map(float, fields))
            first, last = (int(min(floats) // width),
                           int(max(floats) // width))
            want = [int(f // width) - first for f in floats]
            got = crunch.bucket_slots(fields, width, first, last)
            self.assertEqual([int(g) for g in got], want, width)
            got = crunch.bucket_slots(floats, width, first, last)
            self.assertEqual([int(g) for g in got], want, width)

    def test_sample_picks_follow_sample_hash(self):
        rnd = random.Random(26)
        elapsed = [round(rnd.uniform(0, 600), 6) for _ in range(5000)]
        for bits in (0, 1, 5, 11):
            mask = (1 << bits) - 1
            self.assertEqual(list(crunch.sample_picks(elapsed, mask)),
                             [i for i, e in enumerate(elapsed)
                              if not crunch.sample_hash(e) & mask])

    def test_range_edges_cover_the_file(self):
        mb = 1 << 20
        edges = crunch.range_edges(40, 300 * mb, 2)
        self.assertEqual((edges[0], edges[-1]), (40, 300 * mb))
        steps = [b - a for a, b in zip(edges, edges[1:])]
        self.assertTrue(all(crunch.RANGE_MIN_B <= d <= crunch.RANGE_B
                            for d in steps[:-1]), steps)
        self.assertLessEqual(steps[-1], steps[0])
        self.assertEqual(crunch.range_edges(0, 10, 4), [0, 10])


class InputsTest(CrunchTestCase):

    def test_merged_files_equal_one_file(self):
        rows = random_rows(3000, seed=1)
        whole = self.write_rows("all.csv", rows)
        part1 = self.write_rows("a.csv", rows[0::2])
        part2 = self.write_rows("b.csv", rows[1::2])
        one, _ = self.run_json([whole])
        two, _ = self.run_json([part1, part2])
        self.assertEqual(two["inputs"], [part1, part2])
        self.assertEqual(two["rows"], 3000)
        self.assertEqual(two["intervals"], one["intervals"])
        self.assertEqual(two["totals"], one["totals"])

    def test_stdin_in_a_subprocess(self):
        rows = random_rows(500, seed=2)
        path = self.write_rows("r.csv", rows)
        with open(path, "rb") as f:
            data = f.read()
        proc = subprocess.Popen([sys.executable, CRUNCH, "-", "--json"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=self.dir)
        out, err = proc.communicate(data, timeout=60)
        self.assertEqual((proc.returncode, err), (0, b""))
        piped = json.loads(out.decode("utf-8"))
        direct, _ = self.run_json([path])
        self.assertEqual(piped["inputs"], ["<stdin>"])
        self.assertEqual(piped["intervals"], direct["intervals"])
        self.assertEqual(piped["totals"], direct["totals"])

    def test_truncated_last_line_skipped_with_warning(self):
        path = self.write("r.csv", HEADER + row(0.1, 0.01) + row(0.2, 0.02) +
                          "0.300000,0.0")
        report, err = self.run_json([path])
        self.assertEqual(report["rows"], 2)
        self.assertEqual(report["malformed"], 0)
        self.assertEqual(err, "crunch: warning: %s: skipped the truncated "
                              "last line 4\n" % path)

    def test_whole_last_line_without_newline_counts(self):
        path = self.write("r.csv", HEADER + row(0.1, 0.01) + row(0.2, 0.02)
                          .rstrip("\n"))
        report, err = self.run_json([path])
        self.assertEqual((report["rows"], err), (2, ""))

    def test_malformed_lines_counted_with_first_line_number(self):
        lines = [row(0.1 * i, 0.01) for i in range(1, 10)]
        lines[3] = "0.4,abc,200,1,\n"             # line 5 of the file
        lines[6] = "0.7,0.01,200\n"               # too few fields
        lines[7] = "0.8,0.01,99999,1,\n"           # not a status
        path = self.write("r.csv", HEADER + "".join(lines))
        report, err = self.run_json([path])
        self.assertEqual(report["rows"], 6)
        self.assertEqual(report["malformed"], 3)
        self.assertEqual(report["first_malformed_line"], 5)
        self.assertEqual(err, "crunch: warning: %s: skipped 3 malformed "
                              "lines, the first is line 5\n" % path)

    def test_crlf_and_blank_lines(self):
        text = (HEADER + row(0.1, 0.01) + "\n" + row(0.2, 0.03)).replace(
            "\n", "\r\n")
        path = self.write("r.csv", text)
        report, err = self.run_json([path])
        self.assertEqual((report["rows"], report["malformed"], err),
                         (2, 0, ""))
        self.assertEqual(report["totals"]["mean_s"], 0.02)

    def test_byte_ranges_in_processes_match_one_process(self):
        rows = random_rows(4000, seed=5)
        text = HEADER + "".join(row(e, t, s) for e, t, s in rows)
        lines = text.splitlines(True)
        lines[2500] = "garbage\n"                 # line 2501 of the file
        path = self.write("r.csv", "".join(lines))
        one, _ = self.run_json([path, "--processes", "1"])
        with mock.patch.object(crunch, "RANGE_B", 7000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            many, err = self.run_json([path, "--processes", "2"])
        self.assertEqual(many, one)
        self.assertEqual(many["first_malformed_line"], 2501)
        self.assertEqual(many["rows"], 3999)
        self.assertIn("the first is line 2501", err)

    def test_settings_sidecar_is_shown(self):
        path = self.write("r.csv", HEADER + row(0.1, 0.01))
        self.write("r.csv.json", json.dumps(
            {"hammer": "0.1.0", "url": "http://127.0.0.1:8000/", "users": 20}))
        report, _ = self.run_json([path])
        self.assertEqual(report["settings"], {
            "hammer": "0.1.0", "url": "http://127.0.0.1:8000/", "users": 20})
        code, out, _ = self.run_main([path])
        self.assertEqual(out.splitlines()[1], "settings: hammer: 0.1.0, "
                         "url: http://127.0.0.1:8000/, users: 20")

    def test_broken_settings_sidecar_is_ignored(self):
        path = self.write("r.csv", HEADER + row(0.1, 0.01))
        self.write("r.csv.json", "{not json")
        report, err = self.run_json([path])
        self.assertEqual((report["settings"], err), (None, ""))


class LongLineTest(CrunchTestCase):
    """Lines longer than crunch.LINE_MAX_B: the first is refused, any
    other is skipped as malformed, in linear time and bounded memory."""

    def peak_memory_b(self, call):
        """The peak of Python's allocations while call() runs."""
        tracemalloc.start()
        try:
            call()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def test_main_first_line_over_the_bound_refused(self):
        path = os.path.join(self.dir, "long.csv")
        with open(path, "wb") as f:
            f.write(b"x" * (50 << 20))
        code, out, err = self.run_main([path])
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, "crunch: error: %s: the first line is longer"
                              " than 65536 bytes: not a results file\n"
                         % path)

    def test_first_line_at_the_bound_is_read(self):
        line = b"elapsed,response_time,status,x" + b"x" * (
            crunch.LINE_MAX_B - 30)
        self.assertEqual(len(line), crunch.LINE_MAX_B)
        self.assertEqual(crunch.read_first_line(io.BytesIO(line + b"\n1")),
                         (line, b"\n"))
        self.assertEqual(crunch.read_first_line(io.BytesIO(line)),
                         (line, b""))
        with self.assertRaises(crunch.InputError):
            crunch.read_first_line(io.BytesIO(line + b"x\n"))

    def long_line_file(self):
        """A file with long lines in the middle and at the end, and one
        valid row exactly LINE_MAX_B long; (path, its rows, malformed)."""
        good = [row(0.01 * i, 0.001 * (i % 7 + 1)) for i in range(400)]
        kind = "k" * (crunch.LINE_MAX_B - len(row(1.5, 0.002, 0, 0, "")) + 1)
        at_bound = row(1.5, 0.002, 0, 0, kind)           # line 302
        self.assertEqual(len(at_bound), crunch.LINE_MAX_B + 1)
        lines = [HEADER] + good
        lines[150] = "9" * (1 << 20) + "\n"               # line 151
        lines[200] = "1.0,0.5,200," + "7" * (200 << 10) + ",\n"
        lines[301] = at_bound
        lines[350] = row(1.6, 0.002, 0, 0, kind + "k")   # one byte over
        path = self.write("long.csv", "".join(lines) + "8," * (1 << 17))
        return path, 400 - 3, 4

    def test_long_lines_skipped_for_every_block_size_and_process_count(self):
        path, rows, malformed = self.long_line_file()
        whole, err = self.run_json([path, "--processes", "1"])
        self.assertEqual((whole["rows"], whole["malformed"],
                          whole["first_malformed_line"]),
                         (rows, malformed, 151))
        self.assertEqual(whole["transport_errors"], {"k" * (
            crunch.LINE_MAX_B - len(row(1.5, 0.002, 0, 0, "")) + 1): 1})
        self.assertEqual(err, "crunch: warning: %s: skipped 4 malformed "
                              "lines, the first is line 151\n" % path)
        for size in (64, 1000, 7777, 1 << 17):
            with mock.patch.object(crunch, "READ_BLOCK_B", size):
                cut, _ = self.run_json([path, "--processes", "1"])
            self.assertEqual(cut, whole, size)
        for range_b in (5000, 70000, 1 << 20):
            with mock.patch.object(crunch, "RANGE_B", range_b), \
                    mock.patch.object(crunch, "RANGE_MIN_B", 1000), \
                    mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
                many, _ = self.run_json([path, "--processes", "2"])
            self.assertEqual(many, whole, range_b)

    def test_long_line_read_in_bounded_memory(self):
        rows = "".join(row(0.01 * i, 0.002) for i in range(100))
        path = self.write("long.csv", HEADER + rows + "5" * (8 << 20) +
                          "\n" + rows)
        for size in (64, crunch.READ_BLOCK_B):
            with mock.patch.object(crunch, "READ_BLOCK_B", size):
                peak = self.peak_memory_b(lambda: self.assertEqual(
                    self.run_main([path, "--processes", "1"])[0], 0))
            self.assertLess(peak, 2 << 20, size)
        fmt = crunch.parse_first_line(HEADER.encode().rstrip())[0]
        start = len(HEADER) + len(rows) + (1 << 20)   # in the long line
        job = crunch.RangeJob(path, fmt, start, os.path.getsize(path),
                              crunch.Counting(2.0), False)
        peak = self.peak_memory_b(lambda: self.assertEqual(
            crunch.crunch_range(job).rows, 100))
        self.assertLess(peak, 2 << 20)


class RunEndTest(CrunchTestCase):
    """The last interval and the totals run to the run's real end: the
    settings' duration_s, else (an older file without -n) the later of
    runtime_s and the last response's end, else the last response's end."""

    def one_second_run(self, settings=None, name="r.csv"):
        """One user, 1 s responses, 10 requests: hammer says 1.0 req/s."""
        path = self.write_rows(name, [(float(i), 1.0, 200)
                                      for i in range(10)])
        if settings is not None:
            self.write(name + ".json", settings if isinstance(settings, str)
                       else json.dumps(settings))
        return path

    def assert_end(self, report, end, rps_last, source):
        last, totals = report["intervals"][-1], report["totals"]
        self.assertEqual((report["end_s"], report["end_from"]), (end, source))
        self.assertEqual(last["rps"], rps_last)
        self.assertEqual(totals["width_s"], end)
        self.assertEqual(totals["rps"], round(10 / end, 6))

    def test_duration_s_ends_the_run(self):
        path = self.one_second_run({"duration_s": 10.000321, "runtime_s": 10,
                                    "requests": None})
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        self.assertEqual([r["rps"] for r in report["intervals"]], [1.0] * 5)
        self.assert_end(report, 10.000321, 1.0, "duration_s")
        self.assertEqual(report["totals"]["rps"], round(10 / 10.000321, 6))

    def test_ramped_run_last_point_not_too_high(self):
        # --interval 2 --runtime 10 --rampup 10 with 10 users: user u starts
        # at u s and sends back to back with 1 s responses
        rows = [(float(t), 1.0, 200) for u in range(10)
                for t in range(u, 10)]
        path = self.write_rows("ramp.csv", rows)
        self.write("ramp.csv.json", json.dumps(
            {"duration_s": 10.0, "runtime_s": 10.0, "requests": None}))
        report, _ = self.run_json([path])
        self.assertEqual([r["requests"] for r in report["intervals"]],
                         [3, 7, 11, 15, 19])
        self.assertEqual([r["rps"] for r in report["intervals"]],
                         [1.5, 3.5, 5.5, 7.5, 9.5])
        self.assertEqual(report["totals"]["rps"], 5.5)

    def test_no_settings_last_response_end(self):
        report, err = self.run_json([self.one_second_run()])
        self.assertEqual(err, "")
        self.assert_end(report, 10.0, 1.0, "last response")

    def test_stdin_last_response_end(self):
        with open(self.one_second_run(), "rb") as f:
            report, _ = self.run_json(["-"], stdin=f.read())
        self.assert_end(report, 10.0, 1.0, "last response")

    def test_transport_errors_count_toward_the_end(self):
        rows = [(float(i), 0.5, 200) for i in range(10)] + [(7.0, 5.0, 0)]
        path = self.write_rows("r.csv", rows)
        report, _ = self.run_json([path])
        self.assertEqual(report["end_s"], 12.0)
        self.assertEqual(report["intervals"][-1]["width_s"], 2.0)
        self.assertEqual(report["totals"]["rps"], round(11 / 12.0, 6))

    def test_older_settings_runtime_s_without_requests(self):
        path = self.one_second_run({"runtime_s": 12, "requests": None})
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        self.assert_end(report, 12.0, 1.0, "runtime_s")
        path = self.one_second_run({"runtime_s": 6, "requests": None},
                                   "short.csv")
        report, _ = self.run_json([path])
        self.assert_end(report, 10.0, 1.0, "last response")

    def test_older_settings_with_requests_use_the_last_response(self):
        path = self.one_second_run({"runtime_s": 60, "requests": 10})
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        self.assert_end(report, 10.0, 1.0, "last response")

    def test_untrusted_duration_s_falls_back_with_a_warning(self):
        cases = [('"10"', "'10'"), ("-1", "-1"), ("NaN", "nan"),
                 ("Infinity", "inf"), ("true", "True"), ("5.5", "5.5"),
                 ("9.99", "9.99"), ("[10]", "[10]")]
        for text, shown in cases:
            path = self.one_second_run(
                '{"duration_s": %s, "runtime_s": 30, "requests": null}'
                % text)
            report, err = self.run_json([path])
            self.assertEqual(err, "crunch: warning: %s.json: duration_s %s is"
                                  " not a number of seconds >= the last"
                                  " response's end (10s): ignored\n"
                             % (path, shown), text)
            self.assert_end(report, 10.0, 1.0, "last response")

    def test_null_duration_s_a_run_that_never_finished(self):
        path = self.one_second_run({"duration_s": None, "runtime_s": 30,
                                    "requests": None})
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        self.assert_end(report, 10.0, 1.0, "last response")

    def test_duration_s_within_the_csv_rounding_is_trusted(self):
        path = self.one_second_run({"duration_s": 9.999999, "requests": None})
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        self.assertEqual((report["end_s"], report["end_from"]),
                         (9.999999, "duration_s"))

    def test_several_files_take_the_greatest_end(self):
        first = self.one_second_run({"duration_s": 10.5, "requests": None},
                                    "a.csv")
        second = self.write_rows("b.csv", [(0.5, 0.1, 200), (9.5, 3.0, 200)])
        report, _ = self.run_json([first, second])
        self.assertEqual((report["end_s"], report["end_from"]),
                         (12.5, "last response"))
        self.assertEqual(report["totals"]["rps"], round(12 / 12.5, 6))
        self.write("b.csv.json", json.dumps({"duration_s": 12.75}))
        report, _ = self.run_json([first, second])
        self.assertEqual((report["end_s"], report["end_from"]),
                         (12.75, "duration_s"))
        self.assertEqual(report["settings"], {"duration_s": 10.5,
                                              "requests": None})

    def test_last_interval_never_below_a_microsecond(self):
        path = self.write_rows("r.csv", [(0.5, 0.0, 200), (2.0, 0.0, 200)])
        report, _ = self.run_json([path])
        self.assertEqual(report["intervals"][-1]["width_s"], 1e-6)
        self.assertEqual(report["intervals"][-1]["rps"], 1e6)

    def test_last_end_agrees_over_block_sizes_and_processes(self):
        rnd = random.Random(41)
        rows = [(round(rnd.uniform(0, 20), 6), round(rnd.choice(
            (rnd.uniform(0, 0.05), rnd.uniform(0, 3))), 6),
            rnd.choice((200, 200, 0))) for _ in range(4000)]
        rows.append((3.0, 25.5, 0))          # a timeout ends the run
        path = self.write_rows("r.csv", rows)
        whole, _ = self.run_json([path, "--processes", "1"])
        want = max(round(e + t, 6) for e, t, s in rows)
        self.assertEqual(whole["end_s"], want)
        for size in (64, 1000, 7777):
            with mock.patch.object(crunch, "READ_BLOCK_B", size):
                cut, _ = self.run_json([path, "--processes", "1"])
            self.assertEqual(cut, whole, size)
        with mock.patch.object(crunch, "RANGE_B", 7000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            many, _ = self.run_json([path, "--processes", "2"])
        self.assertEqual(many, whole)

    def test_open_ends_stay_few(self):
        fmt = crunch.parse_first_line(HEADER.encode().rstrip())[0]
        tally = crunch.Tally(fmt, 2.0)
        for i in range(200):         # every block has a 30 s timeout
            tally.add_block((row(i, 30.0, 0, 0, "timeout") +
                             row(i + 0.5, 0.01)).encode())
            self.assertEqual(tally.ends.pending, [])     # added up at once
        tally.freeze()
        self.assertEqual((tally.ends.pending, tally.last_end), ([], 229.0))
        tally, most = crunch.Tally(fmt, 2.0), 0
        for i in range(50):          # shuffled: no block passes the others
            tally.add_block((row(10.0 - i * 0.01, 1.0 + i * 0.001) +
                             row(0.0, 0.5) + row(5.0, 0.2)).encode())
            most = max(most, len(tally.ends.pending))
        self.assertEqual(most, crunch.OPEN_ENDS_MAX)
        tally.freeze()
        self.assertEqual((tally.ends.pending, tally.last_end), ([], 11.0))


class OpenModelTest(CrunchTestCase):
    """The scheduled column (hammer --rate): latency from the intended
    send instant, corrected for coordinated omission, beside the service
    time; old 5-column files as before."""

    def test_corrected_latency_from_the_schedule(self):
        path = self.write("stall.csv", stalled_run())
        report, err = self.run_json([path, "--interval", "0.5"])
        self.assertEqual(err, "")
        totals = report["totals"]
        self.assertEqual(
            [totals[k] for k in ("responses", "p50_s", "p90_s", "p99_s",
                                 "max_s")], [100, 0.01, 0.01, 0.01, 0.51])
        self.assertEqual(
            [totals[k] for k in ("corrected_responses", "corrected_mean_s",
                                 "corrected_p50_s", "corrected_p90_s",
                                 "corrected_p95_s", "corrected_p99_s",
                                 "corrected_max_s")],
            [100, 0.26, 0.01, 0.51, 0.51, 0.51, 0.51])
        got = [(r["requests"], r["corrected_responses"], r["p99_s"],
                r["corrected_p50_s"], r["corrected_p99_s"])
               for r in report["intervals"]]
        self.assertEqual(got, [(50, 50, 0.01, 0.01, 0.01),
                               (1, 1, 0.51, 0.51, 0.51),
                               (49, 49, 0.01, 0.51, 0.51)])

    def test_json_keys_of_an_open_row(self):
        path = self.write("stall.csv", stalled_run())
        report, _ = self.run_json([path])
        self.assertEqual(list(report["totals"]), [
            "start_s", "width_s", "requests", "rps", "responses", "mean_s",
            "p50_s", "p90_s", "p95_s", "p99_s", "max_s", "errors",
            "error_pct", "corrected_responses", "corrected_mean_s",
            "corrected_p50_s", "corrected_p90_s", "corrected_p95_s",
            "corrected_p99_s", "corrected_max_s"])
        self.assertEqual(list(report["intervals"][0]),
                         list(report["totals"]))

    def test_table_names_both_latencies(self):
        path = self.write("stall.csv", stalled_run())
        code, out, err = self.run_main([path, "--interval", "0.5"])
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(lines[1].split(), [
            "start_s", "requests", "req/s", "mean_ms", "p50_ms", "p90_ms",
            "p95_ms", "p99_ms", "max_ms", "corrected_p50_ms",
            "corrected_p95_ms", "corrected_p99_ms", "errors", "error_%"])
        self.assertEqual(lines[4].split(), [
            "1.0", "49", "98.0", "10.000", "10.000", "10.000", "10.000",
            "10.000", "10.000", "510.000", "510.000", "510.000", "0",
            "0.00"])
        self.assertEqual(lines[6].split()[-5:], ["10.000", "510.000",
                                                 "510.000", "0", "0.00"])
        self.assertEqual(lines[7:], [
            "status: 200 x 100; errors none",
            "latency from the intended send (corrected for coordinated"
            " omission): min 10.0ms  avg 260ms  p50 10.0ms  p90 510ms  p95"
            " 510ms  p99 510ms  max 510ms  (over 100 responses)",
            "service time from the actual send: min 10.0ms  avg 15.0ms  p50"
            " 10.0ms  p90 10.0ms  p95 10.0ms  p99 10.0ms  max 510ms  (over"
            " 100 responses)",
            "corrected_*: latency from the intended send, elapsed -"
            " scheduled + response_time"])

    def test_csv_has_the_corrected_columns(self):
        path = self.write("stall.csv", stalled_run())
        out_csv = os.path.join(self.dir, "out.csv")
        code, _, _ = self.run_main([path, "--csv", out_csv, "--interval",
                                    "0.5"])
        self.assertEqual(code, 0)
        with open(out_csv) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "start_s,requests,req_per_s,mean_ms,"
                         "p50_ms,p90_ms,p95_ms,p99_ms,max_ms,"
                         "corrected_p50_ms,corrected_p95_ms,"
                         "corrected_p99_ms,errors,error_pct")
        self.assertEqual(lines[2], "0.5,1,2.0,510.000,510.000,510.000,"
                         "510.000,510.000,510.000,510.000,510.000,510.000,"
                         "0,0.00")

    def test_closed_model_six_columns_as_five(self):
        rows = random_rows(2000, seed=61)
        five = self.write_rows("five.csv", rows)
        six = self.write("six.csv", HEADER6 + "".join(
            closed_row(e, t, s, 10, "timeout" if s == 0 else "")
            for e, t, s in rows))
        a, _ = self.run_json([five])
        b, err = self.run_json([six])
        self.assertEqual(err, "")
        for key in ("rows", "intervals", "totals", "statuses",
                    "transport_errors", "end_s"):
            self.assertEqual(b[key], a[key], key)
        self.assertNotIn("corrected_responses", b["totals"])
        self.assertEqual(self.run_main([six])[1].splitlines()[2:],
                         self.run_main([five])[1].splitlines()[2:])

    def test_transport_errors_have_no_corrected_latency(self):
        path = self.write("r.csv", HEADER6 + open_row(0.1, 0.01, 0.1) +
                          open_row(0.3, 2.0, 0.2, 0, 0, "timeout") +
                          open_row(0.5, 0.03, 0.4, 503))
        report, _ = self.run_json([path])
        totals = report["totals"]
        self.assertEqual((totals["errors"], totals["corrected_responses"],
                          totals["corrected_max_s"], totals["max_s"]),
                         (2, 2, 0.13, 0.03))

    def test_rows_without_a_schedule_among_others_warn(self):
        path = self.write("mixed.csv", HEADER6 + open_row(0.1, 0.01, 0.05) +
                          closed_row(0.2, 0.01) + open_row(0.3, 0.02, 0.3))
        report, err = self.run_json([path])
        self.assertEqual(err, "crunch: warning: 2 of 3 rows have a scheduled"
                              " time: the corrected latency covers only"
                              " those\n")
        self.assertEqual((report["totals"]["responses"],
                          report["totals"]["corrected_responses"],
                          report["totals"]["corrected_max_s"]), (3, 2, 0.06))

    def test_merged_with_a_closed_file_warns(self):
        stall = self.write("stall.csv", stalled_run())
        five = self.write_rows("five.csv", [(0.2, 0.02, 200)])
        report, err = self.run_json([stall, five])
        self.assertEqual(err, "crunch: warning: 100 of 101 rows have a"
                              " scheduled time: the corrected latency covers"
                              " only those\n")
        self.assertEqual(report["totals"]["corrected_responses"], 100)

    def test_other_time_formats_agree_with_microseconds(self):
        rnd = random.Random(62)
        rows = []
        for _ in range(3000):
            sched = round(rnd.uniform(0, 9), 6)
            late = round(rnd.choice((0.0, rnd.uniform(0, 0.5))), 6)
            rows.append((round(sched + late, 6),
                         round(rnd.lognormvariate(-4, 1), 6), sched))
        micro = self.write("micro.csv", HEADER6 + "".join(
            open_row(e, t, s) for e, t, s in rows))
        plain = self.write("plain.csv", HEADER6 + "".join(
            "%r,%r,200,10,,%r\n" % r for r in rows))
        a, _ = self.run_json([micro])
        b, _ = self.run_json([plain])
        self.assertEqual(b["totals"], a["totals"])
        self.assertEqual(b["intervals"], a["intervals"])
        hist = crunch.hammer.Histogram()
        hist.add_many([round(e - s + t, 6) for e, t, s in rows])
        for p in crunch.hammer.PERCENTILES:
            self.assertEqual(a["totals"]["corrected_p%d_s" % p],
                             round(hist.percentile(p), 9), p)

    def test_block_sizes_and_processes_agree(self):
        rnd = random.Random(63)
        lines = []
        for i in range(4000):
            sched = round(i * 0.002, 6)
            elapsed = round(sched + rnd.choice((0.0, rnd.uniform(0, 2))), 6)
            status = rnd.choice((200, 200, 200, 0, 503))
            lines.append(open_row(elapsed, rnd.uniform(0.001, 0.05), sched,
                                  status, 1, "reset" if status == 0 else ""))
        lines[1500] = closed_row(3.0, 0.01)       # a row with no schedule
        lines[2500] = "3.0,0.01,200,1,,3.5\n"     # scheduled after elapsed
        path = self.write("r.csv", HEADER6 + "".join(lines))
        whole, err = self.run_json([path, "--processes", "1"])
        self.assertEqual((whole["rows"], whole["malformed"],
                          whole["totals"]["corrected_responses"] + 1),
                         (3999, 1, whole["totals"]["responses"]))
        for size in (64, 1000, 7777):
            with mock.patch.object(crunch, "READ_BLOCK_B", size):
                cut, _ = self.run_json([path, "--processes", "1"])
            self.assertEqual(cut, whole, size)
        with mock.patch.object(crunch, "RANGE_B", 7000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            many, _ = self.run_json([path, "--processes", "2"])
        self.assertEqual(many, whole)

    def test_a_real_rate_run_matches_hammers_summary(self):
        path = os.path.join(self.dir, "rate.csv")
        out = io.StringIO()
        code = crunch.hammer.main(["--demo", "--rate", "400", "--runtime",
                                   "0.5", "-p", "1", "-c", "4", "-q", "-o",
                                   path], out=out, err=io.StringIO())
        self.assertEqual(code, 0, out.getvalue())
        with open(path + ".json") as f:
            summary = json.load(f)["summary"]
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        totals = report["totals"]
        self.assertEqual(totals["requests"], summary["requests"])
        self.assertEqual(totals["corrected_responses"], summary["requests"])
        # both count the CSV's microseconds: the same, to the microsecond
        for p in (50, 90, 95, 99):
            for mine, hammers in (("corrected_p%d_s", "corrected_latency_ms"),
                                  ("p%d_s", "latency_ms")):
                want = summary[hammers]["p%d" % p]
                got = totals[mine % p] * 1000
                self.assertEqual(round(got, 3), want, (mine % p, got, want))


def stage(start_s, end_s, begin, end):
    return {"start_s": start_s, "end_s": end_s, "from": begin, "to": end}


# a ramp to 4 users over 4 s, a step to 8, 8 held for 4 s
STEP_PLAN = [stage(0.0, 4.0, 0, 4), stage(4.0, 4.0, 4, 8),
             stage(4.0, 8.0, 8, 8)]


class StagesTest(CrunchTestCase):
    """The settings' stage plan gives a table per stage: FunkLoad's
    capacity curve."""

    def step_run(self, name="r.csv", plan=STEP_PLAN, model="closed",
                 duration_s=8.0):
        """4 rows of 10 ms in the ramp, 40 of 20 ms (one 503) after the
        step."""
        rows = [row(t + 0.5, 0.010) for t in range(4)]
        rows += [row(4.0 + 0.1 * i, 0.020, 503 if i == 7 else 200)
                 for i in range(40)]
        path = self.write(name, HEADER + "".join(rows))
        self.write(name + ".json", json.dumps({
            "model": model, "duration_s": duration_s, "stages": plan}))
        return path

    def test_per_stage_table(self):
        code, out, err = self.run_main([self.step_run()])
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        at = lines.index("per stage:")
        self.assertEqual([l.split() for l in lines[at + 1:]], [
            ["stage", "start_s", "end_s", "users", "requests", "req/s",
             "p50_ms", "p95_ms", "p99_ms", "errors", "error_%"],
            ["1", "0", "4", "0->4", "4", "1.0", "10.000", "10.000", "10.000",
             "0", "0.00"],
            ["3", "4", "8", "8", "40", "10.0", "20.000", "20.000", "20.000",
             "1", "2.50"]])
        self.assertEqual(lines[at + 1], "stage  start_s  end_s  users  "
                         "requests  req/s  p50_ms  p95_ms  p99_ms  errors  "
                         "error_%")

    def test_the_target_line_at_stage_starts(self):
        # hammer's target_at, whose '<' at a stage's first instant gives
        # the stage's begin as crunch's '<=' did
        self.assertFalse(hasattr(crunch, "target_at"))
        plan = crunch.read_stage_plan({"stages": STEP_PLAN})[1]
        self.assertEqual(crunch.plan_points(plan, 0.0, 8.0), [
            (0.0, 0), (4.0, 4), (4.0, 4), (4.0, 8), (4.0, 8), (8.0, 8)])
        self.assertEqual(crunch.plan_points(plan, 4.0, 6.0),
                         [(4.0, 8), (6.0, 8)])
        self.assertEqual(crunch.plan_points(plan, 2.0, 3.0),
                         [(2.0, 2), (3.0, 3)])

    def test_per_stage_json(self):
        report, _ = self.run_json([self.step_run()])
        self.assertEqual(report["stage_target"], "users")
        self.assertEqual(report["stages"], [
            {"stage": 1, "start_s": 0.0, "end_s": 4.0, "from": 0, "to": 4,
             "width_s": 4.0, "requests": 4, "rps": 1.0, "responses": 4,
             "mean_s": 0.01, "p50_s": 0.01, "p90_s": 0.01, "p95_s": 0.01,
             "p99_s": 0.01, "max_s": 0.01, "errors": 0, "error_pct": 0.0},
            {"stage": 3, "start_s": 4.0, "end_s": 8.0, "from": 8, "to": 8,
             "width_s": 4.0, "requests": 40, "rps": 10.0, "responses": 40,
             "mean_s": 0.02, "p50_s": 0.02, "p90_s": 0.02, "p95_s": 0.02,
             "p99_s": 0.02, "max_s": 0.02, "errors": 1, "error_pct": 2.5}])

    def test_no_plan_no_stages(self):
        path = self.write_rows("r.csv", [(0.5, 0.01, 200)])
        report, _ = self.run_json([path])
        self.assertNotIn("stages", report)
        self.assertNotIn("per stage:", self.run_main([path])[1])

    def test_open_model_stages_are_rates(self):
        path = self.write("stall.csv", stalled_run())
        self.write("stall.csv.json", json.dumps({
            "model": "open", "duration_s": 1.5,
            "stages": [stage(0.0, 0.5, 100.0, 100.0),
                       stage(0.5, 1.5, 100.0, 100.0)]}))
        code, out, _ = self.run_main([path])
        lines = out.splitlines()
        at = lines.index("per stage:")
        self.assertEqual([l.split() for l in lines[at + 1:]], [
            ["stage", "start_s", "end_s", "target_req/s", "requests", "req/s",
             "p50_ms", "p95_ms", "p99_ms", "corrected_p50_ms",
             "corrected_p95_ms", "corrected_p99_ms", "errors", "error_%"],
            ["1", "0", "0.5", "100", "50", "100.0", "10.000", "10.000",
             "10.000", "10.000", "10.000", "10.000", "0", "0.00"],
            ["2", "0.5", "1.5", "100", "50", "50.0", "10.000", "10.000",
             "510.000", "510.000", "510.000", "510.000", "0", "0.00"]])
        report, _ = self.run_json([path])
        self.assertEqual(report["stage_target"], "req/s")
        self.assertEqual(report["stages"][1]["corrected_p50_s"], 0.51)

    def test_stage_counts_agree_over_blocks_intervals_and_processes(self):
        rnd = random.Random(71)
        rows = [(round(rnd.uniform(0, 30), 6), round(rnd.uniform(0, 0.1), 6),
                 rnd.choice((200, 200, 503, 0))) for _ in range(5000)]
        plan = [stage(0.0, 7.5, 0, 10), stage(7.5, 7.5, 10, 20),
                stage(7.5, 20.0, 20, 20), stage(20.0, 30.0, 20, 0)]
        path = self.write_rows("r.csv", rows)
        self.write("r.csv.json", json.dumps({"stages": plan,
                                             "duration_s": 30.1}))
        want = []
        for lo, hi in ((0.0, 7.5), (7.5, 20.0), (20.0, 30.1)):
            inside = [(t, s) for e, t, s in rows if lo <= e < hi]
            want.append((len(inside), sum(s == 0 or s >= 500
                                          for _, s in inside),
                         max(t for t, s in inside if s)))
        whole, _ = self.run_json([path, "--processes", "1"])
        self.assertEqual([(r["requests"], r["errors"], r["max_s"])
                          for r in whole["stages"]], want)
        for argv in (["--interval", "100"], ["--interval", "0.3"]):
            other, _ = self.run_json([path, "--processes", "1"] + argv)
            self.assertEqual(other["stages"], whole["stages"], argv)
        for size in (64, 1000, 7777):
            with mock.patch.object(crunch, "READ_BLOCK_B", size):
                cut, _ = self.run_json([path, "--processes", "1"])
            self.assertEqual(cut, whole, size)
        with mock.patch.object(crunch, "RANGE_B", 7000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            many, _ = self.run_json([path, "--processes", "2"])
        self.assertEqual(many, whole)

    def test_stages_after_the_run_are_left_out(self):
        plan = [stage(0.0, 4.0, 5, 5), stage(4.0, 12.0, 10, 10),
                stage(12.0, 20.0, 20, 20)]
        report, err = self.run_json([self.step_run(plan=plan)])
        self.assertEqual([(r["stage"], r["end_s"], r["width_s"],
                           r["requests"], r["rps"])
                          for r in report["stages"]],
                         [(1, 4.0, 4.0, 4, 1.0), (2, 8.0, 4.0, 40, 10.0)])
        self.assertEqual(err, "crunch: warning: the run ended at 8s, before"
                         " its stage plan's end at 20s (it was stopped): the"
                         " stages and charts end there\n")

    # what an interrupted run leaves: the plan ramps to 24 users by 20 s
    CUT_PLAN = [stage(0.0, 4.0, 0, 4), stage(4.0, 4.0, 4, 8),
                stage(4.0, 20.0, 8, 24)]

    def test_a_run_that_never_finished_is_clipped(self):
        # killed: the settings still hold duration_s null, as hammer
        # writes them at the start; the end is the last response's,
        # 7.92 s, and the stage it fell in ends there, at 11.92 users
        path = self.step_run(plan=self.CUT_PLAN, duration_s=None)
        report, err = self.run_json([path])
        self.assertEqual(err, "crunch: warning: the run ended at 7.92s,"
                         " before its stage plan's end at 20s (its settings"
                         " have no duration_s: it never finished): the"
                         " stages and charts end there\n")
        self.assertEqual([(r["stage"], r["start_s"], r["end_s"], r["from"],
                           r["to"], r["requests"]) for r in report["stages"]],
                         [(1, 0.0, 4.0, 0, 4, 4),
                          (3, 4.0, 7.92, 8, 11.92, 40)])
        code, out, _ = self.run_main([path])
        self.assertEqual(code, 0)
        lines = out.splitlines()
        self.assertEqual(lines[lines.index("per stage:") + 3].split()[:5],
                         ["3", "4", "7.92", "8->11.92", "40"])
        html_path = os.path.join(self.dir, "cut.html")
        self.assertEqual(self.run_main([path, "--html", html_path])[0], 0)
        with open(html_path, encoding="utf-8") as f:
            page = Page(f.read())
        self.assertIn(("p", err[len("crunch: warning: "):-1], False),
                      page.items)
        self.assertEqual(page.table_after("h2", "Stages")[2][:4],
                         ["3", "4", "7.92", "8->11.92"])

    def test_a_stopped_run_is_clipped(self):
        # stopped by Ctrl+C at 7.92 s: duration_s says so
        path = self.step_run(plan=self.CUT_PLAN, duration_s=7.92)
        report, err = self.run_json([path])
        self.assertEqual(err, "crunch: warning: the run ended at 7.92s,"
                         " before its stage plan's end at 20s (it was"
                         " stopped): the stages and charts end there\n")
        self.assertEqual(report["stages"][-1]["end_s"], 7.92)

    def test_runs_that_end_early_by_design_do_not_warn(self):
        # a ramp down to no users ends as the last user leaves, before the
        # plan's end; --sizing and -n stop a run when they are done
        down = [stage(0.0, 4.0, 0, 4), stage(4.0, 8.0, 4, 0)]
        report, err = self.run_json([self.step_run(plan=down,
                                                   duration_s=7.95)])
        self.assertEqual(err, "")
        self.assertEqual(report["stages"][-1]["end_s"], 7.95)
        for extra in ({"sizing": {"max_users": 24}}, {"requests": 100}):
            path = self.step_run(plan=self.CUT_PLAN, duration_s=7.92)
            with open(path + ".json") as f:
                settings = json.load(f)
            settings.update(extra)
            self.write("r.csv.json", json.dumps(settings))
            report, err = self.run_json([path])
            self.assertEqual(err, "")
            self.assertEqual(report["stages"][-1]["end_s"], 7.92)

    def test_several_inputs_add_their_targets(self):
        one = self.step_run("a.csv")
        two = self.step_run("b.csv")
        report, err = self.run_json([one, two])
        self.assertEqual(err, "")
        self.assertEqual([(r["from"], r["to"], r["requests"])
                          for r in report["stages"]],
                         [(0, 8, 8), (16, 16, 80)])

    def test_the_nodes_of_one_test_count_its_targets_once(self):
        nodes = [self.step_run("n%d.csv" % k) for k in (1, 2, 3)]
        box = self.step_run("box.csv")
        for k, path in enumerate(nodes, 1):     # --node k/3: totals
            with open(path + ".json") as f:
                settings = json.load(f)
            settings.update(node=k, nodes=3)
            self.write(path + ".json", json.dumps(settings))
        for inputs, want in ((nodes, [(0, 4, 12), (8, 8, 120)]),
                             (nodes + [box], [(0, 8, 16), (16, 16, 160)])):
            report, err = self.run_json(inputs)
            self.assertEqual([(r["from"], r["to"], r["requests"])
                              for r in report["stages"]], want)

    def test_inputs_with_other_plans_warn(self):
        one = self.step_run("a.csv")
        two = self.step_run("b.csv", plan=STEP_PLAN[:2] + [
            stage(4.0, 9.0, 8, 8)])
        three = self.write_rows("c.csv", [(0.5, 0.01, 200)])
        for argv in ([one, two], [one, three], [three, one]):
            report, err = self.run_json(argv)
            self.assertEqual(err, "crunch: warning: the inputs' stage plans"
                                  " differ (or some have none): no per-stage"
                                  " table\n", argv)
            self.assertNotIn("stages", report)

    def test_broken_plans_warn(self):
        cases = [
            ("{}", "stages is not a list of 1 to 10000 stages"),
            ("[]", "stages is not a list of 1 to 10000 stages"),
            ('[{"start_s": 0, "end_s": 1, "from": 0}]',
             "stage 1 is not {start_s, end_s, from, to}, each a number >= 0"),
            ('[{"start_s": 0, "end_s": 1, "from": 0, "to": -1}]',
             "stage 1 is not {start_s, end_s, from, to}, each a number >= 0"),
            ('[{"start_s": 0, "end_s": 1, "from": 0, "to": true}]',
             "stage 1 is not {start_s, end_s, from, to}, each a number >= 0"),
            ('[{"start_s": 0, "end_s": 1, "from": 0, "to": 1%s}]'
             % ("0" * 400),
             "stage 1 is not {start_s, end_s, from, to}, each a number >= 0"),
            ('[{"start_s": 2, "end_s": 1, "from": 0, "to": 1}]',
             "stage 1 (2s to 1s) ends before it starts or before the stage"
             " before it"),
            ('[{"start_s": 0, "end_s": 2, "from": 0, "to": 1},'
             ' {"start_s": 1, "end_s": 3, "from": 0, "to": 1}]',
             "stage 2 (1s to 3s) ends before it starts or before the stage"
             " before it"),
        ]
        path = self.write_rows("r.csv", [(0.5, 0.01, 200)])
        for text, message in cases:
            self.write("r.csv.json", '{"stages": %s}' % text)
            report, err = self.run_json([path])
            self.assertEqual(err, "crunch: warning: %s.json: %s: no per-stage"
                                  " table\n" % (path, message), text)
            self.assertNotIn("stages", report)
        self.write("r.csv.json", json.dumps({"stages": [stage(0.0, 1.0, 1, 1)]
                                             * 10001}))
        self.assertEqual(self.run_json([path])[1], "crunch: warning: %s.json:"
                         " stages is not a list of 1 to 10000 stages: no"
                         " per-stage table\n" % path)

    def test_a_plan_of_steps_only_has_no_table(self):
        path = self.step_run(plan=[stage(0.0, 0.0, 0, 5)])
        report, err = self.run_json([path])
        self.assertEqual((report["stages"], err), ([], ""))


class ThresholdsTest(CrunchTestCase):
    """--fail-if: hammer's thresholds on any results file, exit 3."""

    def test_lines_and_exit_code(self):
        path = self.write("r.csv", HEADER + ExactTest.ROWS)
        code, out, err = self.run_main([
            path, "--fail-if", "p95 < 500ms", "--fail-if", "errors<20%",
            "--fail-if", "requests>=8", "--fail-if", "rps>2"])
        self.assertEqual((code, err), (3, ""))
        self.assertEqual(out.splitlines()[-4:], [
            "threshold   p95<500ms: 200ms ok",
            "threshold   errors<20%: 25.00% FAILED",
            "threshold   requests>=8: 8 ok",
            "threshold   rps>2: 1.0 FAILED"])
        code, out, _ = self.run_main([path, "--fail-if", "max<=200ms"])
        self.assertEqual((code, out.splitlines()[-1]),
                         (0, "threshold   max<=200ms: 200ms ok"))

    def test_open_model_judges_the_corrected_latency(self):
        path = self.write("stall.csv", stalled_run())
        code, out, _ = self.run_main([path, "--fail-if", "p99<100ms",
                                      "--fail-if", "p50<=10ms"])
        self.assertEqual(code, 3)
        self.assertEqual(out.splitlines()[-2:], [
            "threshold   p99<100ms: 510ms FAILED",
            "threshold   p50<=10ms: 10.0ms ok"])

    def test_json(self):
        path = self.write("stall.csv", stalled_run())
        code, out, _ = self.run_main([path, "--json", "--fail-if",
                                      "p90<100ms", "--fail-if", "errors<1%"])
        self.assertEqual(code, 3)
        self.assertEqual(json.loads(out)["thresholds"], [
            {"expr": "p90<100ms", "value": 0.51, "ok": False},
            {"expr": "errors<1%", "value": 0.0, "ok": True}])
        report, _ = self.run_json([path])
        self.assertNotIn("thresholds", report)

    def test_merged_files(self):
        rows = random_rows(3000, seed=81)
        one = self.write_rows("a.csv", rows[0::2])
        two = self.write_rows("b.csv", rows[1::2])
        whole = self.write_rows("all.csv", rows)
        argv = ["--fail-if", "p99<30ms", "--fail-if", "errors<5%",
                "--fail-if", "requests>=3000"]
        merged = self.run_main([one, two] + argv)
        alone = self.run_main([whole] + argv)
        self.assertEqual(merged[0], alone[0])
        self.assertEqual(merged[1].splitlines()[-3:],
                         alone[1].splitlines()[-3:])
        self.assertEqual(alone[1].splitlines()[-1],
                         "threshold   requests>=3000: 3000 ok")

    def test_a_regression_exits_1_before_a_threshold_3(self):
        path = self.write("r.csv", HEADER + ExactTest.ROWS)
        base = self.write_rows("base.csv", [(0.1, 0.001, 200)] * 8)
        code, out, _ = self.run_main([path, "--compare", base, "--fail-if",
                                      "p50<1ms"])
        self.assertEqual(code, 1)
        self.assertIn("REGRESSION", out)
        self.assertEqual(out.splitlines()[-1],
                         "threshold   p50<1ms: 40.0ms FAILED")

    def test_same_verdicts_as_hammer_on_its_run(self):
        path = os.path.join(self.dir, "run.csv")
        argv = ["--fail-if", "requests>=1", "--fail-if", "errors<1%",
                "--fail-if", "rps>1000000"]
        out = io.StringIO()
        code = crunch.hammer.main(["--demo", "--runtime", "0.3", "-p", "1",
                                   "-c", "2", "-q", "-o", path] + argv,
                                  out=out, err=io.StringIO())
        self.assertEqual(code, 3, out.getvalue())
        hammers = [l for l in out.getvalue().splitlines()
                   if l.startswith("threshold ")]
        code, text, err = self.run_main([path] + argv)
        self.assertEqual((code, err), (3, ""))
        self.assertEqual(text.splitlines()[-3:], hammers)
        self.assertEqual(len(hammers), 3)


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET after RESPONSE_S, with a 2-byte body."""

    protocol_version = "HTTP/1.1"
    RESPONSE_S = 0.05

    def do_GET(self):
        time.sleep(self.RESPONSE_S)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class WithHammerTest(CrunchTestCase):
    """crunch's totals agree with hammer's own summary on a real run."""

    def test_total_rate_equals_hammers(self):
        server = self.serve(SlowHandler)
        path = os.path.join(self.dir, "run.csv")
        out = io.StringIO()
        code = crunch.hammer.main(["http://127.0.0.1:%d/" % server.server_port,
                                   "-p", "1", "-c", "3", "--runtime", "0.3",
                                   "-o", path, "-q"], out=out,
                                  err=io.StringIO())
        self.assertEqual(code, 0, out.getvalue())
        said = re.search(r"requests +(\d+) in [0-9.]+s = ([0-9.]+) req/s",
                         out.getvalue())
        with open(path + ".json") as f:
            settings = json.load(f)
        report, err = self.run_json([path])
        self.assertEqual(err, "")
        totals = report["totals"]
        self.assertEqual(report["end_from"], "duration_s")
        self.assertEqual(totals["requests"], int(said.group(1)))
        self.assertEqual(totals["rps"], round(
            totals["requests"] / settings["duration_s"], 6))
        self.assertEqual("%.1f" % totals["rps"], said.group(2))


class StatusHandler(http.server.BaseHTTPRequestHandler):
    """Answers GET /s/CODE with that status and a 2-byte body."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(int(self.path.split("/")[2]))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class ErrorRuleAgreesTest(CrunchTestCase):
    """One run under the error rule (--ok-status, ok_status=, accept(),
    fail(), a task that raised): hammer's summary, its settings file,
    its --fail-if, and crunch's table, --json, --csv, --html and
    --fail-if all give the same errors."""

    SCRIPT = """
import itertools
import hammer

iterations = itertools.count()


@hammer.task
def mixed(user):
    for code in (200, 404, 409, 500):
        user.get("/s/%d" % code)
    user.get("/s/404", ok_status=(404,), name="accepted")
    user.get("/s/503").accept()
    user.get("/s/200", name="checked").fail("bad body")
    if next(iterations) % 2:
        1 / 0
"""
    BREAKDOWN = ("4xx: 4; 5xx: 4; failed by the script: check 4; tasks:"
                 " ZeroDivisionError 2")

    def test_every_surface_counts_the_same_errors(self):
        server = self.serve(StatusHandler)
        path = os.path.join(self.dir, "run.csv")
        out = io.StringIO()
        code = crunch.hammer.main([
            "http://127.0.0.1:%d/" % server.server_port, "--script",
            self.write("mixed.py", self.SCRIPT), "-p", "1", "-c", "1", "-n",
            "4", "--ok-status", "409", "--fail-if", "errors<40%", "-o",
            path], out=out, err=io.StringIO())
        # 28 requests and 4 iterations: 404, 500 and check each 4 times,
        # and 2 tasks that raised: 14 of 30
        self.assertEqual(code, 3, out.getvalue())
        self.assertIn("errors      14 = 46.67%% of requests and failed tasks"
                      " (%s)\n" % self.BREAKDOWN, out.getvalue())
        self.assertIn("threshold   errors<40%: 46.67% FAILED\n",
                      out.getvalue())
        with open(path + ".json") as f:
            summary = json.load(f)["summary"]
        self.assertEqual((summary["errors"], summary["errors_by_class"],
                          round(summary["thresholds"][0]["value"], 2)),
                         (14, {"4xx": 4, "5xx": 4, "script": 4, "task": 2},
                          46.67))
        report, _ = self.run_json([path])
        self.assertEqual((report["totals"]["errors"],
                          report["totals"]["error_pct"],
                          report["totals"]["failed_tasks"], report["errors"]),
                         (14, 46.666667, 2, {"total": 14, "4xx": 4, "5xx": 4,
                                             "transport": 0, "script": 4,
                                             "tasks": 2}))
        out_csv = os.path.join(self.dir, "out.csv")
        out_html = os.path.join(self.dir, "out.html")
        code, text, err = self.run_main([path, "--fail-if", "errors<40%",
                                         "--csv", out_csv, "--html",
                                         out_html])
        self.assertEqual((code, err), (3, ""))
        self.assertIn("; errors 14 (%s)\n" % self.BREAKDOWN, text)
        self.assertIn("threshold   errors<40%: 46.67% FAILED\n", text)
        with open(out_csv) as f:
            total = [line.split(",") for line in f if line.startswith("total")]
        self.assertEqual([t[9:11] for t in total], [["14", "46.67"]])
        with open(out_html) as f:
            self.assertIn("errors 14 (%s)" % self.BREAKDOWN, f.read())


class IntervalBoundTest(CrunchTestCase):
    """At most crunch.INTERVALS_MAX intervals: a file needing more fails
    fast, in bounded memory, naming an --interval that fits."""

    def test_main_elapsed_1e8_refused_fast_in_bounded_memory(self):
        rows = [row(0.1 + 0.001 * i, 0.002) for i in range(20000)]
        for at in (0, 5000, 19999):
            lines = rows[:]
            lines[at] = row(1e8, 0.002)
            path = self.write("far.csv", HEADER + "".join(lines))
            tracemalloc.start()
            try:
                got = self.run_main([path, "--processes", "1"])
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            low = "0.1" if at else "0.101"
            self.assertEqual(got, (1, "", "crunch: error: %s: elapsed from %ss"
                                   " to 1e+08s makes 50000001 intervals of 2s,"
                                   " more than 1000000: use --interval 100.1s"
                                   " or wider\n" % (path, low)), at)
            self.assertLess(peak, 4 << 20, at)

    def test_main_1ms_intervals_over_an_hour_refused(self):
        path = self.write_rows("hour.csv", [(float(i), 0.01, 200)
                                            for i in range(0, 3601, 10)])
        self.assertEqual(self.run_main([path, "--interval", "1ms"]), (
            1, "", "crunch: error: %s: elapsed from 0s to 3600s makes 3600000"
                   " intervals of 1ms, more than 1000000: use --interval"
                   " 3.6ms or wider\n" % path))

    def test_main_refusal_names_the_whole_file(self):
        # rows every 0.5 s over an hour: many blocks, the first few of
        # which already need too many intervals of 1 ms
        path = self.write_rows("long.csv", [(i * 0.5, 0.01, 200)
                                            for i in range(7201)])
        want = (1, "", "crunch: error: %s: elapsed from 0s to 3600s makes"
                       " 3600000 intervals of 1ms, more than 1000000: use"
                       " --interval 3.6ms or wider\n" % path)
        self.assertEqual(self.run_main([path, "--interval", "1ms",
                                        "--processes", "1"]), want)
        with mock.patch.object(crunch, "RANGE_B", 20000), \
                mock.patch.object(crunch, "RANGE_MIN_B", 1000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            self.assertEqual(self.run_main([path, "--interval", "1ms",
                                            "--processes", "2"]), want)

    def test_main_first_and_last_rows_refuse_before_counting(self):
        # their span already needs too many intervals: every process reads
        # the rows for their elapsed times alone, and counts no bucket
        path = self.write_rows("long.csv", [(i * 0.5, 0.01, 200)
                                            for i in range(7201)])
        with mock.patch.object(crunch.Bucketer, "add",
                               side_effect=AssertionError("counted")), \
                mock.patch.object(crunch, "RANGE_B", 20000), \
                mock.patch.object(crunch, "RANGE_MIN_B", 1000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            for processes in ("1", "2"):
                self.assertEqual(self.run_main([
                    path, "--interval", "1ms", "--processes", processes]), (
                    1, "", "crunch: error: %s: elapsed from 0s to 3600s"
                           " makes 3600000 intervals of 1ms, more than"
                           " 1000000: use --interval 3.6ms or wider\n"
                           % path), processes)

    def test_main_the_interval_named_is_accepted(self):
        path = self.write_rows("long.csv", [(i * 0.5, 0.01, 200)
                                            for i in range(7201)])
        with mock.patch.object(crunch, "INTERVALS_MAX", 1000):
            for processes in ("1", "2"):
                with mock.patch.object(crunch, "RANGE_B", 20000), \
                        mock.patch.object(crunch, "RANGE_MIN_B", 1000), \
                        mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
                    got = self.run_main([path, "--interval", "1s",
                                         "--processes", processes])
                self.assertEqual(got, (
                    1, "", "crunch: error: %s: elapsed from 0s to 3600s"
                           " makes 3601 intervals of 1s, more than 1000: use"
                           " --interval 3.6s or wider\n" % path), processes)
            report, _ = self.run_json([path, "--interval", "3.6s"])
            self.assertEqual((len(report["intervals"]),
                              report["totals"]["requests"]), (1000, 7201))

    def test_main_at_the_bound_and_one_past(self):
        with mock.patch.object(crunch, "INTERVALS_MAX", 10):
            path = self.write_rows("ten.csv", [(0.5, 0.01, 200),
                                               (19.9, 0.01, 200)])
            report, _ = self.run_json([path])
            self.assertEqual(len(report["intervals"]), 10)
            path = self.write_rows("eleven.csv", [(0.5, 0.01, 200),
                                                  (20.0, 0.01, 200)])
            self.assertEqual(self.run_main([path]), (
                1, "", "crunch: error: %s: elapsed from 0.5s to 20s makes 11"
                       " intervals of 2s, more than 10: use --interval 2.01s"
                       " or wider\n" % path))
            report, _ = self.run_json([path, "--interval", "2.01s"])
            self.assertEqual(len(report["intervals"]), 10)

    def test_main_bound_over_merged_files_and_byte_ranges(self):
        near = self.write_rows("near.csv", [(0.5 + 0.001 * i, 0.01, 200)
                                            for i in range(3000)])
        far = self.write_rows("far.csv", [(3e6, 0.01, 200)])
        self.assertEqual(self.run_main([near, far]), (
            1, "", "crunch: error: %s, %s: elapsed from 0.5s to 3e+06s makes"
                   " 1500001 intervals of 2s, more than 1000000: use"
                   " --interval 3.01s or wider\n" % (near, far)))
        with open(far) as f:
            tail = f.read()[len(HEADER):]
        with open(near, "a") as f:
            f.write(tail)
        with mock.patch.object(crunch, "RANGE_B", 20000), \
                mock.patch.object(crunch, "RANGE_MIN_B", 1000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            got = self.run_main([near, "--processes", "2"])
        # every worker reads its range to the end: the whole span is named
        self.assertEqual(got, (
            1, "", "crunch: error: %s: elapsed from 0.5s to 3e+06s makes"
                   " 1500001 intervals of 2s, more than 1000000: use"
                   " --interval 3.01s or wider\n" % near))

    def test_width_to_fit_is_the_least_of_three_digits(self):
        for lo, hi in ((0.0, 3600.0), (0.1, 1e8), (7.25, 2e6 + 0.5),
                       (0.0, 1e6 * 0.002), (1.0, 1.0 + 1e6 * 1e-6),
                       (0.0, crunch.MAX_VALUE_S - 1e-6)):
            # the advice is an --interval that crunch takes
            text = crunch.width_to_fit(lo, hi)
            width = crunch.parse_args(["-", "--interval", text]).interval
            self.assertLessEqual(crunch.intervals_needed(lo, hi, width),
                                 crunch.INTERVALS_MAX, (lo, hi))
            digits = float(re.match(r"[0-9.e+-]+", text).group())
            step = 10.0 ** (math.floor(math.log10(digits)) - 2)
            smaller = crunch.hammer.parse_duration(crunch.format_width(
                (round(digits / step) - 1) * step * width / digits))
            self.assertGreater(crunch.intervals_needed(lo, hi, smaller),
                               crunch.INTERVALS_MAX, (lo, hi, text))

    def test_block_over_a_million_intervals_counted_by_slot(self):
        fmt = crunch.parse_first_line(HEADER.encode().rstrip())[0]
        rnd = random.Random(31)
        rows = [(round(i * 0.999 + rnd.uniform(0, 0.5), 6),
                 round(rnd.uniform(0.001, 0.01), 6),
                 rnd.choice((200, 200, 503, 0))) for i in range(2000)]
        block = "".join(row(e, t, s, 1, "reset" if s == 0 else "")
                        for e, t, s in rows).encode()
        self.assertIsNotNone(crunch.fast_columns(block, len(rows), fmt))
        for fast in (True, False):
            tally = crunch.Tally(fmt, 0.002)
            tally.reader.fast = fast
            tracemalloc.start()
            try:
                tally.add_block(block)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            self.assertLess(peak, 8 << 20, fast)
            want = {}
            for e, t, s in rows:
                got = want.setdefault(int(e // 0.002), [0, 0, []])
                got[0] += 1
                got[1] += s == 0 or s >= 500
                if s:
                    got[2].append(t)
            self.assertEqual(sorted(tally.buckets), sorted(want))
            for number, (requests, errors, times) in want.items():
                bucket = tally.buckets[number]
                hist = bucket.peek()
                self.assertEqual((bucket.requests, bucket.errors, hist.n,
                                  hist.max), (requests, errors, len(times),
                                              max(times or [0.0])), number)


class FailureTest(CrunchTestCase):
    """Bad input and bad usage: one `crunch: error:` line, no traceback,
    exit 1 for bad data, 2 for bad usage."""

    # (name, argv, stdin, exit code, stderr: exact for 0 and 1, its first
    # line for 2, which `try 'crunch.py --help'` follows); {d} is the
    # test's directory.
    BAD_INPUTS = (
        ("missing file", ["{d}/nope.csv"], b"", 1,
         "crunch: error: {d}/nope.csv: No such file or directory\n"),
        ("directory as file", ["{d}/subdir"], b"", 1,
         "crunch: error: {d}/subdir: Is a directory\n"),
        ("empty file", ["{d}/empty.csv"], b"", 1,
         "crunch: error: {d}/empty.csv: empty input\n"),
        ("empty stdin", ["-"], b"", 1,
         "crunch: error: <stdin>: empty input\n"),
        ("header only", ["{d}/header.csv"], b"", 1,
         "crunch: error: {d}/header.csv: no valid rows\n"),
        ("binary garbage", ["{d}/garbage.bin"], b"", 1,
         "crunch: error: {d}/garbage.bin: the header '\\x89PNG' lacks"
         " elapsed, response_time or status\n"),
        ("header lacking columns", ["{d}/lacking.csv"], b"", 1,
         "crunch: error: {d}/lacking.csv: the header 'elapsed,status,bytes'"
         " lacks elapsed, response_time or status\n"),
        ("first line over 64 kB", ["{d}/long.csv"], b"", 1,
         "crunch: error: {d}/long.csv: the first line is longer than 65536"
         " bytes: not a results file\n"),
        ("header-less line of 2 fields", ["{d}/two.csv"], b"", 1,
         "crunch: error: {d}/two.csv: the first line has 2 fields; crunch"
         " needs elapsed,response time,status\n"),
        ("NUL bytes only", ["{d}/nul.csv"], b"", 1,
         "crunch: error: {d}/nul.csv: the header %r lacks elapsed,"
         " response_time or status\n" % ("\x00" * 80 + "...")),
        ("NUL bytes in a row", ["{d}/nulrow.csv"], b"", 0,
         "crunch: warning: {d}/nulrow.csv: skipped 1 malformed line, the"
         " first is line 3\n"),
        ("only malformed lines", ["{d}/malformed.csv"], b"", 1,
         "crunch: error: {d}/malformed.csv: no valid rows: 3 malformed"
         " lines, the first is line 2\n"),
        ("elapsed 1e8", ["{d}/far.csv"], b"", 1,
         "crunch: error: {d}/far.csv: elapsed from 0.1s to 1e+08s makes"
         " 50000001 intervals of 2s, more than 1000000: use --interval"
         " 100.1s or wider\n"),
        ("1 ms intervals over an hour", ["{d}/hour.csv", "--interval", "1ms"],
         b"", 1, "crunch: error: {d}/hour.csv: elapsed from 0s to 3600s"
         " makes 3600000 intervals of 1ms, more than 1000000: use"
         " --interval 3.6ms or wider\n"),
        ("garbage duration_s", ["{d}/dur.csv"], b"", 0,
         "crunch: warning: {d}/dur.csv.json: duration_s 'soon' is not a"
         " number of seconds >= the last response's end (0.22s): ignored\n"),
        ("--compare to a missing file", ["{d}/rows.csv", "--compare",
                                         "{d}/nope.csv"], b"", 1,
         "crunch: error: {d}/nope.csv: No such file or directory\n"),
        ("unwritable --csv", ["{d}/rows.csv", "--csv", "{d}/no/dir/out.csv"],
         b"", 1, "crunch: error: cannot write '{d}/no/dir/out.csv': No such"
         " file or directory\n"),
        ("--html into a directory", ["{d}/rows.csv", "--html", "{d}/subdir"],
         b"", 1, "crunch: error: cannot write '{d}/subdir': Is a directory\n"),
        ("interval 0", ["{d}/rows.csv", "--interval", "0"], b"", 2,
         "crunch: error: --interval must be > 0, got 0"),
        ("bad --interval text", ["{d}/rows.csv", "--interval", "soon"], b"", 2,
         "crunch: error: argument --interval: 'soon' is not a duration: use"
         " e.g. 30, 30s, 500ms, 5m or 1h"),
        ("negative tolerance", ["{d}/rows.csv", "--tolerance", "-1"], b"", 2,
         "crunch: error: --tolerance must be a number >= 0, got -1.0"),
        ("NaN tolerance", ["{d}/rows.csv", "--tolerance", "nan"], b"", 2,
         "crunch: error: --tolerance must be a number >= 0, got nan"),
        ("infinite tolerance", ["{d}/rows.csv", "--tolerance", "inf"], b"", 2,
         "crunch: error: --tolerance must be a number >= 0, got inf"),
        ("stdin twice", ["-", "-"], b"", 2,
         "crunch: error: stdin ('-') can be read only once"),
        ("stdin as input and base", ["-", "--compare", "-"], b"", 2,
         "crunch: error: stdin ('-') can be read only once"),
        ("--csv over an input", ["{d}/rows.csv", "--csv", "{d}/rows.csv"],
         b"", 2, "crunch: error: --csv '{d}/rows.csv' would overwrite the"
         " input '{d}/rows.csv'"),
        ("--html over a settings file", ["{d}/dur.csv", "--html",
                                         "{d}/dur.csv.json"], b"", 2,
         "crunch: error: --html '{d}/dur.csv.json' would overwrite the input"
         " '{d}/dur.csv.json'"),
        ("--csv and --html alike", ["{d}/rows.csv", "--csv", "{d}/o",
                                    "--html", "{d}/o"], b"", 2,
         "crunch: error: --csv and --html name the same file '{d}/o'"),
        ("scheduled after elapsed", ["{d}/late.csv"], b"", 0,
         "crunch: warning: {d}/late.csv: skipped 1 malformed line, the first"
         " is line 3\n"),
        ("scheduled not a time", ["{d}/sched.csv"], b"", 0,
         "crunch: warning: {d}/sched.csv: skipped 2 malformed lines, the"
         " first is line 2\n"),
        ("broken stage plan", ["{d}/plan.csv"], b"", 0,
         "crunch: warning: {d}/plan.csv.json: stage 2 is not {start_s,"
         " end_s, from, to}, each a number >= 0: no per-stage table\n"),
        ("--fail-if unknown metric, before the input is read",
         ["{d}/nope.csv", "--fail-if", "p59<1s"], b"", 2,
         "crunch: error: --fail-if: threshold 'p59<1s': unknown metric"
         " 'p59'; use one of p50 p90 p95 p99 p99.9 mean max rps errors"
         " requests"),
        ("--fail-if latency without a unit", ["{d}/rows.csv", "--fail-if",
                                              "p95<200"], b"", 2,
         "crunch: error: --fail-if: threshold 'p95<200': p95 needs a time"
         " with its unit (us, ms or s), as in p95<500ms"),
        ("--fail-if errors without %", ["{d}/rows.csv", "--fail-if",
                                        "errors<1"], b"", 2,
         "crunch: error: --fail-if: threshold 'errors<1': errors needs a"
         " percentage, as in errors<5%"),
        ("--fail-if bad operator", ["{d}/rows.csv", "--fail-if",
                                    "p95=<200ms"], b"", 2,
         "crunch: error: --fail-if: threshold 'p95=<200ms': the operator"
         " must be one of < <= > >="),
        ("no input", [], b"", 2,
         "crunch: error: the following arguments are required: FILE"),
        ("unknown option", ["{d}/rows.csv", "--bogus"], b"", 2,
         "crunch: error: unrecognized arguments: --bogus"),
        ("zero processes", ["{d}/rows.csv", "--processes", "0"], b"", 2,
         "crunch: error: argument --processes: '0' must be a whole number"
         " >= 1"),
    )

    def make_bad_inputs(self):
        os.mkdir(os.path.join(self.dir, "subdir"))
        rows = HEADER + row(0.1, 0.01) + row(0.2, 0.02)
        files = {
            "rows.csv": rows, "empty.csv": "", "header.csv": HEADER,
            "garbage.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" +
                           bytes(range(256)),
            "lacking.csv": "elapsed,status,bytes\n0.1,200,1\n",
            "long.csv": b"7" * (crunch.LINE_MAX_B + 1),
            "two.csv": "1,2\n3,4\n",
            "nul.csv": b"\x00" * 300,
            "nulrow.csv": HEADER + row(0.1, 0.01) + "0.2\x00,0.01,200,1,\n" +
                          row(0.3, 0.01),
            "malformed.csv": HEADER + "a,b,c,d,e\n0.1,x,200,1,\n"
                                      "-1.0,0.1,200,1,\n",
            "far.csv": HEADER + row(0.1, 0.01) + row(1e8, 0.01),
            "hour.csv": HEADER + "".join(row(float(i), 0.01)
                                         for i in range(0, 3601, 10)),
            "dur.csv": rows, "dur.csv.json": '{"duration_s": "soon"}',
            "late.csv": HEADER6 + open_row(0.1, 0.01, 0.1) +
                        "0.200000,0.010000,200,1,,0.200001\n" +
                        open_row(0.3, 0.01, 0.25),
            "sched.csv": HEADER6 + "0.2,0.01,200,1,,soon\n" +
                         "0.3,0.01,200,1,,-0.1\n" + open_row(0.4, 0.01, 0.4),
            "plan.csv": rows, "plan.csv.json": json.dumps({"stages": [
                stage(0.0, 1.0, 0, 1), {"start_s": 1.0, "end_s": 2.0}]}),
        }
        for name, data in files.items():
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())

    def test_bad_inputs_table(self):
        self.make_bad_inputs()
        self.assertGreaterEqual(len(self.BAD_INPUTS), 30)
        for name, argv, stdin, code, message in self.BAD_INPUTS:
            with self.subTest(name):
                argv = [a.format(d=self.dir) for a in argv]
                message = message.replace("{d}", self.dir)
                got, out, err = self.run_main(argv, stdin)
                self.assertNotIn("Traceback", out + err)
                self.assertEqual(got, code)
                if code == 2:
                    self.assertEqual(err, message + "\ntry 'crunch.py"
                                                    " --help'\n")
                else:
                    self.assertEqual(err, message)
                if code:
                    self.assertEqual(out, "")
        self.assertEqual(os.listdir(os.path.join(self.dir, "subdir")), [])

    def test_bad_inputs_in_a_process(self):
        """The real entry point: one line, no traceback, the exit code."""
        self.make_bad_inputs()
        for name, argv, _, code, message in self.BAD_INPUTS[:3]:
            argv = [a.format(d=self.dir) for a in argv]
            proc = subprocess.Popen([sys.executable, CRUNCH] + argv,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE,
                                    universal_newlines=True)
            out, err = proc.communicate(timeout=60)
            self.assertEqual((proc.returncode, out, err),
                             (code, "", message.replace("{d}", self.dir)))

    def test_main_binary_file_quotes_a_short_header(self):
        path = os.path.join(self.dir, "bin.csv")
        with open(path, "wb") as f:
            f.write(b"\x7fELF" + b"\x00\x01" * 500 + b"\n1,2,3\n")
        code, out, err = self.run_main([path])
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, "crunch: error: %s: the header %r lacks"
                              " elapsed, response_time or status\n"
                         % (path, "\x7fELF" + "\x00\x01" * 38 + "..."))

    def test_main_help_returns_0(self):
        code, out, err = self.run_main(["--help"])
        self.assertEqual((code, err), (0, ""))
        self.assertTrue(out.startswith("usage: crunch [-h]"), out)

    def test_main_version_returns_0(self):
        code, out, err = self.run_main(["--version"])
        self.assertEqual((code, out, err),
                         (0, "crunch %s\n" % crunch.__version__, ""))

    def test_main_without_hammer_says_so(self):
        alone = os.path.join(self.dir, "alone")
        os.mkdir(alone)
        shutil.copy(CRUNCH, alone)
        path = self.write("r.csv", HEADER + row(0.1, 0.01))
        for argv in ([path], ["--help"]):
            proc = subprocess.Popen(      # -E: no PYTHONPATH to find hammer
                [sys.executable, "-E", os.path.join(alone, "crunch.py")] +
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=alone, universal_newlines=True)
            out, err = proc.communicate(timeout=60)
            self.assertEqual((proc.returncode, out, err), (
                1, "", "crunch: error: cannot import hammer.py: keep "
                       "crunch.py beside it\n"), argv)

    def test_percentiles_are_hammers(self):
        self.assertFalse(hasattr(crunch, "PERCENTILES"))
        path = self.write("r.csv", HEADER + row(0.1, 0.01))
        report, _ = self.run_json([path])
        self.assertEqual([k for k in report["totals"] if k[0] == "p"],
                         ["p%d_s" % p for p in crunch.hammer.PERCENTILES])


class CompareTest(CrunchTestCase):

    def make(self, name, scale, errors=0):
        rows = [(0.01 * i, 0.010 * scale + 0.0001 * (i % 10), 200)
                for i in range(1000)]
        rows += [(0.5 + 0.01 * i, 0.01, 0) for i in range(errors)]
        return self.write_rows(name, rows)

    def test_compare_marks_regressions(self):
        base = self.make("base.csv", 1.0)
        slow = self.make("slow.csv", 1.2, errors=5)
        code, out, _ = self.run_main([slow, "--compare", base])
        self.assertEqual(code, 1)
        lines = out.splitlines()
        start = lines.index("compared with %s (tolerance 5%%):" % base)
        table = {l.split()[0]: l.split() for l in lines[start + 2:]}
        self.assertEqual(table["p50"], ["p50", "10.400", "ms", "12.400", "ms",
                                        "+19.2%", "REGRESSION"])
        self.assertEqual(table["errors"][-2:], ["new", "REGRESSION"])
        self.assertEqual(table["requests"], ["requests", "1000", "1005",
                                             "+0.5%"])

    def test_compare_same_run_passes(self):
        base = self.make("base.csv", 1.0)
        code, out, _ = self.run_main([base, "--compare", base])
        self.assertEqual(code, 0)
        self.assertNotIn("REGRESSION", out)
        table = {l.split()[0]: l.split() for l in out.splitlines()}
        self.assertEqual(table["p99"], ["p99", "10.900", "ms", "10.900", "ms",
                                        "+0.0%", "ok"])

    def test_compare_tolerance_lets_change_pass(self):
        base = self.make("base.csv", 1.0)
        slow = self.make("slow.csv", 1.2)
        code, out, _ = self.run_main([slow, "--compare", base, "--tolerance",
                                      "25"])
        self.assertEqual(code, 0)
        self.assertNotIn("REGRESSION", out)

    def test_compare_json(self):
        base = self.make("base.csv", 1.0)
        fast = self.make("fast.csv", 0.5)
        code, out, _ = self.run_main([fast, "--compare", base, "--json"])
        self.assertEqual(code, 0)
        rows = {c["metric"]: c for c in json.loads(out)["compare"]}
        self.assertEqual(rows["p50"]["verdict"], "better")
        self.assertEqual(rows["max"]["verdict"], "")
        self.assertAlmostEqual(rows["p50"]["change_pct"],
                               100.0 * (0.0054 - 0.0104) / 0.0104, places=6)


# 6 stages of 5 s, 25 users more each: enough points for a capacity chart
CAPACITY_PLAN = [stage(5.0 * k, 5.0 * (k + 1), 25 * k, 25 * (k + 1))
                 for k in range(6)]


class Page(html.parser.HTMLParser):
    """A report as html.parser reads it: its headings, paragraphs,
    <pre> blocks and <summary> lines as (tag, text, folded), and its
    tables as ("table", rows of cell texts, folded), in page order;
    folded when inside <details>.  Chart text (SVG) is left out."""

    KEPT = ("h1", "h2", "h3", "p", "pre", "summary")

    def __init__(self, text):
        html.parser.HTMLParser.__init__(self, convert_charrefs=True)
        self.items, self.folded, self.text = [], 0, None
        self.table = self.row = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.folded += 1
        elif tag in self.KEPT + ("td", "th"):
            self.text = []
        elif tag == "table":
            self.table = []
        elif tag == "tr":
            self.row = []

    def handle_endtag(self, tag):
        folded = self.folded > 0
        if tag == "details":
            self.folded -= 1
        elif tag in self.KEPT:
            self.items.append((tag, "".join(self.text), folded))
            self.text = None
        elif tag in ("td", "th"):
            self.row.append("".join(self.text))
            self.text = None
        elif tag == "tr":
            self.table.append(self.row)
        elif tag == "table":
            self.items.append(("table", self.table, folded))

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)

    def headings(self, tag="h2"):
        return [text for kind, text, _ in self.items if kind == tag]

    def after(self, tag, text):
        """The items after a heading (or paragraph) of that text."""
        at = [i for i, item in enumerate(self.items)
              if item[:2] == (tag, text)]
        return self.items[at[0] + 1:]

    def table_after(self, tag, text):
        """The rows of the first table after that heading."""
        return next(rows for kind, rows, _ in self.after(tag, text)
                    if kind == "table")


class HtmlTest(CrunchTestCase):

    PAYLOAD = "<script>console.error(1)</script>"

    def make_report(self, compare=False):
        rows = random_rows(3000, seed=11)
        text = HEADER + "".join(row(e, t, s, 1, self.PAYLOAD if s == 0 else "")
                                for e, t, s in rows)
        path = self.write("r.csv", text)
        self.write("r.csv.json", json.dumps({"url": "http://x/" + self.PAYLOAD,
                                             "users": 2}))
        argv = [path, "--html", os.path.join(self.dir, "report.html")]
        if compare:
            base = self.write_rows("base.csv", random_rows(3000, seed=12))
            argv += ["--compare", base, "--tolerance", "1000"]
        code, _, err = self.run_main(argv)
        self.assertEqual((code, err), (0, ""))
        with open(argv[2], "rb") as f:
            return argv[2], f.read()

    def test_html_is_self_contained_escaped_and_repeatable(self):
        path, first = self.make_report()
        _, second = self.make_report()
        self.assertEqual(first, second)
        text = first.decode("utf-8")
        self.assertEqual(text.count("<svg "), 5)
        self.assertNotIn("<script", text)
        self.assertIn("http://x/&lt;script&gt;console.error(1)&lt;/script&gt;",
                      text)
        self.assertIn("transport: &lt;script&gt;console.error(1)"
                      "&lt;/script&gt; ", text)
        self.assertIsNone(re.search(r"(src|href)=", text))

    def test_html_compare_overlays_base(self):
        _, data = self.make_report(compare=True)
        text = data.decode("utf-8")
        self.assertEqual(text.count("<svg "), 5)
        # base throughput, p50/p90/p99, error rate and CDF: dashed lines
        self.assertEqual(text.count('stroke-dasharray="5,3" points='), 6)
        self.assertIn(">base req/s</text>", text)

    def make_staged_report(self, open_model, plan=None):
        """A report of a run with a stage plan (by default 3 stages that
        last): users, or (open_model) target rates and scheduled times,
        and two thresholds."""
        rnd = random.Random(13)
        lines = []
        for i in range(3000):
            sched = i * 0.01
            elapsed = sched + (rnd.uniform(0, 0.2) if 10 <= sched < 12
                               else 0.0)
            rt = rnd.lognormvariate(-4, 0.5)
            lines.append(open_row(elapsed, rt, sched) if open_model
                         else closed_row(elapsed, rt))
        path = self.write("staged.csv", HEADER6 + "".join(lines))
        self.write("staged.csv.json", json.dumps({
            "model": "open" if open_model else "closed", "duration_s": 30.5,
            "stages": plan or [stage(0.0, 10.0, 0, 50),
                               stage(10.0, 10.0, 50, 100),
                               stage(10.0, 20.0, 100, 100),
                               stage(20.0, 30.0, 150, 150)]}))
        out = os.path.join(self.dir, "staged.html")
        code, _, err = self.run_main([path, "--html", out, "--fail-if",
                                      "p99<1s", "--fail-if", "rps>200"])
        self.assertEqual((code, err), (3, ""))
        with open(out, "rb") as f:
            return out, f.read()

    def test_html_stages_closed_model(self):
        _, first = self.make_staged_report(False)
        _, second = self.make_staged_report(False)
        self.assertEqual(first, second)
        text = first.decode("utf-8")
        # 3 stages ran: too few points for the capacity chart, said so
        self.assertEqual(text.count("<svg "), 5)
        self.assertNotIn(">Capacity: ", text)
        self.assertEqual(Page(text).after("h2", "Charts")[0], (
            "p", "No capacity chart: it draws a point per stage, and the 3"
            " stages that ran are too few to read a curve from (it needs 5"
            " or more: --stages or --cycles with more steps).", False))
        self.assertIn(">users (right)</text>", text)    # throughput chart
        self.assertIn("<h2>Stages</h2>\n<table><tr><th>stage</th><th>start_s"
                      "</th><th>end_s</th><th>users</th>", text)
        self.assertIn("<tr><td>1</td><td>0</td><td>10</td><td>0-&gt;50</td>"
                      "<td>1000</td><td>100.0</td>", text)
        self.assertIn('<tr class="better"><td>p99&lt;1s</td>', text)
        self.assertIn('<tr class="regression"><td>rps&gt;200</td><td>98.4'
                      '</td><td>FAILED</td></tr>', text)
        self.assertNotIn("corrected", text)
        # the users over time, on the right axis: a ramp, a step, a hold
        # and a step again
        chart = text[text.index(">Throughput</text>"):]
        self.assertIn('<polyline fill="none" stroke="%s" stroke-width="1.5"'
                      ' points="64.0,224.0 321.3,158.7 321.3,158.7 321.3,93.3'
                      ' 321.3,93.3 578.7,93.3 578.7,28.0 836.0,28.0"/>'
                      % crunch.COLORS[2], chart)

    def test_html_stages_open_model(self):
        _, data = self.make_staged_report(True, CAPACITY_PLAN)
        text = data.decode("utf-8")
        self.assertEqual(text.count("<svg "), 6)
        self.assertIn(">Capacity: throughput and corrected p95 against the"
                      " target rate</text>", text)
        for label in ("target req/s", "corrected p99", "corrected"):
            self.assertIn(">%s</text>" % label, text)
        self.assertIn("<th>target_req/s</th>", text)
        self.assertIn("<p>latency from the intended send (corrected for"
                      " coordinated omission): min ", text)
        self.assertIn("<th>corrected_p99_ms</th>", text)

    NAME = "/a<script>alert(1)</script>&amp"
    TRACEBACK = ("ZeroDivisionError in task run:\n  File \"flow.py\", line"
                 " 3, in run\n    1 / 0\n<script>alert(2)</script> & more")

    def named_report(self, rule=None, task_kind="script"):
        """A script's run: GET NAME 3 x 200, a 404, a 503 and a timeout;
        POST /b 3 x 200, one failed by a check; a task that raised (its
        row's kind task_kind); its settings, some null, with the task's
        traceback, and the error rule when given."""
        rows = [(0.1 * i, 0.01, s, kind, "GET", self.NAME) for i, (s, kind)
                in enumerate([(200, ""), (200, ""), (200, ""), (404, ""),
                              (503, ""), (0, "timeout")])]
        rows += [(0.7 + 0.1 * i, 0.02, 200, kind, "POST", "/b")
                 for i, kind in enumerate(["", "check", ""])]
        rows.append((0.95, 0.001, 0, task_kind, "task", "run"))
        settings = {
            "url": "http://127.0.0.1:8080/", "users": 2, "seed": None,
            "think_s": None, "duration_s": 1.0,
            "summary": {"failures": [{"kind": "ZeroDivisionError",
                                      "count": 3, "text": self.TRACEBACK}]}}
        if rule is not None:
            settings["error_rule"] = rule
        path = NamesTestCase.write_named(self, "named.csv", rows, settings)
        out = os.path.join(self.dir, "named.html")
        code, _, err = self.run_main([path, "--html", out])
        self.assertEqual((code, err), (0, ""))
        with open(out, encoding="utf-8") as f:
            return out, f.read()

    def test_html_verdict_first_settings_last_and_folded(self):
        _, text = self.named_report()
        page = Page(text)
        self.assertEqual(page.headings(), [
            "Verdict", "Status codes", "Per name", "Script failures",
            "Charts", "Intervals"])
        self.assertEqual(page.headings("summary"),
                         ["Run settings (4 set, 2 not set)"])
        # the settings come last, folded: those set in a table, the
        # null ones named on one line
        folded = [item for item in page.items if item[2]]
        self.assertEqual(folded[0], ("summary",
                                     "Run settings (4 set, 2 not set)", True))
        self.assertEqual([r[0] for r in folded[1][1]], [
            "setting", "url", "users", "duration_s", "summary"])
        self.assertEqual(folded[2], ("p", "Not set: seed, think_s.", True))
        self.assertEqual(page.items[-1], ("p", "crunch %s"
                                          % crunch.__version__, False))
        self.assertTrue(all(not item[2] for item in page.items[:-4]))
        # the verdict: the totals, then the errors by kind
        verdict = page.after("h2", "Verdict")
        self.assertEqual(verdict[0][1][-1][:3], ["total", "9", "9.0"])
        self.assertEqual(page.table_after("h3", "Errors by kind"), [
            ["class", "kind", "rows", "% of rows"],
            ["5xx", "status 503", "1", "11.11"],
            ["script", "check", "1", "11.11"],
            ["transport", "timeout", "1", "11.11"]])

    def test_html_errors_by_kind_under_the_error_rule(self):
        # 4xx and failed tasks are classes of their own: each a share of
        # the 9 requests and the failed task
        _, text = self.named_report({"status_from": 400, "ok_status": []},
                                    "ZeroDivisionError")
        self.assertEqual(Page(text).table_after("h3", "Errors by kind"), [
            ["class", "kind", "rows", "% of rows"],
            ["4xx", "status 404", "1", "10.00"],
            ["5xx", "status 503", "1", "10.00"],
            ["script", "check", "1", "10.00"],
            ["task", "ZeroDivisionError", "1", "10.00"],
            ["transport", "timeout", "1", "10.00"]])

    def test_html_status_codes_and_failures_per_name(self):
        _, text = self.named_report()
        page = Page(text)
        self.assertEqual(page.table_after("h2", "Status codes"), [
            ["status", "rows", "% of rows"], ["0 (no response)", "1", "11.11"],
            ["200", "6", "66.67"], ["404", "1", "11.11"],
            ["503", "1", "11.11"]])
        self.assertEqual(page.table_after(
            "h3", "Failures and statuses per name"), [
            ["method", "name", "rows", "failures", "failure %", "statuses",
             "failure kinds"],
            ["GET", self.NAME, "6", "2", "33.33",
             "0 x 1, 200 x 3, 404 x 1, 503 x 1", "timeout 1"],
            ["POST", "/b", "3", "1", "33.33", "200 x 3", "check 1"],
            ["task", "run", "1", "1", "100.00", "0 x 1", "script 1"]])

    def test_html_shows_the_script_tracebacks_as_text(self):
        _, text = self.named_report()
        page = Page(text)
        self.assertEqual(page.after("h2", "Script failures")[:2], [
            ("h3", "3 x ZeroDivisionError", False),
            ("pre", self.TRACEBACK, False)])
        # escaped: a name or a traceback never becomes markup
        self.assertNotIn("<script", text)
        self.assertIn("&lt;script&gt;alert(2)&lt;/script&gt; &amp; more",
                      text)
        self.assertIn("/a&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp",
                      text)
        self.assertIsNone(re.search(r"(src|href)=", text))

    def test_html_verdict_says_what_sizing_found(self):
        path = self.write_rows("s.csv", random_rows(50, seed=3))
        self.write("s.csv.json", json.dumps({"summary": {"sizing": {
            "users": 10, "rps": 97.2, "reason": "plateau",
            "abandoned": 3}}}))
        out = os.path.join(self.dir, "s.html")
        self.assertEqual(self.run_main([path, "--html", out])[0], 0)
        with open(out, encoding="utf-8") as f:
            verdict = Page(f.read()).after("h2", "Verdict")
        self.assertEqual(verdict[1], (
            "p", "sizing: throughput plateau at 10 users (97.2 req/s); 3"
            " requests in flight at its stop abandoned (no errors)", False))
        self.assertIsNone(crunch.sizing_line({"summary": {"sizing": {
            "users": "10", "rps": 1, "reason": "plateau"}}}))

    def test_html_says_whether_the_scatter_is_a_sample(self):
        _, text = self.named_report()
        self.assertIn(">Response times (all 9 requests)</text>", text)
        self.assertNotIn("sampled", text)
        self.assertNotIn("a sample", text)
        path = self.write_rows("big.csv", random_rows(6000, seed=5))
        out = os.path.join(self.dir, "big.html")
        self.assertEqual(self.run_main([path, "--html", out])[0], 0)
        with open(out, encoding="utf-8") as f:
            big = f.read()
        shown = re.search(r">Response times \(a sample of (\d+) of 6000"
                          r" requests\)</text>", big)
        self.assertIsNotNone(shown)
        circles = big[big.index(shown.group(0)):].split("</svg>")[0]
        self.assertEqual(circles.count("<circle "), int(shown.group(1)))
        self.assertLessEqual(int(shown.group(1)), crunch.SCATTER_POINTS_MAX)

    def test_html_capacity_chart_with_enough_stages(self):
        _, data = self.make_staged_report(False, CAPACITY_PLAN)
        text = data.decode("utf-8")
        self.assertEqual(text.count("<svg "), 6)
        self.assertIn(">Capacity: throughput and p95 against users</text>",
                      text)
        self.assertNotIn("No capacity chart", text)

    def chromium(self, url, *extra):
        profile = tempfile.mkdtemp(prefix="crunch-chromium-")
        self.addCleanup(shutil.rmtree, profile, True)
        cmd = [CHROMIUM] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile]
        proc = subprocess.Popen(cmd + list(extra) + [url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True)
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err[-2000:])
        console = [l for l in err.splitlines() if ":CONSOLE" in l]
        return out, console

    def test_html_renders_in_chromium(self):
        if CHROMIUM is None:
            if REQUIRE_ALL:
                self.fail("chromium is not installed and "
                          "HAMMER_TEST_REQUIRE_ALL=1")
            self.skipTest("chromium is not installed (Debian package "
                          "chromium)")
        control = self.write("control.html",
                             "<html><body><script>console.error('seen')"
                             "</script></body></html>")
        _, console = self.chromium("file://" + control, "--dump-dom")
        self.assertEqual(len(console), 1, "console logging is not captured")
        path, _ = self.make_report()
        dom, console = self.chromium("file://" + path, "--dump-dom")
        self.assertEqual(console, [])
        self.assertEqual(dom.count("<svg "), 5)
        with open(path) as f:
            self.assertEqual(dom.count("<circle "), f.read().count("<circle "))
        self.assertNotIn("<script", dom)
        shot = os.path.join(self.dir, "shot.png")
        _, console = self.chromium("file://" + path, "--window-size=1000,1400",
                                   "--screenshot=" + shot)
        self.assertEqual(console, [])
        with open(shot, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">II", head[16:24]), (1000, 1400))
        path, _ = self.make_staged_report(True, CAPACITY_PLAN)
        dom, console = self.chromium("file://" + path, "--dump-dom")
        self.assertEqual((console, dom.count("<svg ")), ([], 6))
        path, _ = self.named_report()
        dom, console = self.chromium("file://" + path, "--dump-dom")
        self.assertEqual(console, [])
        self.assertNotIn("<script", dom)


# --- per name ------------------------------------------------------------------

HEADER8 = "elapsed,response_time,status,bytes,error,scheduled,method,name\n"
HEADER9 = HEADER8.replace("name\n", "name,node\n")    # hammer --hosts'
# Names a script may give, written as hammer writes them (the csv module's
# quoting): a comma, quotes, a newline, braces, a colon, non-ASCII, spaces.
AWKWARD_NAMES = ("/items/[id]", "a,b", 'say "hi"', "two\nlines", "{braced}",
                 "host:8080", "caf\u00e9 \u2615", " spaced out ", '"', "x,\n\"")


class NamesTestCase(CrunchTestCase):

    def write_named(self, name, rows, settings=None):
        """rows: (elapsed, response_time, status, error, method, name),
        written by csv.writer(lineterminator="\\n") under HEADER8."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for e, t, s, kind, method, key in rows:
            writer.writerow(["%.6f" % e, "%.6f" % t, s, 1, kind, "", method,
                             key])
        path = self.write(name, HEADER8 + out.getvalue())
        if settings is not None:
            self.write(name + ".json", json.dumps(settings))
        return path

    @staticmethod
    def by_key(report):
        return dict(((n["method"], n["name"]), n) for n in report["names"])


class NamesTest(NamesTestCase):
    """The method and name columns: per-name figures in every output."""

    def awkward_rows(self):
        """Name i of AWKWARD_NAMES gets i + 1 GET rows 10 ms apart, every
        fourth a POST; 400 rows of the names mixed."""
        rows, t = [], 0.0
        for k in range(40):
            for i, name in enumerate(AWKWARD_NAMES):
                if k <= i * 4:
                    method = "POST" if k % 4 == 3 else "GET"
                    rows.append((t, 0.001 * (1 + i), 200, "", method, name))
                    t += 0.01
        return rows

    def test_awkward_names_round_trip(self):
        rows = self.awkward_rows()
        path = self.write_named("r.csv", rows)
        report, err = self.run_json([path])
        self.assertEqual((report["rows"], report["malformed"], err),
                         (len(rows), 0, ""))
        want = collections.Counter((r[4], r[5]) for r in rows)
        got = dict((k, n["requests"]) for k, n in self.by_key(report).items())
        self.assertEqual(got, dict(want))
        self.assertEqual(got["GET", "x,\n\""], 28)
        self.assertEqual(got["POST", "x,\n\""], 9)
        self.assertEqual(report["totals"]["requests"], len(rows))
        for (method, name), n in self.by_key(report).items():
            self.assertEqual(n["max_s"], round(0.001 * (
                1 + AWKWARD_NAMES.index(name)), 6), name)

    def test_awkward_names_same_for_every_block_and_process(self):
        path = self.write_named("r.csv", self.awkward_rows())
        whole, _ = self.run_json([path, "--processes", "1"])
        for size in (7, 64, 333):
            with mock.patch.object(crunch, "READ_BLOCK_B", size):
                cut, _ = self.run_json([path, "--processes", "1"])
            self.assertEqual(cut, whole, size)
        for range_b in (101, 997, 4096):   # cuts inside quoted newlines
            with mock.patch.object(crunch, "RANGE_B", range_b), \
                    mock.patch.object(crunch, "RANGE_MIN_B", 50), \
                    mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
                many, _ = self.run_json([path, "--processes", "2"])
            self.assertEqual(many, whole, range_b)

    def test_table_sections(self):
        rows = [(0.1, 0.010, 200, "", "GET", "/a"),
                (0.2, 0.020, 200, "", "GET", "/a"),
                (0.3, 0.030, 503, "", "POST", "/b,c"),
                (0.4, 0.050, 200, "", "timer", "checkout"),
                (0.5, 0.001, 0, "check", "task", "run"),
                (0.6, 0.002, 0, "script", "task", "run"),
                (0.7, 0.003, 0, "script", "task", "on_start")]
        path = self.write_named("r.csv", rows, {"duration_s": 1.0})
        code, out, err = self.run_main([path])
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(lines[2].split()[:2], ["start_s", "requests"])
        self.assertEqual(lines[5].split()[:2], ["total", "3"])
        self.assertEqual(lines[6], "status: 200 x 2, 503 x 1; errors 1 "
                                   "(5xx: 1)")
        self.assertEqual(lines[7:], [
            "per name:",
            "method  name  requests  fails  fails_%  median_ms  p95_ms  p99_ms"
            "  avg_ms  min_ms  max_ms  req/s",
            "GET     /a           2      0     0.00     10.000  20.000  20.000"
            "  15.000  10.000  20.000    2.0",
            "POST    /b,c         1      1   100.00     30.000  30.000  30.000"
            "  30.000  30.000  30.000    1.0",
            "timers:",
            "name      count  fails  fails_%  median_ms  p95_ms  p99_ms  avg_ms"
            "  min_ms  max_ms  req/s",
            "checkout      1      0     0.00     50.000  50.000  50.000  50.000"
            "  50.000  50.000    1.0",
            "task failures:",
            "name      failures              kinds",
            "run              2  check 1, script 1",
            "on_start         1           script 1"])

    def test_names_are_escaped_in_the_table(self):
        path = self.write_named("r.csv", [(0.1, 0.01, 200, "", "GET",
                                           "a\nb\tc\x7f")])
        code, out, _ = self.run_main([path])
        self.assertIn("GET     a\\nb\\tc\\x7f         1", out)

    def test_percentiles_are_hammers_over_every_row(self):
        rnd = random.Random(41)
        rows = [(0.001 * i, round(rnd.lognormvariate(-4, 1), 6),
                 rnd.choice((200, 200, 200, 0)), "", rnd.choice("GP"),
                 rnd.choice(("/x", "/y", "/z")))
                for i in range(3000)]
        rows = [r[:3] + ("timeout" if r[2] == 0 else "",) + r[4:]
                for r in rows]
        path = self.write_named("r.csv", rows)
        report, _ = self.run_json([path, "--interval", "0.1"])
        for (method, name), n in self.by_key(report).items():
            hist = crunch.hammer.Histogram()
            mine = [r for r in rows if (r[4], r[5]) == (method, name)]
            hist.add_many([r[1] for r in mine if r[2]])
            self.assertEqual((n["requests"], n["responses"], n["errors"]),
                             (len(mine), hist.n, len(mine) - hist.n))
            for p in crunch.hammer.PERCENTILES:
                self.assertEqual(n["p%d_s" % p], round(hist.percentile(p), 9))
            self.assertEqual(n["max_s"], round(hist.max, 9))
            self.assertAlmostEqual(n["mean_s"], hist.mean, places=9)

    def test_json_and_csv_carry_the_names(self):
        rows = [(0.1, 0.010, 200, "", "GET", "/a"),
                (0.2, 0.020, 200, "check", "GET", "/a"),
                (0.3, 0.030, 0, "timeout", "GET", 'q"x,y'),
                (0.4, 0.050, 200, "", "timer", "checkout")]
        path = self.write_named("r.csv", rows, {"duration_s": 2.0})
        out_csv = os.path.join(self.dir, "out.csv")
        report, _ = self.run_json([path, "--csv", out_csv])
        self.assertEqual(report["names"][0], {
            "method": "GET", "name": "/a", "section": "requests",
            "requests": 2, "rps": 1.0, "responses": 2, "mean_s": 0.015,
            "p50_s": 0.01, "p90_s": 0.02, "p95_s": 0.02, "p99_s": 0.02,
            "max_s": 0.02, "errors": 1, "error_pct": 50.0,
            "error_kinds": {"check": 1}, "statuses": {"200": 2}})
        self.assertEqual([(n["method"], n["name"], n["section"], n["errors"],
                           n["responses"]) for n in report["names"][1:]],
                         [("GET", 'q"x,y', "requests", 1, 0),
                          ("timer", "checkout", "timers", 0, 1)])
        self.assertEqual((report["names_lumped"], report["name_filter"]),
                         (False, None))
        self.assertEqual(report["errors"], {"total": 2, "5xx": 0,
                                            "transport": 1, "script": 1})
        self.assertEqual(report["script_errors"], {"check": 1})
        with open(out_csv, newline="") as f:
            table = list(csv.reader(f))
        self.assertEqual(table[0][-3:], ["error_pct", "method", "name"])
        self.assertEqual(table[1][-2:], ["", ""])
        self.assertEqual(table[2][:2] + table[2][-2:],
                         ["total", "3", "", ""])
        self.assertEqual(table[3:], [
            ["name", "2", "1.0", "15.000", "10.000", "20.000", "20.000",
             "20.000", "20.000", "1", "50.00", "GET", "/a"],
            ["name", "1", "0.5", "", "", "", "", "", "", "1", "100.00",
             "GET", 'q"x,y'],
            ["name", "1", "0.5", "50.000", "50.000", "50.000", "50.000",
             "50.000", "50.000", "0", "0.00", "timer", "checkout"]])

    def test_old_files_have_no_names(self):
        path = self.write_rows("r.csv", [(0.1, 0.01, 200)])
        report, _ = self.run_json([path])
        self.assertNotIn("names", report)
        code, out, _ = self.run_main([path])
        self.assertNotIn("per name:", out)
        out_csv = os.path.join(self.dir, "out.csv")
        self.run_main([path, "--csv", out_csv])
        with open(out_csv) as f:
            self.assertTrue(f.readline().endswith(",error_pct\n"))

    def test_names_past_the_cap_are_summed_as_other(self):
        # keys kept past NAMES_MAX (3): the 3 of least key_rank(), the
        # pinned /4 and /pinned besides; the rest summed per kind
        kept = sorted([(b"GET", b"/%d" % i) for i in range(4)] +
                      [(b"timer", b"t%d" % i) for i in range(3)],
                      key=crunch.key_rank)[:3]
        self.assertEqual(kept, [(b"timer", b"t0"), (b"GET", b"/1"),
                                (b"GET", b"/0")])
        rows = [(0.01 * i, 0.001, 200, "", "GET", "/%d" % (i % 5))
                for i in range(50)]
        rows += [(0.6, 0.002, 200, "", "timer", "t%d" % i) for i in range(3)]
        rows += [(0.7, 0.003, 200, "", "GET", "/pinned")]
        path = self.write_named("r.csv", rows)
        argv = [path, "--json", "--fail-if", "requests{/pinned}>=1",
                "--fail-if", "requests{/4}>10"]
        with mock.patch.object(crunch, "NAMES_MAX", 3):
            code, out, err = self.run_main(argv)
        self.assertEqual(code, 3)
        self.assertEqual(err, "crunch: warning: more than 3 method and name"
                              " pairs: the per-name figures keep 3 of them"
                              " (by a hash of each, the same in every run)"
                              " and sum the rest as (other)\n")
        report = json.loads(out)
        got = [(n["method"], n["name"], n["requests"])
               for n in report["names"]]
        self.assertEqual(got, [("*", None, 20), ("GET", "/0", 10),
                               ("GET", "/1", 10), ("GET", "/4", 10),
                               ("GET", "/pinned", 1), ("timer", None, 2),
                               ("timer", "t0", 1)])
        self.assertTrue(report["names_lumped"])
        self.assertEqual([(t["expr"], t["value"], t["ok"])
                          for t in report["thresholds"]],
                         [("requests{/pinned}>=1", 1, True),
                          ("requests{/4}>10", 10, False)])
        with mock.patch.object(crunch, "NAMES_MAX", 3), \
                mock.patch.object(crunch, "RANGE_B", 300), \
                mock.patch.object(crunch, "RANGE_MIN_B", 50), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            self.assertEqual(self.run_main(argv + ["--processes", "2"])[1],
                             out)

    def test_interval_from_the_settings(self):
        rows = [(0.1 * i, 0.01, 200, "", "GET", "/") for i in range(10)]
        path = self.write_named("r.csv", rows, {"crunch_interval_s": 0.5})
        report, _ = self.run_json([path])
        self.assertEqual((report["interval_s"], len(report["intervals"])),
                         (0.5, 2))
        report, _ = self.run_json([path, "--interval", "1"])
        self.assertEqual(report["interval_s"], 1.0)
        self.write("r.csv.json", json.dumps({"crunch_interval_s": None}))
        self.assertEqual(self.run_json([path])[0]["interval_s"], 2.0)

    def test_html_has_the_names(self):
        rows = [(0.01 * i, 0.001 * (1 + i % 10), 200, "", "GET",
                 "/n%d" % (i % 10)) for i in range(400)]
        rows += [(0.02 * i, 0.005, 200, "", "timer", "step") for i in range(5)]
        path = self.write_named("r.csv", rows)
        out = os.path.join(self.dir, "r.html")
        code, _, err = self.run_main([path, "--html", out, "--interval", "1"])
        self.assertEqual((code, err), (0, ""))
        with open(out) as f:
            page = f.read()
        self.assertIn("<h3>Requests</h3>", page)
        self.assertIn("<h3>Timers</h3>", page)
        self.assertIn("p95 over time, busiest requests", page)
        self.assertIn("p95 over time, busiest timers", page)
        legend = re.findall(r"<text x=\"\d+\" y=\"\d+\">(GET /n\d|other)<",
                            page)
        self.assertEqual(len(legend), crunch.CHART_NAMES_MAX + 1)
        self.assertEqual(legend[-1], "other")
        with mock.patch.object(crunch, "RANGE_B", 2000), \
                mock.patch.object(crunch, "RANGE_MIN_B", 50), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            self.run_main([path, "--html", out, "--interval", "1",
                           "--processes", "2"])
        with open(out) as f:
            self.assertEqual(f.read(), page)


class ErrorRuleTest(NamesTestCase):
    """A row is an error when it has an error kind or a 5xx status; status
    0 alone only in a file without an error column."""

    def test_error_kind_or_5xx(self):
        rows = [(0.1, 0.010, 200, "", "GET", "/"),          # fine
                (0.2, 0.020, 200, "check", "GET", "/"),     # failed check
                (0.3, 0.030, 503, "", "GET", "/"),          # 5xx
                (0.4, 0.040, 503, "check", "GET", "/"),     # one error
                (0.5, 0.500, 0, "timeout", "GET", "/"),     # no latency
                (0.6, 0.060, 302, "redirects", "GET", "/")]
        path = self.write_named("r.csv", rows)
        report, _ = self.run_json([path])
        totals = report["totals"]
        self.assertEqual((totals["requests"], totals["errors"],
                          totals["responses"], totals["max_s"]),
                         (6, 5, 5, 0.06))
        self.assertEqual(report["errors"], {"total": 5, "5xx": 2,
                                            "transport": 1, "script": 2})
        self.assertEqual(report["script_errors"], {"check": 1,
                                                   "redirects": 1})
        code, out, _ = self.run_main([path])
        self.assertIn("status: 200 x 2, 302 x 1, 503 x 2; errors 5 (5xx: 2;"
                      " transport: timeout 1; failed by the script: check 1,"
                      " redirects 1)", out)

    def test_a_request_abandoned_at_the_sizing_stop_is_no_error(self):
        # hammer --sizing's timeouts after its stop: requests, with no
        # latency, no errors, and no error kind of a name
        rows = [(0.1, 0.010, 200, "", "GET", "/"),
                (0.2, 1.000, 0, "timeout", "GET", "/"),
                (0.3, 1.000, 0, "abandoned", "GET", "/"),
                (0.4, 1.000, 0, "abandoned", "GET", "/")]
        path = self.write_named("r.csv", rows)
        report, _ = self.run_json([path])
        totals = report["totals"]
        self.assertEqual((totals["requests"], totals["errors"],
                          totals["responses"], totals["max_s"]),
                         (4, 1, 1, 0.01))
        self.assertEqual(report["errors"]["total"], 1)
        self.assertEqual(report["transport_errors"], {"timeout": 1})
        self.assertEqual(report["names"][0]["errors"], 1)
        self.assertEqual(report["names"][0]["error_kinds"], {"timeout": 1})
        self.assertEqual(report["names"][0]["statuses"], {"0": 3, "200": 1})

    def test_timer_without_a_request_is_no_error(self):
        rows = [(0.1, 0.200, 0, "", "timer", "think"),      # no request
                (0.2, 0.300, 0, "script", "timer", "think"),
                (0.3, 0.100, 200, "", "timer", "think")]
        path = self.write_named("r.csv", rows)
        report, _ = self.run_json([path])
        think = report["names"][0]
        self.assertEqual((think["requests"], think["errors"],
                          think["responses"], think["max_s"]),
                         (3, 1, 2, 0.2))
        self.assertEqual(report["totals"]["requests"], 0)   # no requests

    def test_a_timer_with_an_empty_status(self):
        # hammer leaves a timer's status empty when its block got no
        # response: it reads as status 0 did there, never as a transport
        # error by its status, in the fast path and line by line (a
        # malformed line sends its block there), per name and under --name
        rows = [(0.1, 0.200, 0, "", "timer", "think"),      # no request
                (0.2, 0.300, 0, "script", "timer", "think"),
                (0.3, 0.100, 200, "", "timer", "think"),
                (0.4, 0.010, 200, "", "GET", "/a")]
        empty = [r[:2] + ("" if r[2] == 0 else r[2],) + r[3:] for r in rows]
        for junk in ("", "not,a,row\n"):
            with self.subTest(junk=junk):
                zero = self.write_named("zero.csv", rows)
                new = self.write_named("empty.csv", empty)
                for path in (zero, new):
                    with open(path, "a") as f:
                        f.write(junk)
                with open(new) as f:
                    self.assertIn("\n0.100000,0.200000,,1,,,timer,think\n",
                                  f.read())
                for extra in ([], ["--name", "think"]):
                    want, _ = self.run_json([zero] + extra)
                    got, err = self.run_json([new] + extra)
                    self.assertEqual(got["names"], want["names"])
                    self.assertEqual(got["totals"], want["totals"])
                    self.assertEqual(got["malformed"], 1 if junk else 0)
                    self.assertEqual(err.count("malformed"), 1 if junk else 0)
                think = self.by_key(got)[("timer", "think")]
                self.assertEqual((think["requests"], think["errors"],
                                  think["responses"]), (3, 1, 2))
        # without an error column, an empty status is no status at all
        bare = self.write("bare.csv", "elapsed,response_time,status\n"
                          "0.1,0.2,\n0.2,0.1,200\n")
        report, err = self.run_json([bare])
        self.assertEqual((report["rows"], report["malformed"]), (1, 1))

    def test_status_0_without_a_kind(self):
        five = self.write("five.csv", HEADER + row(0.1, 0.2, 0, 0, "") +
                          row(0.2, 0.1, 200))
        report, _ = self.run_json([five])
        self.assertEqual((report["totals"]["errors"],
                          report["totals"]["responses"]), (0, 2))
        three = self.write("three.csv", "0.1,0.2,0\n0.2,0.1,200\n")
        report, _ = self.run_json([three])
        self.assertEqual((report["totals"]["errors"],
                          report["totals"]["responses"]), (1, 1))


class FileRuleTest(NamesTestCase):
    """crunch applies the error rule the file's settings record (hammer's
    error_rule), and a file without one reads as it did before hammer
    recorded it."""

    ROWS = [(0.1, 0.010, 200, "", "GET", "/"),
            (0.2, 0.020, 404, "", "GET", "/nope"),          # 4xx
            (0.3, 0.030, 409, "", "GET", "/taken"),         # --ok-status 409
            (0.4, 0.040, 404, "accepted", "GET", "/gone"),  # ok_status=
            (0.5, 0.050, 503, "", "GET", "/"),              # 5xx
            (0.6, 0.060, 200, "check", "GET", "/"),         # response.fail()
            (0.7, 0.700, 0, "timeout", "GET", "/"),         # transport
            (0.8, 0.080, 0, "ZeroDivisionError", "task", "divide"),
            (1.2, 0.020, 0, "KeyError", "task", "divide"),
            (1.5, 0.090, 200, "", "timer", "t")]
    RULE = {"status_from": 400, "ok_status": [409]}

    def crunch(self, settings):
        path = self.write_named("r.csv", self.ROWS, settings)
        report, _ = self.run_json([path, "--interval", "1"])
        code, out, _ = self.run_main([path, "--interval", "1",
                                      "--fail-if", "errors<50%"])
        return report, code, out

    def test_the_rule_of_a_new_file(self):
        report, code, out = self.crunch({"error_rule": self.RULE})
        totals = report["totals"]
        # 7 requests; errors 404, 503, check, timeout and the 2 tasks: 6
        # of 9 (requests and failed tasks)
        self.assertEqual((totals["requests"], totals["errors"],
                          totals["failed_tasks"]), (7, 6, 2))
        self.assertEqual(totals["error_pct"], round(100.0 * 6 / 9, 6))
        self.assertEqual([(r["requests"], r["errors"], r.get("failed_tasks"))
                          for r in report["intervals"]],
                         [(7, 5, 1), (0, 1, 1)])
        self.assertEqual(report["errors"], {
            "total": 6, "5xx": 1, "transport": 1, "script": 1, "4xx": 1,
            "tasks": 2})
        self.assertEqual(report["task_errors"], {"KeyError": 1,
                                                 "ZeroDivisionError": 1})
        names = self.by_key(report)
        self.assertEqual([(names[k]["requests"], names[k]["errors"]) for k in
                          (("GET", "/nope"), ("GET", "/taken"),
                           ("GET", "/gone"), ("task", "divide"))],
                         [(1, 1), (1, 0), (1, 0), (2, 2)])
        self.assertEqual(code, 3)
        self.assertIn("status: 200 x 2, 404 x 2, 409 x 1, 503 x 1; errors 6"
                      " (4xx: 1; 5xx: 1; transport: timeout 1; failed by the"
                      " script: check 1; tasks: KeyError 1, ZeroDivisionError"
                      " 1)\n", out)
        self.assertIn("threshold   errors<50%: 66.67% FAILED\n", out)

    def test_the_rule_with_no_ok_status(self):
        report, _, _ = self.crunch({"error_rule": {"status_from": 400,
                                                   "ok_status": []}})
        self.assertEqual(report["errors"]["4xx"], 2)    # 409 too
        self.assertEqual(report["totals"]["errors"], 7)

    def test_a_file_without_a_rule_reads_as_it_did(self):
        # (an 'accepted' row, which only a file of the rule has, is no
        # error even when its settings are missing)
        for settings in ({"hammer": "0.1.0", "duration_s": 1.5}, None):
            with self.subTest(settings=settings):
                report, code, out = self.crunch(settings)
                totals = report["totals"]
                # 503, check and timeout; no 4xx, no task in the totals
                self.assertEqual((totals["requests"], totals["errors"]),
                                 (7, 3))
                self.assertNotIn("failed_tasks", totals)
                self.assertEqual(totals["error_pct"], round(100.0 * 3 / 7, 6))
                self.assertEqual(report["errors"], {
                    "total": 3, "5xx": 1, "transport": 1, "script": 1})
                self.assertNotIn("task_errors", report)
                self.assertEqual(code, 0)
                self.assertIn("status: 200 x 2, 404 x 2, 409 x 1, 503 x 1;"
                              " errors 3 (5xx: 1; transport: timeout 1;"
                              " failed by the script: check 1)\n", out)
                self.assertIn("threshold   errors<50%: 42.86% ok\n", out)

    def test_each_input_under_its_own_rule(self):
        new = self.write_named("new.csv", self.ROWS, {"error_rule": self.RULE})
        old = self.write_named("old.csv", self.ROWS, {"hammer": "0.1.0"})
        report, _ = self.run_json([new, old])
        self.assertEqual((report["totals"]["requests"],
                          report["totals"]["errors"]), (14, 9))


class NameOptionTest(NamesTestCase):

    ROWS = [(0.1, 0.010, 200, "", "GET", "/a"),
            (0.2, 0.020, 200, "", "GET", "/b"),
            (0.3, 0.030, 200, "", "POST", "/b"),
            (0.4, 0.400, 200, "", "timer", "/b"),
            (0.5, 0.001, 0, "check", "task", "run")]

    def test_name_limits_every_output(self):
        path = self.write_named("r.csv", self.ROWS)
        report, err = self.run_json([path, "--name", "/b", "--name", "run"])
        self.assertEqual(err, "")
        self.assertEqual(report["name_filter"], ["/b", "run"])
        self.assertEqual([(n["method"], n["name"]) for n in report["names"]],
                         [("GET", "/b"), ("POST", "/b"), ("timer", "/b"),
                          ("task", "run")])
        totals = report["totals"]
        self.assertEqual((totals["requests"], totals["errors"],
                          totals["responses"], totals["max_s"]),
                         (4, 1, 3, 0.4))
        code, out, _ = self.run_main([path, "--name", "/b"])
        self.assertEqual(out.splitlines()[1], "names: /b (3 rows)")

    def test_name_without_rows(self):
        path = self.write_named("r.csv", self.ROWS)
        code, out, err = self.run_main([path, "--name", "/a", "--name",
                                        "/nope"])
        self.assertEqual((code, err), (0, "crunch: warning: no rows named"
                                          " '/nope'\n"))
        code, out, err = self.run_main([path, "--name", "/nope"])
        self.assertEqual((code, out, err), (1, "", "crunch: error: no rows"
                                                " named '/nope'\n"))

    def test_bad_name_is_bad_usage(self):
        path = self.write_named("r.csv", self.ROWS)
        code, _, err = self.run_main([path, "--name", "a\nb"])
        self.assertEqual(code, 2)
        self.assertEqual(err, "crunch: error: --name 'a\\nb': a name is a"
                              " request's, a timer's or a task's, without"
                              " control characters\ntry 'crunch.py --help'\n")


class NamedThresholdTest(NamesTestCase):

    ROWS = ([(0.01 * i, 0.010, 200, "", "GET", "/a") for i in range(20)] +
            [(0.01 * i, 0.200, 200, "", "timer", "a b:{c}")
             for i in range(10)] +
            [(0.5, 0.3, 503, "", "GET", "/a")])

    def test_lines_and_exit_codes(self):
        path = self.write_named("r.csv", self.ROWS, {"duration_s": 1.0})
        code, out, _ = self.run_main([
            path, "--fail-if", "p95{/a}<20ms", "--fail-if",
            "p95{a b:{c}}<100ms", "--fail-if", "errors{/a}<5%",
            "--fail-if", "rps{a b:{c}}>=10", "--fail-if", "p95<1s"])
        self.assertEqual(code, 3)
        self.assertEqual(out.splitlines()[-5:], [
            "threshold   p95{/a}<20ms: 10.0ms ok",
            "threshold   p95{a b:{c}}<100ms: 200ms FAILED",
            "threshold   errors{/a}<5%: 4.76% ok",
            "threshold   rps{a b:{c}}>=10: 10.0 ok",
            "threshold   p95<1s: 10.0ms ok"])
        code, out, _ = self.run_main([path, "--fail-if", "p95{/a}<20ms",
                                      "--fail-if", "requests{a b:{c}}>=10"])
        self.assertEqual(code, 0)

    def test_a_name_without_rows_fails(self):
        path = self.write_named("r.csv", self.ROWS)
        code, out, _ = self.run_main([path, "--fail-if", "p95{/b}<1s"])
        self.assertEqual((code, out.splitlines()[-1]), (
            3, "threshold   p95{/b}<1s: no rows of that name FAILED"))
        report = json.loads(self.run_main([path, "--json", "--fail-if",
                                           "p95{/b}<1s"])[1])
        self.assertEqual(report["thresholds"], [
            {"expr": "p95{/b}<1s", "value": None, "ok": False}])

    def test_every_method_of_a_name(self):
        rows = [(0.1, 0.010, 200, "", "GET", "/x"),
                (0.2, 0.030, 500, "", "POST", "/x")]
        path = self.write_named("r.csv", rows)
        report = json.loads(self.run_main([path, "--json", "--fail-if",
                                           "requests{/x}>=2", "--fail-if",
                                           "errors{/x}<=50%", "--fail-if",
                                           "max{/x}<=30ms"])[1])
        self.assertEqual([(t["value"], t["ok"])
                          for t in report["thresholds"]],
                         [(2, True), (50.0, True), (0.03, True)])


class CompareNamesTest(NamesTestCase):

    def make(self, name, slow_b=1.0):
        rows = [(0.01 * i, 0.010 + 0.0001 * (i % 10), 200, "", "GET", "/a")
                for i in range(200)]
        rows += [(0.01 * i, (0.020 + 0.0001 * (i % 10)) * slow_b, 200, "",
                  "GET", "/b") for i in range(200)]
        return self.write_named(name, rows, {"duration_s": 3.0})

    def test_a_slower_name_is_a_regression(self):
        base = self.make("base.csv")
        run = self.make("run.csv", slow_b=1.5)
        code, out, _ = self.run_main([run, "--compare", base,
                                      "--tolerance", "40"])
        self.assertEqual(code, 1)
        lines = out.splitlines()
        start = lines.index("per name, compared with %s:" % base)
        self.assertEqual([l.split() for l in lines[start + 1:start + 4]], [
            ["method", "name", "req/s", "mean", "p50", "p90", "p95", "p99",
             "errors", "%"],
            ["GET", "/a", "+0.0%", "+0.0%", "+0.0%", "+0.0%", "+0.0%",
             "+0.0%", "+0.0%", "ok"],
            ["GET", "/b", "+0.0%", "+50.0%", "+50.0%", "+50.0%", "+50.0%",
             "+50.0%", "+0.0%", "REGRESSION"]])
        report = json.loads(self.run_main([run, "--compare", base, "--json",
                                           "--tolerance", "40"])[1])
        self.assertEqual([(c["name"], c["verdict"])
                          for c in report["compare_names"]],
                         [("/a", "ok"), ("/b", "regression")])
        p50 = report["compare_names"][1]["metrics"][3]
        self.assertEqual((p50["key"], p50["base"], p50["run"],
                          p50["verdict"]),
                         ("p50_s", 0.0204, 0.0306, "regression"))
        self.assertAlmostEqual(p50["change_pct"], 50.0, places=9)

    def test_new_and_gone_names(self):
        base = self.write_named("base.csv", [(0.1, 0.01, 200, "", "GET", "/a"),
                                             (0.2, 0.01, 200, "", "GET",
                                              "/old")])
        run = self.write_named("run.csv", [(0.1, 0.01, 200, "", "GET", "/a"),
                                           (0.2, 0.01, 200, "", "GET",
                                            "/new")])
        report = json.loads(self.run_main([run, "--compare", base,
                                           "--json"])[1])
        self.assertEqual([(c["name"], c["verdict"])
                          for c in report["compare_names"]],
                         [("/a", "ok"), ("/new", "new"), ("/old", "gone")])


class QuotedRecordTest(CrunchTestCase):
    """Records a quoted field keeps open over several lines."""

    def tally(self, text, sizes=(1, 2, 5, 1000)):
        """The facts of a Tally fed text in blocks of each size in lines;
        all the same."""
        fmt = crunch.parse_first_line(HEADER8.rstrip("\n").encode())[0]
        lines = text.encode().splitlines(True)
        facts = None
        for size in sizes:
            tally = crunch.Tally(fmt, 2.0)
            for i in range(0, len(lines), size):
                tally.add_block(b"".join(lines[i:i + size]))
            got = tally_facts(tally)[0][:5] + (
                [(k, b.requests) for k, b in tally.names.entries.items()],)
            if facts is not None:
                self.assertEqual(got, facts, size)
            facts = got
        return facts

    def test_a_quote_left_open_spoils_its_first_line_only(self):
        text = ('0.1,0.01,200,1,,,GET,"open\n' + '0.2,0.01,200,1,,,GET,/a\n'
                '0.3,0.01,200,1,,,GET,/b\n')
        lines, rows, malformed, first_bad, truncated, names = self.tally(text)
        self.assertEqual((lines, rows, malformed, first_bad, truncated),
                         (3, 2, 1, 1, None))
        self.assertEqual(names, [((b"GET", b"/a"), 1), ((b"GET", b"/b"), 1)])

    def test_a_quote_pairs_with_the_next_one_as_the_csv_module_reads(self):
        text = ('0.1,0.01,200,1,,,GET,"open\n' + '0.2,0.01,200,1,,,GET,/a\n'
                '0.3,0.01,200,1,,,GET,"x\ny"\n')
        # the name runs from "open to x" (then x follows its close quote):
        # one record of lines 1 to 3, malformed, and line 4 another
        self.assertEqual(self.tally(text), (4, 0, 2, 1, None, []))

    def test_a_quote_closed_then_more_is_malformed(self):
        text = ('0.1,0.01,200,1,,,GET,"a"b\n' + '0.2,0.01,200,1,,,GET,"a"\n')
        self.assertEqual(self.tally(text)[:4], (2, 1, 1, 1))

    def test_a_record_open_past_the_line_bound(self):
        text = ('0.1,0.01,200,1,,,GET,"long\n' +
                '0.2,0.01,200,1,,,GET,/a\n' * 10)
        with mock.patch.object(crunch, "LINE_MAX_B", 100):
            facts = self.tally(text)
        self.assertEqual(facts[:4], (11, 10, 1, 1))

    def test_a_truncated_quoted_last_line(self):
        text = '0.1,0.01,200,1,,,GET,/a\n0.2,0.01,200,1,,,GET,"cut'
        self.assertEqual(self.tally(text)[:5], (2, 1, 0, None, 2))
        text = '0.1,0.01,200,1,,,GET,/a\n0.2,0.01,200,1,,,GET,"x\ny"'
        self.assertEqual(self.tally(text)[:5], (3, 2, 0, None, None))

    def test_header_less_big_file_in_processes_keeps_its_first_row(self):
        path = self.write("r.csv", "".join("%.6f,0.001000,200\n" % (0.01 * i)
                                           for i in range(3000)))
        with mock.patch.object(crunch, "RANGE_B", 2000), \
                mock.patch.object(crunch, "RANGE_MIN_B", 500), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            report, _ = self.run_json([path, "--processes", "2"])
        self.assertEqual(report["rows"], 3000)


# --- fuzzing ---------------------------------------------------------------

FUZZ_PARSER_EXAMPLES = 150      # per run: fixed, and derandomized
FUZZ_READER_EXAMPLES = 100
FUZZ_PLAIN_EXAMPLES = 30
FUZZ_OPEN_EXAMPLES = 60
FUZZ_BYTES = (b"0", b"7", b"9", b".", b",", b"-", b"+", b"e", b"E", b"n",
              b"a", b"i", b"f", b" ", b"\t", b"\r", b"\x00", b"_", b"\xff",
              b"1e309", b"nan", b"inf", b"-0", b"999", b"0x1")
FUZZ_WIDTHS_S = (0.001, 0.3, 1 / 3.0, 2.0, 7.0)
FUZZ_NODES = (b"1", b"1", b"2", b"3", b"1000", b"0", b"", b"01", b"x",
              b"1001", b"+1")
FUZZ_KINDS = ("", "timeout", "reset", "connect", "protocol", "7", "-x",
              "check", "script")
FUZZ_METHODS = (b"GET", b"GET", b"POST", b"timer", b"task", b"")
FUZZ_NAMES = (b"/", b"/", b"/a", b"x y", b"{b}", b'"a,b"', b'"q""x"',
              b'"two\nlines"', b'"', b'a"b')


class SlowTally(crunch.Tally):
    """A Tally that never takes the fast path: line by line, parse_line."""

    fast = False


def tally_facts(tally):
    """What a Tally knows, as plain values; the histograms' sums apart
    (their last bits depend on the order of the additions).  Interval
    buckets are keyed by number, stage buckets by ("stage", number), and
    the corrected latency's histograms by ("corrected", key)."""
    tally.freeze()
    buckets, sums = {}, {}
    every = [(n, b) for n, b in tally.buckets.items()] + [
        (("stage", n), b) for n, b in tally.stages.items()]
    for key, bucket in every:
        hist = bucket.peek()
        buckets[key] = (bucket.requests, bucket.errors, dict(hist.counts),
                        hist.n, hist.min, hist.max)
        sums[key] = hist.total
        if bucket.corrected is not None:
            hist = bucket.corrected.peek()
            buckets["corrected", key] = (dict(hist.counts), hist.n,
                                         hist.min, hist.max)
            sums["corrected", key] = hist.total
    names = []
    for key, bucket in tally.names.entries.items():
        hist = bucket.peek()
        names.append((key, bucket.requests, bucket.errors, dict(hist.counts),
                      hist.n, hist.min, hist.max,
                      dict(tally.names.kinds.get(key, {}))))
        sums["name", key] = hist.total
    nodes = {}
    for node, bucket in tally.nodes.entries.items():
        hists = [bucket.peek()] + ([bucket.corrected.peek()]
                                   if bucket.corrected is not None else [])
        nodes[node] = (bucket.requests, bucket.errors) + tuple(
            (dict(h.counts), h.n, h.min, h.max) for h in hists)
        sums["node", node] = hists[0].total
    reader, counts = tally.reader, tally.counts
    facts = (reader.lines, tally.rows, reader.malformed, reader.first_bad,
             reader.truncated, dict(counts.statuses), dict(counts.kinds),
             tally.min_elapsed, tally.max_elapsed, tally.last_end, buckets,
             sorted(tally.sample or []), counts.scheduled_rows,
             dict(counts.checked), counts.counted, dict(counts.classes), names,
             nodes)
    return facts, sums


class FuzzTest(HypothesisTestCase):
    """Property tests with hypothesis: random and mutated lines give the
    same counts through the fast path (crunch.fast_columns) as line by line
    (parse_line), for every block size, and nothing raises but
    crunch.InputError; the line reader gives the same lines for every
    read size and byte range.  A fixed number of derandomized examples:
    FUZZ_PARSER_EXAMPLES + FUZZ_READER_EXAMPLES + FUZZ_PLAIN_EXAMPLES +
    FUZZ_OPEN_EXAMPLES per run."""

    fuzzed = "crunch's parser and reader"

    def lines(self):
        """Rows as hammer and others write them, some mutated, and junk."""
        st = self.st
        seconds = st.one_of(
            st.integers(0, 10 ** 8).map(lambda u: u / 1e6),
            st.floats(0, 200, allow_nan=False),
            st.sampled_from((0.0, 1e-7, 0.0274500001, 1e6, 2e8, 1e9, 5e9)))
        form = st.sampled_from((b"%.6f", b"%.3f", b"%r", b"%.0f", b"%.2e"))

        @st.composite
        def line(draw):
            elapsed, rt = draw(seconds), draw(seconds)
            scheduled = draw(st.sampled_from((None, "late", "any")))
            if scheduled == "late":
                scheduled = max(0.0, elapsed - draw(seconds))
            elif scheduled == "any":
                scheduled = draw(seconds)
            fields = [draw(form) % elapsed, draw(form) % rt,
                      b"%d" % draw(st.sampled_from(
                          (200, 200, 200, 0, 503, 404, 100, 999, 99, 1000))),
                      b"%d" % draw(st.integers(0, 9999)),
                      draw(st.sampled_from(FUZZ_KINDS)).encode(),
                      b"" if scheduled is None else draw(form) % scheduled,
                      draw(st.sampled_from(FUZZ_METHODS)),
                      draw(st.sampled_from(FUZZ_NAMES)),
                      draw(st.sampled_from(FUZZ_NODES))]
            if draw(st.booleans()):
                fields[:2] = [b"%.6f" % elapsed, b"%.6f" % rt]
                if scheduled is not None:
                    fields[5] = b"%.6f" % scheduled
            text = b",".join(fields[:draw(st.sampled_from(
                (5, 5, 5, 3, 4, 6, 6, 7, 8, 8, 8, 9, 9)))])
            for _ in range(draw(st.integers(0, 3))):
                at = draw(st.integers(0, len(text)))
                op = draw(st.sampled_from("ird"))
                if op == "d":
                    text = text[:at] + text[at + 1:]
                else:
                    piece = draw(st.sampled_from(FUZZ_BYTES))
                    text = text[:at] + piece + text[at + (op == "r"):]
            return text

        junk = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b""))
        header = st.sampled_from((HEADER.rstrip("\n").encode(),
                                  HEADER6.rstrip("\n").encode(),
                                  HEADER8.rstrip("\n").encode(),
                                  HEADER9.rstrip("\n").encode()))
        return st.one_of(line(), line(), line(), junk, header, st.just(b""))

    def test_fast_path_agrees_with_line_by_line(self):
        st = self.st
        fmts = {5: crunch.parse_first_line(HEADER.rstrip("\n").encode())[0],
                6: crunch.parse_first_line(HEADER6.rstrip("\n").encode())[0],
                8: crunch.parse_first_line(HEADER8.rstrip("\n").encode())[0],
                9: crunch.parse_first_line(HEADER9.rstrip("\n").encode())[0],
                3: crunch.Format(3)}

        @self.settings(FUZZ_PARSER_EXAMPLES)
        @self.hypothesis.given(
            st.lists(self.lines(), min_size=1, max_size=12),
            st.sampled_from(FUZZ_WIDTHS_S),
            st.sampled_from((5, 5, 3, 6, 6, 8, 8, 8, 9, 9)),
            st.booleans(), st.booleans(),
            st.sampled_from((None, None, [], [0.5, 3.0], [1e-6, 150.0])))
        def check(lines, width, ncols, final_newline, sample, edges):
            chunks = [l + b"\n" for l in lines]     # lines end at b"\n" only
            if not final_newline:
                chunks[-1] = lines[-1]      # a last line without a newline
                if not chunks[-1]:
                    del chunks[-1]
            want = self.crunched(SlowTally, fmts[ncols], width, sample, chunks,
                                 edges)
            if want[0] != "InputError":     # the last end, added up here
                items = crunch.records(b"".join(chunks).replace(
                    b"\r\n", b"\n"), True)[0]
                rows = [crunch.parse_line(r, fmts[ncols])
                        for _, r in items if r is not None]
                self.assertEqual(want[0][9], max(
                    [0.0] + [r[0] + r[1] for r in rows if r]))
            for size in (1, 2, 3, 7, max(1, len(chunks))):
                blocks = [b"".join(chunks[i:i + size])
                          for i in range(0, len(chunks), size)]
                got = self.crunched(crunch.Tally, fmts[ncols], width, sample,
                                    blocks, edges)
                self.assertEqual(got[0], want[0], size)
                for number, total in want[1].items():
                    self.assertTrue(math.isclose(got[1][number], total,
                                                 rel_tol=1e-9, abs_tol=1e-12))
        check()

    def crunched(self, cls, fmt, width, sample, blocks, edges=None):
        tally = cls(fmt, width, sample, edges)
        try:
            for block in blocks:
                tally.add_block(block)
        except crunch.InputError:   # its text names the span seen so far
            return "InputError", {}
        return tally_facts(tally)

    def test_fast_path_takes_plain_hammer_rows(self):
        st = self.st
        header = st.sampled_from((HEADER, HEADER6, HEADER6, HEADER8,
                                  HEADER8, HEADER9, HEADER9))
        micros = st.integers(0, 10 ** 9)
        named = st.sampled_from((",GET,/", ",POST,/items/[id]", ",timer,t",
                                 ",task,run"))

        @self.settings(FUZZ_PLAIN_EXAMPLES)
        @self.hypothesis.given(header, st.booleans(), st.lists(st.tuples(
            micros, micros, st.sampled_from((200, 0, 503, 301)),
            st.sampled_from(("", "timeout", "check")), micros, named,
            st.sampled_from((",1", ",1", ",2", ",1000"))),
            min_size=1, max_size=60),
            st.sampled_from((0.0, 0.0, 0.3, 1.234567, 86400.000001)))
        def check(header, open_model, rows, offset_s):
            fmt = crunch.parse_first_line(header.rstrip("\n").encode())[0]
            line = "%.6f,%.6f,%d,1,%s\n"
            if fmt.scheduled is not None:   # the closed or the open model
                line = line[:-1] + (",%.6f\n" if open_model else ",\n")
            block = "".join((line % ((e / 1e6, t / 1e6, s, k) + (
                (max(0, e - late) / 1e6,) if "%.6f\n" in line else ())))[:-1]
                + (key if fmt.named else "")
                + (node if fmt.node is not None else "") + "\n"
                for e, t, s, k, late, key, node in rows).encode()
            self.assertIsNotNone(crunch.fast_columns(block, len(rows), fmt))
            tally = crunch.Tally(fmt, 2.0, stage_edges=[1.0],
                                 offset_s=offset_s)
            tally.add_block(block)
            slow = SlowTally(fmt, 2.0, stage_edges=[1.0], offset_s=offset_s)
            slow.add_block(block)
            self.assertEqual(tally_facts(tally)[0], tally_facts(slow)[0])
            moved = [float("%.6f" % (e / 1e6 + offset_s)) for e, *_ in rows]
            self.assertEqual((tally.min_elapsed, tally.max_elapsed),
                             (min(moved), max(moved)))
        check()

    def test_open_rows_fast_path_agrees_with_line_by_line(self):
        """Whole 6-column lines, so that blocks reach the fast path's
        scheduled column: on time, late, sent before their slot, empty,
        not a number, in hammer's microseconds or other forms."""
        st = self.st
        fmt = crunch.parse_first_line(HEADER6.rstrip("\n").encode())[0]
        seconds = st.one_of(st.integers(0, 10 ** 8).map(lambda u: u / 1e6),
                            st.floats(0, 200, allow_nan=False))
        form = st.sampled_from((b"%.6f", b"%.6f", b"%.3f", b"%r", b"%.2e"))

        @st.composite
        def line(draw):
            elapsed, rt = draw(seconds), draw(seconds)
            kind = draw(st.sampled_from(("late", "late", "late", "early",
                                         "none", "junk")))
            scheduled = {"late": max(0.0, elapsed - draw(seconds)),
                         "early": elapsed + draw(seconds)}.get(kind)
            forms = [draw(form)] * 3 if draw(st.booleans()) else [
                draw(form), draw(form), draw(form)]
            last = (b"" if kind == "none" else draw(st.sampled_from(
                (b"nan", b"-1.0", b"x", b" "))) if kind == "junk"
                else forms[2] % scheduled)
            return b"%s,%s,%d,1,%s,%s" % (
                forms[0] % elapsed, forms[1] % rt,
                draw(st.sampled_from((200, 200, 0, 503))),
                draw(st.sampled_from((b"", b"timeout"))), last)

        @self.settings(FUZZ_OPEN_EXAMPLES)
        @self.hypothesis.given(
            st.lists(line(), min_size=1, max_size=12),
            st.sampled_from(FUZZ_WIDTHS_S),
            st.sampled_from((None, [0.5, 3.0])))
        def check(lines, width, edges):
            chunks = [l + b"\n" for l in lines]
            want = self.crunched(SlowTally, fmt, width, False, chunks, edges)
            for size in (1, 3, len(chunks)):
                blocks = [b"".join(chunks[i:i + size])
                          for i in range(0, len(chunks), size)]
                got = self.crunched(crunch.Tally, fmt, width, False, blocks,
                                    edges)
                self.assertEqual(got[0], want[0], size)
                for key, total in want[1].items():
                    self.assertTrue(math.isclose(got[1][key], total,
                                                 rel_tol=1e-9, abs_tol=1e-12))
        check()

    def test_reader_gives_the_same_lines_for_every_read_and_range(self):
        st = self.st
        line = st.one_of(st.binary(max_size=12), st.binary(max_size=60))

        @self.settings(FUZZ_READER_EXAMPLES)
        @self.hypothesis.given(
            st.lists(line.map(lambda b: b.replace(b"\n", b"")), max_size=20),
            st.booleans(), st.integers(1, 70),
            st.lists(st.integers(0, 10 ** 4), max_size=6))
        def check(lines, final_newline, read_b, cuts):
            text = b"\n".join(lines) + (b"\n" if final_newline and lines
                                        else b"")
            want = [l if len(l) <= 24 else None
                    for l in (text[:-1] if text.endswith(b"\n")
                              else text).split(b"\n")] if text else []
            with mock.patch.object(crunch, "LINE_MAX_B", 24), \
                    mock.patch.object(crunch, "READ_BLOCK_B", read_b):
                got = self.lines_of(crunch.read_blocks(io.BytesIO(text)))
                self.assertEqual(got, want)
                edges = sorted(set([0, len(text)] +
                                   [c % (len(text) + 1) for c in cuts]))
                f = io.BytesIO(text)
                got = []
                for start, stop in zip(edges, edges[1:]):
                    got += self.lines_of(crunch.range_blocks(f, start, stop))
                self.assertEqual(got, want)
        check()

    @staticmethod
    def lines_of(blocks):
        out = []
        for block in blocks:
            if block is None:
                out.append(None)
            else:
                out += (block[:-1] if block.endswith(b"\n")
                        else block).split(b"\n")
        return out


class ReadmeTest(unittest.TestCase):
    """README.md's crunch options table stays true to --help."""

    def test_every_option_is_in_the_readme(self):
        with open(os.path.join(HERE, "README.md")) as f:
            readme = f.read()
        section = readme[readme.index("## crunch.py"):]
        self.assertGreater(len(assert_options_listed(
            self, crunch.build_parser(), section, r"\n\| `%s[ `]")), 6)

    def test_the_docstring_lists_the_sections(self):
        self.assertGreater(len(assert_sections_listed(self, crunch, CRUNCH)),
                           8)

    def test_reliability_figures(self):
        with open(os.path.join(HERE, "README.md")) as f:
            readme = f.read()
        section = readme.split("## Reliability")[1].split("\n## ")[0]
        self.assertIn("**%d fuzz cases** per Python" % (
            FUZZ_PARSER_EXAMPLES + FUZZ_READER_EXAMPLES
            + FUZZ_PLAIN_EXAMPLES + FUZZ_OPEN_EXAMPLES), section)
        self.assertIn("**%d bad inputs**" % len(FailureTest.BAD_INPUTS),
                      section)



EPOCH_S = 1795000000.0          # an instant for --start-at's settings


def node_settings(started_s, start_at_s=EPOCH_S, **more):
    """A settings file of a run started with --start-at: elapsed 0 is
    EPOCH_S + started_s."""
    settings = {"start_at_epoch_s": start_at_s,
                "started_epoch_s": round(EPOCH_S + started_s, 6),
                "duration_s": 2.0}
    settings.update(more)
    return settings


class AlignTest(CrunchTestCase):
    """Inputs run with --start-at are aligned on their started_epoch_s."""

    A = [(0.1, 0.01, 200), (0.8, 0.01, 200), (1.5, 0.01, 200)]
    B = [(0.1, 0.01, 200), (0.7, 0.01, 503), (1.5, 0.01, 200)]

    def write_node(self, name, rows, settings):
        path = self.write_rows(name, rows)
        if settings is not None:
            self.write(name + ".json", json.dumps(settings))
        return path

    def counts(self, report):
        return [(r["start_s"], r["requests"], r["errors"])
                for r in report["intervals"]]

    def test_a_node_started_late_lands_later(self):
        a = self.write_node("a.csv", self.A, node_settings(0.0))
        b = self.write_node("b.csv", self.B, node_settings(0.3))
        report, err = self.run_json([a, b, "--interval", "1"])
        self.assertEqual(err, "")
        # b's rows at 0.4, 1.0 (0.7 + 0.3, not 0.99999...) and 1.8
        self.assertEqual(self.counts(report), [(0.0, 3, 0), (1.0, 3, 1)])
        self.assertEqual(report["offsets_s"], [0.0, 0.3])
        self.assertEqual((report["end_s"], report["end_from"]),
                         (2.3, "duration_s"))       # b's 2.0 s, 0.3 s late
        self.assertEqual(report["totals"]["width_s"], 2.3)
        code, out, _ = self.run_main([a, b, "--interval", "1"])
        self.assertEqual(out.splitlines()[1],
                         "aligned on started_epoch_s: %s +0s, %s +0.3s"
                         % (a, b))
        page = os.path.join(self.dir, "r.html")
        self.assertEqual(self.run_main([a, b, "--html", page])[0], 0)
        with open(page) as f:
            self.assertIn("<p>aligned on started_epoch_s: %s +0s, %s +0.3s"
                          "</p>" % (a, b), f.read())

    def test_the_earliest_start_is_zero_whatever_the_order(self):
        a = self.write_node("a.csv", self.A, node_settings(0.25))
        b = self.write_node("b.csv", self.B, node_settings(-0.05))
        report, _ = self.run_json([a, b, "--interval", "0.5"])
        self.assertEqual(report["offsets_s"], [0.3, 0.0])
        # a at 0.4, 1.1, 1.8; b at 0.1, 0.7, 1.5
        self.assertEqual(self.counts(report), [
            (0.0, 2, 0), (0.5, 1, 1), (1.0, 1, 0), (1.5, 2, 0)])

    def test_files_without_start_at_are_not_moved(self):
        a = self.write_node("a.csv", self.A, node_settings(0.0))
        b = self.write_node("b.csv", self.B, node_settings(0.3))
        plain = self.write_node("c.csv", self.B, None)
        older = self.write_node("d.csv", self.B, {
            "started_epoch_s": EPOCH_S + 0.3, "duration_s": 2.0})
        unset = self.write_node("e.csv", self.B, node_settings(
            0.3, start_at_s=None))
        report, err = self.run_json([a, b, plain, older, unset,
                                     "--interval", "1"])
        self.assertEqual(err, "")
        self.assertEqual(report["offsets_s"], [0.0, 0.3, None, None, None])
        # three copies of B where they are: 0.1, 0.7 | 1.5
        self.assertEqual(self.counts(report), [(0.0, 9, 3), (1.0, 6, 1)])

    def test_one_file_alone_is_not_moved(self):
        b = self.write_node("b.csv", self.B, node_settings(0.3))
        alone, err = self.run_json([b, "--interval", "1"])
        self.assertEqual((alone["offsets_s"], err), ([0.0], ""))
        self.write("b.csv.json", json.dumps({"duration_s": 2.0}))
        bare, _ = self.run_json([b, "--interval", "1"])
        self.assertEqual(alone["intervals"], bare["intervals"])
        self.assertEqual(alone["totals"], bare["totals"])

    def test_start_at_that_differ_are_named_in_a_warning(self):
        a = self.write_node("a.csv", self.A, node_settings(0.0))
        b = self.write_node("b.csv", self.B, node_settings(
            0.75, start_at_s=EPOCH_S + 0.5))
        c = self.write_node("c.csv", self.A, None)
        report, err = self.run_json([a, b, c, "--interval", "1"])
        self.assertEqual(err, "crunch: warning: %s, %s: start_at_epoch_s"
                              " differ by 500ms (not one --start-at): rows"
                              " aligned on each one's started_epoch_s\n"
                         % (a, b))
        self.assertEqual(report["offsets_s"], [0.0, 0.75, None])

    def test_broken_start_values_are_named_and_not_aligned(self):
        a = self.write_node("a.csv", self.A, node_settings(0.0))
        b = self.write_node("b.csv", self.B, node_settings(
            0.3, started_epoch_s="soon"))
        report, err = self.run_json([a, b, "--interval", "1"])
        self.assertEqual(err, "crunch: warning: %s.json: start_at_epoch_s"
                              " %r and started_epoch_s 'soon' are not both"
                              " numbers of seconds: not aligned\n"
                         % (b, EPOCH_S))
        self.assertEqual(report["offsets_s"], [0.0, None])

    def test_byte_ranges_in_processes_are_moved_alike(self):
        rows = random_rows(4000, seed=7)
        a = self.write_node("a.csv", rows, node_settings(0.0, duration_s=11))
        b = self.write_node("b.csv", rows[::-1], node_settings(
            1.234567, duration_s=11))
        one, _ = self.run_json([a, b, "--processes", "1", "--html",
                                os.path.join(self.dir, "one.html")])
        with mock.patch.object(crunch, "RANGE_B", 7000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            many, _ = self.run_json([a, b, "--processes", "2", "--html",
                                     os.path.join(self.dir, "many.html")])
        self.assertEqual(many, one)
        with open(os.path.join(self.dir, "one.html")) as f, \
                open(os.path.join(self.dir, "many.html")) as g:
            self.assertEqual(f.read().replace("one.html", ""),
                             g.read().replace("many.html", ""))
        moved = [(round(e + 1.234567, 6), t, s) for e, t, s in rows]
        c = self.write_node("c.csv", moved, {"duration_s": 12.234567})
        want, _ = self.run_json([a, c, "--processes", "1"])
        self.assertEqual(one["end_s"], 12.234567)
        for key in ("intervals", "totals", "rows", "statuses"):
            self.assertEqual(one[key], want[key], key)

    def test_timers_among_requests_are_moved_alike(self):
        rnd = random.Random(9)
        rows = [(round(rnd.uniform(0, 6), 6), round(rnd.uniform(0, 0.1), 6),
                 rnd.choice(("GET,/", "timer,t", "task,run")))
                for _ in range(600)]
        text = lambda offset: HEADER8 + "".join(
            "%.6f,%.6f,200,1,,,%s\n" % (e + offset, t, key)
            for e, t, key in rows)
        a = self.write("a.csv", text(0))
        b = self.write("b.csv", text(0))
        c = self.write("c.csv", text(0.3))
        self.write("a.csv.json", json.dumps(node_settings(0.0)))
        self.write("b.csv.json", json.dumps(node_settings(0.3)))
        self.write("c.csv.json", json.dumps({"duration_s": 2.3}))
        for argv in ([], ["--html", os.path.join(self.dir, "r.html")],
                     ["--name", "t"]):
            moved, _ = self.run_json([a, b, "--interval", "0.5"] + argv)
            want, _ = self.run_json([a, c, "--interval", "0.5"] + argv)
            for key in ("intervals", "totals", "names", "end_s"):
                self.assertEqual(moved[key], want[key], (argv, key))

    def test_moved_fields_meet_the_edges_as_their_floats(self):
        fields = [b"%.6f" % (u / 1e6) for u in range(3989950, 4010050, 37)]
        spans = 0
        for width in (0.001, 0.003, 1 / 3.0, 2.0):
            for offset_s in (0.000001, 0.3, 1.234567, 3.999999):
                moved = crunch.Moved(fields, offset_s)
                self.assertEqual(moved[7], round(float(fields[7]) + offset_s,
                                                 6))
                floats = list(moved)
                self.assertEqual(floats, [round(float(f) + offset_s, 6)
                                          for f in fields])
                first, last = (int(min(floats) // width),
                               int(max(floats) // width))
                spans += first < last
                self.assertEqual(crunch.bucket_slots(moved, width, first,
                                                     last),
                                 crunch.bucket_slots(floats, width, first,
                                                     last))
        self.assertGreater(spans, 8)

    def test_fast_path_moves_as_line_by_line(self):
        fmt = crunch.parse_first_line(HEADER6.rstrip("\n").encode())[0]
        lines = [open_row(9.999990 + k * 0.000005, 0.002, 9.99)
                 for k in range(5)] + [open_row(3.2, 0.1, 3.1, 0, 0,
                                                "timeout")]
        block = "".join(lines).encode()
        facts = []
        for cls in (crunch.Tally, SlowTally):
            tally = cls(fmt, 0.5, True, offset_s=0.000015)
            tally.add_block(block)
            facts.append(tally_facts(tally)[0])
        self.assertEqual(facts[0], facts[1])
        self.assertEqual((facts[0][7], facts[0][8]), (3.200015, 10.000025))



def node_rows(seed, nodes=3, per_node=400, runtime_s=10.0):
    """Rows of a run on several nodes, (elapsed, response_time, status,
    error, method, name, node), sorted by node then elapsed: node 2 of 3
    answers slower, node 3 fails one in ten with a 503 and one in
    twenty with a timeout."""
    rnd = random.Random(seed)
    rows = []
    for node in range(1, nodes + 1):
        part = []
        for _ in range(per_node):
            slow = 3.0 if node == 2 else 1.0
            status, kind = 200, ""
            if node == 3 and rnd.random() < 0.1:
                status = 503
            elif node == 3 and rnd.random() < 0.05:
                status, kind = 0, "timeout"
            part.append((round(rnd.uniform(0, runtime_s), 6),
                         round(rnd.lognormvariate(-4, 0.5) * slow, 6),
                         status, kind, "GET", rnd.choice(("/a", "/b,c"))))
        rows += [r + (node,) for r in sorted(part)]
    return rows


class NodesTestCase(CrunchTestCase):

    def write_nodes(self, name, rows, settings=None):
        """rows: (elapsed, response_time, status, error, method, name,
        node), written by csv.writer(lineterminator="\\n") under HEADER9."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for e, t, s, kind, method, key, node in rows:
            writer.writerow(["%.6f" % e, "%.6f" % t, s, 1, kind, "", method,
                             key, node])
        path = self.write(name, HEADER9 + out.getvalue())
        if settings is not None:
            self.write(name + ".json", json.dumps(settings))
        return path

    def assertSameReport(self, got, want, where=()):
        """Equal JSON reports, but for the means: a sum of latencies in
        another order may differ in its last bit, and so by 1 ns once
        rounded."""
        if isinstance(want, dict):
            self.assertEqual(list(got), list(want), where)
            for key in want:
                if key.endswith("mean_s") and want[key] is not None:
                    self.assertAlmostEqual(got[key], want[key], 8,
                                           where + (key,))
                else:
                    self.assertSameReport(got[key], want[key],
                                          where + (key,))
        elif isinstance(want, list):
            self.assertEqual(len(got), len(want), where)
            for i, (a, b) in enumerate(zip(got, want)):
                self.assertSameReport(a, b, where + (i,))
        else:
            self.assertEqual(got, want, where)


class NodeColumnTest(NodesTestCase):
    """hammer --hosts' merged file: a ninth column, node."""

    def test_node_column_is_parsed(self):
        fmt = crunch.parse_first_line(HEADER9.rstrip("\n").encode())[0]
        self.assertEqual((fmt.node, fmt.method, fmt.name, fmt.core.ncols),
                         (8, 6, 7, 6))
        self.assertEqual(crunch.parse_line(
            b"0.100000,0.010000,200,1,,,GET,/,3", fmt), crunch.Row(
                0.1, 0.01, 200, b"", None, b"GET", b"/", 3))
        self.assertEqual(crunch.parse_line(
            b'0.1,0.01,200,1,,0.05,GET,"a,b",1000', fmt).node, 1000)
        for field in (b"0", b"", b"x", b"1001", b"-1", b"+1", b" 1", b"1.0",
                      b"1" * 400):
            self.assertIsNone(crunch.parse_line(
                b"0.1,0.01,200,1,,,GET,/," + field, fmt), field)

    def test_each_node_counts_its_rows(self):
        rows = [(0.1, 0.010, 200, "", "GET", "/", 1),
                (0.2, 0.030, 503, "", "GET", "/", 2),
                (0.3, 0.020, 200, "", "timer", "t", 2),     # not a request
                (0.4, 0.5, 0, "timeout", "GET", "/", 3),
                (0.5, 0.040, 200, "", "GET", "/", 3)]
        path = self.write_nodes("r.csv", rows)
        fmt = crunch.parse_first_line(HEADER9.rstrip("\n").encode())[0]
        for cls in (crunch.Tally, SlowTally):
            tally = cls(fmt, 1.0)
            with open(path, "rb") as f:
                f.readline()
                tally.add_block(f.read())
            tally.freeze()
            got = dict((node, (b.requests, b.errors, b.peek().n,
                               b.peek().max))
                       for node, b in tally.nodes.entries.items())
            self.assertEqual(got, {1: (1, 0, 1, 0.01), 2: (1, 1, 1, 0.03),
                                   3: (2, 1, 1, 0.04)}, cls)

    def test_a_bad_node_is_a_malformed_line(self):
        path = self.write("r.csv", HEADER9 + "0.1,0.01,200,1,,,GET,/,1\n"
                          "0.2,0.01,200,1,,,GET,/,0\n"
                          "0.3,0.01,200,1,,,GET,/,\n")
        report, err = self.run_json([path])
        self.assertEqual((report["rows"], report["malformed"]), (1, 2))
        self.assertEqual(err, "crunch: warning: %s: skipped 2 malformed lines,"
                              " the first is line 3\n" % path)

    def test_older_columns_read_as_before(self):
        rows = node_rows(seed=3, per_node=50)
        nine = self.write_nodes("nine.csv", rows)
        eight = os.path.join(self.dir, "eight.csv")
        with open(nine) as f, open(eight, "w") as g:
            for record in csv.reader(f):
                g.write(",".join(record[:8]).replace(",/b,c", ',"/b,c"')
                        + "\n")
        want, _ = self.run_json([eight])
        got, _ = self.run_json([nine])
        for key in ("intervals", "totals", "names", "statuses", "rows"):
            self.assertEqual(got[key], want[key], key)

    def test_node_blocks_bucket_as_rows_sorted_by_elapsed(self):
        rows = node_rows(seed=11)
        blocks = self.write_nodes("blocks.csv", rows)
        ordered = self.write_nodes("sorted.csv", sorted(rows))
        want, _ = self.run_json([ordered, "--interval", "0.5",
                                 "--processes", "1"])
        self.assertEqual(want["rows"], 1200)
        del want["inputs"]
        for size in (97, 4096, 1 << 15):
            with mock.patch.object(crunch, "READ_BLOCK_B", size):
                got, _ = self.run_json([blocks, "--interval", "0.5",
                                        "--processes", "1"])
            del got["inputs"]
            self.assertSameReport(got, want, (size,))
        with mock.patch.object(crunch, "RANGE_B", 5000), \
                mock.patch.object(crunch, "RANGE_MIN_B", 1000), \
                mock.patch.object(crunch, "MIN_PARALLEL_B", 1):
            got, _ = self.run_json([blocks, "--interval", "0.5",
                                    "--processes", "2"])
        del got["inputs"]
        self.assertSameReport(got, want)
        fmt = crunch.parse_first_line(HEADER9.rstrip("\n").encode())[0]
        facts = []
        for path in (blocks, ordered):
            tally = crunch.Tally(fmt, 0.5, True)
            with open(path, "rb") as f:
                f.readline()
                for block in crunch.read_blocks(f):
                    tally.add_block(block)
            facts.append(tally_facts(tally)[0])
        self.assertEqual(facts[0][1:], facts[1][1:])
        self.assertEqual(sorted(facts[0][-1]), [1, 2, 3])



class NodeTableTest(NodesTestCase):
    """The per-node table: from a node column, or from inputs whose
    settings give their node; the slow or failing node marked."""

    # node 1: p95 20 ms; node 2: a 503 in four (25%); node 3: p95 80 ms
    LATENCIES_MS = {1: (10, 10, 10, 20), 2: (10, 12, 14, 16),
                    3: (50, 60, 70, 80)}
    HOSTS = {"nodes": 3, "duration_s": 2.0, "node_hosts": [
        {"node": k, "host": "h%d" % k, "dir": "~/hammer-runs/x/node-%d" % k,
         "started_epoch_s": EPOCH_S, "rows": 4, "exit": 0}
        for k in (1, 2, 3)]}

    def three_nodes(self, name="r.csv", settings=HOSTS):
        rows = []
        for node, latencies in sorted(self.LATENCIES_MS.items()):
            for k, ms in enumerate(latencies):
                status = 503 if (node, k) == (2, 1) else 200
                rows.append((0.4 * k + 0.01 * node, ms / 1000.0, status, "",
                             "GET", "/", node))
        return self.write_nodes(name, rows, settings)

    def test_table_marks_the_slow_and_the_failing_node(self):
        path = self.three_nodes()
        code, out, err = self.run_main([path])
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        at = lines.index("per node:")
        self.assertEqual(lines[at - 1], "status: 200 x 11, 503 x 1; errors 1"
                                        " (5xx: 1)")
        self.assertEqual(lines[at:at + 5], [
            "per node:",
            "node  host  requests  req/s  p95_ms  error_%",
            "1     h1           4    2.0  20.000     0.00",
            "2     h2           4    2.0  16.000    25.00  <- failing",
            "3     h3           4    2.0  80.000     0.00  <- slow"])
        self.assertEqual(lines[at + 5], "per name:")

    def test_json_nodes(self):
        report, err = self.run_json([self.three_nodes()])
        self.assertEqual(err, "")
        nodes = report["nodes"]
        self.assertEqual([(n["node"], n["host"], n["requests"], n["errors"],
                           n["p95_s"], n["marks"]) for n in nodes], [
            (1, "h1", 4, 0, 0.02, []), (2, "h2", 4, 1, 0.016, ["failing"]),
            (3, "h3", 4, 0, 0.08, ["slow"])])
        self.assertEqual(list(nodes[0]), [
            "node", "host", "requests", "rps", "responses", "mean_s",
            "p50_s", "p90_s", "p95_s", "p99_s", "max_s", "errors",
            "error_pct", "marks"])
        self.assertEqual((nodes[2]["rps"], nodes[2]["mean_s"],
                          nodes[1]["error_pct"]), (2.0, 0.065, 25.0))
        self.assertEqual(sum(n["requests"] for n in nodes),
                         report["totals"]["requests"])

    def test_csv_rows_of_kind_node(self):
        out = os.path.join(self.dir, "out.csv")
        code, _, err = self.run_main([self.three_nodes(), "--csv", out])
        self.assertEqual((code, err), (0, ""))
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "start_s,requests,req_per_s,mean_ms,"
                                   "p50_ms,p90_ms,p95_ms,p99_ms,max_ms,"
                                   "errors,error_pct,method,name,node,host,"
                                   "mark")
        self.assertEqual(lines[1], "0.0,12,6.0,30.167,14.000,70.000,"
                                   "80.000,80.000,80.000,1,8.33,,,,,")
        self.assertEqual(lines[-5:], [
            "total,12,6.0,30.167,14.000,70.000,80.000,80.000,80.000,1,8.33"
            ",,,,,",
            "name,12,6.0,30.167,14.000,70.000,80.000,80.000,80.000,1,8.33"
            ",GET,/,,,",
            "node,4,2.0,12.500,10.000,20.000,20.000,20.000,20.000,0,0.00"
            ",,,1,h1,",
            "node,4,2.0,13.000,12.000,16.000,16.000,16.000,16.000,1,25.00"
            ",,,2,h2,failing",
            "node,4,2.0,65.000,60.000,80.000,80.000,80.000,80.000,0,0.00"
            ",,,3,h3,slow"])
        with open(out) as f:
            self.assertEqual(len(set(map(len, csv.reader(f)))), 1)

    def test_html_table(self):
        page = os.path.join(self.dir, "r.html")
        code, _, err = self.run_main([self.three_nodes(), "--html", page])
        self.assertEqual((code, err), (0, ""))
        with open(page) as f:
            text = f.read()
        self.assertIn("<h2>Per node</h2>\n<table><tr><th>node</th><th>host"
                      "</th><th>requests</th><th>req/s</th><th>p95_ms</th>"
                      "<th>error_%</th><th></th></tr><tr><td>1</td><td>h1"
                      "</td><td>4</td><td>2.0</td><td>20.000</td><td>0.00"
                      "</td><td></td></tr><tr class=\"regression\"><td>2"
                      "</td><td>h2</td><td>4</td><td>2.0</td><td>16.000</td>"
                      "<td>25.00</td><td>&lt;- failing</td></tr>", text)

    def test_a_node_without_rows_is_marked(self):
        settings = dict(self.HOSTS, nodes=4)
        settings["node_hosts"] = self.HOSTS["node_hosts"] + [
            {"node": 4, "host": "h4", "rows": 0, "exit": 1}]
        report, _ = self.run_json([self.three_nodes(settings=settings)])
        self.assertEqual([(n["node"], n["host"], n["requests"], n["p95_s"],
                           n["marks"]) for n in report["nodes"]], [
            (1, "h1", 4, 0.02, []), (2, "h2", 4, 0.016, ["failing"]),
            (3, "h3", 4, 0.08, ["slow"]), (4, "h4", 0, None,
                                           ["no requests"])])

    def test_hosts_unknown_without_settings(self):
        code, out, _ = self.run_main([self.three_nodes(settings=None)])
        lines = out.splitlines()
        at = lines.index("per node:")
        self.assertEqual(lines[at + 1:at + 3], [     # 4 in 1.21 + 0.08 s
            "node  host  requests  req/s  p95_ms  error_%",
            "1                  4    3.1  20.000     0.00"])

    def test_one_node_or_none_has_no_table(self):
        rows = [(0.1, 0.01, 200, "", "GET", "/", 1),
                (0.2, 0.01, 200, "", "GET", "/", 1)]
        one = self.write_nodes("one.csv", rows, {"nodes": 1})
        plain = self.write_rows("plain.csv", [(0.1, 0.01, 200)])
        other = self.write_rows("other.csv", [(0.2, 0.01, 200)])
        for inputs in ([one], [plain, other], [plain]):
            report, err = self.run_json(inputs)
            self.assertEqual(err, "")
            self.assertNotIn("nodes", report)
            code, out, _ = self.run_main(inputs)
            self.assertNotIn("per node:", out)

    def test_name_option_counts_its_rows_per_node(self):
        rows = [(0.1, 0.01, 200, "", "GET", "/a", 1),
                (0.2, 0.02, 200, "", "GET", "/b", 1),
                (0.3, 0.03, 200, "", "GET", "/b", 2),
                (0.4, 0.04, 200, "", "timer", "/b", 2)]
        report, _ = self.run_json([self.write_nodes("r.csv", rows),
                                   "--name", "/b"])
        self.assertEqual([(n["node"], n["requests"], n["max_s"])
                          for n in report["nodes"]],
                         [(1, 1, 0.02), (2, 2, 0.04)])

    def test_open_model_rows_have_the_corrected_latency(self):
        path = self.write("r.csv", HEADER9 +
                          "0.100000,0.010000,200,1,,0.050000,GET,/,1\n"
                          "0.200000,0.010000,200,1,,0.200000,GET,/,2\n")
        report, _ = self.run_json([path])
        self.assertEqual([(n["node"], n["corrected_max_s"])
                          for n in report["nodes"]], [(1, 0.06), (2, 0.01)])


class NodeFilesTest(NodesTestCase):
    """A node's own results file each, their settings giving the node."""

    def write_node_file(self, name, node, latencies_ms, **settings):
        rows = [(0.1 * k, ms / 1000.0, 200) for k, ms in
                enumerate(latencies_ms)]
        path = self.write_rows(name, rows)
        settings = dict(node_settings(0.001 * node), node=node, nodes=3,
                        host="box%d" % node, **settings)
        self.write(name + ".json", json.dumps(settings))
        return path

    def files(self):
        return [self.write_node_file("n%d.csv" % k, k, ms) for k, ms in
                ((1, (10, 20)), (2, (12, 14, 16)), (3, (40, 90)))]

    def test_table_from_the_settings(self):
        report, err = self.run_json(self.files())
        self.assertEqual(err, "")
        self.assertEqual([(n["node"], n["host"], n["requests"], n["rps"],
                           n["p95_s"], n["max_s"], n["marks"])
                          for n in report["nodes"]], [
            (1, "box1", 2, 0.999001, 0.02, 0.02, []),
            (2, "box2", 3, 1.498501, 0.016, 0.016, []),
            (3, "box3", 2, 0.999001, 0.09, 0.09, ["slow"])])
        self.assertEqual(report["totals"]["width_s"], 2.002)  # 2 ms late
        out = os.path.join(self.dir, "out.csv")
        self.assertEqual(self.run_main(self.files() + ["--csv", out])[0], 0)
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "start_s,requests,req_per_s,mean_ms,"
                                   "p50_ms,p90_ms,p95_ms,p99_ms,max_ms,"
                                   "errors,error_pct,node,host,mark")
        self.assertEqual(lines[-1], "node,2,1.0,65.000,40.000,90.000,"
                                    "90.000,90.000,90.000,0,0.00,3,box3,slow")
        self.assertEqual(report["offsets_s"], [0.0, 0.001, 0.002])

    def test_same_rows_as_the_merged_file(self):
        files = self.files()
        rows = []
        for k, path in enumerate(files, 1):
            with open(path) as f:
                for line in f.read().splitlines()[1:]:
                    e, t, s = line.split(",")[:3]
                    rows.append((float(e) + 0.001 * (k - 1), float(t),
                                 int(s), "", "GET", "/", k))
        merged = self.write_nodes("merged.csv", rows, {"duration_s": 2.002})
        want, _ = self.run_json([merged])
        got, _ = self.run_json(files)
        strip = lambda nodes: [dict(n, host=None) for n in nodes]
        self.assertEqual(strip(got["nodes"]), strip(want["nodes"]))

    def test_an_input_without_a_node_leaves_the_table_out(self):
        files = self.files()
        plain = self.write_rows("plain.csv", [(0.1, 0.01, 200)])
        report, err = self.run_json(files + [plain])
        self.assertNotIn("nodes", report)
        self.assertEqual(err, "crunch: warning: %s: no node column, nor a"
                              " node in the settings: no per-node table\n"
                         % plain)

    def test_the_same_node_twice_leaves_the_table_out(self):
        files = self.files()
        again = self.write_node_file("again.csv", 2, (5,))
        report, err = self.run_json(files + [again])
        self.assertNotIn("nodes", report)
        self.assertEqual(err, "crunch: warning: %s, %s: the settings give the"
                              " same node twice: no per-node table\n"
                         % (files[1], again))

    def test_a_missing_node_is_named(self):
        files = self.files()
        report, err = self.run_json([files[0], files[2]])
        self.assertEqual(err, "crunch: warning: node 2 of 3 is not among the"
                              " inputs\n")
        self.assertEqual([n["node"] for n in report["nodes"]], [1, 3])


class MarkNodesTest(unittest.TestCase):
    """mark_nodes(): the worst node, when clearly out of line."""

    @staticmethod
    def marks(p95s, errors=None, requests=None):
        rows = [{"p95_s": p, "error_pct": e, "requests": r} for p, e, r in
                zip(p95s, errors or [0.0] * len(p95s),
                    requests or [10] * len(p95s))]
        return [r["marks"] for r in crunch.mark_nodes(rows)]

    def test_more_than_one_and_a_half_times_the_median(self):
        self.assertEqual(self.marks([0.010, 0.011, 0.0166]),
                         [[], [], ["slow"]])
        self.assertEqual(self.marks([0.010, 0.011, 0.0164]), [[], [], []])

    def test_two_nodes(self):
        # the median of two is their mean: the worst is marked past 3x
        self.assertEqual(self.marks([0.010, 0.031]), [[], ["slow"]])
        self.assertEqual(self.marks([0.010, 0.030]), [[], []])

    def test_below_the_floor_is_not_marked(self):
        self.assertEqual(self.marks([0.0002, 0.0002, 0.0009]),
                         [[], [], []])
        self.assertEqual(self.marks([0.1] * 3, [0.0, 0.0, 0.9]),
                         [[], [], []])
        self.assertEqual(self.marks([0.1] * 3, [0.0, 0.0, 1.0]),
                         [[], [], ["failing"]])

    def test_ties_are_all_marked(self):
        self.assertEqual(self.marks([0.01, 0.01, 0.01, 0.05, 0.05]),
                         [[], [], [], ["slow"], ["slow"]])

    def test_errors_everywhere_mark_none(self):
        self.assertEqual(self.marks([0.1] * 3, [20.0, 25.0, 29.0]),
                         [[], [], []])

    def test_no_requests(self):
        self.assertEqual(self.marks([0.01, None, 0.011], requests=[5, 0, 5]),
                         [[], ["no requests"], []])
        self.assertEqual(self.marks([None, None], requests=[0, 0]),
                         [[], []])


# --- hosts: hammer --monitor's samples beside the rows -----------------------


def monitor_text(samples):
    return "elapsed,host,metric,value\n" + "".join(
        "%.3f,%s,%s,%.3f\n" % s for s in samples)


class HostsTest(CrunchTestCase):
    """<file>.monitor.csv: the hosts per interval, per stage, and the
    verdicts by hammer's own functions."""

    # two stages of 4 s; p95 10 ms, then 40 ms from 5 s on
    PLAN = [stage(0.0, 4.0, 4, 4), stage(4.0, 8.0, 8, 8)]

    def write_run(self, generator_busy=30.0, db_core=(50.0, 99.0)):
        rows = [row(0.1 + 0.1 * i, 0.010) for i in range(40)]
        rows += [row(4.0 + 0.1 * i, 0.010 if i < 10 else 0.040)
                 for i in range(40)]
        path = self.write("r.csv", HEADER + "".join(rows))
        self.write("r.csv.json", json.dumps({
            "model": "closed", "duration_s": 8.0, "stages": self.PLAN,
            "monitor": {"hosts": ["generator", "db1"], "interval_s": 1.0,
                        "lost": [], "speeds": {}, "offsets": {}}}))
        samples = []
        for t in range(1, 9):
            samples += [
                (t, "generator", "cpu_busy_pct", generator_busy),
                (t, "db1", "cpu_busy_pct", 20.0 + t),
                (t, "db1", "cpu_core_max_pct:cpu1",
                 db_core[0] if t < 5 else db_core[1]),
                (t, "db1", "net_rx_mbps:lo", 1.0),
                (t, "db1", "net_rx_mbps:eth0", 2.0),
                (t, "db1", "disk_util_pct:vda", 10.0),
                (t, "db1", "disk_util_pct:vdb", 30.0)]
        self.samples = [hammer.Sample(*s) for s in samples]
        self.write("r.csv.monitor.csv", monitor_text(samples))
        return path

    def test_the_hosts_per_interval(self):
        report, err = self.run_json([self.write_run(), "--interval", "2"])
        self.assertEqual(err, "")
        hosts = report["hosts"]
        self.assertEqual(hosts["file"], os.path.join(self.dir,
                                                     "r.csv.monitor.csv"))
        db1 = [r for r in hosts["intervals"] if r["host"] == "db1"]
        self.assertEqual([r["start_s"] for r in db1], [0.0, 2.0, 4.0, 6.0,
                                                       8.0])
        self.assertEqual(db1[1], {
            "start_s": 2.0, "host": "db1", "cpu": 22.5, "core_max": 50.0,
            "iowait": None, "mem": None, "load1": None, "net": 3.0,
            "disk": 30.0, "procs": None})
        self.assertEqual(hosts["summary"]["db1"]["cpu_core_max_pct"],
                         {"avg": 74.5, "max": 99.0})

    def test_each_stage_gains_each_hosts_cpu(self):
        report, _ = self.run_json([self.write_run()])
        self.assertEqual([(s["cpu:generator"], s["cpu:db1"])
                          for s in report["stages"]],
                         [(30.0, 22.5), (30.0, 26.5)])
        code, out, err = self.run_main([self.write_run()])
        self.assertIn("  cpu_%:generator  cpu_%:db1\n", out)

    def test_the_verdicts_are_hammers(self):
        path = self.write_run()
        report, _ = self.run_json([path, "--interval", "1"])
        expected = hammer.monitor_verdicts(
            self.samples, [hammer.Period(r["start_s"] + r["width_s"],
                                         r["requests"], r["errors"],
                                         r["p95_s"])
                           for r in report["intervals"]],
            [hammer.Stage(*s.values()) for s in self.PLAN], window_s=2.0,
            speeds={}, offsets={})
        self.assertEqual((report["hosts"]["bottleneck"],
                          report["hosts"]["trust"]), expected)
        self.assertEqual(expected[0]["text"], "db1 (target): one core at 99%"
                         " (cpu_core_max_pct:cpu1) from 5.0s, when p95"
                         " passed 30.0ms (3x the first stage's 10.0ms)")
        code, out, err = self.run_main([path, "--interval", "1"])
        self.assertIn("\nbottleneck  " + expected[0]["text"]
                      + "\ntrust       trusted\n", out)

    def test_fail_if_trusted(self):
        path = self.write_run(generator_busy=95.0)
        code, out, err = self.run_main([path, "--fail-if", "trusted"])
        self.assertEqual((code, err), (3, ""))
        self.assertIn("\ntrust       suspect: generator: CPUs 95% busy"
                      " (cpu_busy_pct)\n", out)
        self.assertIn("bottleneck  generator (the generator, hammer"
                      " itself): CPUs 95% busy", out)
        code, out, err = self.run_main([self.write_run(), "--fail-if",
                                        "trusted"])
        self.assertEqual((code, err), (0, ""))
        path = self.write("plain.csv", HEADER + row(0.1, 0.01))
        code, out, err = self.run_main([path, "--fail-if", "trusted"])
        self.assertEqual(code, 3)
        self.assertIn("trusted: not judged FAILED", out)

    def test_another_file_by_option(self):
        path = self.write_run()
        other = self.write("m.csv", monitor_text([(1.0, "h", "load1", 2.0)]))
        report, _ = self.run_json([path, "--monitor", other])
        self.assertEqual(report["hosts"]["intervals"], [{
            "start_s": 0.0, "host": "h", "cpu": None, "core_max": None,
            "iowait": None, "mem": None, "load1": 2.0, "net": None,
            "disk": None, "procs": None}])

    def test_bad_monitor_files(self):
        path = self.write_run()
        for text, message in (
                ("elapsed,host\n", "%r is not a monitor file: its header is"
                 " 'elapsed,host\\n', not 'elapsed,host,metric,value'"),
                ("elapsed,host,metric,value\n1.0,h,load1,2\nx,y\n",
                 "%s line 3: not elapsed,host,metric,value: 'x,y\\n'"),
                ("elapsed,host,metric,value\n1.0,h,load1,nan\n",
                 "%s line 2: not a finite number")):
            with self.subTest(text=text):
                bad = self.write("bad.csv", text)
                code, out, err = self.run_main([path, "--monitor", bad])
                self.assertEqual((code, out), (1, ""))
                self.assertEqual(err, "crunch: error: " + message % bad
                                 + "\n")

    def test_the_html_report_has_a_chart_per_host(self):
        path = self.write_run()
        html_path = os.path.join(self.dir, "r.html")
        code, out, err = self.run_main([path, "--html", html_path])
        self.assertEqual((code, err), (0, ""))
        with open(html_path) as f:
            page = f.read()
        self.assertIn("<h2>Hosts</h2>", page)
        self.assertEqual(re.findall(r'aria-label="Host ([^"]+)"', page),
                         ["generator", "db1"])
        self.assertIn("<p>bottleneck  db1 (target): one core at 99%", page)


if __name__ == "__main__":
    unittest.main()

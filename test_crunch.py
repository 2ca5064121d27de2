"""Tests for crunch.py: python -m unittest -v (standard library only)."""

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
from test_hammer import HypothesisTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
CRUNCH = os.path.join(HERE, "crunch.py")
HEADER = "elapsed,response_time,status,bytes,error\n"
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
                                            "transport": 1})

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
            latency = (1, rnd.choice((None, rnd.uniform(0, 0.01), 9.9996)),
                       [rnd.choice((None, 0.0995, 12.0))] * 4, None)
            rows.append(crunch.stats_row(i * 2.0, rnd.choice((2.0, 0.2)),
                                         rnd.choice((0, 1, 19, 9999)),
                                         rnd.choice((0, 1, 12)), latency))
        totals = crunch.stats_row(0.0, 600.0, 99999, 5, (0, None, [None] * 4,
                                                         None))
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
                                            "transport": 0})
        with open(out_html) as f:
            page = f.read()
        self.assertIn("status: 503 x 10; errors 10 (5xx: 10)", page)
        self.assertIn('<tr class="total"><td>total</td><td>10</td>', page)
        # the totals table, then the 3 intervals and the totals again
        self.assertEqual(page.count("<td>100.00</td>"), 5)

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
                                            "transport": 3})
        self.assertEqual(report["totals"]["errors"], 5)
        path = self.write("old.csv", "0.1,0.01,200\n0.2,1.0,0\n")
        code, out, _ = self.run_main([path])
        self.assertEqual(out.splitlines()[-1],
                         "status: 200 x 1; errors 1 (transport: 1)")
        path = self.write_rows("fine.csv", [(0.1, 0.01, 200)])
        code, out, _ = self.run_main([path])
        self.assertEqual(out.splitlines()[-1], "status: 200 x 1; errors none")


class PercentileTest(CrunchTestCase):

    def test_percentiles_within_one_percent_of_exact(self):
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
                self.assertLessEqual(abs(got["p%d_s" % p] - exact),
                                     0.01 * exact, (name, p))


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
        text = HEADER + "".join(row(e, t, s) for e, t, s in rows)
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
        tally = crunch.Tally(fmt, 2.0)
        self.assertFalse(tally._add_fast(block, 2))
        tally.add_block(block)
        self.assertEqual((tally.rows, tally.malformed, tally.first_bad),
                         (0, 2, 1))
        tally = crunch.Tally(crunch.Format(3), 2.0)       # header-less
        tally.add_block(b"0.5,0.01\n200,0.5,0.01,200\n")
        self.assertEqual((tally.rows, tally.malformed), (0, 2))

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
        self.assertEqual((tally.lines, tally.rows, tally.truncated), (3, 1, 3))

    def test_latency_table_matches_hammer_key_format(self):
        table = crunch.LatencyTable()
        table._grow(1 << 17)
        form = crunch.hammer.LATENCY_KEY_FORMAT
        self.assertEqual(table.table, [form % (u / 1e6)
                                       for u in range(1 << 17)])
        rnd = random.Random(24)
        micros = [rnd.randrange(1 << 20) for _ in range(20000)]
        micros += [27450, 562500, 999500, 995000, 1000000]
        times = [float(u) for u in micros]
        keys = list(table.keys(times, max(times), crunch.US_PER_S))
        self.assertEqual(keys, [form % (u / 1e6) for u in micros])
        seconds = [u / 1e6 for u in micros] + [0.1234567, 2.5]
        self.assertEqual(list(table.keys(seconds, 2.5, 1.0)),
                         [form % t for t in seconds])

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
        job = (path, fmt, start, os.path.getsize(path), 2.0, False)
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
            self.assertEqual(tally.open_ends, [])     # added up at once
        tally.freeze()
        self.assertEqual((tally.open_ends, tally.last_end), ([], 229.0))
        tally, most = crunch.Tally(fmt, 2.0), 0
        for i in range(50):          # shuffled: no block passes the others
            tally.add_block((row(10.0 - i * 0.01, 1.0 + i * 0.001) +
                             row(0.0, 0.5) + row(5.0, 0.2)).encode())
            most = max(most, len(tally.open_ends))
        self.assertEqual(most, crunch.OPEN_ENDS_MAX)
        tally.freeze()
        self.assertEqual((tally.open_ends, tally.last_end), ([], 11.0))


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
        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
        server = Server(("127.0.0.1", 0), SlowHandler)
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
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
            code, out, err = self.run_main([near, "--processes", "2"])
        # a worker stops at its first block past the bound: the span
        # named is the one seen by then
        self.assertEqual((code, out), (1, ""))
        self.assertRegex(err, r"\Acrunch: error: %s: elapsed from [0-9.]+s"
                              r" to 3e\+06s makes 1[0-9]{6} intervals of 2s,"
                              r" more than 1000000: use --interval 3s or"
                              r" wider\n\Z" % re.escape(near))

    def test_width_to_fit_is_the_least_of_three_digits(self):
        for lo, hi in ((0.0, 3600.0), (0.1, 1e8), (7.25, 2e6 + 0.5),
                       (0.0, 1e6 * 0.002), (1.0, 1.0 + 1e6 * 1e-6)):
            text = crunch.width_to_fit(lo, hi)
            width = crunch.hammer.parse_duration(text)
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
        for fast in (True, False):
            tally = crunch.Tally(fmt, 0.002)
            tracemalloc.start()
            try:
                if fast:
                    self.assertTrue(tally._add_fast(block, len(rows)))
                else:
                    tally._add_slow(block.split(b"\n")[:-1])
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

    # (name, argv, stdin, exit code, stderr: exact for 0 and 1, the last
    # line after argparse's usage for 2); {d} is the test's directory.
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
                    self.assertTrue(err.startswith("usage: crunch [-h]"), err)
                    self.assertEqual(err.splitlines()[-1], message)
                    self.assertEqual(err.count("crunch: error:"), 1)
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


# --- fuzzing ---------------------------------------------------------------

FUZZ_PARSER_EXAMPLES = 150      # per run: fixed, and derandomized
FUZZ_READER_EXAMPLES = 100
FUZZ_PLAIN_EXAMPLES = 30
FUZZ_BYTES = (b"0", b"7", b"9", b".", b",", b"-", b"+", b"e", b"E", b"n",
              b"a", b"i", b"f", b" ", b"\t", b"\r", b"\x00", b"_", b"\xff",
              b"1e309", b"nan", b"inf", b"-0", b"999", b"0x1")
FUZZ_WIDTHS_S = (0.001, 0.3, 1 / 3.0, 2.0, 7.0)
FUZZ_KINDS = ("", "timeout", "reset", "connect", "protocol", "7", "-x")


class SlowTally(crunch.Tally):
    """A Tally that never takes the fast path: line by line, parse_line."""

    def _add_fast(self, block, nlines):
        return False


def tally_facts(tally):
    """What a Tally knows, as plain values; the histograms' sums apart
    (their last bits depend on the order of the additions)."""
    tally.freeze()
    buckets, sums = {}, {}
    for number, bucket in tally.buckets.items():
        hist = bucket.peek()
        buckets[number] = (bucket.requests, bucket.errors, dict(hist.counts),
                           hist.n, hist.min, hist.max)
        sums[number] = hist.total
    facts = (tally.lines, tally.rows, tally.malformed, tally.first_bad,
             tally.truncated, dict(tally.statuses), dict(tally.kinds),
             tally.min_elapsed, tally.max_elapsed, tally.last_end, buckets,
             sorted(tally.sample or []))
    return facts, sums


class FuzzTest(HypothesisTestCase):
    """Property tests with hypothesis: random and mutated lines give the
    same counts through the fast path (Tally._add_fast) as line by line
    (parse_line), for every block size, and nothing raises but
    crunch.InputError; the line reader gives the same lines for every
    read size and byte range.  A fixed number of derandomized examples:
    FUZZ_PARSER_EXAMPLES + FUZZ_READER_EXAMPLES + FUZZ_PLAIN_EXAMPLES
    per run."""

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
            fields = [draw(form) % elapsed, draw(form) % rt,
                      b"%d" % draw(st.sampled_from(
                          (200, 200, 200, 0, 503, 404, 100, 999, 99, 1000))),
                      b"%d" % draw(st.integers(0, 9999)),
                      draw(st.sampled_from(FUZZ_KINDS)).encode()]
            if draw(st.booleans()):
                fields[:2] = [b"%.6f" % elapsed, b"%.6f" % rt]
            text = b",".join(fields[:draw(st.sampled_from((5, 5, 5, 3, 4)))])
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
        header = st.just(HEADER.rstrip("\n").encode())
        return st.one_of(line(), line(), line(), junk, header, st.just(b""))

    def test_fast_path_agrees_with_line_by_line(self):
        st = self.st
        fmts = {5: crunch.parse_first_line(HEADER.rstrip("\n").encode())[0],
                3: crunch.Format(3)}

        @self.settings(FUZZ_PARSER_EXAMPLES)
        @self.hypothesis.given(
            st.lists(self.lines(), min_size=1, max_size=12),
            st.sampled_from(FUZZ_WIDTHS_S), st.sampled_from((5, 5, 3)),
            st.booleans(), st.booleans())
        def check(lines, width, ncols, final_newline, sample):
            chunks = [l + b"\n" for l in lines]     # lines end at b"\n" only
            if not final_newline:
                chunks[-1] = lines[-1]      # a last line without a newline
                if not chunks[-1]:
                    del chunks[-1]
            want = self.crunched(SlowTally, fmts[ncols], width, sample, chunks)
            if want[0] != "InputError":     # the last end, added up here
                rows = [crunch.parse_line(c[:-1] if c.endswith(b"\r\n")
                                          else c, fmts[ncols])
                        for c in (c[:-1] if c.endswith(b"\n") else c
                                  for c in chunks)]
                self.assertEqual(want[0][9], max(
                    [0.0] + [r[0] + r[1] for r in rows if r]))
            for size in (1, 2, 3, 7, max(1, len(chunks))):
                blocks = [b"".join(chunks[i:i + size])
                          for i in range(0, len(chunks), size)]
                got = self.crunched(crunch.Tally, fmts[ncols], width, sample,
                                    blocks)
                self.assertEqual(got[0], want[0], size)
                for number, total in want[1].items():
                    self.assertTrue(math.isclose(got[1][number], total,
                                                 rel_tol=1e-9, abs_tol=1e-12))
        check()

    def crunched(self, cls, fmt, width, sample, blocks):
        tally = cls(fmt, width, sample)
        try:
            for block in blocks:
                tally.add_block(block)
        except crunch.InputError:   # its text names the span seen so far
            return "InputError", {}
        return tally_facts(tally)

    def test_fast_path_takes_plain_hammer_rows(self):
        st = self.st
        fmt = crunch.parse_first_line(HEADER.rstrip("\n").encode())[0]
        micros = st.integers(0, 10 ** 9)

        @self.settings(FUZZ_PLAIN_EXAMPLES)
        @self.hypothesis.given(st.lists(st.tuples(
            micros, micros, st.sampled_from((200, 0, 503, 301)),
            st.sampled_from(("", "timeout"))), min_size=1, max_size=60))
        def check(rows):
            block = "".join("%.6f,%.6f,%d,1,%s\n" % (e / 1e6, t / 1e6, s, k)
                            for e, t, s, k in rows).encode()
            tally = crunch.Tally(fmt, 2.0)
            self.assertTrue(tally._add_fast(block, len(rows)))
            tally.lines += len(rows)
            slow = SlowTally(fmt, 2.0)
            slow.add_block(block)
            self.assertEqual(tally_facts(tally)[0], tally_facts(slow)[0])
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
        options = [o for a in crunch.build_parser()._actions
                   for o in a.option_strings if o not in ("-h", "--help")]
        self.assertGreater(len(options), 6)
        for option in options:
            with self.subTest(option=option):
                row = r"\n\| `%s[ `]" % re.escape(option)
                self.assertTrue(re.search(row, section), row)

    def test_reliability_figures(self):
        with open(os.path.join(HERE, "README.md")) as f:
            readme = f.read()
        section = readme.split("## Reliability")[1].split("\n## ")[0]
        self.assertIn("**%d fuzz cases** per Python" % (
            FUZZ_PARSER_EXAMPLES + FUZZ_READER_EXAMPLES
            + FUZZ_PLAIN_EXAMPLES), section)
        self.assertIn("**%d bad inputs**" % len(FailureTest.BAD_INPUTS),
                      section)


if __name__ == "__main__":
    unittest.main()

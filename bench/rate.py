#!/usr/bin/env python3
"""Benchmark: hammer's open model (--rate) against nginx on one core.

Usage:

    python3 bench/rate.py [--runtime 10] [--rates 1000,10000,0.5x]
                          [--ladder 0.5,0.7,0.8,0.85,0.9,0.95,1.0]
                          [--peers httperf,hey] [--concurrency 64]
                          [--hammer FILE] [--quick] [--keep DIR]
                          [--results bench/RESULTS.md]

One command, Linux with two or more CPUs.  It installs what is missing
(Debian's nginx-light, time, httperf and hey with apt-get), then:

1. starts nginx on 127.0.0.1 pinned to CPU 0, one worker, access_log off,
   serving an 11-byte file (bench/peers.py's setup); every load generator
   runs as one process pinned to CPU 1, and all traffic goes to 127.0.0.1;
2. measures hammer's closed-model maximum on that core,
   `hammer.py URL -p 1 -c 16 --runtime S`, once before the open-model runs
   and once after them, and the CPU hammer spends on starting and stopping
   (`-n C -c C`, the median of 3), so that the CPU per request can be given
   with and without it;
3. for each target rate of --rates (a number, or `0.5x` for half of the
   closed-model maximum): `hammer.py URL --rate R -p 1 -c 64 --runtime S`.
   From results.csv it takes the achieved rate (rows / the run's duration
   from results.csv.json), the lateness of every send (elapsed -
   scheduled: its p50, p99 and max), the service time (response_time) and
   the latency from the intended send (elapsed - scheduled +
   response_time); from GNU time the CPU per request, against the closed
   model's.  Pass: achieved within 1% of the target, p99 lateness under
   2 ms.  It also checks hammer's own figures (the summary line and
   results.csv.json's "summary") against the rows, and lists any mismatch;
4. runs the open-model peers at the same target rates, pinned the same
   way: `hey -z S -c 64 -q R/64` (its -q is per worker; keep-alive) and
   `httperf --rate R --num-calls 1` (a new connection for each request,
   the only way httperf paces requests);
5. climbs a ladder of fractions of the closed-model maximum (--ladder) with
   `--rate`, stopping at the first rung that misses the 1% accuracy or has
   errors: the highest rung met is the highest rate hammer sustains on one
   core, given as a ratio of the closed-model maximum (goal: at least 0.9),
   and the highest of those rungs whose p99 lateness was under 2 ms too;
6. prints the results as a markdown section on stdout (progress goes to
   stderr) and, with --results FILE, puts it in FILE in place of its
   "## Open model (--rate)" section, or at its end (bench/peers.py
   rewrites its own sections of RESULTS.md and keeps this one).

Every subprocess has a time limit.  --quick is a smoke run of about a
minute: 2 s runs, ladder 0.7,0.9.  The full run takes about 4 minutes:

    python3 bench/rate.py --results bench/RESULTS.md
"""

import argparse
import datetime
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import median, nearest_rank
from peers import (BenchError, CLIENT_CPU, SERVER_CPU, HAMMER, pinned,
                   run_timed, start_nginx, stop, us, verdict, machine)

SECTION = "## Open model (--rate)"
OPEN_C = 64                 # hammer's -c, and hey's, in the open model
CLOSED_C = 16               # hammer's -c for the closed-model maximum
DEFAULT_RATES = "1000,10000,0.5x"
LADDER = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
QUICK_RUNTIME_S = 2
QUICK_LADDER = (0.7, 0.9)
FIXED_RUNS = 3              # runs of `-n C -c C` for the fixed CPU cost
HAMMER_TIMEOUT_S = 10.0     # hammer's --timeout default: in-flight requests
RUN_GRACE_S = 30.0          # a run overdue by this much is killed
PEERS = ("hey", "httperf")
TARGETS = {
    "accuracy_pct": 1.0,        # achieved rate within this of the target
    "lateness_p99_s": 0.002,    # p99 lateness under this
    "sustained": 0.9,           # highest sustained rate / closed max
}
# hammer's own figures against the rows: how far they may differ before
# the report lists it (its histogram keys to 3 significant digits: 0.5%)
AGREE_PCT = 1.0
AGREE_ABS_S = 10e-6
CLOCK_SLACK_S = 2e-6        # two numbers each rounded to 1 us


# --- pure parsing ------------------------------------------------------------


def parse_hammer_text(text):
    """hammer's summary: (requests, req/s, [warning lines])."""
    m = re.search(r"^requests\s+(\d+) in [\d.]+\w* = ([\d.]+) req/s", text,
                  re.M)
    if not m:
        raise BenchError("no requests line in hammer's summary:\n"
                         + text[-2000:])
    warnings = re.findall(r"^warning: (.*)$", text, re.M)
    return int(m.group(1)), float(m.group(2)), warnings


def hammer_rows(lines):
    """Figures from the lines of a hammer results.csv (header first):
    rows, errors (status 0 or 5xx), sorted service times, corrected
    latencies and lateness, and the checks on `scheduled`."""
    lines = iter(lines)
    header = next(lines, "").strip().split(",")
    if header[:3] != ["elapsed", "response_time", "status"]:
        raise BenchError("results.csv starts %r, not a hammer header"
                         % ",".join(header))
    sched_col = header.index("scheduled") if "scheduled" in header else None
    rows = errors = unscheduled = 0
    service, corrected, lateness, scheduled = [], [], [], []
    last_elapsed = 0.0
    for line in lines:
        fields = line.rstrip("\n").split(",")
        rows += 1
        elapsed, rt, status = (float(fields[0]), float(fields[1]),
                               int(fields[2]))
        last_elapsed = max(last_elapsed, elapsed)
        if status == 0 or 500 <= status <= 599:
            errors += 1
        if status > 0:
            service.append(rt)
        sched = fields[sched_col] if sched_col is not None else ""
        if not sched:
            unscheduled += 1
            continue
        sched = float(sched)
        scheduled.append(sched)
        lateness.append(elapsed - sched)
        if status > 0:
            corrected.append(elapsed - sched + rt)
    for values in (service, corrected, lateness, scheduled):
        values.sort()
    duplicates = sum(1 for a, b in zip(scheduled, scheduled[1:]) if a == b)
    return dict(rows=rows, errors=errors, service=service,
                corrected=corrected, lateness=lateness,
                has_scheduled=sched_col is not None, unscheduled=unscheduled,
                duplicates=duplicates, last_elapsed=last_elapsed,
                first_scheduled=scheduled[0] if scheduled else None,
                last_scheduled=scheduled[-1] if scheduled else None)


def read_hammer_rows(csv_path):
    with open(csv_path) as f:
        return hammer_rows(f)


def _num(pattern, text, cast=float):
    m = re.search(pattern, text, re.M)
    if not m:
        raise BenchError("%r not found in:\n%s" % (pattern, text[-2000:]))
    return cast(m.group(1))


def parse_httperf(text):
    """httperf's report: requests, replies, duration, request rate, errors,
    connection time avg and max (s), reply time (s).  httperf's median has
    1 ms bins, too coarse here, so it is left out."""
    m = re.search(r"^Connection time \[ms\]: min ([\d.]+) avg ([\d.]+) "
                  r"max ([\d.]+)", text, re.M)
    if not m:
        raise BenchError("no connection times in httperf's report:\n"
                         + text[-2000:])
    status = re.search(r"^Reply status: 1xx=(\d+) 2xx=(\d+) 3xx=(\d+) "
                       r"4xx=(\d+) 5xx=(\d+)", text, re.M)
    kinds = [(kind, int(n)) for line in re.findall(r"^Errors: (.*)$", text,
                                                   re.M)
             for kind, n in re.findall(r"([a-z-]+) (\d+)", line)
             if kind != "total" and int(n)]
    return dict(error_kinds=kinds,
        requests=_num(r"^Total: connections \d+ requests (\d+)", text, int),
        replies=_num(r"^Total: .* replies (\d+)", text, int),
        duration_s=_num(r"test-duration ([\d.]+) s", text),
        rate=_num(r"^Request rate: ([\d.]+) req/s", text),
        errors=_num(r"^Errors: total (\d+)", text, int)
        + (int(status.group(5)) if status else 0),
        avg_s=float(m.group(2)) / 1e3, max_s=float(m.group(3)) / 1e3,
        reply_s=_num(r"^Reply time \[ms\]: response ([\d.]+)", text) / 1e3)


def parse_hey(text):
    """hey's summary: rate, duration, requests, errors, average, slowest
    and the latency distribution {percent: s} (0.1 ms resolution)."""
    dist = dict((int(p), float(s)) for p, s in re.findall(
        r"^\s+(\d+)% in ([\d.]+) secs", text, re.M))
    statuses = dict((int(c), int(n)) for c, n in re.findall(
        r"^\s+\[(\d+)\]\s+(\d+) responses", text, re.M))
    failed = sum(int(n) for n in re.findall(
        r"^\s+\[(\d+)\]\t.*$", text.split("Error distribution:", 1)[1], re.M)
    ) if "Error distribution:" in text else 0
    if not dist or not statuses:
        raise BenchError("no latency distribution or status codes in hey's "
                         "summary:\n" + text[-2000:])
    return dict(
        rate=_num(r"^\s+Requests/sec:\s+([\d.]+)", text),
        duration_s=_num(r"^\s+Total:\s+([\d.]+) secs", text),
        requests=sum(statuses.values()) + failed,
        errors=failed + sum(n for c, n in statuses.items()
                            if 500 <= c <= 599),
        avg_s=_num(r"^\s+Average:\s+([\d.]+) secs", text),
        max_s=_num(r"^\s+Slowest:\s+([\d.]+) secs", text),
        percentiles=dist)


def rate_arg(text):
    """argparse type: comma-separated rates, each a number of req/s or a
    fraction of the closed-model maximum written `0.5x`."""
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            if part.endswith("x"):
                value = ("x", float(part[:-1]))
            else:
                value = ("rps", float(part))
        except ValueError:
            value = None
        if value is None or not value[1] > 0:
            raise argparse.ArgumentTypeError(
                "%r: give req/s (1000) or fractions of the closed-model "
                "maximum (0.5x)" % part)
        out.append(value)
    return out


def fractions_arg(text):
    """argparse type: comma-separated fractions above 0, or `none`."""
    if text.strip() == "none":
        return []
    try:
        out = sorted(set(float(p) for p in text.split(",")))
    except ValueError:
        out = []
    if not out or out[0] <= 0:
        raise argparse.ArgumentTypeError(
            "%r: give fractions of the closed-model maximum, say 0.5,0.9,1.0"
            ", or none" % text)
    return out


def peers_arg(text):
    chosen = set(p.strip() for p in text.split(",") if p.strip())
    if chosen == {"none"}:
        return []
    if not chosen or chosen - set(PEERS):
        raise argparse.ArgumentTypeError(
            "%r: give names from %s, or none" % (text, ",".join(PEERS)))
    return [p for p in PEERS if p in chosen]


# --- running things ----------------------------------------------------------


def cpu_run(cmd, timeout_s, ok_codes=(0,)):
    """cmd under GNU time, pinned to CPU 1: a benchlib.CpuRun, or
    BenchError."""
    return run_timed(pinned(CLIENT_CPU, cmd), timeout_s, ok_codes=ok_codes)


def cpu_figures(res, requests):
    """A run's CPU seconds, CPU per request and CPU use (CPU seconds over
    wall seconds) from its benchlib.CpuRun."""
    return dict(cpu_s=res.cpu_s, cpu_per_req_s=res.cpu_s / max(1, requests),
                cpu_use=res.cpu_s / max(res.wall_s, 1e-3))


def _close(a, b, pct=AGREE_PCT, abs_s=AGREE_ABS_S):
    return abs(a - b) <= max(abs(b) * pct / 100.0, abs_s)


class Bench(object):
    """Runs hammer and its peers once each; every run a dict."""

    def __init__(self, url, work, runtime_s, open_c, script, log):
        self.url, self.work, self.runtime_s = url, work, runtime_s
        self.open_c, self.script, self.log = open_c, script, log
        self.port = int(url.rsplit(":", 1)[1].strip("/"))
        self.timeout_s = runtime_s + HAMMER_TIMEOUT_S + RUN_GRACE_S
        self.seq = 0

    def _csv(self, name):
        self.seq += 1
        return os.path.join(self.work, "%02d-%s.csv" % (self.seq, name))

    def hammer_cmd(self, extra, out_csv):
        return [sys.executable, self.script, self.url, "-p", "1"] + extra + [
            "-q", "-o", out_csv]

    def fixed_cpu(self, c):
        """CPU seconds of hammer making c users that send one request each:
        the cost of starting and stopping, median of FIXED_RUNS runs."""
        runs = []
        for _ in range(FIXED_RUNS):
            out_csv = self._csv("fixed-c%d" % c)
            res = cpu_run(self.hammer_cmd(
                ["-c", str(c), "-n", str(c), "--runtime",
                 "%gs" % self.runtime_s], out_csv), self.timeout_s)
            runs.append(res.cpu_s)
        return median(runs)

    def closed(self, c=CLOSED_C):
        out_csv = self._csv("closed")
        res = cpu_run(self.hammer_cmd(
            ["-c", str(c), "--runtime", "%gs" % self.runtime_s], out_csv),
            self.timeout_s)
        requests, text_rps, warnings = parse_hammer_text(res.out)
        rows = read_hammer_rows(out_csv)
        summary = benchlib.settings_of(out_csv).get("summary") or {}
        notes = []
        if rows["rows"] != requests:
            notes.append("the summary says %d requests, results.csv has %d "
                         "rows" % (requests, rows["rows"]))
        if "rps" in summary and not _close(summary["rps"], text_rps, 0.1,
                                           0.1):
            notes.append("results.csv.json's summary rps %.1f, the summary "
                         "line's %.1f" % (summary["rps"], text_rps))
        return dict(tool="hammer", c=c, rate=text_rps, requests=requests,
                    errors=rows["errors"], **cpu_figures(res, requests),
                    p50_s=nearest_rank(rows["service"], 50),
                    p99_s=nearest_rank(rows["service"], 99),
                    warnings=warnings, notes=notes)

    def open(self, target):
        """hammer --rate target: the run's figures and, in "notes", every
        way hammer's output disagrees with itself or the contract."""
        out_csv = self._csv("rate%d" % target)
        res = cpu_run(self.hammer_cmd(
            ["--rate", str(target), "-c", str(self.open_c), "--runtime",
             "%gs" % self.runtime_s], out_csv), self.timeout_s)
        requests, text_rps, warnings = parse_hammer_text(res.out)
        rows = read_hammer_rows(out_csv)
        settings = benchlib.settings_of(out_csv)
        summary = settings.get("summary") or {}
        if not rows["has_scheduled"]:
            raise BenchError("%s has no scheduled column: does %s have "
                             "--rate?" % (out_csv, self.script))
        duration_s = settings.get("duration_s", summary.get("duration_s"))
        if duration_s:
            rate, source = rows["rows"] / float(duration_s), "rows/duration_s"
        else:
            rate, source = text_rps, "summary line"
        late = rows["lateness"]
        r = dict(tool="hammer", c=self.open_c, target=target, rate=rate,
                 rate_source=source,
                 requests=rows["rows"], errors=rows["errors"],
                 **cpu_figures(res, rows["rows"]),
                 avg_s=(sum(rows["service"]) / len(rows["service"])
                        if rows["service"] else None),
                 p50_s=nearest_rank(rows["service"], 50),
                 p99_s=nearest_rank(rows["service"], 99),
                 max_s=rows["service"][-1] if rows["service"] else None,
                 corrected_p50_s=nearest_rank(rows["corrected"], 50),
                 corrected_p99_s=nearest_rank(rows["corrected"], 99),
                 late_min_s=late[0] if late else None,
                 late_p50_s=nearest_rank(late, 50),
                 late_p99_s=nearest_rank(late, 99),
                 late_max_s=late[-1] if late else None,
                 warnings=warnings, summary=summary,
                 notes=self.check_open(target, rows, requests, text_rps,
                                       settings, summary, rate))
        return r

    def check_open(self, target, rows, requests, text_rps, settings,
                   summary, rate):
        """What in one --rate run's output looks wrong: a list of lines."""
        notes = []
        n = rows["rows"]
        if n != requests:
            notes.append("summary line: %d requests, results.csv: %d rows"
                         % (requests, n))
        if rows["unscheduled"]:
            notes.append("%d rows have an empty scheduled"
                         % rows["unscheduled"])
        if rows["lateness"] and rows["lateness"][0] < -CLOCK_SLACK_S:
            early = sum(1 for x in rows["lateness"] if x < -CLOCK_SLACK_S)
            notes.append("%d rows were sent before their scheduled instant "
                         "(by up to %s)" % (early, us(-rows["lateness"][0])))
        if rows["duplicates"]:
            notes.append("%d scheduled instants appear twice or more"
                         % rows["duplicates"])
        if (rows["last_scheduled"] is not None
                and rows["last_scheduled"] >= self.runtime_s):
            notes.append("a scheduled instant at %.6f s, past the %g s "
                         "runtime" % (rows["last_scheduled"], self.runtime_s))
        notes += self.check_slots(target, rows)
        if settings.get("model") not in (None, "open"):
            notes.append('results.csv.json says model %r' % settings["model"])
        rate_rps = settings.get("rate_rps")
        if rate_rps is not None and list(rate_rps) != [target, target]:
            notes.append("results.csv.json's rate_rps is %r" % (rate_rps,))
        if not _close(text_rps, rate, 0.1, 0.5):
            notes.append("the summary line's %.1f req/s, the rows' %.1f"
                         % (text_rps, rate))
        if not summary:
            notes.append("no summary in results.csv.json")
            return notes
        for key, value in (("requests", n), ("errors", rows["errors"])):
            if key in summary and summary[key] != value:
                notes.append("summary %s %r, the rows' %d"
                             % (key, summary[key], value))
        if "rps" in summary and not _close(summary["rps"], rate, 0.1, 0.5):
            notes.append("summary rps %.1f, the rows' %.1f"
                         % (summary["rps"], rate))
        if "target_rps" in summary and summary["target_rps"] != target:
            notes.append("summary target_rps %r, asked %g"
                         % (summary["target_rps"], target))
        for key, values, label in (
                ("latency_ms", rows["service"], "service time"),
                ("corrected_latency_ms", rows["corrected"],
                 "corrected latency")):
            figures = summary.get(key)
            if figures is None:
                notes.append("summary has no %s" % key)
                continue
            for p in (50, 99):
                have = figures.get("p%d" % p)
                want = nearest_rank(values, p)
                if have is None or want is None:
                    continue
                if not _close(have / 1e3, want):
                    notes.append("summary %s p%d %s, the rows' %s"
                                 % (label, p, us(have / 1e3), us(want)))
        late = summary.get("late")
        if late is None:
            notes.append("summary has no late")
        elif rows["lateness"] and late.get("max_ms") is not None:
            if not _close(late["max_ms"] / 1e3, rows["lateness"][-1]):
                notes.append("summary late max %s, the rows' %s" % (
                    us(late["max_ms"] / 1e3), us(rows["lateness"][-1])))
        return notes

    def check_slots(self, target, rows):
        """Uniform slots k/target for every k/target < runtime: one row
        each ("never skipped"), give or take one."""
        slots = int(math.ceil(target * self.runtime_s - 1e-9))
        n = rows["rows"]
        if abs(n - slots) <= 1 or rows["last_scheduled"] is None:
            return []
        after = slots - 1 - int(round(rows["last_scheduled"] * target))
        return ["%d rows for the %d slots before the runtime's end (%d req/s "
                "over %g s): %d slots never sent, %d of them after the last "
                "slot sent (%.6f s): the run ended with them still waiting"
                % (n, slots, target, self.runtime_s, slots - n, after,
                   rows["last_scheduled"])]

    def hey(self, target):
        c = self.open_c
        res = cpu_run(["hey", "-z", "%gs" % self.runtime_s, "-c", str(c),
                       "-q", "%g" % (target / float(c)), "-cpus", "1",
                       self.url], self.timeout_s)
        h = parse_hey(res.out)
        return dict(tool="hey", target=target, rate=h["rate"],
                    requests=h["requests"], errors=h["errors"],
                    **cpu_figures(res, h["requests"]),
                    avg_s=h["avg_s"], p50_s=h["percentiles"].get(50),
                    p99_s=h["percentiles"].get(99), max_s=h["max_s"],
                    notes=[])

    def httperf(self, target):
        conns = int(round(target * self.runtime_s))
        res = cpu_run(["httperf", "--server", "127.0.0.1", "--port",
                       str(self.port), "--uri", "/", "--rate", "%g" % target,
                       "--num-conns", str(conns), "--num-calls", "1",
                       "--timeout", "5"], self.timeout_s)
        h = parse_httperf(res.out)
        return dict(tool="httperf", target=target, rate=h["rate"],
                    requests=h["requests"], errors=h["errors"],
                    **cpu_figures(res, h["requests"]),
                    avg_s=h["avg_s"], p50_s=None, p99_s=None,
                    max_s=h["max_s"], notes=[
                        "httperf errors: " + ", ".join(
                            "%s %d" % k for k in h["error_kinds"])]
                    if h["error_kinds"] else [])


def accurate(run):
    """Achieved within TARGETS["accuracy_pct"] of the target, no errors."""
    return (run["errors"] == 0 and abs(run["rate"] / run["target"] - 1.0)
            <= TARGETS["accuracy_pct"] / 100.0)


def prompt_lateness(run):
    return (run["late_p99_s"] is not None
            and run["late_p99_s"] < TARGETS["lateness_p99_s"])


# --- the report --------------------------------------------------------------


def rps(value):
    return "{:,.0f}".format(value)


def per_req(seconds):
    return "%.1f us" % (seconds * 1e6)


def versions(script, peer_names):
    def version(cmd):
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               universal_newlines=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        m = re.search(r"(\d+\.\d+[\w.+~-]*)", p.stdout)
        return m.group(1) if m else "?"

    def debian(package):
        return version(["dpkg-query", "-W", "-f", "${Version}\n", package])

    out = [("hammer", version([sys.executable, script, "--version"])),
           ("nginx", version(["nginx", "-v"]))]
    if "hey" in peer_names:
        out.append(("hey", debian("hey")))
    if "httperf" in peer_names:
        out.append(("httperf", debian("httperf")))
    return out


def report(args, m):
    """The markdown section as a list of lines; m holds the measurements."""
    closed = m["closed"]
    closed_max = m["closed_max"]
    lines = [
        SECTION,
        "",
        "Made by `python3 bench/rate.py%s` on %s UTC; it took %.0f min."
        % (args.argv_text, m["started"].strftime("%Y-%m-%d %H:%M"),
           m["elapsed_s"] / 60.0),
        "",
        "- Machine: %s, %d CPUs, Linux %s; Python %s runs hammer.py."
        % (machine(), os.cpu_count(), platform.release(),
           platform.python_version()),
        "- Versions: %s." % ", ".join("%s %s" % v for v in m["versions"]),
        "- Target: nginx on 127.0.0.1, one worker pinned to CPU %d, "
        "access_log off, an 11-byte file. Each load generator runs as one "
        "process pinned to CPU %d; each run lasts %g s."
        % (SERVER_CPU, CLIENT_CPU, args.runtime),
        "- hammer's open model: `hammer.py URL --rate R -p 1 -c %d`; its "
        "closed-model maximum: `-p 1 -c %d`. Lateness is `elapsed - "
        "scheduled` of every row of results.csv; service time is "
        "`response_time`; latency from the intended send is `elapsed - "
        "scheduled + response_time`. All are exact nearest-rank "
        "percentiles over every row." % (args.concurrency, CLOSED_C),
        "- CPU per request: user + system seconds from GNU time over the "
        "whole run, divided by the requests. \"net\" first takes off what "
        "hammer spends starting and stopping (a run of `-c C -n C`, where "
        "each user sends one request: %s at -c %d, %s at -c %d)."
        % ("%.2f s" % m["fixed"][CLOSED_C], CLOSED_C,
           "%.2f s" % m["fixed"][args.concurrency], args.concurrency),
        "",
        "### Closed-model maximum",
        "",
        "| run | req/s | p50 | p99 | CPU per request | net | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in zip(("before the open-model runs",
                         "after them"), closed):
        lines.append("| %s | %s | %s | %s | %s | %s | %d%s |" % (
            label, rps(r["rate"]), us(r["p50_s"]), us(r["p99_s"]),
            per_req(r["cpu_per_req_s"]), per_req(net_cpu(r, m["fixed"])),
            r["errors"], " (saturated)" if r["warnings"] else ""))
    lines += [
        "",
        "The closed-model maximum is the first run's, %s req/s: the target "
        "rates and the ladder below are fractions of it." % rps(closed_max),
        "",
        "### Rate accuracy",
        "",
        "| target | achieved | achieved / target | lateness p50 | p99 | max "
        "| service p50 | p99 | latency from intended p99 | CPU per request "
        "(net) | net / closed | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    closed_net = net_cpu(closed[0], m["fixed"])
    for r in m["rates"]:
        lines.append(
            "| %s | %s | %.4f | %s | %s | %s | %s | %s | %s | %s (%s) | "
            "%.2f | %d |" % (
                rps(r["target"]), rps(r["rate"]), r["rate"] / r["target"],
                us(r["late_p50_s"]), us(r["late_p99_s"]),
                us(r["late_max_s"]), us(r["p50_s"]), us(r["p99_s"]),
                us(r["corrected_p99_s"]), per_req(r["cpu_per_req_s"]),
                per_req(net_cpu(r, m["fixed"])),
                net_cpu(r, m["fixed"]) / closed_net, r["errors"]))
    lines += [""]
    for r in m["rates"]:
        lines.append(
            "- %s req/s: achieved within %g%%: %s; p99 lateness under %g "
            "ms: %s." % (rps(r["target"]), TARGETS["accuracy_pct"],
                         verdict(accurate(r)),
                         TARGETS["lateness_p99_s"] * 1e3,
                         verdict(prompt_lateness(r))))
    lines += [
        "",
        "\"net / closed\" is the CPU per request at that rate against the "
        "closed model's (%s net), both without the cost of starting and "
        "stopping." % per_req(closed_net),
    ]
    lines += ladder_lines(m, closed_max)
    if m["peers"]:
        lines += peer_lines(m)
    hammer_runs = sorted(dict((r["target"], r) for r in
                              m["rates"] + m["ladder"]).values(),
                         key=lambda r: r["target"])
    notes = [(r, note) for r in hammer_runs for note in r["notes"]]
    warned = [(r, w) for r in hammer_runs for w in r["warnings"]]
    lines += ["", "### Checks of hammer's output", ""]
    lines.append(
        "Each --rate run's rows against its summary line and results.csv."
        "json's summary, and the contract: no send before its scheduled "
        "instant, one row per slot, no slot twice.")
    lines.append("")
    if notes:
        lines += ["- %s req/s: %s" % (rps(r["target"]), note)
                  for r, note in notes]
    else:
        lines.append("Nothing disagreed.")
    if warned:
        lines += ["", "hammer's warnings:", ""]
        lines += ["- %s req/s: `warning: %s`" % (rps(r["target"]), w)
                  for r, w in warned]
    lines += ["", "Reproduce: `python3 bench/rate.py%s` (Linux, 2+ CPUs, "
              "root for apt-get when tools are missing)." % args.argv_text,
              ""]
    return lines


def net_cpu(run, fixed):
    """CPU seconds per request without the cost of starting and stopping."""
    cpu = max(0.0, run["cpu_s"] - fixed.get(run.get("c"), 0.0))
    return cpu / max(1, run["requests"])


def ladder_lines(m, closed_max):
    lines = ["", "### Highest sustained rate", ""]
    if not m["ladder"]:
        return lines + ["Not measured this time (--ladder none)."]
    lines += [
        "`--rate` at fractions of the closed-model maximum, climbing until "
        "a rung misses %g%% accuracy or has errors."
        % TARGETS["accuracy_pct"],
        "",
        "| fraction | target | achieved | achieved / target | lateness p99 "
        "| max | CPU per request (net) | errors | within %g%% |"
        % TARGETS["accuracy_pct"],
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in m["ladder"]:
        lines.append("| %.2f | %s | %s | %.4f | %s | %s | %s (%s) | %d | %s |"
                     % (r["fraction"], rps(r["target"]), rps(r["rate"]),
                        r["rate"] / r["target"], us(r["late_p99_s"]),
                        us(r["late_max_s"]), per_req(r["cpu_per_req_s"]),
                        per_req(net_cpu(r, m["fixed"])), r["errors"],
                        "yes" if accurate(r) else "**no**"))
    best = m["sustained"]
    lines.append("")
    if best is None:
        lines.append("No rung was met: hammer sustains less than %.2f of its "
                     "closed-model maximum (goal: at least %g: %s)."
                     % (m["ladder"][0]["fraction"], TARGETS["sustained"],
                        verdict(False)))
    else:
        top = best is m["ladder"][-1] and accurate(best)
        ratio = best["rate"] / closed_max
        lines.append(
            "Highest rate sustained within %g%%: %s req/s (target %s), "
            "%.2f of the closed-model maximum%s (%.2f of the maximum "
            "measured after). Goal: at least %g: %s."
            % (TARGETS["accuracy_pct"], rps(best["rate"]),
               rps(best["target"]), ratio,
               ", the top rung: it may sustain more" if top else "",
               best["rate"] / m["closed"][-1]["rate"], TARGETS["sustained"],
               verdict(ratio >= TARGETS["sustained"])))
        prompt = [r for r in m["ladder"] if accurate(r) and prompt_lateness(r)]
        lines += [""]
        lines.append(
            "The highest of those rungs whose p99 lateness was also under %g "
            "ms: %s." % (TARGETS["lateness_p99_s"] * 1e3, (
                "%s req/s, %.2f of the closed-model maximum"
                % (rps(prompt[-1]["rate"]), prompt[-1]["rate"] / closed_max))
                if prompt else "none"))
    return lines


def peer_lines(m):
    lines = [
        "",
        "### Beside other open-model tools",
        "",
        "Same target rates, same pinning. hammer's latency is its service "
        "time (from the actual send, as the others measure). hey "
        "`-c %d -q R/%d` keeps connections alive and paces each worker "
        "(its latency has 0.1 ms steps). httperf `--rate R --num-calls 1` "
        "opens a new connection for each request; its figures are the "
        "connection time (connect to close), and it gives no percentiles "
        "finer than 1 ms. CPU use is CPU seconds over wall seconds of the "
        "whole run (1.00: a whole core)." % (m["open_c"], m["open_c"]),
        "",
        "| target | tool | achieved | achieved / target | avg | p50 | p99 "
        "| max | CPU per request | CPU use | errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in m["rates"]:
        for p in [r] + m["peers"].get(r["target"], []):
            lines.append("| %s | %s | %s | %.4f | %s | %s | %s | %s | %s | "
                         "%.2f | %d |" % (
                             rps(p["target"]), p["tool"], rps(p["rate"]),
                             p["rate"] / p["target"], us(p["avg_s"]),
                             us(p["p50_s"]), us(p["p99_s"]), us(p["max_s"]),
                             per_req(p["cpu_per_req_s"]), p["cpu_use"],
                             p["errors"]))
    noted = ["- %s at %s req/s: %s" % (p["tool"], rps(p["target"]),
                                       "; ".join(p["notes"]))
             for r in m["rates"] for p in m["peers"].get(r["target"], [])
             if p["notes"]]
    if noted:
        lines += [""] + noted
    spun = [p for runs in m["peers"].values() for p in runs
            if p["tool"] == "httperf" and p["cpu_use"] > 0.9]
    if spun:
        low = "%.2f" % min(p["cpu_use"] for p in spun)
        high = "%.2f" % max(p["cpu_use"] for p in spun)
        lines += ["", "httperf polls without sleeping: it used %s of its "
                  "core at every rate, so its CPU per request says little."
                  % (low if low == high else low + " to " + high)]
    return lines


# --- main --------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", type=float, default=None,
                        help="seconds per run (default: 10; %g with "
                             "--quick)" % QUICK_RUNTIME_S)
    parser.add_argument("--rates", type=rate_arg, default=None,
                        metavar="LIST",
                        help="comma-separated target rates: req/s, or 0.5x "
                             "for half the closed-model maximum (default: "
                             "%s)" % DEFAULT_RATES)
    parser.add_argument("--ladder", type=fractions_arg, default=None,
                        metavar="LIST",
                        help="fractions of the closed-model maximum to climb "
                             "for the highest sustained rate, or none "
                             "(default: %s; %s with --quick)" % (
                                 ",".join("%g" % f for f in LADDER),
                                 ",".join("%g" % f for f in QUICK_LADDER)))
    parser.add_argument("--peers", type=peers_arg, default=list(PEERS),
                        metavar="NAMES",
                        help="open-model peers to run beside hammer: "
                             "hey,httperf or none (default: both)")
    parser.add_argument("--concurrency", type=int, default=OPEN_C,
                        help="hammer's -c (the cap on requests in flight) "
                             "and hey's -c (default: %(default)s)")
    parser.add_argument("--hammer", default=HAMMER, metavar="FILE",
                        help="the hammer.py to run (default: the one beside "
                             "bench/)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: %g s runs, ladder %s" % (
                            QUICK_RUNTIME_S,
                            ",".join("%g" % f for f in QUICK_LADDER)))
    benchlib.add_output_options(parser, SECTION)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv_text = "".join(" " + a for a in argv)
    if args.runtime is None:
        args.runtime = QUICK_RUNTIME_S if args.quick else 10.0
    if not 0 < args.runtime <= 600:
        parser.error("--runtime: give seconds from 0 to 600")
    if args.concurrency < 1:
        parser.error("--concurrency: give a whole number >= 1")
    if args.rates is None:
        args.rates = rate_arg(DEFAULT_RATES)
    if args.ladder is None:
        args.ladder = list(QUICK_LADDER if args.quick else LADDER)
    if not os.path.isfile(args.hammer):
        parser.error("--hammer %s: no such file" % args.hammer)
    args.hammer = os.path.abspath(args.hammer)
    if not sys.platform.startswith("linux"):
        parser.error("needs Linux (taskset, /proc)")
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        parser.error("needs CPUs %d and %d (this process may use %s)"
                     % (SERVER_CPU, CLIENT_CPU, sorted(cpus)))
    needed = {"nginx": "nginx-light", "taskset": "util-linux",
              benchlib.GNU_TIME: "time"}
    needed.update((p, p) for p in args.peers)
    benchlib.ensure_debian(needed)

    def log(line):
        print(line, file=sys.stderr, flush=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.time()
    work = args.keep or tempfile.mkdtemp(prefix="hammer-rate-")
    os.makedirs(work, exist_ok=True)
    nginx = None
    try:
        nginx, url = start_nginx(work)
        log("nginx on %s, CPU %d; load generators on CPU %d; %g s runs"
            % (url, SERVER_CPU, CLIENT_CPU, args.runtime))
        m = measure(Bench(url, work, args.runtime, args.concurrency,
                          args.hammer, log), args, log)
    except BenchError as exc:
        print("rate: %s" % exc, file=sys.stderr)
        return 1
    finally:
        stop(nginx)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    m.update(started=started, elapsed_s=time.time() - t_start,
             versions=versions(args.hammer, args.peers),
             open_c=args.concurrency)
    text = "\n".join(report(args, m))
    print(text)
    if args.results:
        benchlib.write_section(args.results, SECTION, text)
        log("written to %s" % os.path.relpath(args.results))
    return 0


def log_open(log, label, r):
    log("%-8s %7s req/s: achieved %9.1f (%.4f)  lateness p50 %s p99 %s max "
        "%s  service p99 %s  CPU %s/req  errors %d%s" % (
            label, rps(r["target"]), r["rate"], r["rate"] / r["target"],
            us(r["late_p50_s"]), us(r["late_p99_s"]), us(r["late_max_s"]),
            us(r["p99_s"]), per_req(r["cpu_per_req_s"]), r["errors"],
            "".join("\n         ! " + n for n in r["notes"])
            + "".join("\n         warning: " + w for w in r["warnings"])))


def log_peer(log, r):
    log("%-8s %7s req/s: achieved %9.1f (%.4f)  avg %s p50 %s p99 %s max %s"
        "  CPU %s/req (use %.2f)  errors %d" % (
            r["tool"], rps(r["target"]), r["rate"], r["rate"] / r["target"],
            us(r["avg_s"]), us(r["p50_s"]), us(r["p99_s"]), us(r["max_s"]),
            per_req(r["cpu_per_req_s"]), r["cpu_use"], r["errors"])
        + "".join("\n         ! " + n for n in r["notes"]))


def climb(open_run, fractions, closed_max):
    """open_run(target) at each fraction of closed_max in turn, until one
    misses accurate(): (the runs, each with its "fraction", and the last
    run met or None)."""
    ladder, sustained = [], None
    for fraction in fractions:
        r = dict(open_run(int(round(fraction * closed_max))),
                 fraction=fraction)
        ladder.append(r)
        if not accurate(r):
            break
        sustained = r
    return ladder, sustained


def measure(bench, args, log):
    """Every run, in order: a dict of what the report needs."""
    fixed = {}
    for c in sorted(set((CLOSED_C, args.concurrency))):
        fixed[c] = bench.fixed_cpu(c)
        log("fixed cost: -c %d -n %d: %.3f s CPU (median of %d)"
            % (c, c, fixed[c], FIXED_RUNS))
    closed = [bench.closed()]
    log("closed   -c %d: %s req/s, p99 %s, CPU %s/req%s" % (
        CLOSED_C, rps(closed[0]["rate"]), us(closed[0]["p99_s"]),
        per_req(closed[0]["cpu_per_req_s"]),
        "".join("\n         ! " + n for n in closed[0]["notes"])))
    closed_max = closed[0]["rate"]
    runs = {}           # target -> hammer --rate run, reused by the ladder

    def open_run(target, label):
        if target not in runs:
            runs[target] = bench.open(target)
            log_open(log, label, runs[target])
        return runs[target]

    targets = []
    for kind, value in args.rates:
        target = int(round(value * closed_max if kind == "x" else value))
        if target not in targets:
            targets.append(target)
    rates, peer_runs = [], {}
    for target in targets:
        rates.append(open_run(target, "rate"))
        for name in args.peers:
            r = getattr(bench, name)(target)
            peer_runs.setdefault(target, []).append(r)
            log_peer(log, r)
    ladder, sustained = climb(lambda target: open_run(target, "ladder"),
                              args.ladder, closed_max)
    closed.append(bench.closed())
    log("closed   -c %d: %s req/s (after)" % (CLOSED_C,
                                              rps(closed[1]["rate"])))
    return dict(fixed=fixed, closed=closed, closed_max=closed_max,
                rates=rates, peers=peer_runs, ladder=ladder,
                sustained=sustained)


if __name__ == "__main__":
    sys.exit(main())

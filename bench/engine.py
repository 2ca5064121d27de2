#!/usr/bin/env python3
"""Benchmark: hammer's engines, the event loop and threads, side by side.

Usage:

    python3 bench/engine.py [--duration 5] [--rounds 3] [--users 10000]
                            [--ladder 0.7,0.8,0.85,0.9,0.95,1.0]
                            [--only sharing,users,cpu,rate] [--hammer FILE]
                            [--quick]
                            [--keep DIR] [--results bench/RESULTS.md]

One command, Linux with two or more CPUs.  It installs what is missing
(Debian's nginx-light, wrk and time with apt-get), then measures the rows
of issue 23's targets that bench/peers.py does not (peers.py gives req/s
and p99 against wrk on one core each, with `--tools
hammer,hammer-threads,wrk`).  Each row runs hammer's default engine
(`hammer`) and `--engine threads` in the same run, and gives ratios:

1. sharing: nginx with 2 workers and the client share both CPUs, nothing
   pinned: `hammer.py URL -c 16` at its default -p, the same with
   `--engine threads`, and `wrk -t2 -c16`, for --duration s each, taking
   turns in an order that rotates each round; the medians of --rounds
   rounds, and hammer / wrk;
2. users: `hammer.py URL -p 1 -c 10000 --rampup 2s --interval 1s
   --runtime 10s` against nginx with 2 workers (room for 20,000
   connections each), once per engine, under GNU time: the errors by
   kind, the connections nginx accepted during the run and the most it
   held open at once (its stub_status, read every 0.25 s over one kept-
   alive connection of this script's, which is not counted), the requests
   nginx read against hammer's rows, and the peak RSS of hammer's biggest
   process (GNU time's maximum resident set size: the worker's);
3. cpu: nginx with one worker on CPU 0 and each client on CPU 1 (peers.py's
   setup): `hammer.py URL -p 1 -c 16` per engine and `wrk -t1 -c16`, in
   rotating rounds, each under GNU time: CPU per request (user + system
   seconds of the whole run, starting and stopping included, over its
   requests), hammer / wrk.  wrk's req/s here is nginx's ceiling for
   this and the next part;
4. rate: the same pinning, with bench/rate.py's runs: each engine's
   closed-model maximum (`-p 1 -c 16`), then `--rate` at the fractions of
   it in --ladder (`-p 1 -c 64`), climbing until a rung misses 1% of the
   asked rate or has errors: the highest rate held within 1%, as a
   fraction of that engine's closed-model maximum and of the default
   engine's.

It prints the results as a markdown section on stdout (progress goes to
stderr) and, with --results FILE, puts it in FILE in place of its
"## The event loop against threads" section, or at its end.  A hammer.py
with no --engine runs as threads under both names.  All traffic goes to
127.0.0.1, and every run has a time limit.

--quick is a smoke run of under a minute: 2 s runs, one round, 1,000 users
for 4 s, ladder 0.7,0.9.  The full run takes about 5 minutes:

    python3 bench/engine.py --results bench/RESULTS.md
"""

import argparse
import datetime
import http.client
import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import threading
import time

import benchlib
import peers
import rate
from peers import BenchError, us, verdict

SECTION = "## The event loop against threads"
PARTS = ("sharing", "users", "cpu", "rate")
ENGINES = (("hammer", None), ("hammer-threads", "threads"))  # (tool, engine)
TOOLS = [tool for tool, _ in ENGINES] + ["wrk"]
CONCURRENCY = 16            # the closed model's users, and wrk's connections
USERS = 10000
USERS_RUNTIME_S = 10
USERS_RAMPUP_S = 2
USERS_INTERVAL_S = 1
USERS_NGINX_CONNECTIONS = 20000     # each nginx worker's, for the users run
STATUS_PATH = "/nginx_status"
STATUS_LOCATION = ("        location = %s {{ stub_status; }}\n"
                   % STATUS_PATH)      # str.format()ted by start_nginx
STATUS_POLL_S = 0.25
LADDER = (0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
QUICK = dict(duration=2, rounds=1, users=1000, users_runtime_s=4,
             ladder=(0.7, 0.9))
RUN_GRACE_S = 60.0
# The goals, each read as its comment says.
TARGETS = {
    "sharing": 0.8,         # hammer / wrk -t2 req/s sharing 2 CPUs, at least
    "users_rss_mb": 200.0,  # peak RSS of the 10,000 users' process, under
    "rate": 0.9,            # highest rate within 1% / closed max, at least
    "cpu": 1.5,             # CPU per request, hammer / wrk, at most
}


# --- pure parsing ------------------------------------------------------------


def parse_stub_status(text):
    """nginx's stub_status page: dict(active, accepts, handled, requests,
    reading, writing, waiting)."""
    m = re.search(r"Active connections:\s*(\d+)\s+server accepts handled "
                  r"requests\s+(\d+)\s+(\d+)\s+(\d+)\s+Reading:\s*(\d+)\s+"
                  r"Writing:\s*(\d+)\s+Waiting:\s*(\d+)", text)
    if not m:
        raise BenchError("not a stub_status page: %r" % text[:200])
    return dict(zip(("active", "accepts", "handled", "requests", "reading",
                     "writing", "waiting"), (int(g) for g in m.groups())))


def error_kinds(csv_path):
    """{kind: rows} of a hammer results.csv's rows whose status is not 200:
    the error column's kind for status 0, else "HTTP <status>"."""
    kinds = {}
    with open(csv_path) as f:
        next(f, None)
        for line in f:
            fields = line.split(",", 5)
            if fields[2] == "200":
                continue
            kind = fields[4] if fields[2] == "0" else "HTTP " + fields[2]
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def parts_arg(text):
    """argparse type: comma-separated names from PARTS, in that order."""
    chosen = set(p.strip() for p in text.split(",") if p.strip())
    if not chosen or chosen - set(PARTS):
        raise argparse.ArgumentTypeError(
            "%r: give names from %s" % (text, ",".join(PARTS)))
    return [p for p in PARTS if p in chosen]


# --- running things ----------------------------------------------------------


class StubStatus(object):
    """nginx's stub_status read every STATUS_POLL_S in a thread, over one
    kept-alive connection: the first and last pages and the most
    connections open at once, ours left out."""

    def __init__(self, url):
        host, port = url.split("//")[1].strip("/").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=5)
        self.first = self.read()
        self.last, self.reads, self.peak = self.first, 1, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll)
        self.thread.start()

    def read(self):
        self.conn.request("GET", STATUS_PATH)
        return parse_stub_status(self.conn.getresponse().read().decode())

    def _poll(self):
        while not self.done.wait(STATUS_POLL_S):
            self._take()

    def _take(self):
        self.last = self.read()
        self.reads += 1
        self.peak = max(self.peak, self.last["active"] - 1)

    def stop(self):
        """The run's figures: connections accepted, the most open at once,
        and the requests nginx read, this poller's own left out."""
        self.done.set()
        self.thread.join()
        self._take()
        self.conn.close()
        return dict(accepted=self.last["accepts"] - self.first["accepts"],
                    peak_open=self.peak,
                    nginx_requests=(self.last["requests"]
                                    - self.first["requests"]
                              - (self.reads - 1)))


def raise_nofile(n):
    """Let this process and its children open n file descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(hard, n)))


def users_run(url, work, script, engine, users, runtime_s, log):
    """hammer.py (script) -p 1 -c users --rampup --interval, under GNU
    time, with nginx's stub_status polled: a dict of what the report
    needs."""
    out_csv = os.path.join(work, "users-%s.csv" % (engine or "default"))
    cmd = [sys.executable, script, url, "-p", "1", "-c", str(users),
           "--rampup", "%gs" % USERS_RAMPUP_S, "--interval",
           "%gs" % USERS_INTERVAL_S, "--runtime", "%gs" % runtime_s, "-q",
           "-o", out_csv] + peers.engine_options(engine, script)
    status = StubStatus(url)
    try:
        res = peers.run_timed(cmd, runtime_s + RUN_GRACE_S)
    finally:
        nginx = status.stop()
    requests, rps, warning = peers.parse_hammer(res.out)
    rows, errors, times = peers.csv_latencies(out_csv)
    r = dict(engine=benchlib.settings_of(out_csv).get("engine") or "threads",
             users=users, requests=requests, rows=rows, rate=rps,
             errors=errors, kinds=error_kinds(out_csv),
             p99_s=benchlib.nearest_rank(times, 99), rss_kb=res.max_rss_kb,
             cpu_s=res.cpu_s, wall_s=res.wall_s, warning=warning, **nginx)
    log("users    %-8s -c %d: %d rows, %d errors%s; nginx accepted %d "
        "connections, %d open at most, read %d requests; peak RSS %.1f MB; "
        "CPU %.1f s" % (r["engine"], users, rows, errors,
                        " (%s)" % kinds_text(r["kinds"]) if errors else "",
                        r["accepted"], r["peak_open"], r["nginx_requests"],
                        r["rss_kb"] / 1024.0, r["cpu_s"]))
    return r


class EngineBench(rate.Bench):
    """bench/rate.py's runs (closed model, --rate) with --engine engine."""

    def __init__(self, url, work, runtime_s, script, engine, log):
        rate.Bench.__init__(self, url, work, runtime_s, rate.OPEN_C, script,
                            log)
        self.engine = engine

    def hammer_cmd(self, extra, out_csv):
        return rate.Bench.hammer_cmd(
            self, extra + peers.engine_options(self.engine, self.script),
            out_csv)


def rate_runs(url, work, args, log):
    """Each engine's closed-model maximum and its climb up the ladder:
    {tool: dict(closed, ladder, sustained)}."""
    out = {}
    for tool, engine in ENGINES:
        bench = EngineBench(url, work, args.duration, args.hammer, engine,
                            log)
        closed = bench.closed(CONCURRENCY)
        log("rate     %-14s closed -c %d: %s req/s" % (
            tool, CONCURRENCY, rate.rps(closed["rate"])))

        def open_run(target):
            r = bench.open(target)
            rate.log_open(log, tool[:8], r)
            return r

        runs, sustained = rate.climb(open_run, args.ladder, closed["rate"])
        out[tool] = dict(closed=closed, ladder=runs, sustained=sustained)
    return out


def measure(args, work, log):
    """Every part asked for, in order: {part: its figures}."""
    def race(url, sub, **options):
        return peers.race(peers.Tools(url, sub, args.duration,
                                      script=args.hammer, **options),
                          TOOLS, [CONCURRENCY], args.rounds, log)

    def users(url, sub):
        return [users_run(url, sub, args.hammer, engine, args.users,
                          args.users_runtime_s, log) for _, engine in ENGINES]

    parts = {   # part: (its nginx, its runs)
        "sharing": (dict(workers=2, cpu=None), lambda url, sub: race(
            url, sub, cpu=None, processes=None, wrk_threads=2)),
        "users": (dict(workers=2, cpu=None,
                       connections=USERS_NGINX_CONNECTIONS,
                       locations=STATUS_LOCATION), users),
        "cpu": ({}, lambda url, sub: race(url, sub, gnu_time=True)),
        "rate": ({}, lambda url, sub: rate_runs(url, sub, args, log)),
    }
    if "users" in args.only:
        raise_nofile(args.users + 1024)
    return dict((part, with_nginx(work, part, *parts[part]))
                for part in args.only)


def with_nginx(work, name, nginx_options, body):
    """body(url, directory) against nginx started with nginx_options
    (peers.start_nginx's) in work/name, stopped after."""
    sub = os.path.join(work, name)
    os.makedirs(sub)
    nginx = None
    try:
        nginx, url = peers.start_nginx(sub, **nginx_options)
        return body(url, sub)
    finally:
        peers.stop(nginx)


# --- the report --------------------------------------------------------------


def kinds_text(kinds):
    return ", ".join("%s %d" % k for k in sorted(kinds.items()))


def mb(kb):
    return "%.1f MB" % (kb / 1024.0)


def per_round(results, a, b, key="rate"):
    values = peers.round_ratios(results, a, b, CONCURRENCY, key)
    return "%.2f to %.2f" % (min(values), max(values))


def sharing_lines(results):
    s = peers.summarise(results)
    lines = ["", "### Sharing 2 CPUs with nginx", "",
             "nginx with 2 workers and the client on the same 2 CPUs, "
             "nothing pinned, %d connections: `hammer.py URL -c %d` at its "
             "default -p, and wrk `-t2 -c%d`." % (
                 CONCURRENCY, CONCURRENCY, CONCURRENCY), "",
             "| tool | engine | req/s | p50 | p99 | errors |",
             "|---|---|---:|---:|---:|---:|"]
    for tool in TOOLS:
        r = s[(tool, CONCURRENCY)]
        lines.append("| %s | %s | %s | %s | %s | %d |" % (
            peers.Tools.LABELS[tool],
            ", ".join(r["engines"]) or "-", rate.rps(r["rate"]),
            us(r["p50_s"]), us(r["p99_s"]), r["errors"]))
    lines += ["", "| ratio | median | range over rounds | target |",
              "|---|---:|---:|---|"]
    for a, b, target in (("hammer", "wrk", TARGETS["sharing"]),
                         ("hammer-threads", "wrk", None),
                         ("hammer", "hammer-threads", None)):
        value = s[(a, CONCURRENCY)]["rate"] / s[(b, CONCURRENCY)]["rate"]
        lines.append("| %s / %s req/s | %.2f | %s | %s |" % (
            a, b, value, per_round(results, a, b),
            "at least %g: %s" % (target, verdict(value >= target))
            if target else ""))
    return lines


def users_lines(runs):
    lines = ["", "### %s users in one process" % "{:,}".format(
        runs[0]["users"]), "",
        "`hammer.py URL -p 1 -c %d --rampup %ds --interval %ds --runtime "
        "%gs`, once per engine, against nginx with 2 workers (nothing "
        "pinned). nginx's figures are from its stub_status, read every "
        "%g s; the peak RSS is GNU time's, of hammer's biggest process."
        % (runs[0]["users"], USERS_RAMPUP_S, USERS_INTERVAL_S,
           runs[0]["users_runtime_s"], STATUS_POLL_S), "",
        "| engine | rows | req/s | errors | connections nginx accepted | most "
        "open at once | requests nginx read | peak RSS | CPU | goal met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        ok = (r["errors"] == 0 and r["peak_open"] >= r["users"]
              and r["rss_kb"] / 1024.0 < TARGETS["users_rss_mb"])
        errors = "{:,}".format(r["errors"]) + (
            " (%s)" % kinds_text(r["kinds"]) if r["errors"] else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %.1f s | %s |"
                     % (r["engine"], "{:,}".format(r["rows"]),
                        rate.rps(r["rate"]), errors,
                        "{:,}".format(r["accepted"]),
                        "{:,}".format(r["peak_open"]),
                        "{:,}".format(r["nginx_requests"]), mb(r["rss_kb"]),
                        r["cpu_s"], verdict(ok)))
    lines += ["", "Goal: 0 errors, every user's connection open at once, "
              "peak RSS under %g MB." % TARGETS["users_rss_mb"]]
    return lines


def cpu_lines(results):
    s = peers.summarise(results)
    wrk = s[("wrk", CONCURRENCY)]
    lines = ["", "### CPU per request", "",
             "nginx with one worker on CPU 0, each client on CPU 1, closed "
             "model, %d connections: `hammer.py URL -p 1 -c %d` and `wrk -t1 "
             "-c%d`. CPU is GNU time's user + system seconds of the whole "
             "run (hammer's start and stop included) over its requests."
             % (CONCURRENCY, CONCURRENCY, CONCURRENCY), "",
             "| tool | engine | req/s | CPU per request | / wrk's | "
             "range over rounds | target |",
             "|---|---|---:|---:|---:|---:|---|"]
    for tool in TOOLS:
        r = s[(tool, CONCURRENCY)]
        value = r["cpu_per_req_s"] / wrk["cpu_per_req_s"]
        target = TARGETS["cpu"] if tool == "hammer" else None
        lines.append("| %s | %s | %s | %s | %.2f | %s | %s |" % (
            peers.Tools.LABELS[tool],
            ", ".join(r["engines"]) or "-", rate.rps(r["rate"]),
            rate.per_req(r["cpu_per_req_s"]), value,
            per_round(results, tool, "wrk", "cpu_per_req_s"),
            "at most %g: %s" % (target, verdict(value <= target))
            if target else ""))
    return lines


def rate_lines(runs):
    lines = ["", "### --rate held within 1% on one core", "",
             "nginx with one worker on CPU 0, hammer on CPU 1 (bench/rate.py's"
             " runs): each engine's closed-model maximum (`-p 1 -c %d`), "
             "then `--rate R -p 1 -c %d` at fractions of it, climbing until "
             "a rung misses 1%% or has errors. The highest rung held is "
             "given as the rate asked (and achieved), and as a fraction of "
             "the engine's own maximum and of the default engine's."
             % (CONCURRENCY, rate.OPEN_C), "",
             "| hammer | closed-model maximum | rungs (achieved / asked) "
             "| highest held within 1% | / its maximum | / hammer's | "
             "target |",
             "|---|---:|---|---:|---:|---:|---|"]
    default_max = runs["hammer"]["closed"]["rate"]
    for tool, _ in ENGINES:
        r = runs[tool]
        closed_max, best = r["closed"]["rate"], r["sustained"]
        rungs = ", ".join("%.2f: %.4f" % (x["fraction"],
                                          x["rate"] / x["target"])
                          for x in r["ladder"])
        if best is None:
            held = "none"
            own = other = ("below %.2f" % r["ladder"][0]["fraction"]
                           if r["ladder"] else "-")
            met = False
        else:
            held = "%s (%s)%s" % (
                rate.rps(best["target"]), rate.rps(best["rate"]),
                ", the top rung" if best is r["ladder"][-1] else "")
            own = "%.2f" % best["fraction"]     # target / closed_max
            other = "%.2f" % (best["target"] / default_max)
            met = best["fraction"] >= TARGETS["rate"]
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            peers.Tools.LABELS[tool], rate.rps(closed_max), rungs,
            held, own, other, "at least %g: %s" % (
                TARGETS["rate"], verdict(met)) if tool == "hammer" else ""))
    return lines + ["", "What each run's output says against itself is in "
                    "the progress lines (stderr)."]


def report(args, m, started, elapsed_s):
    lines = [
        SECTION, "",
        "Made by `python3 bench/engine.py%s` on %s UTC; it took %.0f min."
        % (args.argv_text, started.strftime("%Y-%m-%d %H:%M"),
           elapsed_s / 60.0), "",
        "- Machine: %s, %d CPUs, Linux %s; Python %s runs hammer.py; load "
        "average %s before it." % (
            peers.machine(), os.cpu_count(), platform.release(),
            platform.python_version(), args.load),
        "- Versions: %s." % ", ".join(
            "%s %s" % v for v in peers.versions(["wrk"], None)),
        "- hammer.py: %s." % (
            "the one beside bench/" if args.hammer == peers.HAMMER
            else args.hammer),
        "- hammer's engine: `hammer` is its default; `threads` is "
        "`--engine threads`%s." % (
            "" if peers.engine_options("threads", args.hammer)
            else " (this hammer.py has no --engine: both ran threads)"),
    ]
    for part, where in (
            ("cpu", "with one worker on CPU 0, as `wrk -t1 -c%d` on CPU 1"
                    " reached it in this run"),
            ("sharing", "with 2 workers sharing both CPUs with the client,"
                        " as `wrk -t2 -c%d` reached it")):
        if part in m:
            wrk = peers.summarise(m[part])[("wrk", CONCURRENCY)]
            lines.append("- nginx's ceiling %s: %s req/s." % (
                where % CONCURRENCY, rate.rps(wrk["rate"])))
    lines.append("- Runs of %g s, %d round%s; the tools take turns in an "
                 "order that rotates each round, and figures are medians."
                 % (args.duration, args.rounds,
                    "" if args.rounds == 1 else "s"))
    if "sharing" in m:
        lines += sharing_lines(m["sharing"])
    if "users" in m:
        lines += users_lines(m["users"])
    if "cpu" in m:
        lines += cpu_lines(m["cpu"])
    if "rate" in m:
        lines += rate_lines(m["rate"])
    return lines


# --- main --------------------------------------------------------------------


def main(argv=None):
    """Exit code: 0, or 1 when a run failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=peers.hammer.positive_int_arg,
                        default=None,
                        help="seconds per run (default: 5; %g with --quick)"
                        % QUICK["duration"])
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of the sharing and cpu parts (default: "
                             "3; %d with --quick)" % QUICK["rounds"])
    parser.add_argument("--users", type=int, default=None,
                        help="users of the one-process run (default: %d; %d "
                             "with --quick)" % (USERS, QUICK["users"]))
    parser.add_argument("--ladder", type=rate.fractions_arg, default=None,
                        metavar="LIST",
                        help="fractions of the closed-model maximum to climb "
                             "with --rate (default: %s; %s with --quick)" % (
                                 ",".join("%g" % f for f in LADDER),
                                 ",".join("%g" % f for f in QUICK["ladder"])))
    parser.add_argument("--only", type=parts_arg, default=list(PARTS),
                        metavar="PARTS",
                        help="comma-separated parts to run (default: %s)"
                             % ",".join(PARTS))
    parser.add_argument("--hammer", default=peers.HAMMER, metavar="FILE",
                        help="the hammer.py to run (default: the one beside "
                             "bench/)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of under a minute")
    benchlib.add_output_options(parser, SECTION)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv_text = "".join(" " + a for a in argv)
    defaults = QUICK if args.quick else dict(
        duration=5, rounds=3, users=USERS, users_runtime_s=USERS_RUNTIME_S,
        ladder=LADDER)
    for key in ("duration", "rounds", "users", "ladder"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    args.users_runtime_s = defaults["users_runtime_s"]
    args.ladder = list(args.ladder)
    if not os.path.isfile(args.hammer):
        parser.error("--hammer %s: no such file" % args.hammer)
    args.hammer = os.path.abspath(args.hammer)
    if args.duration > 600:
        parser.error("--duration: give seconds from 1 to 600")
    if args.rounds < 1 or args.users < 1:
        parser.error("--rounds and --users: give whole numbers >= 1")
    if not sys.platform.startswith("linux"):
        parser.error("needs Linux (taskset, /proc)")
    cpus = os.sched_getaffinity(0)
    if not {peers.SERVER_CPU, peers.CLIENT_CPU} <= cpus:
        parser.error("needs CPUs %d and %d (this process may use %s)"
                     % (peers.SERVER_CPU, peers.CLIENT_CPU, sorted(cpus)))
    benchlib.ensure_debian({"nginx": "nginx-light", "taskset": "util-linux",
                            "wrk": "wrk", benchlib.GNU_TIME: "time"})
    args.load = " ".join("%.2f" % x for x in os.getloadavg())

    def log(line):
        print(line, file=sys.stderr, flush=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.time()
    work = args.keep or tempfile.mkdtemp(prefix="hammer-engine-")
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)       # nginx's workers may run as nobody
    try:
        m = measure(args, work, log)
    except BenchError as exc:
        print("engine: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if "users" in m:
        for r in m["users"]:
            r["users_runtime_s"] = args.users_runtime_s
    text = "\n".join(report(args, m, started, time.time() - t_start))
    print(text)
    if args.results:
        benchlib.write_section(args.results, SECTION, text)
        log("written to %s" % os.path.relpath(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

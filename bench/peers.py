#!/usr/bin/env python3
"""Benchmark: hammer against wrk, ab, Locust and the original design.

Usage:

    python3 bench/peers.py [--duration 5] [--rounds 3] [--soak 60]
                           [--scale-threads 2000] [--no-multi]
                           [--baseline FILE] [--tools NAMES]
                           [--concurrency 16,256,1] [--keep DIR]
                           [--results bench/RESULTS.md]

One command, Linux with two or more CPUs.  It installs what is missing
(Debian's nginx-light, wrk, apache2-utils and time with apt-get; Locust in
bench/.venv; only what the chosen tools and checks use), then:

1. starts nginx on 127.0.0.1, pinned to CPU 0 with taskset, one worker,
   access_log off, serving an 11-byte file at / (and the same file at
   /a/, /b/ and /c/, for bench/targets.txt);
2. runs each load generator pinned to CPU 1, one process, for --duration
   seconds at concurrency 16, 256 and 1: hammer.py (its default engine,
   results.csv written as normal), hammer.py --engine threads (the same
   hammer.py as it is, when it has no --engine), hammer.py --script
   bench/scenario_task.py (one task, GET /), hammer.py --targets
   bench/targets.txt (3 weighted targets), wrk, ab -k, Locust
   FastHttpUser and HttpUser (headless), and bench/seed_style.py.  The
   tools are interleaved, their order rotating each round, and the table
   gives the median of --rounds rounds.  --tools (hammer, hammer-threads,
   hammer-base, hammer-script, hammer-targets, hammer-locust, wrk, ab,
   locust-fast, locust-plain, seed; comma-separated) and --concurrency
   choose a subset; the report sets each engine against wrk (req/s at 16
   and 256, p99 at 256), --script against Locust FastHttpUser and against
   plain URL mode, and --targets against plain URL mode;
3. with --baseline FILE, measures before and after: FILE, another
   hammer.py (say `git show HEAD:hammer.py > /tmp/hammer_base.py`), races
   as one more tool, "hammer-base", run exactly like hammer.py, and the
   report sets hammer/wrk beside baseline/wrk at concurrency 16 and gives
   hammer/baseline at 16 and 256, each with its range over the rounds; a
   drop of hammer/wrk at 16 by more than 2% is marked;
4. checks hammer alone: 2,000 threads in one process (errors and peak RSS),
   a --soak run at full speed (RSS and open file descriptors over time),
   and -p 2 against -p 1 at the same threads per process, against a target
   that answers after 5 ms and is not CPU-bound (a small asyncio server on
   CPU 0).  --scale-threads 0, --soak 0 and --no-multi skip them;
5. writes --results (bench/RESULTS.md) and prints the same text; the
   file's sections that peers.py does not write (bench/rate.py's) stay;
6. stops everything it started and removes its files (--keep DIR keeps
   them).  All traffic goes to 127.0.0.1.

Latency percentiles are exact nearest-rank values over every response:
hammer's and seed_style's from their CSV rows, Locust's from every response
time it measured (bench/locustfile.py keeps them), ab's from its -e table
and wrk's from its --latency table.

Both engines beside wrk, about 2 minutes:

    python3 bench/peers.py --tools hammer,hammer-threads,wrk \
        --concurrency 16,256 --rounds 3 --soak 0 --scale-threads 0 \
        --no-multi --results -

bench/engine.py measures the rest of the event loop's targets.

A quick before-and-after check of a change to hammer.py, about 80 s:

    git show HEAD:hammer.py > /tmp/hammer_base.py
    python3 bench/peers.py --baseline /tmp/hammer_base.py \
        --tools hammer,hammer-base,wrk --concurrency 16 --rounds 5 \
        --soak 0 --scale-threads 0 --no-multi --results -

The same for scripts and targets files, against Locust and plain URL mode:

    python3 bench/peers.py --baseline /tmp/hammer_base.py \
        --tools hammer,hammer-base,hammer-script,hammer-targets,locust-fast \
        --concurrency 16 --rounds 5 --soak 0 --scale-threads 0 --no-multi \
        --results -
"""

import argparse
import asyncio
import datetime
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import benchlib
sys.path.insert(0, benchlib.ROOT)
import hammer  # noqa: E402  (beside bench/, not installed)
from benchlib import median, nearest_rank

HAMMER = os.path.join(benchlib.ROOT, "hammer.py")
SEED = os.path.join(benchlib.HERE, "seed_style.py")
SCENARIO = os.path.join(benchlib.HERE, "scenario_task.py")   # --script
TARGETS_FILE = os.path.join(benchlib.HERE, "targets.txt")    # --targets
LOCUSTFILE = os.path.join(benchlib.HERE, "locustfile.py")
LOCUST = os.path.join(benchlib.VENV, "bin", "locust")
DEFAULT_RESULTS = os.path.join(benchlib.HERE, "RESULTS.md")
SERVER_CPU, CLIENT_CPU = 0, 1
NGINX_CONNECTIONS = 4096         # each nginx worker's, by default
CONCURRENCIES = (16, 256, 1)     # the default --concurrency
BODY = b"hello world"            # the 11-byte file
TARGET_DIRS = ("a", "b", "c")    # bench/targets.txt's /a/, /b/ and /c/
SLOW_DELAY_S = 0.005             # the multi-process target's answer time
SLOW_THREADS = 16                # per hammer process in that check
SOAK_REFERENCE_S = 30.0          # RSS after this long is the soak baseline
SOAK_POLL_S = 1.0
LOCUST_SPAWN_PER_USER = 100      # -r: every user started within 10 ms
RUN_GRACE_S = 60.0               # a run overdue by this much is killed
STARTUP_TIMEOUT_S = 10.0

# The targets, each read as its comment says.
TARGETS = {
    "wrk": 0.95,          # hammer/wrk req/s at concurrency 16, at least
    "wrk@256": 0.9,       # hammer/wrk req/s at concurrency 256, at least
    "p99@256": 2.0,       # hammer's p99 / wrk's at concurrency 256, at most
    "locust-fast": 5.0,   # hammer/Locust FastHttpUser, at least
    "seed": 8.0,          # hammer/seed_style, at least
    "p50_us": 30.0,       # hammer's p50 minus wrk's at concurrency 1, at most
    "scale_rss_mb": 150.0,
    "soak_rss_pct": 10.0,
    "multi": 1.8,         # -p 2 / -p 1 req/s; "about twice"
    "baseline_pct": 2.0,  # hammer/wrk at 16 against the baseline's: a drop
                          # of more than this is marked
    # at concurrency 16, req/s, at least:
    "script/locust-fast": 5.0,   # --script's one task / Locust FastHttpUser
    "locustfile/locust-fast": 5.0,  # the same locustfile, hammer / Locust
    "script/hammer": 0.6,        # --script / plain URL mode
    "targets/hammer": 0.95,      # --targets with 3 targets / plain URL mode
    "hammer/base": 0.97,         # plain URL mode / the --baseline hammer.py
}
# Sections of RESULTS.md that peers.py writes; it keeps the others (such as
# bench/rate.py's) as they are.
OWN_SECTIONS = ("## Throughput and latency", "## Ratios", "## Before and after",
                "## Scripts and targets files", "## hammer alone",
                "## Every round")

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {dir}/www;
{locations}    }}
}}
"""


class BenchError(Exception):
    """A tool failed or printed something unexpected."""


# --- pure parsing --------------------------------------------------------------

UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def parse_wrk(text):
    """wrk --latency output: (req/s, requests, errors, p50 s, p99 s)."""
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", text))
    requests = int(_find(r"(\d+) requests in", text))
    errors = sum(int(n) for n in re.findall(
        r"(?:connect|read|write|timeout) (\d+)", text))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(non2xx.group(1)) if non2xx else 0
    p50, p99 = (_wrk_latency(text, p) for p in ("50", "99"))
    return rate, requests, errors, p50, p99


def _wrk_latency(text, p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % p, text, re.M)
    if not m:
        raise BenchError("no %s%% line in wrk's latency table" % p)
    return float(m.group(1)) * UNIT_S[m.group(2)]


def parse_ab(text, percentiles_csv):
    """ab output and its -e table: (req/s, requests, errors, p50 s, p99 s)."""
    rate = float(_find(r"Requests per second:\s+([\d.]+)", text))
    requests = int(_find(r"Complete requests:\s+(\d+)", text))
    errors = int(_find(r"Failed requests:\s+(\d+)", text))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", text)
    errors += int(non2xx.group(1)) if non2xx else 0
    table = {}
    for line in percentiles_csv.splitlines()[1:]:
        pct, ms = line.split(",")
        table[int(pct)] = float(ms) / 1e3
    return rate, requests, errors, table[50], table[99]


def parse_hammer(text):
    """hammer's summary: (requests, req/s, saturation warning or None)."""
    m = re.search(r"^requests\s+(\d+) in [\d.]+\w* = ([\d.]+) req/s", text,
                  re.M)
    if not m:
        raise BenchError("no requests line in hammer's summary:\n" + text)
    warning = re.search(r"^warning: (.*)$", text, re.M)
    return int(m.group(1)), float(m.group(2)), (
        warning.group(1) if warning else None)


def parse_locust_run(data):
    """What bench/locustfile.py kept: (req/s, requests, failures, sorted
    response times in seconds)."""
    times = sorted(ms / 1e3 for ms in data["latencies_ms"])
    requests = len(times) + data["failures"]
    span = data["last_end"] - data["first_start"]
    if not requests or span <= 0:
        raise BenchError("Locust made no requests")
    return requests / span, requests, data["failures"], times


def csv_latencies(path):
    """(rows, rows not 200, sorted response times of the 200s) of a CSV of
    elapsed,response_time,status[,...] rows, with or without a header.
    Only HTTP rows count: a row whose method column says timer or task is
    skipped (the runs here have no quoted names)."""
    times, rows, method = [], 0, None
    with open(path) as f:
        for line in f:
            fields = line.split(",")
            if fields[0] == "elapsed":
                header = [h.strip() for h in fields]
                method = header.index("method") if "method" in header else None
                continue
            if method is not None and fields[method] in ("timer", "task"):
                continue
            rows += 1
            if int(fields[2]) == 200:
                times.append(float(fields[1]))
    times.sort()
    return rows, rows - len(times), times


def _find(pattern, text):
    m = re.search(pattern, text)
    if not m:
        raise BenchError("%r not found in:\n%s" % (pattern, text[-2000:]))
    return m.group(1)


# --- running things ------------------------------------------------------------


def pinned(cpu, cmd):
    """cmd on CPU cpu; cmd as it is for None (any CPU)."""
    return cmd if cpu is None else ["taskset", "-c", str(cpu)] + cmd


def hammer_cmd(url, processes, threads, runtime_s, out_csv, script=HAMMER,
               extra=(), cpu=CLIENT_CPU):
    """hammer.py (or script, another version of it) on CPU cpu, quiet,
    writing its rows to out_csv: `-p processes -t threads`, or, for
    processes None, hammer's default -p and `-c threads` users in all;
    extra: more options (--script FILE, --targets FILE)."""
    users = (["-p", str(processes), "-t", str(threads)] if processes
             else ["-c", str(threads)])
    return pinned(cpu, [sys.executable, script, url] + users + [
        "--runtime", "%gs" % runtime_s, "-q", "-o", out_csv] + list(extra))


def hammer_lacks(option):
    """hammer.py's --help does not name option (a hammer.py from before
    --script and --targets)."""
    return _lacks(HAMMER, option)


_HELP = {}      # script -> its --help


def _lacks(script, option):
    if script not in _HELP:
        _HELP[script] = subprocess.run(
            [sys.executable, script, "--help"], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, universal_newlines=True).stdout
    return not re.search(r"(^|[\s,\[])%s\b" % re.escape(option),
                         _HELP[script])


def engine_options(engine, script=HAMMER):
    """hammer's options that choose engine: [] when script has no --engine
    (a hammer.py from before the event loop, whose one engine is
    threads), or engine is None (hammer's default)."""
    if engine is None or _lacks(script, "--engine"):
        return []
    return ["--engine", engine]


def run(cmd, timeout_s, env=None, ok_codes=(0,)):
    """Run cmd in its own process group; its stdout, or BenchError."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True,
                            start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise BenchError("%s: still running after %.0f s, killed"
                         % (" ".join(cmd), timeout_s))
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    if proc.returncode not in ok_codes:
        raise BenchError("%s exited %d:\n%s" % (" ".join(cmd),
                                                proc.returncode,
                                                (out + err)[-2000:]))
    return out


def run_timed(cmd, timeout_s, env=None, ok_codes=(0,)):
    """Run cmd under GNU time in its own process group: a benchlib.CpuRun,
    or BenchError."""
    try:
        res = benchlib.cpu_timed(cmd, timeout_s, env=env)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: still running after %.0f s, killed"
                         % (" ".join(cmd), timeout_s))
    if res.returncode not in ok_codes:
        raise BenchError("%s exited %d:\n%s" % (
            " ".join(cmd), res.returncode, (res.out + res.err)[-2000:]))
    return res


def remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, alive):
    """Wait until 127.0.0.1:port accepts; alive() tells the server lives."""
    deadline = time.time() + STARTUP_TIMEOUT_S
    while time.time() < deadline:
        if not alive():
            raise BenchError("the server for port %d exited" % port)
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError("nothing listens on 127.0.0.1:%d after %.0f s"
                     % (port, STARTUP_TIMEOUT_S))


def race_nginx(kinds, rounds, prefix, one, show):
    """Each round, one(kind, url, work) for every kind, in an order that
    rotates by round, against nginx started here (start_nginx(), in a
    new directory named by prefix, which one() may use); show(round,
    kind, result) as each ends -> {kind: [results]}."""
    import tempfile
    results = dict((k, []) for k in kinds)
    work = tempfile.mkdtemp(prefix=prefix)
    nginx = None
    try:
        nginx, url = start_nginx(work)
        for r in range(rounds):
            for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
                results[kind].append(one(kind, url, work))
                show(r + 1, kind, results[kind][-1])
    finally:
        stop(nginx)
    return results


def start_nginx(work, dirs=TARGET_DIRS, locations="", workers=1,
                cpu=SERVER_CPU, connections=NGINX_CONNECTIONS):
    """nginx with `workers` workers on CPU cpu (None: any CPU), each taking
    up to `connections` connections, serving the 11-byte file at / and in
    each of dirs (bench/targets.txt's /a/ ...), in work/nginx, its
    config's server block ending with locations ({dir}: work/nginx):
    (proc, url)."""
    root = os.path.join(work, "nginx")
    for sub in ("www", "tmp"):
        os.makedirs(os.path.join(root, sub))
    os.chmod(work, 0o755)       # nginx's worker may run as nobody
    for sub in ("",) + tuple(dirs):
        os.makedirs(os.path.join(root, "www", sub), exist_ok=True)
        with open(os.path.join(root, "www", sub, "index.html"), "wb") as f:
            f.write(BODY)
    port = free_port()
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=root, port=port, workers=workers,
                                  connections=connections,
                                  nofile=2 * connections + 100,
                                  locations=locations.format(dir=root)))
    proc = subprocess.Popen(pinned(cpu, [
        "nginx", "-c", conf, "-p", root, "-e", os.path.join(root, "error.log")]),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    wait_listening(port, lambda: proc.poll() is None)
    return proc, "http://127.0.0.1:%d/" % port


def stop(proc):
    """Stop a server started in its own session, and everything it began."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


class SlowProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive: each request is answered SLOW_DELAY_S later."""

    RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                b"Content-Type: text/plain\r\n\r\n" % len(BODY)) + BODY

    def connection_made(self, transport):
        self.transport, self.buf = transport, b""
        self.loop = asyncio.get_event_loop()

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.buf = self.buf[end + 4:]
            self.loop.call_later(SLOW_DELAY_S, self.answer)

    def answer(self):
        if not self.transport.is_closing():
            self.transport.write(self.RESPONSE)


def slow_server_main(port):
    """The multi-process check's target, a process of its own on CPU 0."""
    os.sched_setaffinity(0, {SERVER_CPU})
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(loop.create_server(
        SlowProtocol, "127.0.0.1", port, backlog=1024))
    loop.run_forever()


# --- the load generators -------------------------------------------------------


class Tools(object):
    """Runs each load generator once: a dict of req/s, requests, errors,
    p50_s and p99_s (and a note; and for hammer, the engine its settings
    file names).  cpu: the CPU each runs on (None: any); processes:
    hammer's -p (None: its default, with -c users in all); wrk_threads:
    wrk's -t; gnu_time: each runs under GNU time, and the dict gives its
    cpu_s (user + system) and cpu_per_req_s too; script: the hammer.py
    that the hammer tools run."""

    NAMES = ("hammer", "hammer-threads", "hammer-base", "hammer-script",
             "hammer-targets", "hammer-locust", "wrk", "ab", "locust-fast",
             "locust-plain", "seed")
    LABELS = {"hammer": "hammer.py",
              "hammer-threads": "hammer.py --engine threads",
              "hammer-script": "hammer.py --script (one task)",
              "hammer-targets": "hammer.py --targets (3 targets)",
              "hammer-locust": "hammer.py -f bench/locustfile.py FastUser",
              "wrk": "wrk", "ab": "ab -k",
              "locust-fast": "Locust FastHttpUser",
              "locust-plain": "Locust HttpUser",
              "seed": "seed_style.py (2010 design)"}

    def __init__(self, url, work, duration_s, baseline=None, cpu=CLIENT_CPU,
                 processes=1, wrk_threads=1, gnu_time=False, script=HAMMER):
        self.url, self.work, self.duration_s = url, work, duration_s
        self.timeout_s = duration_s + RUN_GRACE_S
        self.baseline = baseline and os.path.abspath(baseline)
        self.cpu, self.processes = cpu, processes
        self.wrk_threads, self.gnu_time = wrk_threads, gnu_time
        self.script = script
        self.cpu_s = None       # the last run's, under GNU time

    @classmethod
    def labels(cls, baseline=None):
        """LABELS, and "hammer-base" named after its file."""
        return dict(cls.LABELS, **{
            "hammer-base": "hammer.py (baseline %s)" % baseline})

    def run(self, name, concurrency):
        res = getattr(self, name.replace("-", "_"))(concurrency)
        if self.gnu_time:
            res.update(cpu_s=self.cpu_s,
                       cpu_per_req_s=self.cpu_s / max(1, res["requests"]))
        return res

    def _run(self, cmd, env=None, ok_codes=(0,)):
        """cmd on the tools' CPU: its stdout, or BenchError."""
        cmd = pinned(self.cpu, cmd)
        if not self.gnu_time:
            return run(cmd, self.timeout_s, env=env, ok_codes=ok_codes)
        res = run_timed(cmd, self.timeout_s, env=env, ok_codes=ok_codes)
        self.cpu_s = res.cpu_s
        return res.out

    def hammer(self, c, processes=None, url=None, script=None,
               csv_name="hammer.csv", extra=(), cmd=None, engine=None):
        """hammer.py (the tools' script) at c users, with the tools' -p
        unless processes is given, and with --engine engine (None: its
        default)."""
        script = script or self.script
        out_csv = os.path.join(self.work, csv_name)
        remove(out_csv + ".json")   # never read an earlier run's settings
        extra = list(extra) + engine_options(engine, script)
        text = self._run(cmd(out_csv) if cmd else hammer_cmd(
            url or self.url, processes or self.processes, c, self.duration_s,
            out_csv, script, extra, cpu=None))
        requests, rate, warning = parse_hammer(text)
        rows, errors, times = csv_latencies(out_csv)
        if rows != requests:
            raise BenchError("%s reported %d requests but wrote %d rows"
                             % (script, requests, rows))
        ran = benchlib.settings_of(out_csv).get("engine") or "threads"
        if engine is not None and ran != engine:
            raise BenchError("%s --engine %s ran %s (its settings file says)"
                             % (script, engine, ran))
        return dict(rate=rate, requests=requests, errors=errors,
                    p50_s=nearest_rank(times, 50),
                    p99_s=nearest_rank(times, 99), engine=ran,
                    note="saturated" if warning else "")

    def hammer_threads(self, c):
        """hammer.py --engine threads (hammer.py as it is when it has no
        --engine)."""
        return self.hammer(c, csv_name="hammer-threads.csv",
                           engine="threads")

    def hammer_base(self, c):
        """The --baseline hammer.py, run exactly like hammer."""
        return self.hammer(c, script=self.baseline,
                           csv_name="hammer-base.csv")

    def hammer_script(self, c):
        """hammer.py --script bench/scenario_task.py: c users, each looping
        over one task that GETs /."""
        return self.hammer(c, csv_name="hammer-script.csv",
                           extra=["--script", SCENARIO])

    def hammer_targets(self, c):
        """hammer.py --targets bench/targets.txt: /a/, /b/ and /c/ by
        weight, each served like /."""
        return self.hammer(c, csv_name="hammer-targets.csv",
                           extra=["--targets", TARGETS_FILE])

    def hammer_locust(self, c):
        """hammer.py -f bench/locustfile.py FastUser: Locust's own command
        line (-H, -u, -r, -t), the file Locust FastHttpUser runs."""
        def cmd(out_csv):
            return [
                sys.executable, self.script, "-f", LOCUSTFILE, "FastUser",
                "-H", self.url.rstrip("/"), "--headless", "-p", "1", "-u",
                str(c), "-r", str(c * LOCUST_SPAWN_PER_USER), "-t",
                "%ds" % self.duration_s, "-q", "-o", out_csv]
        return self.hammer(c, csv_name="hammer-locust.csv", cmd=cmd)

    def wrk(self, c):
        text = self._run([
            "wrk", "-t%d" % self.wrk_threads, "-c%d" % c,
            "-d%ds" % self.duration_s, "--latency", self.url])
        rate, requests, errors, p50, p99 = parse_wrk(text)
        return dict(rate=rate, requests=requests, errors=errors, p50_s=p50,
                    p99_s=p99, note="")

    def ab(self, c):
        table = os.path.join(self.work, "ab.csv")
        remove(table)
        # -n after -t: ab's -t alone stops at 50,000 requests
        text = self._run([
            "ab", "-k", "-q", "-c", str(c), "-t", str(self.duration_s),
            "-n", str(200000 * self.duration_s), "-e", table, self.url])
        with open(table) as f:
            rate, requests, errors, p50, p99 = parse_ab(text, f.read())
        return dict(rate=rate, requests=requests, errors=errors, p50_s=p50,
                    p99_s=p99, note="")

    def locust(self, user_class, c):
        kept = os.path.join(self.work, "locust.json")
        env = dict(os.environ, HAMMER_BENCH_LATENCIES=kept)
        remove(kept)    # never read a file an earlier run left
        self._run([
            LOCUST, "-f", LOCUSTFILE, user_class, "--headless", "-u", str(c),
            "-r", str(c * LOCUST_SPAWN_PER_USER), "-t",
            "%ds" % self.duration_s, "-H", self.url.rstrip("/"),
            "--only-summary", "--loglevel", "ERROR"],
            env=env, ok_codes=(0, 1))   # 1: some requests failed, counted
        with open(kept) as f:
            rate, requests, failures, times = parse_locust_run(json.load(f))
        return dict(rate=rate, requests=requests, errors=failures,
                    p50_s=nearest_rank(times, 50),
                    p99_s=nearest_rank(times, 99), note="")

    def locust_fast(self, c):
        return self.locust("FastUser", c)

    def locust_plain(self, c):
        return self.locust("PlainUser", c)

    def seed(self, c):
        out_csv = os.path.join(self.work, "seed.csv")
        text = self._run([
            sys.executable, SEED, self.url, "--threads", str(c),
            "--runtime", str(self.duration_s), "--output", out_csv])
        rate = float(_find(r"= ([\d.]+) req/s", text))
        rows, errors, times = csv_latencies(out_csv)
        return dict(rate=rate, requests=rows, errors=errors,
                    p50_s=nearest_rank(times, 50),
                    p99_s=nearest_rank(times, 99), note="")


def race(tools, names, concurrencies, rounds, log):
    """Every tool in names at every concurrency, interleaved, `rounds`
    times: {(name, concurrency): [result per round]}."""
    results = {}
    names = list(names)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for c in concurrencies:
            for name in order:
                res = tools.run(name, c)
                results.setdefault((name, c), []).append(res)
                log("round %d  c=%-3d  %-14s %9.0f req/s  p50 %s  p99 %s%s%s"
                    % (r + 1, c, name, res["rate"], us(res["p50_s"]),
                       us(res["p99_s"]),
                       "  errors %d" % res["errors"] if res["errors"] else "",
                       "  " + res["note"] if res["note"] else ""))
    return results


# --- hammer alone ----------------------------------------------------------------


def check_scale(tools, threads, log):
    """hammer -p 1 -t THREADS: errors and the biggest process's peak RSS."""
    out_csv = os.path.join(tools.work, "scale.csv")
    cmd = hammer_cmd(tools.url, 1, threads, tools.duration_s, out_csv)
    wall, rss_kb, tree_kb, text = benchlib.timed(cmd, sample_tree=True)
    requests, rate, warning = parse_hammer(text)
    rows, errors, _ = csv_latencies(out_csv)
    res = dict(threads=threads, rate=rate, requests=requests, rows=rows,
               errors=errors, rss_mb=rss_kb / 1024.0,
               tree_mb=tree_kb / 1024.0)
    log("scale: %d threads, %d requests (%d rows), %d errors, %.0f req/s,"
        " peak RSS %.1f MB (biggest process), %.1f MB (process tree)"
        % (threads, requests, rows, errors, rate, res["rss_mb"],
           res["tree_mb"]))
    return res


def check_soak(tools, soak_s, log):
    """hammer -p 1 -t 16 for soak_s at full speed, its worker's RSS and
    open file descriptors sampled every second."""
    out_csv = os.path.join(tools.work, "soak.csv")
    proc = subprocess.Popen(
        hammer_cmd(tools.url, 1, 16, soak_s, out_csv), stdout=subprocess.PIPE, universal_newlines=True,
        start_new_session=True)
    samples = []            # (seconds, worker RSS kB, worker fds, parent...)
    start = time.time()
    try:
        while proc.poll() is None:
            time.sleep(SOAK_POLL_S)
            pids = benchlib.tree_pids(proc.pid)
            workers = [p for p in pids if p != proc.pid]
            if not workers:
                continue
            worker = max(workers, key=benchlib.rss_kb)
            sample = (time.time() - start, benchlib.rss_kb(worker),
                      benchlib.open_fds(worker), benchlib.rss_kb(proc.pid),
                      benchlib.open_fds(proc.pid))
            if sample[1] and sample[3]:
                samples.append(sample)
            if time.time() - start > soak_s + RUN_GRACE_S:
                raise BenchError("the soak run is overdue")
        text = proc.stdout.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    requests, rate, _ = parse_hammer(text)
    _, errors, _ = csv_latencies(out_csv)
    reference_s = min(SOAK_REFERENCE_S, soak_s / 2.0)
    later = [s for s in samples if s[0] >= reference_s]
    if not later:
        raise BenchError("no memory samples after %.0f s of the soak run"
                         % reference_s)
    ref = later[0]
    running = [s for s in samples if s[0] <= soak_s]
    last = running[-1]
    res = dict(soak_s=soak_s, reference_s=ref[0], requests=requests,
               errors=errors, rate=rate,
               rss_ref_mb=ref[1] / 1024.0, rss_end_mb=last[1] / 1024.0,
               rss_max_mb=max(s[1] for s in running) / 1024.0,
               rss_change_pct=100.0 * (last[1] - ref[1]) / ref[1],
               fds=sorted(set(s[2] for s in running if s[0] >= reference_s)),
               parent_rss_ref_mb=ref[3] / 1024.0,
               parent_rss_end_mb=last[3] / 1024.0,
               parent_fds=sorted(set(s[4] for s in running
                                     if s[0] >= reference_s)))
    log("soak: %gs, %d requests, %d errors, %.0f req/s; worker RSS %.1f MB"
        " at %.0fs, %.1f MB at %.0fs (%+.1f%%), max %.1f MB; worker fds %s;"
        " parent RSS %.1f -> %.1f MB, fds %s"
        % (soak_s, requests, errors, rate, res["rss_ref_mb"], ref[0],
           res["rss_end_mb"], last[0], res["rss_change_pct"],
           res["rss_max_mb"], res["fds"], res["parent_rss_ref_mb"],
           res["parent_rss_end_mb"], res["parent_fds"]))
    return res


def check_multi(tools, rounds, log):
    """-p 1 and -p 2 at SLOW_THREADS per process against the 5 ms target."""
    port = free_port()
    server = multiprocessing.Process(target=slow_server_main, args=(port,))
    server.daemon = True
    server.start()
    rates = {1: [], 2: []}
    p50s = {1: [], 2: []}
    try:
        wait_listening(port, server.is_alive)
        url = "http://127.0.0.1:%d/" % port
        for r in range(rounds):
            for processes in ((1, 2) if r % 2 == 0 else (2, 1)):
                res = tools.hammer(SLOW_THREADS, processes=processes, url=url)
                if res["errors"]:
                    raise BenchError("%d errors against the 5 ms target"
                                     % res["errors"])
                rates[processes].append(res["rate"])
                p50s[processes].append(res["p50_s"])
                log("round %d  multi  -p %d -t %d  %7.0f req/s  p50 %s"
                    % (r + 1, processes, SLOW_THREADS, res["rate"],
                       us(res["p50_s"])))
    finally:
        server.terminate()
        server.join(10)
    one, two = median(rates[1]), median(rates[2])
    return dict(rate1=one, rate2=two, ratio=two / one,
                p50_1=median(p50s[1]), p50_2=median(p50s[2]),
                ratios=[b / a for a, b in zip(rates[1], rates[2])])


# --- the report ------------------------------------------------------------------


def us(seconds):
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return "%.0f us" % (seconds * 1e6)
    if seconds < 0.1:
        return "%.2f ms" % (seconds * 1e3)
    return "%.0f ms" % (seconds * 1e3)


def summarise(results):
    """{(name, c): median result} over the rounds."""
    out = {}
    for key, runs in results.items():
        out[key] = dict(
            rate=median([r["rate"] for r in runs]),
            p50_s=median([r["p50_s"] for r in runs]),
            p99_s=median([r["p99_s"] for r in runs]),
            errors=sum(r["errors"] for r in runs),
            requests=sum(r["requests"] for r in runs),
            engines=sorted(set(r.get("engine") for r in runs) - {None}),
            cpu_per_req_s=(median([r["cpu_per_req_s"] for r in runs])
                           if "cpu_per_req_s" in runs[0] else None),
            notes=sorted(set(r["note"] for r in runs if r["note"])))
    return out


def round_ratios(results, a, b, c, key="rate"):
    """a/b of key (req/s) within each round at concurrency c (same round:
    the two ran minutes apart at most)."""
    return [x[key] / y[key]
            for x, y in zip(results[(a, c)], results[(b, c)])]


def verdict(ok):
    return "**met**" if ok else "**not met**"


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            model = m.group(1).strip() if m else model
    except OSError:
        pass
    return model


def versions(names, baseline):
    """(tool, version) as each tool that ran prints it, reduced to the
    number."""
    def version(cmd):
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               universal_newlines=True)
        except OSError:
            return "?"
        m = re.search(r"(\d+\.\d+[\w.+~-]*)", p.stdout)
        return m.group(1) if m else "?"
    out = [("hammer", version([sys.executable, HAMMER, "--version"]))]
    if "hammer-base" in names:
        out.append(("the baseline hammer", version(
            [sys.executable, baseline, "--version"])))
    out.append(("nginx", version(["nginx", "-v"])))
    if "wrk" in names:
        out.append(("wrk", version(["wrk", "-v"])))
    if "ab" in names:
        out.append(("ab", version(["ab", "-V"])))
    if uses_locust(names):
        out.append(("Locust", version([LOCUST, "--version"])))
    return out


def uses_locust(names):
    return any(name.startswith("locust") for name in names)


def report(args, summary, results, scale, soak, multi, started, elapsed_s):
    """RESULTS.md as a list of lines."""
    s = summary
    names, concurrencies = args.tools, args.concurrency
    labels = Tools.labels(args.baseline)
    python = "- Python %s runs hammer.py and seed_style.py" % (
        platform.python_version())
    if uses_locust(names):
        python += "; Locust runs on %s in bench/.venv" % (
            subprocess.check_output(
                [benchlib.VENV_PYTHON, "-c", "import platform; print("
                 "platform.python_version())"],
                universal_newlines=True).strip())
    lines = [
        "# hammer against its peers",
        "",
        "Made by `python3 bench/peers.py%s` on %s UTC; it took %.0f min."
        % (args.argv_text, started.strftime("%Y-%m-%d %H:%M"),
           elapsed_s / 60.0),
        "",
        "- Machine: %s, %d CPUs, Linux %s." % (machine(), os.cpu_count(),
                                              platform.release()),
        python + ".",
        "- Versions: %s." % ", ".join(
            "%s %s" % v for v in versions(names, args.baseline)),
        "- Target: nginx on 127.0.0.1, one worker pinned to CPU %d, "
        "access_log off, an 11-byte file. Each load generator runs as one "
        "process pinned to CPU %d." % (SERVER_CPU, CLIENT_CPU),
    ] + ceiling_lines(s, concurrencies) + [
        "- Each run lasts %d s. The tools take turns, in an order that "
        "rotates each round, and every figure is the median of %d rounds."
        % (args.duration, args.rounds),
        "- Latency is exact nearest-rank percentiles over every response. "
        "hammer writes results.csv as usual in every run.",
    ]
    engines = [(labels[n], ", ".join(s[(n, c)]["engines"]))
               for n in names for c in concurrencies[:1]
               if s[(n, c)]["engines"]]
    if engines:
        lines.append("- Engines, as each hammer's settings file "
                     "(results.csv.json) names it: %s." % ", ".join(
                         "%s: %s" % e for e in engines))
    if "hammer-base" in names:
        lines.append(
            "- %s is another hammer.py, run exactly as hammer.py is, as "
            "one more tool in the same rotation." % labels["hammer-base"])
    if "hammer-script" in names:
        lines.append(
            "- %s is hammer.py with `--script bench/scenario_task.py`: each "
            "user loops over one task, `user.get(\"/\")`, as Locust "
            "FastHttpUser's one task `self.client.get(\"/\")` does."
            % labels["hammer-script"])
    if "hammer-locust" in names:
        lines.append(
            "- %s runs bench/locustfile.py's FastUser (one task, "
            "`self.client.get(\"/\")`, `wait_time = constant(0)`) through "
            "hammer's own locust module, with Locust's command line: the "
            "same file and class Locust FastHttpUser runs."
            % labels["hammer-locust"])
    if "hammer-targets" in names:
        lines.append(
            "- %s is hammer.py with `--targets bench/targets.txt`: /a/, /b/ "
            "and /c/, weights 3:2:1, each served like / (an index.html of "
            "the same 11 bytes)." % labels["hammer-targets"])
    lines += [
        "",
        "## Throughput and latency",
        "",
        "| tool | concurrency | req/s | p50 | p99 | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in concurrencies:
        for name in names:
            r = s[(name, c)]
            lines.append("| %s | %d | %s | %s | %s | %d%s |" % (
                labels[name], c, "{:,.0f}".format(r["rate"]),
                us(r["p50_s"]), us(r["p99_s"]), r["errors"],
                " (%s)" % ", ".join(r["notes"]) if r["notes"] else ""))
    if any(r["notes"] for r in s.values()):
        lines += [
            "",
            "(saturated): hammer's summary warned that its worker process "
            "used at least 90% of a CPU, so the load generator, not only "
            "nginx, set the pace.",
        ]
    short = dict(labels, hammer="hammer", **{
        "hammer-threads": "hammer --engine threads",
        "hammer-base": "baseline", "hammer-script": "hammer --script",
        "hammer-targets": "hammer --targets",
        "hammer-locust": "hammer -f locustfile"})

    def ratio_cells(a, b, c):
        """(| a / b | c | median | range over rounds |, the median)"""
        value = s[(a, c)]["rate"] / s[(b, c)]["rate"]
        per_round = round_ratios(results, a, b, c)
        return "| %s / %s | %d | %.2f | %.2f to %.2f |" % (
            short[a], short[b], c, value, min(per_round),
            max(per_round)), value

    def ratio_line(one, other, c, target, key="rate", most=False):
        if key == "rate":
            text, value = ratio_cells(one, other, c)
        else:
            value = s[(one, c)][key] / s[(other, c)][key]
            per_round = round_ratios(results, one, other, c, key)
            text = "| %s %s / %s's | %d | %.2f | %.2f to %.2f |" % (
                short[one], key[:3], short[other], c, value,
                min(per_round), max(per_round))
        if target is None:
            return text + " |"
        return text + " at %s %g: %s |" % (
            "most" if most else "least", target,
            verdict(value <= target if most else value >= target))

    def ran(*keys):
        return all(key in s for key in keys)

    ratios = [ratio_line(one, other, c, target, key, key != "rate")
              for one, other, c, target, key in (
                  ("hammer", "wrk", 16, TARGETS["wrk"], "rate"),
                  ("hammer", "wrk", 256, TARGETS["wrk@256"], "rate"),
                  ("hammer", "wrk", 256, TARGETS["p99@256"], "p99_s"),
                  ("hammer-threads", "wrk", 16, None, "rate"),
                  ("hammer-threads", "wrk", 256, None, "rate"),
                  ("hammer-threads", "wrk", 256, None, "p99_s"),
                  ("hammer", "hammer-threads", 16, None, "rate"),
                  ("hammer", "hammer-threads", 256, None, "rate"),
                  ("hammer", "locust-fast", 16, TARGETS["locust-fast"],
                   "rate"),
                  ("hammer", "seed", 16, TARGETS["seed"], "rate"),
                  ("hammer", "ab", 16, None, "rate"),
                  ("hammer", "locust-plain", 16, None, "rate"),
                  ("hammer", "locust-fast", 256, None, "rate"),
                  ("hammer", "seed", 256, None, "rate"))
              if ran((one, c), (other, c))]
    lines += ["", "## Ratios", ""]
    if ratios:
        lines += [
            "Ratios of the medians; the range is the ratio within each round.",
            "",
            "| ratio | concurrency | median | range over rounds | target |",
            "|---|---:|---:|---:|---|",
        ] + ratios
    else:
        lines.append("None: hammer.py and wrk, Locust, seed_style.py or ab "
                     "did not both run at concurrency 16 or 256.")
    if ran(("hammer", 1), ("wrk", 1)):
        p50_gap_us = (s[("hammer", 1)]["p50_s"]
                      - s[("wrk", 1)]["p50_s"]) * 1e6
        lines += [
            "",
            "Latency at concurrency 1: hammer's p50 is %s, wrk's %s: %+.0f "
            "us (target: at most %g us more: %s)." % (
                us(s[("hammer", 1)]["p50_s"]), us(s[("wrk", 1)]["p50_s"]),
                p50_gap_us, TARGETS["p50_us"],
                verdict(p50_gap_us <= TARGETS["p50_us"])),
        ]
    if "hammer-base" in names:
        lines += before_after(s, ratio_cells, ran, labels)
    if {"hammer-script", "hammer-targets", "hammer-locust"} & set(names):
        lines += scenarios(ratio_cells, ran, concurrencies)
    lines += [
        "",
        "## hammer alone",
        "",
    ]
    if not (scale or soak or multi):
        lines.append("Not checked this time (--scale-threads 0, --soak 0, "
                     "--no-multi).")
    if scale:
        lines.append(
            "- **Scale:** `-p 1 -t %d` for %d s: %s requests, %s rows, %d "
            "errors, %s req/s. Peak RSS %.1f MB for the biggest process "
            "(GNU time), %.1f MB for hammer's whole process tree (sampled). "
            "Target: no errors and under %g MB: %s." % (
                scale["threads"], args.duration,
                "{:,}".format(scale["requests"]), "{:,}".format(scale["rows"]),
                scale["errors"], "{:,.0f}".format(scale["rate"]),
                scale["rss_mb"], scale["tree_mb"], TARGETS["scale_rss_mb"],
                verdict(scale["errors"] == 0
                        and scale["rss_mb"] < TARGETS["scale_rss_mb"])))
    if soak:
        flat = len(soak["fds"]) == 1 and len(soak["parent_fds"]) == 1
        lines.append(
            "- **Memory over time:** `-p 1 -t 16` at full speed for %g s: "
            "%s requests, %d errors, %s req/s. The worker's RSS was %.1f MB "
            "after %.0f s and %.1f MB at the end (%+.1f%%; highest %.1f MB). "
            "Its open file descriptors, sampled every second from %.0f s on: "
            "%s; the parent's: %s (RSS %.1f MB, then %.1f MB). Target: "
            "within %g%% and descriptors flat: %s." % (
                soak["soak_s"], "{:,}".format(soak["requests"]),
                soak["errors"], "{:,.0f}".format(soak["rate"]),
                soak["rss_ref_mb"], soak["reference_s"], soak["rss_end_mb"],
                soak["rss_change_pct"], soak["rss_max_mb"],
                soak["reference_s"], _set(soak["fds"]),
                _set(soak["parent_fds"]), soak["parent_rss_ref_mb"],
                soak["parent_rss_end_mb"], TARGETS["soak_rss_pct"],
                verdict(abs(soak["rss_change_pct"]) <= TARGETS["soak_rss_pct"]
                        and flat)))
        if soak["soak_s"] < 300:
            lines.append("  This soak was shorter than the 5 minutes the "
                         "target names (`--soak 300`).")
    if multi:
        lines.append(
            "- **Multi-process:** against a target that answers each request "
            "after %g ms (an asyncio server on CPU %d, far from CPU-bound), "
            "`-p 1 -t %d` made %s req/s and `-p 2 -t %d` %s req/s: %.2fx "
            "(per round %s; p50 %s and %s). Target: about 2x (at least %g): "
            "%s." % (
                SLOW_DELAY_S * 1e3, SERVER_CPU, SLOW_THREADS,
                "{:,.0f}".format(multi["rate1"]), SLOW_THREADS,
                "{:,.0f}".format(multi["rate2"]), multi["ratio"],
                ", ".join("%.2f" % r for r in multi["ratios"]),
                us(multi["p50_1"]), us(multi["p50_2"]), TARGETS["multi"],
                verdict(multi["ratio"] >= TARGETS["multi"])))
    lines += [
        "",
        "## Every round",
        "",
        "req/s of each run, in the order of the rounds (the noise behind the "
        "medians).",
        "",
        "| tool | concurrency | %s |" % " | ".join(
            "round %d" % (r + 1) for r in range(args.rounds)),
        "|---|---:|%s" % ("---:|" * args.rounds),
    ]
    for c in concurrencies:
        for name in names:
            lines.append("| %s | %d | %s |" % (
                labels[name], c, " | ".join(
                    "{:,.0f}".format(r["rate"]) for r in results[(name, c)])))
    lines += ["", "Reproduce: `python3 bench/peers.py%s` (Linux, 2+ CPUs, "
              "root for apt-get when tools are missing)." % args.argv_text,
              ""]
    return lines


def ceiling_lines(s, concurrencies):
    """The report's line on nginx's ceiling: wrk's req/s, the fastest
    client's, at each concurrency it ran."""
    rates = ["%s req/s at concurrency %d" % ("{:,.0f}".format(
        s[("wrk", c)]["rate"]), c) for c in concurrencies if ("wrk", c) in s]
    if not rates:
        return []
    return ["- nginx's ceiling on this box, as wrk reached it: %s. A slower "
            "target would hide the client's cost." % ", ".join(rates)]


def before_after(s, ratio_cells, ran, labels):
    """The report's lines on hammer against the --baseline hammer."""
    lines = ["", "## Before and after", ""]
    rows = [ratio_cells(a, b, c)[0] for a, b, c in (
        ("hammer", "wrk", 16), ("hammer-base", "wrk", 16),
        ("hammer", "hammer-base", 16), ("hammer", "hammer-base", 256))
        if ran((a, c), (b, c))]
    if rows:
        lines += [
            "hammer.py against %s. Ratios of the medians; the range is the "
            "ratio within each round." % labels["hammer-base"],
            "",
            "| ratio | concurrency | median | range over rounds |",
            "|---|---:|---:|---:|",
        ] + rows + [""]
    if not ran(("hammer", 16), ("hammer-base", 16), ("wrk", 16)):
        lines += ["hammer/wrk at concurrency 16 against the baseline's: "
                  "not measured (hammer.py, the baseline and wrk did not all "
                  "run at 16)."]
        return lines
    after = s[("hammer", 16)]["rate"] / s[("wrk", 16)]["rate"]
    before = s[("hammer-base", 16)]["rate"] / s[("wrk", 16)]["rate"]
    change_pct = 100.0 * (after / before - 1.0)
    limit = TARGETS["baseline_pct"]
    if change_pct < -limit:
        said = "**a drop of more than %g%%**" % limit
    elif change_pct > limit:
        said = "a rise of more than %g%%" % limit
    else:
        said = "within %g%%" % limit
    lines += ["hammer/wrk at concurrency 16: %.3f, the baseline's %.3f: "
              "%+.1f%%, %s." % (after, before, change_pct, said)]
    return lines


def scenarios(ratio_cells, ran, concurrencies):
    """The report's lines on --script and --targets: each against plain URL
    mode and Locust FastHttpUser, and plain URL mode against the baseline,
    with the targets at concurrency 16."""
    lines = ["", "## Scripts and targets files", ""]
    rows = []
    for a, b, key in (("hammer-script", "locust-fast", "script/locust-fast"),
                      ("hammer-locust", "locust-fast",
                       "locustfile/locust-fast"),
                      ("hammer-script", "hammer", "script/hammer"),
                      ("hammer-targets", "hammer", "targets/hammer"),
                      ("hammer", "hammer-base", "hammer/base")):
        for c in concurrencies:
            if not ran((a, c), (b, c)):
                continue
            text, value = ratio_cells(a, b, c)
            target = TARGETS[key] if c == 16 else None
            rows.append(text + (" at least %g: %s |" % (
                target, verdict(value >= target)) if target else " |"))
    if not rows:
        return lines + ["None: hammer.py's --script or --targets ran without "
                        "Locust FastHttpUser, plain hammer.py or the "
                        "baseline beside it."]
    return lines + [
        "req/s of a scenario run against a plain one, in the same rounds. "
        "Ratios of the medians; the range is the ratio within each round. "
        "The targets are read at concurrency 16.",
        "",
        "| ratio | concurrency | median | range over rounds | target |",
        "|---|---:|---:|---:|---|",
    ] + rows


def keep_others(old, new):
    """new (the report) followed by the level-2 sections of old (the
    previous RESULTS.md) that peers.py does not write, in their order."""
    kept, keep = [], False
    for line in old.splitlines():
        if line.startswith("## "):
            keep = line.rstrip() not in OWN_SECTIONS
        if keep:
            kept.append(line)
    if not kept:
        return new
    return new.rstrip("\n") + "\n\n" + "\n".join(kept).rstrip("\n") + "\n"


def _set(values):
    return ", ".join(str(v) for v in values) if len(values) > 1 else (
        "%s throughout" % values[0] if values else "none sampled")


# --- main --------------------------------------------------------------------------


def tools_arg(text):
    """argparse type: comma-separated names from Tools.NAMES, returned in
    that order."""
    chosen = set(t.strip() for t in text.split(",") if t.strip())
    unknown = sorted(chosen - set(Tools.NAMES))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            "%r: give names from %s" % (text, ",".join(Tools.NAMES)))
    return [name for name in Tools.NAMES if name in chosen]


def concurrency_arg(text):
    """argparse type: comma-separated whole numbers >= 1, once each."""
    out = []
    for part in text.split(","):
        c = hammer.positive_int_arg(part.strip())
        if c not in out:
            out.append(c)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=hammer.positive_int_arg, default=5,
                        help="seconds per run (default: %(default)s)")
    parser.add_argument("--rounds", type=hammer.positive_int_arg, default=3,
                        help="interleaved rounds; the table gives medians "
                             "(default: %(default)s)")
    parser.add_argument("--soak", type=int, default=60,
                        help="seconds of hammer's memory-over-time run; 0 "
                             "skips it (default: %(default)s; the target "
                             "names 300)")
    parser.add_argument("--scale-threads", type=int, default=2000,
                        help="threads in one process for the scale check; 0 "
                             "skips it (default: %(default)s)")
    parser.add_argument("--no-multi", action="store_true",
                        help="skip the -p 2 against -p 1 check")
    parser.add_argument("--baseline", default=None, metavar="FILE",
                        help="another hammer.py (say, git show "
                             "HEAD:hammer.py > /tmp/hammer_base.py) to race "
                             "as the tool hammer-base, for before and after")
    parser.add_argument("--tools", type=tools_arg, default=None,
                        metavar="NAMES",
                        help="comma-separated subset of %s (default: all; "
                             "hammer-base only with --baseline)"
                             % ",".join(Tools.NAMES))
    parser.add_argument("--concurrency", type=concurrency_arg,
                        default=list(CONCURRENCIES), metavar="LIST",
                        help="comma-separated concurrencies of the race "
                             "(default: %s)"
                             % ",".join(str(c) for c in CONCURRENCIES))
    parser.add_argument("--results", default=DEFAULT_RESULTS,
                        help="where to write the report; - for none "
                             "(default: bench/RESULTS.md)")
    parser.add_argument("--keep", default=None,
                        help="directory for the runs' files, kept "
                             "(default: a temporary directory, removed)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv_text = "".join(" " + a for a in argv)
    if args.tools is None:
        args.tools = [name for name in Tools.NAMES
                      if args.baseline or name != "hammer-base"]
    if args.baseline and "hammer-base" not in args.tools:
        parser.error("--baseline races as hammer-base: add it to --tools")
    if "hammer-base" in args.tools and not args.baseline:
        parser.error("hammer-base needs --baseline FILE")
    if args.baseline and not os.path.isfile(args.baseline):
        parser.error("--baseline %s: no such file" % args.baseline)
    for tool, option in (("hammer-script", "--script"),
                         ("hammer-locust", "--locustfile"),
                         ("hammer-targets", "--targets")):
        if tool in args.tools and hammer_lacks(option):
            parser.error("%s: hammer.py has no %s (its --help does not name "
                         "it): leave %s out of --tools"
                         % (tool, option, tool))
    if not sys.platform.startswith("linux"):
        parser.error("needs Linux (taskset, /proc)")
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        parser.error("needs CPUs %d and %d (this process may use %s)"
                     % (SERVER_CPU, CLIENT_CPU, sorted(cpus)))
    needed = {"nginx": "nginx-light", "taskset": "util-linux"}
    if "wrk" in args.tools:
        needed["wrk"] = "wrk"
    if "ab" in args.tools:
        needed["ab"] = "apache2-utils"
    if args.scale_threads:
        needed[benchlib.GNU_TIME] = "time"
    benchlib.ensure_debian(needed)
    if uses_locust(args.tools):
        benchlib.ensure_venv_package("locust", "locust")

    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.time()
    work = args.keep or tempfile.mkdtemp(prefix="hammer-peers-")
    os.makedirs(work, exist_ok=True)
    nginx = None

    def log(line):
        print(line, flush=True)

    try:
        nginx, url = start_nginx(work)
        log("nginx on %s, CPU %d; load generators on CPU %d; %d rounds of "
            "%d s runs" % (url, SERVER_CPU, CLIENT_CPU, args.rounds,
                           args.duration))
        tools = Tools(url, work, args.duration, args.baseline)
        results = race(tools, args.tools, args.concurrency, args.rounds, log)
        scale = (check_scale(tools, args.scale_threads, log)
                 if args.scale_threads else None)
        soak = check_soak(tools, args.soak, log) if args.soak else None
        stop(nginx)
        nginx = None
        multi = (None if args.no_multi
                 else check_multi(tools, args.rounds, log))
    except BenchError as exc:
        print("peers: %s" % exc, file=sys.stderr)
        return 1
    finally:
        stop(nginx)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    lines = report(args, summarise(results), results, scale, soak, multi,
                   started, time.time() - t_start)
    text = "\n".join(lines)
    print()
    print(text)
    if args.results != "-":
        try:
            with open(args.results) as f:
                text = keep_others(f.read(), text)
        except FileNotFoundError:
            pass
        with open(args.results, "w") as f:
            f.write(text)
        print("written to %s" % os.path.relpath(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

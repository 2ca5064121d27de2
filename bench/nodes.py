#!/usr/bin/env python3
"""Benchmark: hammer --hosts on one box, its nodes reached over a local sshd.

Usage:

    python3 bench/nodes.py [--quick] [--rounds 6] [--runtime 10]
                           [--rows 1000000] [--sim 2,5,10,20]
                           [--keep DIR] [--results bench/RESULTS.md]
                           [--table FILE]

One command, Linux with two or more CPUs.  It installs nothing: it needs
OpenSSH's sshd, ssh and ssh-keygen (Debian openssh-server and
openssh-client), nginx (nginx-light), taskset (util-linux), GNU time
(time) and ss (iproute2), and names what is missing.  Then:

1. starts nginx on 127.0.0.1 pinned to CPU 0, one worker, serving an
   11-byte file at / (access_log off) and at /counted/ (access_log on, to
   count what the server answered), and test_hammer.SSHD, a throw-away
   sshd on 127.0.0.1 whose ssh_config names it node1..node20;
2. overhead: in --rounds rounds, each run for --runtime seconds with
   every load-side process pinned to CPU 1 (the controller, its ssh
   clients, sshd and the nodes under it):
   `hammer.py URL --hosts node1,node2 -p 1 -c 32` (2 local nodes of one
   process) and `hammer.py URL -p 2 -c 32` back to back, the first of them
   alternating, then the two nodes' runs without ssh (`hammer.py URL
   --node I/2 -p 1 -c 32 --start-at T` for I = 1, 2 at once), first each
   under setsid (a session of its own, as sshd gives each node), then
   both in one session, then `hammer.py URL -p 1 -c 16`.  req/s is each
   run's settings-file summary `rps`.  The median of the rounds' ratios
   --hosts / -p 2 is the controller's overhead (goal: at least 0.95);
   --hosts / the setsid runs leaves out what the kernel's autogroup
   scheduling costs two sessions on one core, and the one-session runs
   show that cost.  `-p 1 -c 16` alone on a core is one node's req/s.  The
   cores the load side used in the load (below) give requests per
   CPU-second too, a ratio that another process on CPU 1 does not skew;
3. during each --hosts run it samples, every 0.5 s, the CPU of the
   controller and its ssh clients (utime + stime + cutime + cstime from
   /proc/PID/stat, and each thread's run time in ns from
   /proc/PID/task/TID/schedstat; the whole run from GNU time) and the
   bytes on the wire of each ssh connection (`ss -ti`: bytes_sent,
   bytes_received).  The load window is the merged settings'
   started_epoch_s plus the summary's duration_s; its first and last
   second are left out, and the rest gives CPU seconds per second (from
   schedstat) and bytes per second.  Before the window is the setup
   (connect, copy hammer.py, probe, start), after it the copy-back and
   merge;
4. copy-back: `--hosts node1,node2 -p 1 -c 32 -n 2*ROWS` (ROWS per node,
   nothing pinned but nginx), and the time from the end of the load to the
   merged results.csv's last write (its mtime), and to the controller's
   exit;
5. many nodes: for N in --sim, `--hosts node1..nodeN -p 1 -c 40 --rate 400
   -n 4000` against /counted/ (10 s of light load).  The merge is exact
   when merged rows = nginx's access-log lines = the nodes' rows, every
   node 1..N is in the node column with its own count, and the merged
   summary's percentiles equal `crunch.py --json`'s on the merged file.
   The controller's CPU (whole run, and per second of load) is fitted by
   least squares against N;
6. writes a "## Many machines" section into --results (the other sections
   stay as they are), with a table of what N nodes of one core each would
   give, computed from the measured figures; --table writes that table
   alone as markdown too.

--quick is a smoke run of about a minute: 3 s runs, 1 round, 10,000 rows
per node, --sim 2,5, 400 requests at 200 req/s; it writes no file unless
asked.  The full run takes about 7 minutes:

    python3 bench/nodes.py --results bench/RESULTS.md

It leaves nothing behind: the run directories --hosts made in
~/hammer-runs (named in each merged settings file's node_hosts) are
removed, with its temp dir (--keep DIR keeps the local files).
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import benchlib
import peers
from benchlib import median
from peers import (BenchError, CLIENT_CPU, HAMMER, SERVER_CPU, machine,
                   pinned, stop, verdict)
sys.path.insert(0, benchlib.ROOT)
import test_hammer  # noqa: E402  (its SSHD; beside bench/, not installed)

CRUNCH = os.path.join(benchlib.ROOT, "crunch.py")
SECTION = "## Many machines"
ALIASES = 20                # node1..node20 in the ssh_config
SAMPLE_S = 0.5              # CPU and wire bytes sampled this often
EDGE_S = 1.0                # left out at each end of the load window (a
                            # fifth of it at most)
OVERHEAD_C = 32             # -c of the overhead runs (16 per node)
ONE_NODE_C = 16             # -c of one node alone on a core
SIM_USERS = 40
SIM_REQUESTS = 4000
SIM_RATE = 400              # req/s: the simulated runs last 10 s
DEFAULT_SIM = (2, 5, 10, 20)
SCALE_NODES = (1, 2, 5, 10, 20, 50, 100)
QUICK = dict(runtime=3.0, rounds=1, rows=10000, sim=[2, 5], sim_requests=400,
             sim_rate=200)
RUN_GRACE_S = 120.0         # a run overdue by this much is killed
COPY_RUNS = 2               # copy-back runs; the table takes the slowest
SESSIONS_LEAD_S = 3.0       # --start-at this far ahead for --node runs
COPY_RUNTIME_S = 60         # the copy-back run's --runtime, plus 1 ms a row
GOAL_RATIO = 0.95           # --hosts / direct req/s, at least
NEEDED = {test_hammer.SSHD_PATH: "openssh-server", "ssh": "openssh-client",
          "ssh-keygen": "openssh-client", "nginx": "nginx-light",
          "taskset": "util-linux", benchlib.GNU_TIME: "time",
          "ss": "iproute2"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
AUTOGROUP = "/proc/sys/kernel/sched_autogroup_enabled"

# peers.py's nginx, and its requests to /counted/ in an access log
COUNTED_LOCATION = """\
        location /counted/ {{
            access_log {dir}/access.log;
        }}
"""


# --- pure parts --------------------------------------------------------------


def sim_arg(text):
    """argparse type: comma-separated node counts from 1 to ALIASES."""
    try:
        out = sorted(set(int(p) for p in text.split(",")))
    except ValueError:
        out = []
    if not out or out[0] < 1 or out[-1] > ALIASES:
        raise argparse.ArgumentTypeError(
            "%r: give node counts from 1 to %d, say 2,5,10,20"
            % (text, ALIASES))
    return out


def aliases(n):
    return ",".join("node%d" % i for i in range(1, n + 1))


def at(samples, t, field):
    """samples' field at instant t, linear between the samples around it
    (the first or last sample outside them)."""
    before = [s for s in samples if s["t"] <= t]
    after = [s for s in samples if s["t"] >= t]
    if not before:
        return after[0][field]
    if not after:
        return before[-1][field]
    a, b = before[-1], after[0]
    if b["t"] == a["t"]:
        return a[field]
    return a[field] + (b[field] - a[field]) * (t - a["t"]) / (b["t"] - a["t"])


def linear_fit(xs, ys):
    """Least squares y = a + b x: (a, b, largest |residual| / y)."""
    n = float(len(xs))
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    worst = max([abs(y - (a + b * x)) / y for x, y in zip(xs, ys) if y]
                or [0.0])
    return a, b, worst


def rps(x):
    return "{:,.0f}".format(x)


def half(x):
    return None if x is None else x / 2.0


def size(n_bytes):
    if n_bytes is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            return "%.1f %s" % (n_bytes / scale, unit)
    return "%d B" % n_bytes


def cores(x):
    if x is None:
        return "-"
    return "%.3f" % x if x < 0.1 else "%.2f" % x


def duration(seconds):
    if seconds < 120:
        return "%.1f s" % seconds
    return "%.1f min" % (seconds / 60.0)


# --- processes, /proc and ss -------------------------------------------------


def proc_cpu_s(pid):
    """A process's utime + stime + cutime + cstime in seconds; 0 once it
    is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / float(CLK_TCK)


def tree_cpu_s(root):
    """The CPU of a process and its descendants: (seconds, the ones they
    reaped included, in 10 ms steps; {(pid, tid): ns} that each live thread
    has run, from schedstat)."""
    pids = benchlib.tree_pids(root)
    threads = {}
    for pid in pids:
        threads.update(run_times_ns(pid))
    return sum(proc_cpu_s(pid) for pid in pids), threads


def run_times_ns(pid):
    """{(pid, tid): ns run} of a live process's threads (schedstat)."""
    out = {}
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                out[(pid, int(task))] = int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return out


def run_between(a, b, key="threads"):
    """CPU seconds the threads (a sample's key) ran from sample a to sample
    b: a thread new in b counts whole; one gone by b is not seen."""
    return sum(ns - a[key].get(k, 0) for k, ns in b[key].items()) / 1e9


def load_window(settings, samples):
    """CPU (the run's tree, and the nodes') and wire bytes per second in
    the load, less its edges: a dict of None when too short to tell."""
    summary = settings["summary"]
    start = settings["started_epoch_s"]
    end = start + summary["duration_s"]
    edge = min(EDGE_S, summary["duration_s"] / 5.0)
    inside = [x for x in samples if start + edge <= x["t"] <= end - edge]
    if len(inside) < 2 or inside[-1]["t"] - inside[0]["t"] < 1.0:
        return dict(cpu_per_s=None, node_cpu_per_s=None, sent_per_s=None,
                    received_per_s=None)
    a, b = inside[0], inside[-1]
    span = b["t"] - a["t"]
    return dict(cpu_per_s=run_between(a, b) / span,
                node_cpu_per_s=run_between(a, b, "node_threads") / span,
                sent_per_s=(b["sent"] - a["sent"]) / span,
                received_per_s=(b["received"] - a["received"]) / span)


def wire_bytes(sshd_port):
    """(bytes sent, bytes received, connections) over every ssh client
    connection to sshd_port now, from `ss -ti` (the encrypted stream)."""
    out = subprocess.run(
        ["ss", "-tinH", "dst", "127.0.0.1:%d" % sshd_port],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        universal_newlines=True).stdout
    sent = received = conns = 0
    for word in out.split():
        if word.startswith("bytes_sent:"):
            sent += int(word.split(":")[1])
            conns += 1
        elif word.startswith("bytes_received:"):
            received += int(word.split(":")[1])
    return sent, received, conns


class Sampler(threading.Thread):
    """Every SAMPLE_S until stop(): a process tree's CPU, and with an sshd,
    its tree's (the nodes) and the ssh wire bytes."""

    def __init__(self, pid, sshd=None):
        threading.Thread.__init__(self, daemon=True)
        self.pid, self.sshd = pid, sshd
        self.samples, self.done = [], threading.Event()

    def run(self):
        os.sched_setaffinity(0, {SERVER_CPU})   # this thread and its ss
        while not self.done.is_set():
            t = time.time()
            cpu, threads = tree_cpu_s(self.pid)
            sample = dict(t=t, cpu=cpu, threads=threads, node_threads={},
                          sent=0, received=0, conns=0)
            if self.sshd is not None:
                sample["node_threads"] = tree_cpu_s(self.sshd.proc.pid)[1]
                sample["sent"], sample["received"], sample["conns"] = \
                    wire_bytes(self.sshd.port)
            self.samples.append(sample)
            self.done.wait(SAMPLE_S)

    def stop(self):
        self.done.set()
        self.join()
        return self.samples


def timed_run(cmd, timeout_s, sshd=None):
    """cmd under GNU time (-f "%e %U %S %M"), sampled by a Sampler (with
    sshd, its sessions and connections too): dict(out, err, wall_s, cpu_s,
    rss_kb (the biggest process's peak), samples, ended), or BenchError
    when it fails or overruns."""
    fd, report = tempfile.mkstemp(prefix="gnu-time-")
    os.close(fd)
    try:
        proc = subprocess.Popen(
            [benchlib.GNU_TIME, "-f", "%e %U %S %M", "-o", report] + cmd,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, start_new_session=True)
        sampler = Sampler(proc.pid, sshd)
        sampler.start()
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except BaseException:
            os.killpg(proc.pid, 9)
            proc.communicate()
            raise BenchError("%s: killed (overdue or interrupted)"
                             % " ".join(cmd))
        finally:
            samples = sampler.stop()
        ended = time.time()
        with open(report) as f:
            wall, user, system, rss = (float(x) for x in
                                       f.read().strip().splitlines()[-1]
                                       .split())
    finally:
        os.remove(report)
    if proc.returncode != 0:
        raise BenchError("%s exited %d:\n%s" % (" ".join(cmd),
                                                proc.returncode,
                                                (out + err)[-3000:]))
    return dict(out=out, err=err, wall_s=wall, cpu_s=user + system,
                rss_kb=rss, samples=samples, ended=ended)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def read_text(path, default):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def start_nginx(work):
    """nginx with one worker on CPU 0: / uncounted, /counted/ logged;
    (proc, url, access log path)."""
    proc, url = peers.start_nginx(work, ("counted",), COUNTED_LOCATION)
    return proc, url, os.path.join(work, "nginx", "access.log")


def remove_run_dirs(settings):
    """Remove the ~/hammer-runs/<run-id> directories a --hosts run's
    node_hosts name (only those)."""
    runs = os.path.realpath(os.path.expanduser("~/hammer-runs"))
    for node in settings.get("node_hosts") or ():
        path = os.path.realpath(os.path.expanduser(node.get("dir") or ""))
        run_dir = os.path.dirname(path)
        if os.path.dirname(run_dir) == runs:
            shutil.rmtree(run_dir, ignore_errors=True)


# --- the runs ----------------------------------------------------------------


class Bench(object):
    """Runs hammer directly and with --hosts; each run a dict."""

    def __init__(self, url, work, sshd, log):
        self.url, self.work, self.sshd, self.log = url, work, sshd, log
        self.seq = 0

    def csv(self, name):
        self.seq += 1
        return os.path.join(self.work, "%02d-%s.csv" % (self.seq, name))

    def pin_nodes(self, cpus):
        """Where sshd's sessions (the nodes) may run from now on."""
        os.sched_setaffinity(self.sshd.proc.pid, cpus)

    def hosts_cmd(self, n, extra, out_csv, url=None):
        return [sys.executable, HAMMER, url or self.url, "--hosts",
                aliases(n), "--ssh-config", self.sshd.config,
                "--remote-python", sys.executable] + extra + [
                    "-q", "-o", out_csv]

    def direct(self, processes, c, runtime_s):
        """hammer.py -p P -c C on CPU 1: its summary."""
        out_csv = self.csv("direct-p%d" % processes)
        cmd = pinned(CLIENT_CPU, [
            sys.executable, HAMMER, self.url, "-p", str(processes), "-c",
            str(c), "--runtime", "%gs" % runtime_s, "-q", "-o", out_csv])
        res = timed_run(cmd, runtime_s + RUN_GRACE_S)
        settings = read_json(out_csv + ".json")
        summary = settings["summary"]
        res.update(rate=summary["rps"], requests=summary["requests"],
                   errors=summary["errors"], cmd=cmd)
        res.update(load_window(settings, res["samples"]))
        os.remove(out_csv)
        return res

    def sessions(self, n, c, runtime_s, setsid=True):
        """n runs of hammer.py --node I/n -p 1 -c C at one --start-at, each
        in a session of its own (setsid, as sshd gives each node) or all in
        one, all on CPU 1: the sum of their req/s, the CPU of them all."""
        outs = [self.csv("session-%d" % i) for i in range(1, n + 1)]
        start_at = "%.6f" % (time.time() + SESSIONS_LEAD_S)
        script = " ".join(
            "%s%s &" % ("setsid " if setsid else "", " ".join(
                shlex.quote(w) for w in [
                sys.executable, HAMMER, self.url, "--node", "%d/%d" % (i, n),
                "-p", "1", "-c", str(c), "--runtime", "%gs" % runtime_s,
                "--start-at", start_at, "-q", "-o", out]))
            for i, out in enumerate(outs, 1)) + " wait"
        res = timed_run(pinned(CLIENT_CPU, ["sh", "-c", script]),
                        SESSIONS_LEAD_S + runtime_s + RUN_GRACE_S)
        settings = [read_json(out + ".json") for out in outs]
        for out in outs:
            os.remove(out)
        res.update(rate=sum(x["summary"]["rps"] for x in settings),
                   requests=sum(x["summary"]["requests"] for x in settings),
                   errors=sum(x["summary"]["errors"] for x in settings))
        res.update(load_window(settings[0], res["samples"]))
        return res

    def hosts(self, n, extra, timeout_s, pin=False, url=None, keep=False):
        """hammer.py --hosts node1..nodeN: its summary, CPU and wire bytes
        in the load window, and how long the merge took after it."""
        out_csv = self.csv("hosts-%d" % n)
        cmd = self.hosts_cmd(n, extra, out_csv, url)
        if pin:
            cmd = pinned(CLIENT_CPU, cmd)
        try:
            res = timed_run(cmd, timeout_s, sshd=self.sshd)
        except BenchError:
            if os.path.exists(out_csv + ".json"):
                remove_run_dirs(read_json(out_csv + ".json"))
            raise
        res["cmd"] = cmd
        settings = read_json(out_csv + ".json")
        try:
            res.update(self.figures(n, out_csv, settings, res))
        finally:
            remove_run_dirs(settings)
        res["settings"], res["csv"] = settings, out_csv
        if not keep:
            os.remove(out_csv)
        return res

    def figures(self, n, out_csv, settings, res):
        summary = settings["summary"]
        start = settings["started_epoch_s"]
        end = start + summary["duration_s"]
        samples = res["samples"]
        load = load_window(settings, samples)
        cpu_start = at(samples, start, "cpu") if samples else None
        cpu_end = at(samples, end, "cpu") if samples else None
        written = os.stat(out_csv).st_mtime
        nodes = settings.get("node_hosts") or []
        return dict(
            rate=summary["rps"], requests=summary["requests"],
            errors=summary["errors"], duration_s=summary["duration_s"],
            started=start, load_end=end,
            node_rows=sum(h.get("rows") or 0 for h in nodes),
            node_exits=[h.get("exit") for h in nodes],
            cpu_setup_s=cpu_start,
            cpu_load_s=(cpu_end - cpu_start) if samples else None,
            cpu_after_s=(res["cpu_s"] - cpu_end) if samples else None,
            merge_s=written - end, exit_after_s=res["ended"] - end,
            merged_bytes=os.path.getsize(out_csv),
            late_ms=[1e3 * ((h.get("started_epoch_s") or start)
                            - settings.get("start_at_epoch_s", start))
                     for h in nodes],
            conns=max([s["conns"] for s in samples] or [0]), **load)


def overhead(bench, runtime_s, rounds, log):
    """--hosts node1,node2 -p 1 and -p 2 directly back to back (which goes
    first alternates), then -p 1 alone, all on CPU 1, in each round:
    {name: [run per round]}."""
    bench.pin_nodes({CLIENT_CPU})
    extra = ["-p", "1", "-c", str(OVERHEAD_C), "--runtime", "%gs" % runtime_s]
    runs = dict(hosts=lambda: bench.hosts(2, extra, runtime_s + RUN_GRACE_S,
                                          pin=True),
                direct2=lambda: bench.direct(2, OVERHEAD_C, runtime_s),
                sessions=lambda: bench.sessions(2, OVERHEAD_C, runtime_s),
                session1=lambda: bench.sessions(2, OVERHEAD_C, runtime_s,
                                                setsid=False),
                direct1=lambda: bench.direct(1, ONE_NODE_C, runtime_s))
    out = dict((name, []) for name in runs)
    for r in range(rounds):
        pair = ["hosts", "direct2"] if r % 2 == 0 else ["direct2", "hosts"]
        for name in pair + ["sessions", "session1", "direct1"]:
            res = runs[name]()
            out[name].append(res)
            log("round %d  %-8s %9.0f req/s  %.2f cores in the load%s" % (
                r + 1, name, res["rate"], load_cores(res),
                "  controller %.3f cores in load, %s/s on the wire per node"
                % (res["cpu_per_s"], size((res["sent_per_s"]
                                           + res["received_per_s"]) / 2))
                if name == "hosts" and res["cpu_per_s"] is not None else ""))
    return out


def load_cores(res):
    """The cores a run's load side used in the load: hammer's processes,
    or the controller, its ssh clients, sshd and the nodes."""
    return (res["cpu_per_s"] or 0.0) + (res["node_cpu_per_s"] or 0.0)


def per_cpu(res):
    """Requests per load-side CPU second, in the load."""
    return res["rate"] / max(load_cores(res), 1e-3)


def copy_back(bench, rows, runs, log):
    """--hosts node1,node2 -n 2*rows, `runs` times: the time from the
    load's end to the merged file, each run a dict."""
    bench.pin_nodes(os.sched_getaffinity(0))
    limit_s = COPY_RUNTIME_S + 2 * rows / 1000.0     # -n ends it first
    extra = ["-p", "1", "-c", str(OVERHEAD_C), "-n", str(2 * rows),
             "--runtime", "%ds" % limit_s]
    out = []
    for _ in range(runs):
        res = bench.hosts(2, extra, limit_s + RUN_GRACE_S)
        res["rows_per_node"] = rows
        if res["node_rows"] != 2 * rows:
            raise BenchError("%s: %d rows from the nodes, not %d" % (
                " ".join(res["cmd"]), res["node_rows"], 2 * rows))
        log("copy-back: %d rows per node (nodes started %s ms after "
            "--start-at), merged %s in %.2f s after the load (controller "
            "exited %.2f s after); controller CPU after the load %.2f s, "
            "peak RSS %.0f MB" % (
                rows, ", ".join("%.1f" % x for x in res["late_ms"]),
                size(res["merged_bytes"]), res["merge_s"],
                res["exit_after_s"], res["cpu_after_s"] or 0,
                res["rss_kb"] / 1024.0))
        out.append(res)
    return out


def crunch_totals(csv_path):
    out = subprocess.run([sys.executable, CRUNCH, csv_path, "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=RUN_GRACE_S)
    if out.returncode != 0:
        raise BenchError("crunch.py %s --json exited %d: %s"
                         % (csv_path, out.returncode, out.stderr[-2000:]))
    return json.loads(out.stdout)["totals"]


def node_counts(csv_path):
    """{node: rows} of a merged results.csv, by its node column."""
    counts = {}
    with open(csv_path) as f:
        header = f.readline().rstrip("\n").split(",")
        col = header.index("node")
        for line in f:
            node = line.rstrip("\n").split(",")[col]
            counts[node] = counts.get(node, 0) + 1
    return counts


PERCENTILES = ("p50", "p90", "p95", "p99", "max")


def exactness(res, n, served, expected):
    """What the merge of a --hosts run got right: a dict of checks."""
    counts = node_counts(res["csv"])
    rows = sum(counts.values())
    hosts = res["settings"].get("node_hosts") or []
    per_node = dict((str(h["node"]), h.get("rows")) for h in hosts)
    summary = res["settings"]["summary"]
    totals = crunch_totals(res["csv"])
    mine = dict((p, int(round(summary["latency_ms"][p] * 1000)))
                for p in PERCENTILES)
    theirs = dict((p, int(round(totals[p + "_s"] * 1e6)))
                  for p in PERCENTILES)
    return dict(
        rows=rows, served=served, node_rows=res["node_rows"],
        expected=expected, summary_requests=summary["requests"],
        nodes_seen=sorted(int(k) for k in counts),
        counts_match=counts == per_node,
        percentiles_us=mine, crunch_us=theirs,
        exact=(rows == served == res["node_rows"] == expected
               == summary["requests"] == totals["requests"]
               and sorted(int(k) for k in counts) == list(range(1, n + 1))
               and counts == per_node and mine == theirs))


def simulate(bench, access_log, ns, requests, rate, log):
    """--hosts node1..nodeN with a light load against /counted/ for each N:
    {N: run with its exactness checks}."""
    bench.pin_nodes(os.sched_getaffinity(0))
    extra = ["-p", "1", "-c", str(SIM_USERS), "--rate", str(rate), "-n",
             str(requests)]
    out = {}
    for n in ns:
        before = count_lines(access_log)
        res = bench.hosts(n, extra, requests / float(rate) + RUN_GRACE_S,
                          url=bench.url + "counted/", keep=True)
        try:
            res["check"] = exactness(res, n, count_lines(access_log) - before,
                                     requests)
        finally:
            os.remove(res["csv"])
        out[n] = res
        c = res["check"]
        log("%2d nodes: %d rows, server %d, nodes %d; percentiles = crunch's:"
            " %s; exact: %s; controller CPU %.2f s (setup %.2f, load %.3f "
            "cores, after %.2f)" % (
                n, c["rows"], c["served"], c["node_rows"],
                c["percentiles_us"] == c["crunch_us"], c["exact"],
                res["cpu_s"], res["cpu_setup_s"] or 0, res["cpu_per_s"] or 0,
                res["cpu_after_s"] or 0))
    return out


# --- the report --------------------------------------------------------------


def known_median(values):
    """The median of the values that are not None; 0.0 if none is."""
    known = [v for v in values if v is not None]
    return median(known) if known else 0.0


def model(m):
    """The per-node figures the table is computed from."""
    hosts, direct2, direct1 = m["overhead"]["hosts"], \
        m["overhead"]["direct2"], m["overhead"]["direct1"]
    ratios = [h["rate"] / d["rate"] for h, d in zip(hosts, direct2)]
    cpu_ratios = [per_cpu(h) / per_cpu(d) for h, d in zip(hosts, direct2)]
    sessions = m["overhead"]["sessions"]
    sessions_ratios = [x["rate"] / d["rate"]
                       for x, d in zip(sessions, direct2)]
    session1_ratios = [x["rate"] / d["rate"]
                       for x, d in zip(m["overhead"]["session1"], direct2)]
    hosts_sessions_ratios = [h["rate"] / x["rate"]
                             for h, x in zip(hosts, sessions)]
    hosts_sessions_cpu = median([per_cpu(h) / per_cpu(x)
                                 for h, x in zip(hosts, sessions)])
    node_cpu = known_median([h["cpu_per_s"] for h in hosts]) / 2
    node_in = known_median([h["received_per_s"] for h in hosts]) / 2
    sims = m["sim"]
    if len(sims) >= 2:
        xs = sorted(sims)
        fit_total = linear_fit(xs, [sims[n]["cpu_s"] for n in xs])
        fit_load = linear_fit(xs, [sims[n]["cpu_per_s"] or 0.0 for n in xs])
        fit_setup = linear_fit(xs, [sims[n]["cpu_setup_s"] for n in xs])
    else:
        fit_total = fit_load = fit_setup = None
    cb = max(m["copy"], key=lambda r: r["merge_s"])     # the slowest
    merge_rows_per_s = 2 * cb["rows_per_node"] / max(cb["merge_s"], 1e-3)
    return dict(
        ratio=median(ratios), ratios=ratios,
        session1_ratio=median(session1_ratios),
        session1_ratios=session1_ratios,
        sessions_ratio=median(sessions_ratios),
        sessions_ratios=sessions_ratios,
        hosts_sessions=median(hosts_sessions_ratios),
        hosts_sessions_ratios=hosts_sessions_ratios,
        hosts_sessions_cpu=hosts_sessions_cpu,
        ratio_of_medians=median([h["rate"] for h in hosts])
        / median([d["rate"] for d in direct2]),
        hosts_rate=median([h["rate"] for h in hosts]),
        cpu_ratios=cpu_ratios, cpu_ratio=median(cpu_ratios),
        direct2_rate=median([d["rate"] for d in direct2]),
        one_node=median([d["rate"] for d in direct1]),
        one_node_per_cpu=median([per_cpu(d) for d in direct1]),
        node_cpu=max(node_cpu, fit_load[1] if fit_load else 0.0),
        node_cpu_full=node_cpu, node_in=node_in,
        fit_total=fit_total, fit_load=fit_load, fit_setup=fit_setup,
        setup_s=(fit_setup[0], fit_setup[1]) if fit_setup else
        (0.0, median([h["cpu_setup_s"] for h in hosts]) / 2),
        merge_rows_per_s=merge_rows_per_s,
        row_bytes=cb["merged_bytes"] / float(2 * cb["rows_per_node"]))


def scale_table(p):
    """Markdown lines: what N nodes of one core each would give."""
    limit_n = 1.0 / p["node_cpu"] if p["node_cpu"] > 0 else float("inf")
    lines = [
        "| nodes | req/s (computed) | controller CPU to start the nodes "
        "(computed) | controller CPU in the load, cores (computed) | into "
        "the controller in the load (computed) | copy back and merge 1 M "
        "rows per node (computed) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n in SCALE_NODES:
        lines.append("| %d | %s | %.1f s | %s | %s/s | %s |" % (
            n, rps(n * p["one_node"] * min(1.0, p["hosts_sessions"])),
            p["setup_s"][0] + n * p["setup_s"][1],
            cores(n * p["node_cpu"]), size(n * p["node_in"]),
            duration(n * 1e6 / p["merge_rows_per_s"])))
    lines += [
        "",
        "Computed from figures measured on one 2-core box (bench/nodes.py): "
        "one node at `-p 1` makes %s req/s on a core (against one nginx "
        "worker near its own limit; %s requests per CPU-second), and "
        "req/s = nodes x "
        "that x %.3f, the share of req/s --hosts kept against the same "
        "nodes run without ssh (at most 1). While the load runs the "
        "controller (with its ssh clients) "
        "spends %s of a core and receives %s/s per node, so its CPU reaches "
        "one core at about %s nodes. After the load it copies back and "
        "merges %s rows/s (%s per row; the slower copy-back run), one "
        "node after the other, taken here to stay the same for any number "
        "of nodes: that, not the CPU "
        "during the load, is the limit first. 1 M rows per node take %s "
        "at 100 nodes; use `--collect none` for runs that big (the "
        "summary needs no rows)."
        % (rps(p["one_node"]), rps(p["one_node_per_cpu"]),
           min(1.0, p["hosts_sessions"]),
           cores(p["node_cpu"]),
           size(p["node_in"]), "{:,.0f}".format(limit_n)
           if limit_n != float("inf") else "no number of",
           rps(p["merge_rows_per_s"]), size(p["row_bytes"]),
           duration(100 * 1e6 / p["merge_rows_per_s"])),
    ]
    return lines


def report(args, m):
    p = model(m)
    hosts = m["overhead"]["hosts"]
    lines = [
        SECTION,
        "",
        "Made by `python3 bench/nodes.py%s` on %s UTC; it took %.0f min; "
        "load average %s before it."
        % (args.argv_text, m["started"].strftime("%Y-%m-%d %H:%M"),
           m["elapsed_s"] / 60.0, m["loadavg"]),
        "",
        "- Machine: %s, %d CPUs, Linux %s; Python %s runs the controller "
        "and the nodes; %s." % (machine(), os.cpu_count(),
                                platform.release(),
                                platform.python_version(), m["ssh_version"]),
        "- Target: nginx on 127.0.0.1, one worker pinned to CPU %d, an "
        "11-byte file. The nodes are local: test_hammer.SSHD, an sshd on "
        "127.0.0.1 whose ssh_config names it node1..node%d; each node is an "
        "ssh session to it, so the ssh streams are real and encrypted."
        % (SERVER_CPU, ALIASES),
        "- The controller's CPU is its own and its ssh clients' (user + "
        "system, from /proc/PID/stat every %g s, and GNU time for the whole "
        "run; in the load, the run time of their threads from "
        "/proc/PID/task/TID/schedstat, in nanoseconds). Bytes "
        "are what the ssh connections carried on the wire (`ss -ti` "
        "bytes_sent and bytes_received). \"In the load\" is the merged "
        "settings' started_epoch_s plus duration_s, less %g s (a fifth of "
        "it at most) at each end." % (SAMPLE_S, EDGE_S),
        "",
        "### Overhead of the controller (measured)",
        "",
        "Every load-side process on CPU %d (the controller, its ssh "
        "clients, sshd and the nodes under it, or hammer's processes); "
        "%d round%s of %g s: --hosts and `-p 2` back to back, the first "
        "of them alternating, then the two nodes' runs without ssh (in two "
        "sessions, then in one), then `-p 1`; req/s is the "
        "settings file's summary `rps`." % (
            CLIENT_CPU, args.rounds, "" if args.rounds == 1 else "s",
            args.runtime),
        "",
        "| run | command | req/s (median) | per round | load-side cores "
        "in the load, per round | requests per CPU-second (median) |",
        "|---|---|---:|---|---|---:|",
    ]
    for name, label, cmd in (
            ("hosts", "2 nodes over ssh",
             "hammer.py URL --hosts node1,node2 --ssh-config CFG "
             "--remote-python %s -p 1 -c %d --runtime %gs"
             % (sys.executable, OVERHEAD_C, args.runtime)),
            ("direct2", "directly, 2 processes",
             "hammer.py URL -p 2 -c %d --runtime %gs"
             % (OVERHEAD_C, args.runtime)),
            ("sessions", "the 2 nodes' runs without ssh, each in its own "
             "session",
             "setsid hammer.py URL --node I/2 -p 1 -c %d --runtime %gs "
             "--start-at T, for I = 1, 2 at once"
             % (OVERHEAD_C, args.runtime)),
            ("session1", "the same, both in one session",
             "hammer.py URL --node I/2 -p 1 -c %d --runtime %gs "
             "--start-at T, for I = 1, 2 at once"
             % (OVERHEAD_C, args.runtime)),
            ("direct1", "one node alone",
             "hammer.py URL -p 1 -c %d --runtime %gs"
             % (ONE_NODE_C, args.runtime))):
        runs = m["overhead"][name]
        lines.append("| %s | `%s` | %s | %s | %s | %s |" % (
            label, cmd, rps(median([r["rate"] for r in runs])),
            ", ".join(rps(r["rate"]) for r in runs),
            ", ".join("%.2f" % load_cores(r) for r in runs),
            rps(median([per_cpu(r) for r in runs]))))
    errors = sum(r["errors"] for runs in m["overhead"].values() for r in runs)
    lines += [
        "",
        "--hosts / direct `-p 2`, the median of the rounds' ratios (each "
        "of two runs back to back): **%.3f** (per round %s; the ratio of "
        "the medians is %.3f). Goal: at least %g: %s.%s" % (
            p["ratio"], ", ".join("%.3f" % r for r in p["ratios"]),
            p["ratio_of_medians"], GOAL_RATIO,
            verdict(p["ratio"] >= GOAL_RATIO) + (
                "" if p["ratio"] >= GOAL_RATIO else " (why: below)"),
            " Errors: %d." % errors if errors else " No errors."),
        "",
        "Load-side cores: the CPU seconds per second that hammer's "
        "processes, or the controller, its ssh clients, sshd and its "
        "sessions (the nodes), used in the load (schedstat); under 1.00, "
        "CPU %d waited for nginx (its one worker is near a whole core at "
        "these rates) or served another process. Requests per CPU-second "
        "(req/s over those cores) does not depend on that: --hosts / "
        "direct `-p 2` in those terms is %.3f (per round %s)." % (
            CLIENT_CPU, p["cpu_ratio"],
            ", ".join("%.3f" % r for r in p["cpu_ratios"])),
        "",
        "Each node is an ssh session, and sshd gives each one a session of "
        "its own. With the kernel's autogroup scheduling on (here "
        "kernel.sched_autogroup_enabled = %s), two sessions sharing one "
        "core are scheduled as two groups, and that costs this ping-pong "
        "load throughput whatever hammer does. The two nodes' runs without "
        "ssh show it: in one session they make %.3f of `-p 2`'s req/s (per "
        "round %s), each in its own session (setsid) %.3f (per round %s). "
        "--hosts against the latter, which leaves the controller and ssh "
        "as the only difference: **%.3f** of their req/s (per round %s), "
        "%.3f per CPU-second; against the goal of %g: %s. Nodes that are "
        "machines of their own share no core, and the sessions' cost does "
        "not arise there." % (
            m["autogroup"], p["session1_ratio"],
            ", ".join("%.3f" % r for r in p["session1_ratios"]),
            p["sessions_ratio"],
            ", ".join("%.3f" % r for r in p["sessions_ratios"]),
            p["hosts_sessions"],
            ", ".join("%.3f" % r for r in p["hosts_sessions_ratios"]),
            p["hosts_sessions_cpu"], GOAL_RATIO,
            verdict(p["hosts_sessions"] >= GOAL_RATIO)),
        "",
        "### The controller's cost (measured)",
        "",
        "| figure | median over the --hosts runs | per round |",
        "|---|---:|---|",
        "| CPU in the load, 2 nodes (cores) | %s | %s |" % (
            cores(known_median([h["cpu_per_s"] for h in hosts])),
            ", ".join(cores(h["cpu_per_s"]) for h in hosts)),
        "| CPU in the load, per node (cores) | %s | |" % cores(
            p["node_cpu_full"]),
        "| wire bytes per node per second, controller to node | %s | %s |" % (
            size(known_median([h["sent_per_s"] for h in hosts]) / 2),
            ", ".join(size(half(h["sent_per_s"])) for h in hosts)),
        "| wire bytes per node per second, node to controller | %s | %s |" % (
            size(p["node_in"]),
            ", ".join(size(half(h["received_per_s"])) for h in hosts)),
        "| CPU before the load (connect, copy, probe, start) | %.2f s | %s |"
        % (median([h["cpu_setup_s"] for h in hosts]),
           ", ".join("%.2f" % h["cpu_setup_s"] for h in hosts)),
        "| CPU after the load (collect, merge, summary) | %.2f s | %s |" % (
            median([h["cpu_after_s"] for h in hosts]),
            ", ".join("%.2f" % h["cpu_after_s"] for h in hosts)),
        "| CPU in all (GNU time) | %.2f s | %s |" % (
            median([h["cpu_s"] for h in hosts]),
            ", ".join("%.2f" % h["cpu_s"] for h in hosts)),
        "| nodes' start after --start-at's instant (ms) | | %s |" % ", ".join(
            "/".join("%.1f" % x for x in h["late_ms"]) for h in hosts),
        "",
        "### Copy back and merge (measured)",
        "",
    ]
    lines += copy_lines(m)
    lines += sim_lines(args, m, p)
    lines += [
        "",
        "### What N nodes of one core each would give (computed)",
        "",
    ] + scale_table(p) + [
        "",
        "Reproduce: `python3 bench/nodes.py%s` (Linux, 2+ CPUs, sshd, "
        "nginx)." % args.argv_text,
        "",
    ]
    return lines


def copy_lines(m):
    runs = m["copy"]
    rows = runs[0]["rows_per_node"]
    lines = [
        "`hammer.py URL --hosts node1,node2 --ssh-config CFG "
        "--remote-python %s -p 1 -c %d -n %d --runtime %ds`, %d runs, %s "
        "rows per node, nothing pinned but nginx. \"After the load\" "
        "starts at the load's end (started_epoch_s + duration_s) and ends "
        "at the merged results.csv's last write (its mtime), or at the "
        "controller's exit; collect_s and controller_cpu_s are the "
        "controller's own figures in the settings file (the whole run, "
        "without its ssh clients). \"Late\" is each node's "
        "started_epoch_s less --start-at's instant: a node that started "
        "late has every row's elapsed rewritten as it is merged, one that "
        "started on time has its rows copied as they are."
        % (sys.executable, OVERHEAD_C, 2 * rows,
           COPY_RUNTIME_S + 2 * rows / 1000.0, len(runs),
           "{:,}".format(rows)),
        "",
        "| run | req/s in the load | nodes late | merged file | written "
        "after the load | controller exited | collect_s | controller CPU "
        "after the load (with ssh) | controller_cpu_s | peak RSS | rows/s "
        "merged |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(runs, 1):
        lines.append(
            "| %d | %s | %s | %s, %s rows | **%.2f s** | %.2f s | %s s | "
            "%.2f s | %s s | %.0f MB | %s |" % (
                i, rps(r["rate"]),
                ", ".join("%.1f ms" % x for x in r["late_ms"]),
                size(r["merged_bytes"]), "{:,}".format(r["node_rows"]),
                r["merge_s"], r["exit_after_s"],
                r["settings"].get("collect_s"), r["cpu_after_s"],
                r["settings"].get("controller_cpu_s"), r["rss_kb"] / 1024.0,
                rps(r["node_rows"] / max(r["merge_s"], 1e-3))))
    if rows < 1000000:
        lines += ["", "Measured at %s rows per node, not 1 M (--rows)."
                  % "{:,}".format(rows)]
    return lines


def sim_lines(args, m, p):
    sims = m["sim"]
    lines = [
        "",
        "### Many nodes on this box (measured)",
        "",
        "`hammer.py URL/counted/ --hosts node1,...,nodeN --ssh-config CFG "
        "--remote-python %s -p 1 -c %d --rate %d -n %d`, nothing pinned but "
        "nginx. \"Exact\": merged rows = nginx's access-log lines = the "
        "nodes' rows (node_hosts) = %d, every node 1..N in the node column "
        "with the rows its node_hosts entry gives, and the merged summary's "
        "p50, p90, p95, p99 and max equal `crunch.py --json`'s on the "
        "merged file, to the microsecond."
        % (sys.executable, SIM_USERS, args.sim_rate, args.sim_requests,
           args.sim_requests),
        "",
        "| nodes | rows | served | exact | p50 / p99 (summary = crunch) | "
        "controller CPU in all | per node | before the load | in the load, "
        "cores | after the load | wall |",
        "|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sorted(sims):
        r, c = sims[n], sims[n]["check"]
        lines.append(
            "| %d | %d | %d | %s | %s / %s | %.2f s | %.3f s | %.2f s | %s | "
            "%.2f s | %.1f s |" % (
                n, c["rows"], c["served"], "yes" if c["exact"] else "**no**",
                us_int(c["percentiles_us"]["p50"]),
                us_int(c["percentiles_us"]["p99"]), r["cpu_s"],
                r["cpu_s"] / n, r["cpu_setup_s"], cores(r["cpu_per_s"]),
                r["cpu_after_s"], r["wall_s"]))
        if not c["exact"]:
            lines.append("|  | not exact: node rows %d, summary requests "
                         "%d, nodes seen %s, counts match %s; summary (us) "
                         "%s, crunch %s | | | | | | | | | |" % (
                             c["node_rows"], c["summary_requests"],
                             c["nodes_seen"], c["counts_match"],
                             c["percentiles_us"], c["crunch_us"]))
    if p["fit_total"]:
        lines += [
            "",
            "Least squares over N (y = a + b N; the residual is the largest "
            "distance of a measured point from the line, against the "
            "point): the controller's CPU in all %s; before the load %s; "
            "in the load %s cores." % tuple(
                "%s + %s N (residual %.0f%%)" % (
                    fmt(f[0]), fmt(f[1]), 100 * f[2])
                for f in (p["fit_total"], p["fit_setup"], p["fit_load"])),
        ]
    return lines


def fmt(x):
    return "%.4f" % x if abs(x) < 0.01 else "%.3f" % x


def us_int(micros):
    return "%d us" % micros if micros < 1000 else "%.2f ms" % (micros / 1e3)


# --- main --------------------------------------------------------------------


def missing_tools():
    return sorted(set(pkg for cmd, pkg in NEEDED.items()
                      if not shutil.which(cmd)))


def ssh_version():
    out = subprocess.run(["ssh", "-V"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT,
                         universal_newlines=True).stdout.strip()
    return out.split(",")[0] or "ssh"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of about a minute (default: the "
                             "full run)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="overhead rounds (default: 6; 1 with --quick)")
    parser.add_argument("--runtime", type=float, default=None,
                        help="seconds per overhead run (default: 10; 3 with "
                             "--quick)")
    parser.add_argument("--rows", type=int, default=None,
                        help="rows per node of the copy-back run (default: "
                             "1000000; 10000 with --quick)")
    parser.add_argument("--sim", type=sim_arg, default=None, metavar="LIST",
                        help="node counts of the many-nodes runs (default: "
                             "2,5,10,20; 2,5 with --quick)")
    parser.add_argument("--results", default=None,
                        help="markdown file whose '%s' section to write; - "
                             "for none (default: bench/RESULTS.md; - with "
                             "--quick)" % SECTION)
    parser.add_argument("--table", default=None, metavar="FILE",
                        help="also write the scale table alone to FILE "
                             "(default: none)")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="keep the local files in DIR (default: a temp "
                             "dir, removed)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv_text = "".join(" " + a for a in argv)
    full = dict(runtime=10.0, rounds=6, rows=1000000, sim=list(DEFAULT_SIM),
                sim_requests=SIM_REQUESTS, sim_rate=SIM_RATE)
    for key, value in (QUICK if args.quick else full).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.results is None:
        args.results = "-" if args.quick else os.path.join(benchlib.HERE,
                                                           "RESULTS.md")
    if not sys.platform.startswith("linux"):
        parser.error("needs Linux (/proc, taskset, ss)")
    if not {SERVER_CPU, CLIENT_CPU} <= os.sched_getaffinity(0):
        parser.error("needs CPUs %d and %d" % (SERVER_CPU, CLIENT_CPU))
    missing = missing_tools()
    if missing:
        print("nodes: missing %s: install them (apt-get install %s)"
              % (", ".join(missing), " ".join(missing)), file=sys.stderr)
        return 1

    def log(line):
        print(line, file=sys.stderr, flush=True)

    m = dict(started=datetime.datetime.now(datetime.timezone.utc),
             autogroup=read_text(AUTOGROUP, "unknown"),
             loadavg=" ".join("%.2f" % x for x in os.getloadavg()),
             ssh_version=ssh_version())
    log("load average %s" % m["loadavg"])
    t_start = time.time()
    work = args.keep or tempfile.mkdtemp(prefix="hammer-nodes-")
    os.makedirs(work, exist_ok=True)
    nginx = sshd = None
    try:
        nginx, url, access_log = start_nginx(work)
        sshd = test_hammer.SSHD().start(aliases=ALIASES)
        log("nginx on %s (CPU %d); sshd on 127.0.0.1:%d, node1..node%d"
            % (url, SERVER_CPU, sshd.port, ALIASES))
        bench = Bench(url, work, sshd, log)
        m["overhead"] = overhead(bench, args.runtime, args.rounds, log)
        m["copy"] = copy_back(bench, args.rows, COPY_RUNS, log)
        m["sim"] = simulate(bench, access_log, args.sim, args.sim_requests,
                            args.sim_rate, log)
    except BenchError as exc:
        print("nodes: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if sshd is not None:
            sshd.stop()
        stop(nginx)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    m["elapsed_s"] = time.time() - t_start
    text = "\n".join(report(args, m))
    print(text)
    if args.results != "-":
        benchlib.write_section(args.results, SECTION, text)
        log("written to %s" % os.path.relpath(args.results))
    if args.table:
        with open(args.table, "w") as f:
            f.write("\n".join(scale_table(model(m))) + "\n")
        log("table written to %s" % args.table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark: crunch.py against pandas on the same results file.

Usage:

    python3 bench/crunch_vs_pandas.py [--rows 5000000] [--rss-rows 1000000,10000000]
                                       [--repeat 3] [--keep DIR]
                                       [--columns 5,8] [--baseline OLD.py]
                                       [--no-pandas]

Generates hammer-style results files (header, rows from two processes
interleaved in 0.25 s flushes, lognormal latencies around 20 ms at
microsecond resolution, 0.8% 503s and 0.2% timeouts) in a temporary
directory, then times, side by side and alternating, `crunch.py FILE` and a
pandas script doing the same job (read_csv, then per 2 s interval: requests,
errors, and over responses count, mean, p50/p90/p95/p99, max).  --columns
says which files: 5 columns (elapsed,response_time,status,bytes,error, as
hammer wrote before the scheduled column), 6 (and scheduled, empty) or 8
(and scheduled, empty, method and name: every row GET,/ as plain URL mode
writes); the race runs on each.  --baseline OLD.py races another crunch.py
(a copy of an older one, say `git show HEAD:crunch.py > /tmp/old.py`)
beside this one, on the same files in the same alternation (and its peak
RSS beside this one's); it imports the hammer.py beside this crunch.py
unless one sits beside it.

Wall time, CPU seconds (user + system, of every process) and peak RSS
come from GNU time; for crunch, which forks one worker per core, GNU time
reports the biggest single process, so the RSS runs also sample the summed
RSS of crunch's process tree.  The timed runs are not sampled: the sampler
costs CPU, which a run using every core would pay and a one-core run would
not.  pandas is installed in bench/.venv, and GNU time with apt-get, when
missing.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

import benchlib
from benchlib import GNU_TIME, VENV_PYTHON, timed

CRUNCH = os.path.join(benchlib.ROOT, "crunch.py")
RATE_PER_S = 8000.0
FLUSH_S = 0.25

PANDAS_JOB = r"""
import sys
import pandas as pd
df = pd.read_csv(sys.argv[1])
bucket = (df["elapsed"] // 2.0).astype("int64")
errors = ((df["status"] == 0) | ((df["status"] >= 500) & (df["status"] <= 599)))
per = pd.DataFrame({"requests": bucket.groupby(bucket).size(),
                    "errors": errors.groupby(bucket).sum()})
ok = df["status"] > 0
rt = df.loc[ok, "response_time"].groupby(bucket[ok])
lat = rt.agg(["count", "mean", "max"])
q = rt.quantile([0.5, 0.9, 0.95, 0.99]).unstack()
out = per.join(lat).join(q)
print(len(out), int(out["requests"].sum()))
"""


HEADERS = {5: "elapsed,response_time,status,bytes,error\n",
           6: "elapsed,response_time,status,bytes,error,scheduled\n",
           8: "elapsed,response_time,status,bytes,error,scheduled,method,"
              "name\n"}
SUFFIXES = {5: "\n", 6: ",\n", 8: ",,GET,/\n"}   # what follows the error


def generate(path, rows, seed=1, processes=2, columns=5):
    """A hammer-like results.csv with `rows` rows of `columns` columns
    (5, 6 or 8); the same rows whatever the columns."""
    rnd = random.Random(seed)
    step = processes / RATE_PER_S
    clock = [0.0] * processes
    left = [rows // processes + (1 if i < rows % processes else 0)
            for i in range(processes)]
    tail = SUFFIXES[columns]
    with open(path, "w") as out:
        out.write(HEADERS[columns])
        while any(left):
            for p in range(processes):
                buf = []
                end = clock[p] + FLUSH_S
                t = clock[p]
                n = left[p]
                while n and t < end:
                    rt = rnd.lognormvariate(-3.9, 0.5)
                    u = rnd.random()
                    if u < 0.002:
                        buf.append("%.6f,%.6f,0,0,timeout%s" % (t, rt, tail))
                    elif u < 0.01:
                        buf.append("%.6f,%.6f,503,19,%s" % (t, rt, tail))
                    else:
                        buf.append("%.6f,%.6f,200,612,%s" % (t, rt, tail))
                    t += step * (0.5 + rnd.random())
                    n -= 1
                clock[p], left[p] = t, n
                out.write("".join(buf))


def cpu_timed(cmd, env=None):
    """Run cmd under GNU time: (wall s, CPU s of it and the children it
    waited for, max RSS kB of the biggest process).  Raises SystemExit
    when cmd fails."""
    fd, report = tempfile.mkstemp(prefix="gnu-time-")
    os.close(fd)
    try:
        proc = subprocess.run([GNU_TIME, "-f", "%e %U %S %M", "-o", report]
                              + cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env,
                              universal_newlines=True)
        if proc.returncode != 0:
            raise SystemExit("%s failed:\n%s" % (" ".join(cmd),
                                                  proc.stderr[-2000:]))
        with open(report) as f:
            wall, user, system, rss = f.read().split()[-4:]
    finally:
        os.remove(report)
    return float(wall), float(user) + float(system), int(rss)


def ensure_pandas():
    pandas = benchlib.ensure_venv_package("pandas", "pandas")
    numpy = subprocess.check_output(
        [VENV_PYTHON, "-c", "import numpy; print(numpy.__version__)"],
        universal_newlines=True).strip()
    return pandas, numpy


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000000,
                        help="rows for the speed race (default: %(default)s)")
    parser.add_argument("--rss-rows", default="1000000,10000000",
                        help="row counts for crunch's peak RSS, on the"
                             " first --columns file; empty for none"
                             " (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternating runs of each (default: %(default)s)")
    parser.add_argument("--keep", default=None,
                        help="directory for the generated files, kept "
                             "(default: a temporary directory, removed)")
    parser.add_argument("--columns", default="5",
                        help="the files' columns, 5, 6 or 8, comma-separated:"
                             " a race on each (default: %(default)s)")
    parser.add_argument("--baseline", default=None, metavar="OLD.py",
                        help="another crunch.py to race beside this one "
                             "(default: none)")
    parser.add_argument("--no-pandas", action="store_true",
                        help="leave pandas out of the race (default: in)")
    args = parser.parse_args()
    columns = [int(c) for c in args.columns.split(",")]
    if any(c not in HEADERS for c in columns):
        parser.error("--columns takes 5, 6 or 8")
    benchlib.ensure_debian({GNU_TIME: "time"})
    versions = None if args.no_pandas else ensure_pandas()
    work = args.keep or tempfile.mkdtemp(prefix="crunch-bench-")
    os.makedirs(work, exist_ok=True)
    env = None
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [benchlib.ROOT] + [p for p in [os.environ.get("PYTHONPATH")]
                               if p]))
    try:
        print("machine: %d cores; crunch on Python %s%s" % (
            os.cpu_count(), sys.version.split()[0],
            "; pandas %s, numpy %s" % versions if versions else ""))
        if args.baseline:
            print("baseline: %s" % args.baseline)
        pandas_script = os.path.join(work, "pandas_job.py")
        with open(pandas_script, "w") as f:
            f.write(PANDAS_JOB)
        for ncols in columns:
            race(args, work, ncols, pandas_script, env)
        for rows in [int(r) for r in args.rss_rows.split(",") if r]:
            path = data_file(work, rows, columns[0])
            for name, script, cmd_env in [("crunch", CRUNCH, None)] + (
                    [("baseline", args.baseline, env)] if args.baseline
                    else []):
                wall, rss, tree, _ = timed([sys.executable, script, path],
                                           sample_tree=True, env=cmd_env)
                print("peak RSS, %d rows, %s: biggest process %.1f MB, whole"
                      " process tree %.1f MB (wall %.2f s)" % (
                          rows, name, rss / 1024.0, tree / 1024.0, wall),
                      flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def data_file(work, rows, ncols):
    """The generated file of rows rows and ncols columns, made once."""
    suffix = "" if ncols == 5 else "-%dcol" % ncols
    path = os.path.join(work, "results-%d%s.csv" % (rows, suffix))
    if not os.path.exists(path):
        generate(path, rows, columns=ncols)
    return path


def race(args, work, ncols, pandas_script, env):
    """Time each contender args.repeat times, alternating, on the file of
    args.rows rows and ncols columns; print each run and the medians."""
    data = data_file(work, args.rows, ncols)
    print("file: %d rows, %d columns, %.1f MB" % (
        args.rows, ncols, os.path.getsize(data) / 1e6))
    contenders = [("crunch", [sys.executable, CRUNCH, data], None)]
    if args.baseline:
        contenders.append(("baseline", [sys.executable, args.baseline, data],
                           env))
    if not args.no_pandas:
        contenders.append(("pandas", [VENV_PYTHON, pandas_script, data],
                           None))
    walls = dict((name, []) for name, _, _ in contenders)
    cpus = dict((name, []) for name, _, _ in contenders)
    for i in range(args.repeat):
        for name, cmd, cmd_env in contenders:
            wall, cpu, rss = cpu_timed(cmd, cmd_env)
            walls[name].append(wall)
            cpus[name].append(cpu)
            print("run %d %-8s wall %6.2f s  cpu %6.2f s  max RSS %7.1f MB"
                  % (i + 1, name, wall, cpu, rss / 1024.0), flush=True)
    median = benchlib.median
    for name, _, _ in contenders:
        print("%d columns, %-8s wall best %.2f s median %.2f s; cpu best"
              " %.2f s median %.2f s" % (
                  ncols, name, min(walls[name]), median(walls[name]),
                  min(cpus[name]), median(cpus[name])))
    for other in ("baseline", "pandas"):
        if other in walls:
            print("%d columns, crunch/%s: wall median %.3f, cpu median %.3f"
                  % (ncols, other, median(walls["crunch"]) /
                     median(walls[other]), median(cpus["crunch"]) /
                     median(cpus[other])), flush=True)


if __name__ == "__main__":
    sys.exit(main())

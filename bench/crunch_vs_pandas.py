#!/usr/bin/env python3
"""Benchmark: crunch.py against pandas on the same results file.

Usage:

    python3 bench/crunch_vs_pandas.py [--rows 5000000] [--rss-rows 1000000,10000000]
                                       [--repeat 3] [--keep DIR]

Generates hammer-style results files (header, 5 columns, rows from two
processes interleaved in 0.25 s flushes, lognormal latencies around 20 ms
at microsecond resolution, 0.8% 503s and 0.2% timeouts) in a temporary
directory, then times, side by side and alternating, `crunch.py FILE` and a
pandas script doing the same job (read_csv, then per 2 s interval: requests,
errors, and over responses count, mean, p50/p90/p95/p99, max).  Wall time
and peak RSS come from GNU time (/usr/bin/time -v); for crunch, which forks
one worker per core, GNU time reports the biggest single process, so the
RSS runs also sample the summed RSS of crunch's process tree.  The timed
runs are not sampled: the sampler costs CPU, which a run using every core
would pay and a one-core run would not.  pandas is installed in
bench/.venv, and GNU time with apt-get, when missing.
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


def generate(path, rows, seed=1, processes=2):
    """A hammer-like results.csv with `rows` rows."""
    rnd = random.Random(seed)
    step = processes / RATE_PER_S
    clock = [0.0] * processes
    left = [rows // processes + (1 if i < rows % processes else 0)
            for i in range(processes)]
    with open(path, "w") as out:
        out.write("elapsed,response_time,status,bytes,error\n")
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
                        buf.append("%.6f,%.6f,0,0,timeout\n" % (t, rt))
                    elif u < 0.01:
                        buf.append("%.6f,%.6f,503,19,\n" % (t, rt))
                    else:
                        buf.append("%.6f,%.6f,200,612,\n" % (t, rt))
                    t += step * (0.5 + rnd.random())
                    n -= 1
                clock[p], left[p] = t, n
                out.write("".join(buf))


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
                        help="row counts for crunch's peak RSS "
                             "(default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternating runs of each (default: %(default)s)")
    parser.add_argument("--keep", default=None,
                        help="directory for the generated files, kept "
                             "(default: a temporary directory, removed)")
    args = parser.parse_args()
    benchlib.ensure_debian({GNU_TIME: "time"})
    versions = ensure_pandas()
    work = args.keep or tempfile.mkdtemp(prefix="crunch-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        print("machine: %d cores; crunch on Python %s; pandas %s, numpy %s"
              % (os.cpu_count(), sys.version.split()[0], *versions))
        data = os.path.join(work, "results-%d.csv" % args.rows)
        if not os.path.exists(data):
            generate(data, args.rows)
        print("file: %d rows, %.1f MB" % (args.rows,
                                          os.path.getsize(data) / 1e6))
        pandas_script = os.path.join(work, "pandas_job.py")
        with open(pandas_script, "w") as f:
            f.write(PANDAS_JOB)
        crunch_cmd = [sys.executable, CRUNCH, data]
        pandas_cmd = [VENV_PYTHON, pandas_script, data]
        results = {"crunch": [], "pandas": []}
        for i in range(args.repeat):
            for name, cmd in (("crunch", crunch_cmd), ("pandas", pandas_cmd)):
                wall, rss, _, _ = timed(cmd)
                results[name].append(wall)
                print("run %d %-6s wall %6.2f s  max RSS %7.1f MB"
                      % (i + 1, name, wall, rss / 1024.0), flush=True)
        best = {k: min(v) for k, v in results.items()}
        median = {k: benchlib.median(v) for k, v in results.items()}
        print("wall, %d rows: crunch best %.2f s median %.2f s; pandas best"
              " %.2f s median %.2f s; crunch/pandas %.2f" % (
                  args.rows, best["crunch"], median["crunch"], best["pandas"],
                  median["pandas"], median["crunch"] / median["pandas"]))
        for rows in [int(r) for r in args.rss_rows.split(",") if r]:
            path = os.path.join(work, "results-%d.csv" % rows)
            if not os.path.exists(path):
                generate(path, rows)
            wall, rss, tree, _ = timed([sys.executable, CRUNCH, path],
                                       sample_tree=True)
            print("peak RSS, %d rows: biggest process %.1f MB, whole process"
                  " tree %.1f MB (wall %.2f s)" % (rows, rss / 1024.0,
                                                   tree / 1024.0, wall),
                  flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

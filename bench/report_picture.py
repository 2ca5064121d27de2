#!/usr/bin/env python3
"""Make bench/report.png, the picture of crunch's HTML report in the README.

Usage:

    python3 bench/report_picture.py [--out bench/report.png]

Writes a made-up 60 s run (a slow spell with 5xx errors at 30-40 s) and its
hammer settings to a temporary directory, runs `crunch.py --html` on it and
takes a screenshot of the report with headless Chromium (Debian package
chromium).  The same run always gives the same report.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

from benchlib import HERE, ROOT

CRUNCH = os.path.join(ROOT, "crunch.py")
RUNTIME_S = 60.0
RATE_PER_S = 400.0
WINDOW = (1100, 2350)
SETTINGS = {"hammer": "0.1.0", "url": "http://127.0.0.1:8000/",
            "method": "GET", "processes": 2, "users": 20,
            "threads_per_process": [10, 10], "rampup_s": 5.0,
            "interval_s": 0.0, "runtime_s": RUNTIME_S, "timeout_s": 10.0,
            "keepalive": True, "started": "2026-11-22T09:50:00Z"}


def sample_run(path, seed=4):
    rnd = random.Random(seed)
    t, rows = 0.0, []
    while t < RUNTIME_S:
        users = min(1.0, (t + 0.5) / SETTINGS["rampup_s"])
        slow = 30.0 <= t < 40.0
        rt = rnd.lognormvariate(-4.6 + (1.0 if slow else 0.0), 0.45)
        if slow and rnd.random() < 0.06:
            rows.append("%.6f,%.6f,503,19,\n" % (t, rt))
        elif rnd.random() < 0.002:
            rows.append("%.6f,%.6f,0,0,timeout\n" % (t, 10.0))
        else:
            rows.append("%.6f,%.6f,200,612,\n" % (t, rt))
        rate = RATE_PER_S * users * (0.45 if slow else 1.0)
        t += rnd.expovariate(rate)
    with open(path, "w") as f:
        f.write("elapsed,response_time,status,bytes,error\n")
        f.writelines(rows)
    with open(path + ".json", "w") as f:
        json.dump(SETTINGS, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "report.png"),
                        help="PNG to write (default: %(default)s)")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("needs chromium (Debian package chromium)")
    work = tempfile.mkdtemp(prefix="crunch-picture-")
    try:
        data = os.path.join(work, "results.csv")
        sample_run(data)
        report = os.path.join(work, "report.html")
        subprocess.check_call([sys.executable, CRUNCH, "results.csv",
                               "--html", report,
                               "--interval", "2s"], stdout=subprocess.DEVNULL,
                              cwd=work)
        subprocess.check_call(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars",
             "--user-data-dir=" + os.path.join(work, "profile"),
             "--window-size=%d,%d" % WINDOW, "--screenshot=" + args.out,
             "file://" + report],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

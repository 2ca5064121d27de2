#!/usr/bin/env python3
"""Benchmark: --replay of a 10,000 req/s access log, and --import of a
50 MB HAR.

Usage:

    python3 bench/replay.py [--rate 10000] [--seconds 10] [--har-mb 50]
                            [--keep DIR] [--results bench/RESULTS.md]

Linux with two or more CPUs, nginx and GNU time (installed with apt-get
when missing, as bench/peers.py does).  It:

1. writes an nginx combined log of --rate lines a second for --seconds
   (whole-second stamps, so hammer spreads each second's lines evenly),
   starts nginx on CPU 0 (bench/peers.py's setup: one worker, access_log
   off, an 11-byte file), and runs
   `hammer.py URL --replay LOG -p 1 -c 64` as one process on CPU 1 under
   GNU time.  From results.csv it takes the rate sent (rows over the
   span from the first send to the last) against the log's (lines over
   the span from its first line's instant to its last, as hammer spread
   them: results.csv.json's replay span_s),
   and each send's lateness (elapsed - scheduled: p50, p99, max), beside
   that of `--rate R` at the same rate, core and -c, run just after as a
   control (a box shared with other work shows in both).  Pass: the rate
   sent within 1% of the log's;
2. writes a HAR of --har-mb MB (a login flow's pages, JSON answers with
   ids sent back later, and base64 images, as a browser's export holds
   them) and runs `hammer.py --import HAR --force` under GNU time: its
   wall time and peak RSS.  Pass: under 5 s and under 200 MB;
3. prints the results as a markdown section on stdout and, with
   --results FILE, puts it in FILE in place of its "## Recordings"
   section, or at its end.

Every subprocess has a time limit.  About 30 s in all.
"""

import argparse
import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import nearest_rank
from peers import (BenchError, CLIENT_CPU, HAMMER, pinned, start_nginx,
                   stop, verdict, machine)

SECTION = "## Recordings (--replay, --import)"
REPLAY_C = 64
RATE_TOLERANCE = 0.01       # the rate sent within 1% of the log's
IMPORT_LIMIT_S = 5.0
IMPORT_LIMIT_MB = 200.0
RUN_GRACE_S = 60.0


def write_log(path, rate, seconds, start=1796437800):
    """rate combined-log lines a second for `seconds`: (lines, span_s as
    hammer spreads them)."""
    with open(path, "w") as f:
        for s in range(seconds):
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S",
                                  time.gmtime(start + s))
            line = ('127.0.0.1 - - [%s +0000] "GET /?n=%%d HTTP/1.1" 200 11'
                    ' "-" "Mozilla/5.0"\n' % stamp)
            f.write("".join(line % (s * rate + k) for k in range(rate)))
    return rate * seconds, seconds - 1 + (rate - 1) / float(rate)


def gnu_time(cmd, timeout_s, cwd=None):
    """Run cmd under GNU time -v: (stdout, wall seconds, peak RSS MB)."""
    full = ["/usr/bin/time", "-v"] + cmd
    proc = subprocess.run(full, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout_s, cwd=cwd)
    if proc.returncode != 0:
        raise BenchError("%s exited %d:\n%s" % (" ".join(cmd),
                                                proc.returncode,
                                                proc.stderr[-2000:]))
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                    proc.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):"
                     r"([\d.]+)", proc.stderr)
    if not rss or not wall:
        raise BenchError("GNU time gave no figures:\n" + proc.stderr[-2000:])
    hours, minutes, secs = wall.groups()
    seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
    return proc.stdout, seconds, int(rss.group(1)) / 1024.0


def lateness(csv_path):
    """A results.csv's sends less their slots, sorted; its rows; the rows
    whose status is not 200; the span from its first send to its last."""
    late, count, errors = [], 0, 0
    first, last = float("inf"), 0.0
    with open(csv_path) as f:
        next(f)
        for row in f:
            cells = row.split(",")
            count += 1
            errors += cells[2] != "200"
            sent = float(cells[0])
            first, last = min(first, sent), max(last, sent)
            late.append(sent - float(cells[5]))
    late.sort()
    return late, count, errors, last - first


def bench_replay(work, rate, seconds):
    log = os.path.join(work, "access.log")
    lines, span = write_log(log, rate, seconds)
    nginx = None
    try:
        nginx, url = start_nginx(work)
        out_csv = os.path.join(work, "replay.csv")
        stdout, wall, rss = gnu_time(pinned(CLIENT_CPU, [
            sys.executable, HAMMER, url, "--replay", log, "-p", "1", "-c",
            str(REPLAY_C), "-o", out_csv, "-q"]), seconds + RUN_GRACE_S)
        control_csv = os.path.join(work, "rate.csv")
        gnu_time(pinned(CLIENT_CPU, [
            sys.executable, HAMMER, url, "--rate", str(rate), "--runtime",
            str(seconds), "-p", "1", "-c", str(REPLAY_C), "-o", control_csv,
            "-q"]), seconds + RUN_GRACE_S)
    finally:
        stop(nginx)
    control = lateness(control_csv)[0]
    with open(out_csv + ".json") as f:
        settings = json.load(f)
    late, count, errors, sent_span = lateness(out_csv)
    duration = settings["duration_s"]
    # both rates over their own span, first line (send) to last: the run
    # goes on 50 ms past the last send for its answers
    log_span = settings["replay"]["span_s"]
    sent_rps = (count - 1) / sent_span if sent_span > 0 else 0.0
    log_rps = (lines - 1) / log_span
    rate_line = re.search(r"^rate .*$", stdout, re.M)
    return {
        "lines": lines, "span_s": span, "rows": count, "errors": errors,
        "duration_s": duration, "log_rps": log_rps, "sent_rps": sent_rps,
        "sent_span_s": sent_span, "log_span_s": log_span,
        "ratio": sent_rps / log_rps,
        "late_p50_ms": nearest_rank(late, 50) * 1000,
        "late_p99_ms": nearest_rank(late, 99) * 1000,
        "late_max_ms": late[-1] * 1000, "rss_mb": rss, "wall_s": wall,
        "control_p50_ms": nearest_rank(control, 50) * 1000,
        "control_p99_ms": nearest_rank(control, 99) * 1000,
        "control_max_ms": control[-1] * 1000,
        "summary_rate": rate_line.group(0) if rate_line else "",
        "ok": abs(sent_rps / log_rps - 1) <= RATE_TOLERANCE and not errors
        and count == lines,
    }


def write_har(path, megabytes):
    """A HAR of about `megabytes` MB: rounds of a login form, a JSON
    order whose id the next request sends back, an item page and two
    base64 images (dropped as assets).  Its entry count."""
    image = base64.b64encode(os.urandom(30000)).decode("ascii")
    page = "<html><title>Item</title><body>%s</body></html>" % (
        "<p>lorem ipsum dolor sit amet</p>" * 600)
    start = datetime.datetime(2026, 12, 5, tzinfo=datetime.timezone.utc)
    entries, size, k = [], 0, 0

    def entry(method, url, mime, text, body=None, encoding=None):
        nonlocal k
        k += 1
        stamp = (start + datetime.timedelta(seconds=k * 0.2)).isoformat()
        content = {"mimeType": mime, "size": len(text), "text": text}
        if encoding:
            content["encoding"] = encoding
        request = {"method": method, "url": url, "headers": [
            {"name": "User-Agent", "value": "Mozilla/5.0"},
            {"name": "Accept", "value": "*/*"}]}
        if body is not None:
            request["postData"] = {"mimeType": "application/json",
                                   "text": body}
        return {"startedDateTime": stamp, "time": 20, "request": request,
                "response": {"status": 200, "headers": [], "content":
                             content}}

    host = "https://shop.example.com"
    while size < megabytes * 1e6:
        n = len(entries)
        order = "ord-%08x%04d" % (n, n % 9973)
        batch = [
            entry("GET", host + "/items/%d" % n, "text/html", page),
            entry("GET", host + "/img/%d.png" % n, "image/png", image,
                  encoding="base64"),
            entry("POST", host + "/api/orders", "application/json",
                  json.dumps({"order": {"id": order, "items": [n]}}),
                  body=json.dumps({"item": n})),
            entry("GET", host + "/api/orders/%s" % order, "application/json",
                  json.dumps({"id": order, "state": "open"})),
        ]
        entries += batch
        size += sum(len(json.dumps(e)) for e in batch)
    with open(path, "w") as f:
        json.dump({"log": {"version": "1.2", "creator": {
            "name": "bench", "version": "1"}, "entries": entries}}, f)
    return len(entries)


def bench_import(work, megabytes):
    har = os.path.join(work, "big.har")
    entries = write_har(har, megabytes)
    size_mb = os.path.getsize(har) / 1e6
    out, wall, rss = gnu_time([sys.executable, HAMMER, "--import", har,
                               "--force"], 120)
    kept = re.search(r"kept +(\d+) of", out)
    correlated = re.search(r"correlated +(\d+)", out)
    return {"har_mb": size_mb, "entries": entries, "wall_s": wall,
            "rss_mb": rss, "kept": int(kept.group(1)) if kept else None,
            "correlated": int(correlated.group(1)) if correlated else None,
            "ok": wall < IMPORT_LIMIT_S and rss < IMPORT_LIMIT_MB}


def report(args, r, i):
    lines = [
        SECTION, "",
        "`python3 bench/replay.py` on %s, %s: nginx on CPU 0, hammer as one"
        " process on CPU 1." % (machine(), datetime.datetime.utcnow()
                                .strftime("%Y-%m-%d %H:%M UTC")), "",
        "| --replay of a combined log | figure |", "|---|---|",
        "| log | %d lines, first to last instant in %.4f s: %.1f req/s |"
        % (r["lines"], r["log_span_s"], r["log_rps"]),
        "| sent | %d rows (%d errors), first to last send in %.4f s (the"
        " run %.3f s): %.1f req/s |" % (
            r["rows"], r["errors"], r["sent_span_s"], r["duration_s"],
            r["sent_rps"]),
        "| sent / the log's rate | %.4f (goal: within 1%%) %s |" % (
            r["ratio"], verdict(r["ok"])),
        "| lateness p50 / p99 / max | %.2f / %.2f / %.2f ms |" % (
            r["late_p50_ms"], r["late_p99_ms"], r["late_max_ms"]),
        "| the same of `--rate %d` just after, the same core and -c |"
        " %.2f / %.2f / %.2f ms |" % (args.rate, r["control_p50_ms"],
                                      r["control_p99_ms"],
                                      r["control_max_ms"]),
        "| peak RSS, wall (GNU time) | %.1f MB, %.2f s |" % (r["rss_mb"],
                                                           r["wall_s"]),
        "| hammer's rate line | `%s` |" % r["summary_rate"],
        "| the box's 1-minute load average, before and after | %.2f, %.2f"
        " (%d CPUs%s) |" % (r["load"] + (os.cpu_count(), (
            ": more than that, other work shared them" if max(r["load"])
            > os.cpu_count() else ""))), "",
        "| --import of a HAR | figure |", "|---|---|",
        "| HAR | %.1f MB, %d entries (%d kept, %s values correlated) |" % (
            i["har_mb"], i["entries"], i["kept"] or 0, i["correlated"]),
        "| wall time (goal: under 5 s) | %.2f s |" % i["wall_s"],
        "| peak RSS (goal: under 200 MB) | %.1f MB %s |" % (
            i["rss_mb"], verdict(i["ok"])), ""]
    return "\n".join(lines)


def put_section(path, section):
    """Put section in place of the file's own, or at its end."""
    with open(path) as f:
        old = f.read()
    parts = re.split(r"(?m)^(?=## )", old)
    kept = [p for p in parts if not p.startswith(SECTION)]
    text = "".join(kept).rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    with open(path, "w") as f:
        f.write(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rate", type=int, default=10000)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--har-mb", type=float, default=50.0)
    p.add_argument("--keep", metavar="DIR")
    p.add_argument("--results", metavar="FILE")
    args = p.parse_args(argv)
    benchlib.ensure_debian({"nginx": "nginx-light", "/usr/bin/time": "time",
                            "taskset": "util-linux"})
    load_before = os.getloadavg()[0]
    work = args.keep or tempfile.mkdtemp(prefix="hammer-replay-")
    os.makedirs(work, exist_ok=True)
    try:
        print("replaying %d req/s for %d s" % (args.rate, args.seconds),
              file=sys.stderr, flush=True)
        r = bench_replay(work, args.rate, args.seconds)
        print("importing a %g MB HAR" % args.har_mb, file=sys.stderr,
              flush=True)
        i = bench_import(work, args.har_mb)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    r["load"] = (load_before, os.getloadavg()[0])
    section = report(args, r, i)
    print(section)
    if args.results:
        put_section(args.results, section)
    return 0 if r["ok"] and i["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

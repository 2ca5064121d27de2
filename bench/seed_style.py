#!/usr/bin/env python3
"""The original 2010 design, re-created from its description, as a baseline.

Processes of threads, each thread a user started on a linear ramp-up.  A
user calls urllib.request.urlopen once per request (a new connection every
time: urllib has no keep-alive), reads the body, and appends the row
`elapsed,response_time,status` to the shared results file under a lock.
As the original did, it stamps `elapsed` when the response has ended, and
paces with `sleep(interval - latency)`: one request every --interval
seconds, start to start, and at once after a slower response.
This is what hammer replaces; bench/peers.py measures both side by side.

    python3 bench/seed_style.py URL [--processes N] [--threads N]
                                [--runtime S] [--rampup S] [--interval S]
                                [--output FILE]

It prints one line, `ROWS rows in SECONDS s = RATE req/s`, and exits 0.
"""

import argparse
import multiprocessing
import sys
import threading
import time
import urllib.error
import urllib.request


def agent(url, start, runtime, delay, interval, out, lock):
    """One user: its first request after `delay` seconds, then as fast as it
    can (or one every `interval` seconds, start to start) until the runtime
    is over."""
    time.sleep(delay)
    while True:
        sent = time.time()
        if sent - start >= runtime:
            return
        try:
            resp = urllib.request.urlopen(url)
            resp.read()
            status = resp.status
            resp.close()
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError):
            status = 0
        ended = time.time()
        latency = ended - sent
        with lock:
            out.write("%.6f,%.6f,%d\n" % (ended - start, latency, status))
        expire = interval - latency     # the original's pacing
        if expire > 0:
            time.sleep(expire)


def process_main(url, start, args):
    lock = threading.Lock()
    with open(args.output, "a", buffering=1) as out:
        threads = []
        for i in range(args.threads):
            delay = args.rampup * i / args.threads if args.threads else 0.0
            th = threading.Thread(target=agent, args=(
                url, start, args.runtime, delay, args.interval, out, lock))
            th.daemon = True
            th.start()
            threads.append(th)
        for th in threads:
            th.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=10)
    parser.add_argument("--runtime", type=float, default=10.0)
    parser.add_argument("--rampup", type=float, default=0.0)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--output", default="seed_results.csv")
    args = parser.parse_args()
    open(args.output, "w").close()
    start = time.time()
    procs = [multiprocessing.Process(target=process_main,
                                     args=(args.url, start, args))
             for _ in range(args.processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.time() - start
    with open(args.output) as f:
        rows = sum(1 for _ in f)
    print("%d rows in %.2f s = %.1f req/s" % (rows, wall, rows / wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Make bench/web.png, the picture of --web's live page in the README.

Usage:

    python3 bench/web_picture.py [--out bench/web.png]

Starts `hammer.py --demo --web 127.0.0.1:PORT` with stages (2 users, then
8, then 4, over 20 s, two processes) in a temporary directory, opens the
page in headless Chromium driven by Selenium (bench/.venv; Debian's
chromium and chromium-driver), adds p90 to the latency chart, raises the
users to 6 from the page at 13 s, and takes the screenshot 17 s into the
real run.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import benchlib

HAMMER = os.path.join(benchlib.ROOT, "hammer.py")
WINDOW = (1280, 2000)
DRIVER = r"""
import sys, time
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
port, out, width, height = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
o = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
             "--hide-scrollbars", "--window-size=%s,%s" % (width, height)):
    o.add_argument(flag)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
try:
    d.get("http://127.0.0.1:%s/" % port)
    box = d.find_element("id", "p-extra")
    box.send_keys("90")
    box.send_keys("\t")         # 'change' adds p90 from now on
    deadline = time.time() + 60
    def elapsed():
        m = __import__("re").match(r"([0-9]+) s,", d.find_element(
            "id", "elapsed").text)
        return int(m.group(1)) if m else -1
    while elapsed() < 13 and time.time() < deadline:
        time.sleep(0.1)
    d.find_element("id", "s-target").send_keys("6")
    d.find_element("id", "set").click()
    while elapsed() < 17 and time.time() < deadline:
        time.sleep(0.1)
    d.save_screenshot(out)
finally:
    d.quit()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(benchlib.HERE,
                                                      "web.png"),
                        help="PNG to write (default: %(default)s)")
    args = parser.parse_args()
    benchlib.ensure_debian({"chromium": "chromium",
                            "chromedriver": "chromium-driver"})
    benchlib.ensure_venv_package("selenium", "selenium")
    work = tempfile.mkdtemp(prefix="hammer-web-picture-")
    proc = subprocess.Popen(
        [sys.executable, HAMMER, "--demo", "-p", "2", "--stages",
         "4s:2,4s:8,4s:8,8s:4", "--web", "127.0.0.1:0", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work,
        universal_newlines=True)
    try:
        line = proc.stderr.readline()
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not port:
            raise SystemExit("hammer --web did not start: %s" % line)
        subprocess.check_call([benchlib.VENV_PYTHON, "-c", DRIVER,
                               port.group(1), os.path.abspath(args.out),
                               str(WINDOW[0]), str(WINDOW[1])])
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    print("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmarks in bench/ share: installing their tools, GNU time
(memory, and CPU seconds), and reading a process tree's memory and file
descriptors from /proc.

Development code (Linux, Python 3.6+), not part of hammer.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")
GNU_TIME = "/usr/bin/time"
RSS_POLL_S = 0.02


def ensure_venv_package(package, module):
    """pip-install package into bench/.venv unless `import module` works
    there; return the module's __version__."""
    probe = [VENV_PYTHON, "-c", "import %s; print(%s.__version__)"
             % (module, module)]
    ok = os.path.exists(VENV_PYTHON) and subprocess.call(
        probe[:2] + ["import %s" % module], stderr=subprocess.DEVNULL) == 0
    if not ok:
        print("installing %s in %s" % (package, VENV), flush=True)
        if not os.path.exists(VENV_PYTHON):
            subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([VENV_PYTHON, "-m", "pip", "install", "-q",
                               package])
    return subprocess.check_output(probe, universal_newlines=True).strip()


def ensure_debian(commands):
    """Install the Debian packages behind any missing command.

    commands maps a command (a name on PATH or an absolute path) to its
    package.  Raises SystemExit with one line when a command is missing and
    apt-get cannot run (not root, or not Debian).
    """
    missing = sorted(set(pkg for cmd, pkg in commands.items()
                         if not shutil.which(cmd)))
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("missing %s: install them (apt-get install %s)"
                         % (", ".join(missing), " ".join(missing)))
    print("installing %s with apt-get" % " ".join(missing), flush=True)
    install = ["apt-get", "install", "-y", "-q"] + missing
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.call(install, env=env, stdout=subprocess.DEVNULL) != 0:
        subprocess.check_call(["apt-get", "update", "-q"], env=env,
                              stdout=subprocess.DEVNULL)
        subprocess.check_call(install, env=env, stdout=subprocess.DEVNULL)


def children_of(pid):
    """A process's children from /proc/PID/task/*/children: [] once the
    process is gone, None when the kernel keeps no such list."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return []
    kids = []
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                kids.extend(int(k) for k in f.read().split())
        except FileNotFoundError:
            if os.path.exists("/proc/%d/task/%s" % (pid, task)):
                return None     # the task lives: no children file
        except OSError:
            pass
    return kids


def parents_map():
    """Every process's children, from the parent field of /proc/*/stat."""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    return children


def tree_pids(root):
    """A process and its descendants (Linux /proc)."""
    kids = children_of
    if children_of(root) is None:
        kids = parents_map().get
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(kids(pid) or ())
    return pids


def rss_kb(pid):
    """A process's resident set size (VmRSS) in kB; 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"VmRSS:\s+(\d+)", f.read())
        return int(m.group(1)) if m else 0
    except OSError:
        return 0


def tree_rss_kb(root):
    """Summed VmRSS of a process and its descendants."""
    return sum(rss_kb(pid) for pid in tree_pids(root))


def open_fds(pid):
    """How many file descriptors a process has open; 0 once it is gone."""
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def timed(cmd, sample_tree=False, **popen):
    """Run cmd under GNU time: (wall s, max RSS kB of the biggest process,
    peak summed RSS kB of the process tree or None when not sampled,
    stdout).  Raises SystemExit when cmd fails."""
    proc = subprocess.Popen([GNU_TIME, "-v"] + cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True,
                            **popen)
    peak = [0 if sample_tree else None]
    done = threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(proc.pid))
            time.sleep(RSS_POLL_S)

    poller = threading.Thread(target=poll)
    if sample_tree:
        poller.start()
    out, err = proc.communicate()
    done.set()
    if sample_tree:
        poller.join()
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (" ".join(cmd), err[-2000:]))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)",
                     err)
    hours = float(wall.group(1) or 0)
    seconds = hours * 3600 + float(wall.group(2)) * 60 + float(wall.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                        err).group(1))
    return seconds, rss, peak[0], out


def median(values):
    """The middle value (the mean of the two middle ones for an even count)."""
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def nearest_rank(sorted_values, p):
    """The nearest-rank p-th percentile of a sorted list (None if empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


class CpuRun(object):
    """What cpu_timed() saw: stdout, stderr, returncode, and GNU time's
    wall, user and system seconds (user and system include every child the
    command waited for) and maximum resident set size in kB (of the biggest
    process among them)."""

    def __init__(self, out, err, returncode, wall_s, user_s, sys_s,
                 max_rss_kb):
        self.out, self.err, self.returncode = out, err, returncode
        self.wall_s, self.user_s, self.sys_s = wall_s, user_s, sys_s
        self.max_rss_kb = max_rss_kb

    @property
    def cpu_s(self):
        return self.user_s + self.sys_s


def cpu_timed(cmd, timeout_s, env=None):
    """Run cmd under GNU time (`-f "%e %U %S %M"`) in a session of its own, and
    return a CpuRun whatever its exit code.  Past timeout_s the session is
    killed and subprocess.TimeoutExpired raised."""
    fd, report = tempfile.mkstemp(prefix="gnu-time-")
    os.close(fd)
    try:
        proc = subprocess.Popen(
            [GNU_TIME, "-f", "%e %U %S %M", "-o", report] + cmd,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, start_new_session=True, env=env)
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        with open(report) as f:
            # "Command exited with non-zero status N" may come first
            wall, user, system, rss = (
                float(x) for x in f.read().strip().splitlines()[-1].split())
    finally:
        os.remove(report)
    return CpuRun(out, err, proc.returncode, wall, user, system, int(rss))


def settings_of(csv_path):
    """hammer's settings file beside csv_path (results.csv.json), or {}
    when there is none."""
    try:
        with open(csv_path + ".json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def replace_section(old, heading, section):
    """old (a markdown file's text) with its part under heading (a line
    such as '## Many machines'), up to the next level-2 heading, replaced
    by section, or section appended; every other byte of old stays."""
    lines = old.splitlines(True)
    heads = [i for i, line in enumerate(lines) if line.rstrip("\n") == heading]
    body = section.rstrip("\n") + "\n"
    if not heads:
        if not old:
            return body
        return old + ("" if old.endswith("\n") else "\n") + "\n" + body
    end = heads[0] + 1
    while end < len(lines) and not lines[end].startswith("## "):
        end += 1
    after = "".join(lines[end:])
    return "".join(lines[:heads[0]]) + body + ("\n" + after if after else "")


def write_section(path, heading, section):
    """Put section under heading in the markdown file at path (made when
    missing)."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    with open(path, "w") as f:
        f.write(replace_section(old, heading, section))


def add_output_options(parser, section):
    """--results FILE (the report also goes into FILE's section) and --keep
    DIR (the runs' files, kept), as the bench scripts take them."""
    parser.add_argument("--results", default=None, metavar="FILE",
                        help="also put the section in FILE (say "
                             "bench/RESULTS.md), replacing its '%s' section"
                             % section)
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="directory for the runs' files, kept "
                             "(default: a temporary directory, removed)")

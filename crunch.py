#!/usr/bin/env python3
"""crunch: per-interval throughput and latency from hammer's results.csv.

Usage:

    python crunch.py results.csv [more.csv ...] [--interval S] [--csv FILE]
                     [--json] [--html FILE] [--compare BASE.csv]
                     [--tolerance PCT] [--fail-if EXPR ...] [--name NAME ...]
                     [--monitor FILE]
    cat results.csv | python crunch.py -

The input is hammer's CSV (header
`elapsed,response_time,status,bytes,error,scheduled,method,name`, with
a ninth column `node` in hammer --hosts' merged file, or without the
last two, or without `scheduled` too; extra columns allowed;
fields quoted as the csv module quotes them, so a row may span lines) or
the original header-less form `elapsed,response time,status`.  Several
files are merged on their elapsed axis.  Rows are counted in intervals of
--interval seconds (30, 30s, 500ms, 5m or 1h; by default the settings'
crunch_interval_s, else 2s); each interval gives its start, requests,
req/s (the last interval is divided by its real width, up to the run's
end), the mean and p50/p90/p95/p99/max response time, and errors as a
count and a %.  A totals row follows.  The intervals and totals count
requests, not the rows of timers (method `timer`) or failed tasks
(`task`), but their errors count failed tasks too, and errors % is of
requests and failed tasks.  Errors are as the input's settings record
hammer's rule ("error_rule"): a row is an error when it has an error
kind but `accepted`, or a status of 400 or more but those the rule's
ok_status accepts; a file whose settings record no rule (written before
hammer recorded it, or with no settings beside it) reads under the rule
of then: an error kind or a 5xx status (without an error column: status 0
or 5xx), failed tasks apart.  Latency leaves out the rows
of status 0 that have an error kind, as hammer and wrk do.  An empty
status (a timer's row whose block got no response) reads as status 0
did in such a row before: no error without a kind, never a transport
error by its status.  Rows from
several nodes (a node column holding more than one, or inputs whose
settings each give their node) give a table per node: node, host,
requests, req/s, p95 and errors %; the node whose p95 (or errors %) is
the nodes' worst, over 1.5 times their median and at least 1 ms (1%), is
marked slow (failing), as is a node with no requests.  With the
method and name columns, a table per (method, name) follows with Locust's
columns: requests, fails (and fails %), median, p95, p99, avg, min, max
and req/s, requests first, then timers, then task failures; past 1000
pairs, 1000 are kept (by a hash) and the rest summed as (other).  --name
NAME (repeatable) limits every output to the rows of those names,
whatever their method.  The table goes to stdout;
--csv writes the same rows for a spreadsheet, --json prints them for
machines, --html writes a report with inline SVG charts that opens
offline: the verdict first (totals, errors by kind, thresholds), then
the status codes, each name's failures and statuses, the script's
tracebacks (from the settings' summary), the charts, and the settings
last, folded.  --compare BASE.csv sets the totals beside a baseline run's and
marks regressions beyond --tolerance percent, in total and per name.  When
`<file>.json` (hammer's run settings) sits beside the first file, the
outputs show those settings.  Inputs whose settings carry a
start_at_epoch_s (hammer --start-at: nodes started together) are aligned
on the clock: each one's rows land its started_epoch_s less the earliest
one's later, and a warning says when their start_at_epoch_s differ.

Rows with a scheduled time (hammer --rate, the open model) also give the
latency from the intended send instant, elapsed - scheduled +
response_time (corrected for coordinated omission, as wrk2 does), beside
the service time: corrected_* columns and keys, and two named lines.  The
settings' stage plan ("stages") gives a table per stage: its target (users,
or req/s in the open model), achieved req/s, p50/p95/p99 and errors, in
the text, the JSON and the report, with a chart of throughput and p95
against the target.  --fail-if EXPR judges the totals with hammer's
thresholds (p95<500ms, errors<1%; latency from the intended send when the
rows have scheduled times), printing each with its value and ok/FAILED;
METRIC{NAME} OP VALUE (p95{checkout}<300ms) judges the rows of one name,
and fails when no row has it.

hammer --monitor's samples (<file>.monitor.csv beside the first input, or
--monitor FILE) give a table of each host per interval, each host's CPU
per stage, a Hosts section of the report with a chart per host, and the
bottleneck and trust lines, judged by hammer's monitor_verdicts() over
the intervals and the samples (--fail-if trusted judges the trust).

The run's end is its settings' duration_s (what hammer divides its req/s
by); else, for an older file without -n, the later of runtime_s and the
last response's end (elapsed + response time, over every row); else that
last end.  With several inputs it is the latest of theirs.  The stage the
run ended in is clipped there; a run cut short (duration_s null, or an
end before its stage plan's while the plan still asked for load) is
named in a warning.

A truncated last line is skipped with a warning; malformed lines are
counted and the first one is named.  A line longer than 64 kB is malformed
and skipped unread (a first line that long is refused).  Input that would
need more than 1,000,000 intervals is refused once it is all read (for
its elapsed times alone, from the start when its first and last rows
show it), naming its whole span and an --interval that fits.  Big files
are read in byte ranges by one process per core; memory stays flat in
the number of rows.

Exit codes: 0 done, 1 failed (missing, empty or unreadable input, no row
of the --name names, output not writable, a regression found by
--compare), 2 bad usage (a --fail-if EXPR that does not parse too), 3 a
--fail-if threshold failed, 130 interrupted.

The code's sections, top to bottom, each under a `# --- ...` banner:

    constants
    records: a file's format, its lines and fields
    runs: their end, alignment, stage plan and intervals
    parsing: a block of lines -> named columns
    counting: buckets, names, nodes, the chart, the last end, the sample
    the tally: lines in, each row counted where it counts
    summarising: rows of numbers, comparisons and thresholds
    formatting: text tables, CSV and JSON
    HTML report
    reading input
    a run: inputs -> Run
    hosts: hammer --monitor's samples beside the rows
    main
"""

import bisect
import collections
import contextlib
import html
import json
import marshal
import math
import multiprocessing
import heapq
import operator
import os
import re
import sys
import zlib
from itertools import compress, filterfalse, repeat

try:
    import hammer  # the statistics live there: crunch keeps no second copy
except ImportError:  # main() says so in one line
    hammer = None

__version__ = "0.1.0"

# --- constants ---------------------------------------------------------------

DEFAULT_INTERVAL_S = 2.0
DEFAULT_TOLERANCE_PCT = 5.0
READ_BLOCK_B = 1 << 15          # bytes parsed at a time
LINE_MAX_B = 1 << 16            # longer lines are skipped (a first: refused)
RANGE_B = 16 << 20              # a file is cut into byte ranges at most this
RANGE_MIN_B = 1 << 20           # big and, but for the last, at least this big
MIN_PARALLEL_B = 8 << 20        # smaller inputs are read in one process
LIVE_BUCKETS_MAX = 8            # open histograms; older ones are compressed
LIVE_KEYS_MAX = 1 << 20         # and their keys in all, at most (~40 MB)
PENDING_MAX = 1 << 16           # latencies a Bucket holds before it folds them
US_PER_S = 1e6
DIGITS_AS_0 = bytes.maketrans(b"123456789", b"000000000")
MAX_VALUE_S = 1e9               # elapsed and response times must be below
SCATTER_POINTS_MAX = 4000       # points in the HTML scatter
INTERVALS_MAX = 1000000         # a run needing more intervals is refused
OPEN_ENDS_MAX = 8               # blocks whose last response end is pending
CSV_ROUNDING_S = 2e-6           # %.6f elapsed plus %.6f response time
MIN_WIDTH_S = 1e-6              # the least width of a last interval
HEADER_SHOWN_MAX = 80           # characters of a bad header quoted in errors
SAMPLE_MIX = 0x9E3779B97F4A7C15  # sample_hash's multiplier (golden ratio)
STAGES_MAX = 10000              # a longer stage plan is ignored
NAMES_MAX = 1000                # (method, name) keys kept; the rest summed
NAMES_LIVE_MAX = NAMES_MAX      # per-name histograms kept uncompressed
LUMPS_MEMO_MAX = 1 << 14        # keys remembered as summed past NAMES_MAX
CHART_NAMES_MAX = 8             # names drawn in the p95 chart, then "other"
CHART_SLOTS_MAX = 120           # points of each name in that chart, at most
CAPACITY_POINTS_MIN = 5         # stages the capacity chart needs, a point each
CELLS_LIVE_MAX = 1024           # the chart's histograms kept uncompressed
NODES_MAX = 1000                # a node column's numbers: 1 to this, as --node
NODE_DIGITS_MAX = 7             # a longer node field is not read as a number
NODES_LIVE_MAX = NODES_MAX      # per-node histograms kept uncompressed
# A node is marked when its p95 (or error %) is the nodes' worst, more
# than OUTLIER_RATIO times their median, and at least the floor.
OUTLIER_RATIO = 1.5
OUTLIER_P95_FLOOR_S = 0.001
OUTLIER_ERRORS_FLOOR_PCT = 1.0
COLUMN = "column"               # an input whose rows name their node

# The columns crunch reads; hammer's README shows the full CSV block.
ELAPSED_NAMES = ("elapsed",)
RESPONSE_TIME_NAMES = ("response_time", "response time")
STATUS_NAMES = ("status",)
ERROR_NAMES = ("error",)
SCHEDULED_NAMES = ("scheduled",)
METHOD_NAMES = ("method",)
NAME_NAMES = ("name",)
NODE_NAMES = ("node",)          # hammer --hosts' merged file: 1 to N
# Rows of these methods are not requests: they have a section of their
# own per name, and count in the totals only when --name picks them.
TIMER, TASK = b"timer", b"task"
QUOTED_REST = re.compile(rb'(?:[^"]|"")*"(?!")', re.S)  # to its close

# --- records: a file's format, its lines and fields --------------------------


class InputError(Exception):
    """Input that cannot be crunched: main() prints it and exits 1."""


class Format(object):
    """Where crunch's columns are in a file's lines (None: not there).
    A file with a method or a name column is named: its rows are keyed
    by (method, name), each b"" when its column is missing.  A file with
    a node column (hammer --hosts' merged file) gives each row's node."""

    __slots__ = ("ncols", "elapsed", "response_time", "status", "error",
                 "scheduled", "method", "name", "node", "header", "core",
                 "keyed")

    def __init__(self, ncols, elapsed=0, response_time=1, status=2,
                 error=None, scheduled=None, header=None, method=None,
                 name=None, node=None):
        self.ncols = ncols
        self.elapsed, self.response_time = elapsed, response_time
        self.status, self.error, self.header = status, error, header
        self.scheduled = scheduled
        self.method, self.name, self.node = method, name, node
        # hammer's layout, method and name (and node) last: the Format of
        # the rest, and how many fields those are
        self.core = None
        keys = (method, name) if node is None else (method, name, node)
        self.keyed = len(keys)
        others = (elapsed, response_time, status, error, scheduled)
        if keys == tuple(range(ncols - len(keys), ncols)) and max(
                i for i in others if i is not None) < ncols - len(keys):
            self.core = Format(ncols - len(keys), elapsed, response_time,
                               status, error, scheduled)

    @property
    def named(self):
        return self.method is not None or self.name is not None


def _index(names, wanted):
    for name in wanted:
        if name in names:
            return names.index(name)
    return None


def parse_first_line(line):
    """A file's first line (bytes, no newline) -> (Format, is_header).

    A line whose first field is a number is data in the header-less form
    (elapsed, response time, status, then anything); else it must be a
    header naming elapsed, response_time and status.
    """
    line = line.rstrip(b"\r")
    fields = line.split(b",")
    try:
        float(fields[0])
    except ValueError:
        pass
    else:
        if len(fields) < 3:
            raise InputError("the first line has %d fields; crunch needs"
                             " elapsed,response time,status" % len(fields))
        return Format(len(fields)), False
    names = [f.strip().lower().decode("latin-1") for f in fields]
    columns = [_index(names, n) for n in
               (ELAPSED_NAMES, RESPONSE_TIME_NAMES, STATUS_NAMES)]
    if None in columns:
        shown = line.decode("latin-1")
        if len(shown) > HEADER_SHOWN_MAX:
            shown = shown[:HEADER_SHOWN_MAX] + "..."
        raise InputError("the header %r lacks elapsed, response_time or"
                         " status" % shown)
    return Format(len(fields), *columns, error=_index(names, ERROR_NAMES),
                  scheduled=_index(names, SCHEDULED_NAMES), header=line,
                  method=_index(names, METHOD_NAMES),
                  name=_index(names, NAME_NAMES),
                  node=_index(names, NODE_NAMES)), True


Row = collections.namedtuple(
    "Row", "elapsed response_time status error scheduled method name node")


def node_number(field):
    """A node field (bytes) -> its number, 1 to NODES_MAX, or None when it
    is not one (digits only)."""
    if field.isdigit() and len(field) <= NODE_DIGITS_MAX:
        number = int(field)
        if number <= NODES_MAX and number:
            return number
    return None


def parse_line(line, fmt):
    """One record (bytes, without its newline) -> a Row, or None when it
    is malformed.  scheduled is None when the line has no value there (the
    closed model); a value must be a time from 0 to elapsed (hammer never
    sends a request before its intended instant).  method and name are
    bytes (b"" without their column); a named row needs a method.  node
    is a node_number() (None without the column).  A record holding a
    quote is read as the csv module reads it (csv_fields)."""
    fields = line.split(b",") if b'"' not in line else csv_fields(line)
    if fields is None or len(fields) != fmt.ncols:
        return None
    try:
        elapsed = float(fields[fmt.elapsed])
        response_time = float(fields[fmt.response_time])
        status = status_code(fields[fmt.status], fmt.error is not None)
    except ValueError:
        return None
    if not (0 <= elapsed < MAX_VALUE_S and 0 <= response_time < MAX_VALUE_S
            and valid_status(status)):
        return None
    error = fields[fmt.error] if fmt.error is not None else b""
    if error[:1].isdigit():
        return None
    scheduled = None
    if fmt.scheduled is not None and fields[fmt.scheduled]:
        try:
            scheduled = float(fields[fmt.scheduled])
        except ValueError:
            return None
        if not 0 <= scheduled <= elapsed:
            return None
    method = fields[fmt.method] if fmt.method is not None else b""
    name = fields[fmt.name] if fmt.name is not None else b""
    if fmt.method is not None and not method:
        return None
    node = None
    if fmt.node is not None:
        node = node_number(fields[fmt.node])
        if node is None:
            return None
    return Row(elapsed, response_time, status, error, scheduled, method, name,
               node)


def csv_fields(record):
    """The fields (bytes) of a record, as the csv module reads them in its
    strict mode: a field that starts with a quote runs to the next quote
    not doubled, may hold commas and newlines, and must end there; a quote
    inside an unquoted field is a quote.  None when a quoted field is not
    closed, or is followed by anything but a comma."""
    fields, pos, size = [], 0, len(record)
    while True:
        if record.startswith(b'"', pos):
            match = QUOTED_REST.match(record, pos + 1)
            if match is None:
                return None
            fields.append(record[pos + 1:match.end() - 1].replace(b'""',
                                                                    b'"'))
            pos = match.end()
            if pos < size and record[pos] != 44:    # b","
                return None
        else:
            comma = record.find(b",", pos)
            end = size if comma < 0 else comma
            fields.append(record[pos:end])
            pos = end
        if pos >= size:
            return fields
        pos += 1


def record_end(data, pos):
    """The index just past the newline that ends the record starting at
    pos in data, or -1 when data ends first.  A newline inside a quoted
    field (one that starts with a quote) is part of the record."""
    while True:
        if data.startswith(b'"', pos):
            match = QUOTED_REST.match(data, pos + 1)
            if match is None:
                return -1
            pos = match.end()
        newline = data.find(b"\n", pos)
        comma = data.find(b",", pos, len(data) if newline < 0 else newline)
        if comma < 0:
            return newline + 1 if newline >= 0 else -1
        pos = comma + 1


def records(data, final):
    """Cut data, bytes that start at a record's start, into records ->
    (items, rest).

    items are (lines, record) pairs: a record (bytes, without its
    newline) and how many lines it spans.  A record that a quoted field
    keeps open past LINE_MAX_B bytes, or to the end of the stream, is not
    one: its first line is malformed, given as (1, None), and the next
    line starts a record.  rest is the start of a record still open,
    which needs more data (b"" when final: the end of the stream).  With
    final, the last item may be a line without its newline.
    """
    items, pos, size = [], 0, len(data)
    while pos < size:
        newline = data.find(b"\n", pos)
        if data.find(b'"', pos, size if newline < 0 else newline) < 0:
            if newline < 0:
                if not final:
                    return items, data[pos:]
                newline = size
            items.append((1, data[pos:newline]))
            pos = newline + 1
            continue
        end = record_end(data, pos)
        if 0 <= end and end - pos <= LINE_MAX_B + 1:
            items.append((data.count(b"\n", pos, end), data[pos:end - 1]))
            pos = end
        elif end < 0 and not final and size - pos <= LINE_MAX_B:
            return items, data[pos:]
        elif (end < 0 and final and size - pos <= LINE_MAX_B
              and record_end(data + b"\n", pos) == size + 1):
            items.append((data.count(b"\n", pos) + 1, data[pos:]))
            pos = size              # the stream's last record, whole
        elif newline < 0:           # the stream's last line, left open
            items.append((1, data[pos:]))
            pos = size
        else:
            items.append((1, None))
            pos = newline + 1
    return items, b""


def valid_status(code):
    return code == 0 or 100 <= code <= 999


def status_code(field, empty_ok):
    """A status field (bytes) -> its int code.  An empty one, a timer's
    row without a response, reads as 0 without an error kind did before
    hammer left it empty: no error, with a latency; that is in a file
    with an error column (empty_ok), else it is a ValueError."""
    if not field and empty_ok:
        return 0
    return int(field)


def status_codes(fields, empty_ok=False):
    """Distinct status fields (bytes) -> {field: int code}, or None when
    one is not a valid status (status_code())."""
    codes = {}
    for field in fields:
        try:
            code = status_code(field, empty_ok)
        except ValueError:
            return None
        if not valid_status(code):
            return None
        codes[field] = code
    return codes


def micro_shape(joined, count):
    """How plainly `count` comma-joined fields (bytes) hold microseconds,
    checked in a few C passes: 0 when not every one is digits, a dot and
    six digits, as hammer's %.6f writes (a whole number of microseconds
    >= 0); 1 when they all are; 2 when they also all have the same width,
    so that their order as bytes is their order as numbers."""
    shape = joined.translate(DIGITS_AS_0) + b","
    first = shape[:shape.index(b",") + 1]
    if first.replace(b".000000,", b"").strip(b"0"):
        return 0
    if shape == first * count:
        return 2
    return 0 if shape.replace(b".000000,", b"").strip(b"0") else 1


# --- runs: their end, alignment, stage plan and intervals --------------------


def is_seconds(value):
    """A JSON value that is a finite number >= 0 (not a bool, nor an int
    too big for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value) and value >= 0
    except OverflowError:
        return False


def run_end(settings, last_elapsed, last_end):
    """When a run ended, on its elapsed axis -> (seconds, where from, a
    warning or None).

    settings are hammer's (or None), last_elapsed the greatest elapsed of
    its rows and last_end the greatest elapsed + response time (status 0
    rows too).  hammer's duration_s, the figure its req/s divides by, is
    the end when it is a number of seconds no less than last_end (less
    CSV_ROUNDING_S); any other value but null (a run that never finished)
    is ignored with a warning.  Without duration_s (an older hammer), with
    runtime_s and no -n, the end is the later of runtime_s and last_end.
    Else it is last_end: a fallback never makes the run shorter than its
    rows show.
    """
    settings = settings or {}
    duration = settings.get("duration_s")
    if is_seconds(duration) and duration >= last_end - CSV_ROUNDING_S:
        return max(duration, last_elapsed), "duration_s", None
    warning = None
    if duration is not None:
        warning = ("duration_s %r is not a number of seconds >= the last"
                   " response's end (%gs): ignored" % (duration, last_end))
    runtime = settings.get("runtime_s")
    if ("duration_s" not in settings and "requests" in settings
            and settings["requests"] is None and is_seconds(runtime)
            and runtime > last_end):
        return float(runtime), "runtime_s", warning
    return last_end, "last response", warning


def alignment(names, settings):
    """The inputs' names and settings (or None) -> (offsets, warnings).

    An input whose settings carry a start_at_epoch_s (hammer's
    --start-at: nodes started together) is aligned on the clock by its
    started_epoch_s, the instant its elapsed 0 stands for: its offset is
    that less the least of the aligned inputs', rounded to the
    microsecond, and its rows land that much later.  Other inputs get
    None: their rows stay where they are.  A warning names the aligned
    inputs when their start_at_epoch_s differ (not one --start-at), and
    an input whose two values are not numbers of seconds.
    """
    offsets, warnings, aligned = [None] * len(names), [], []
    for i, one in enumerate(settings):
        start_at = (one or {}).get("start_at_epoch_s")
        if start_at is None:
            continue
        started = one.get("started_epoch_s")
        if is_seconds(start_at) and is_seconds(started):
            aligned.append((i, float(start_at), float(started)))
        else:
            warnings.append("%s%s: start_at_epoch_s %r and started_epoch_s"
                            " %r are not both numbers of seconds: not"
                            " aligned" % (names[i], hammer.SETTINGS_SUFFIX,
                                          start_at, started))
    if not aligned:
        return offsets, warnings
    least = min(started for _, _, started in aligned)
    for i, _, started in aligned:
        offsets[i] = round(started - least, 6)
    spread = round(max(a[1] for a in aligned) - min(a[1] for a in aligned),
                   6)
    if spread:
        warnings.append("%s: start_at_epoch_s differ by %s (not one"
                        " --start-at): rows aligned on each one's"
                        " started_epoch_s" % (", ".join(
                            names[i] for i, _, _ in aligned),
                            format_width(spread)))
    return offsets, warnings


class Moved(object):
    """A block's elapsed times, %.6f fields (bytes) or floats, moved by
    offset_s (> 0, whole microseconds) and rounded to the microsecond,
    worked out when they are read: a block that falls in one interval
    needs none of them.  One read by index is worked out alone; iterating
    works out all of them at once, in C passes (fields as whole
    microseconds)."""

    __slots__ = ("fields", "offset_s", "values")

    def __init__(self, fields, offset_s):
        self.fields, self.offset_s = fields, offset_s
        self.values = None

    def __len__(self):
        return len(self.fields)

    def __getitem__(self, i):
        if self.values is not None:
            return self.values[i]
        return self.move([self.fields[i]])[0]

    def __iter__(self):
        if self.values is None:
            self.values = self.move(self.fields)
        return iter(self.values)

    def move(self, fields):
        """The moved floats of a list of fields, all bytes or all floats."""
        if not isinstance(fields[0], bytes):
            return list(map(round, map(operator.add, fields,
                                       repeat(self.offset_s)), repeat(6)))
        offset = float(round(self.offset_s * US_PER_S))
        micros = map(float, b",".join(fields).replace(b".", b"").split(b","))
        return list(map(operator.truediv, map(operator.add, micros,
                                              repeat(offset)),
                        repeat(US_PER_S)))


def shifted(columns, offset_s):
    """Columns whose rows happened offset_s seconds later (> 0, whole
    microseconds): their elapsed times a Moved, lo and hi moved as their
    rows are.  A scheduled time would move as much: the corrected
    latency, elapsed - scheduled + response_time, stays as it is."""
    lo, hi = Moved([columns.lo, columns.hi], offset_s)
    return columns._replace(elapsed=Moved(columns.elapsed, offset_s), lo=lo,
                            hi=hi)


PlannedStage = collections.namedtuple("PlannedStage",
                                      "number start_s end_s begin end")


def read_stage_plan(settings):
    """hammer's expanded load plan from its settings -> (unit, stages) or
    None when there is none.  The unit is "req/s" when settings' model is
    "open", else "users"; stages are PlannedStages numbered from 1, whose
    target moves linearly from begin to end between start_s and end_s (a
    stage of no length is a step).  Raises ValueError, saying what is
    wrong, when "stages" is not a list of 1 to STAGES_MAX such stages in
    time order."""
    stages = (settings or {}).get("stages")
    if stages is None:
        return None
    if not (isinstance(stages, list) and 0 < len(stages) <= STAGES_MAX):
        raise ValueError("stages is not a list of 1 to %d stages"
                         % STAGES_MAX)
    plan, previous_end = [], 0.0
    for number, stage in enumerate(stages, 1):
        keys = ("start_s", "end_s", "from", "to")
        if not (isinstance(stage, dict)
                and all(is_seconds(stage.get(k)) for k in keys)):
            raise ValueError("stage %d is not {start_s, end_s, from, to},"
                             " each a number >= 0" % number)
        start, end = float(stage["start_s"]), float(stage["end_s"])
        if not previous_end <= start <= end:
            raise ValueError("stage %d (%gs to %gs) ends before it starts"
                             " or before the stage before it" % (
                                 number, start, end))
        previous_end = end
        plan.append(PlannedStage(number, start, end, stage["from"],
                                 stage["to"]))
    return ("req/s" if settings.get("model") == "open" else "users"), plan


def stage_plan(names, settings):
    """The inputs' names and settings (or None) -> (unit, stages, warning):
    the inputs' stage plan, the targets added up over the inputs (boxes
    that ran the same plan), or (None, None, warning) when no input has
    one, one's is broken, or they differ.  The inputs whose settings give
    a node (hammer --node I/N) count once together: their plan's targets
    are already the totals over the nodes."""
    plans = []
    for name, one in zip(names, settings):
        try:
            plans.append(read_stage_plan(one))
        except ValueError as exc:
            return None, None, "%s%s: %s: no per-stage table" % (
                name, hammer.SETTINGS_SUFFIX, exc)
    if all(plan is None for plan in plans):
        return None, None, None
    shape = lambda plan: plan and (plan[0], [s[:3] for s in plan[1]])
    if any(shape(plan) != shape(plans[0]) for plan in plans):
        return None, None, ("the inputs' stage plans differ (or some have"
                            " none): no per-stage table")
    unit, first = plans[0]
    shares = [p for p, one in zip(plans, settings)
              if settings_node(one) is not None]
    plans = [p for p, one in zip(plans, settings)
             if settings_node(one) is None] + shares[:1]
    stages = [s._replace(begin=sum(p[1][i].begin for p in plans),
                         end=sum(p[1][i].end for p in plans))
              for i, s in enumerate(first)]
    return unit, stages, None


def cut_short(all_settings, stages, end_s):
    """A warning when a run ended before its stage plan did and was meant
    to go on: a settings file whose duration_s is null (the run never
    finished: killed, or still running), or a run whose end comes before
    the plan's while the plan still asked for load after it (at least a
    user, or any rate).  None otherwise, and for a run that --sizing or
    -n may end early by design; summarise_stages() clips the stages at
    the end either way."""
    if not stages:
        return None
    plan_end = max(s.end_s for s in stages)
    unfinished = [one for one in all_settings if one is not None
                  and "duration_s" in one and one["duration_s"] is None]
    if not unfinished:
        if end_s >= plan_end - CSV_ROUNDING_S or any(
                one is not None and (one.get("sizing") is not None
                                     or one.get("requests") is not None)
                for one in all_settings):
            return None
        open_model = any(one is not None and one.get("model") == "open"
                         for one in all_settings)
        later = ([hammer.target_at(stages, end_s)]
                 + [s.end for s in stages if s.end_s > end_s]
                 + [s.begin for s in stages if s.start_s > end_s])
        if max(later) < (1e-9 if open_model else 1):
            return None     # the plan had ended its load (a ramp to 0)
    return ("the run ended at %ss, before its stage plan's end at %ss (%s):"
            " the stages and charts end there" % (
                fmt_seconds(end_s), fmt_seconds(plan_end),
                "its settings have no duration_s: it never finished"
                if unfinished else "it was stopped"))


def fmt_seconds(seconds):
    """Seconds for a warning: 3.2, 60, 0.005."""
    return ("%.3f" % seconds).rstrip("0").rstrip(".")


def timed_stages(stages):
    """The stages that last (a step has no rows) and the instants that
    part them, as a Bucketer's stage_edges."""
    timed = [s for s in stages if s.end_s > s.start_s]
    return timed, [s.start_s for s in timed[1:]]


def intervals_needed(lo, hi, width):
    """How many intervals of width seconds elapsed times lo to hi span."""
    return int(hi // width) - int(lo // width) + 1


def format_width(seconds):
    """An interval width as --interval takes it: 500ms, 2s, 3.61ms."""
    if seconds < 1:
        return "%gms" % round(seconds * 1000, 9)
    return "%gs" % seconds


def width_to_fit(lo, hi):
    """The least --interval of 3 significant digits (as text) that cuts
    elapsed times lo to hi into at most INTERVALS_MAX intervals.  A width
    that fits is more than (hi - lo) / INTERVALS_MAX, so the search starts
    there; it steps up a few times at most."""
    least = (hi - lo) / INTERVALS_MAX
    step = 10.0 ** (math.floor(math.log10(least)) - 2)
    digits = math.ceil(least / step)
    while True:
        text = format_width(digits * step)
        if intervals_needed(lo, hi, hammer.parse_duration(text)) <= \
                INTERVALS_MAX:
            return text
        digits += 1


def check_intervals(lo, hi, width):
    """Raise InputError when elapsed times lo to hi need more than
    INTERVALS_MAX intervals of width seconds, naming a width that fits."""
    count = intervals_needed(lo, hi, width)
    if count > INTERVALS_MAX:
        raise InputError(
            "elapsed from %gs to %gs makes %d intervals of %s, more than %d:"
            " use --interval %s or wider"
            % (lo, hi, count, format_width(width), INTERVALS_MAX,
               width_to_fit(lo, hi)))


# --- parsing: a block of lines -> named columns ------------------------------

Times = collections.namedtuple("Times", "values total least most per_s")
Times.__doc__ = """Latencies: a list of values in 1/per_s seconds (per_s is
US_PER_S for whole microseconds, as ints, else 1.0), their sum, least and
greatest."""

Columns = collections.namedtuple(
    "Columns", "elapsed times statuses counts others codes errors kinded lo"
               " hi corrected keys key_of nodes node_of")
Columns.__new__.__defaults__ = (None, None)
Columns.__doc__ = """A block's valid rows, column by column.

elapsed: floats, fields (bytes) that float() takes, or a Moved of
either (a sequence of floats); times: the Times
of the response times; statuses: the status fields (bytes), with counts
and others as status_counts() gives them and codes their int values;
errors: the error-kind fields (bytes; the last column's keep their
newline), or None when the file has no error column; kinded: the indexes
of the rows with an error kind, ascending; lo, hi: the least and greatest
elapsed; corrected: None, or the Times of the rows' latencies from their
scheduled instant (every row has one); keys: the distinct (method, name)
of the rows (bytes), in the order they come, or None when the file has
neither column; key_of: None when the rows share one key, else each
row's index in keys; nodes and node_of: the same of the rows' node
numbers (node_number()), nodes None when the file has no node column."""

Parsed = collections.namedtuple("Parsed", "columns malformed first_bad")
Parsed.__doc__ = """What parse_block() found: a list of Columns (rows
with a scheduled time apart from those without), how many lines were
malformed and the line number of the first (None when none was)."""

RowErrors = collections.namedtuple("RowErrors", "wrong gone")
RowErrors.__doc__ = """Indexes (ascending) of a Columns' error rows
(wrong), and of those that have no latency (gone)."""


class KeyIds(dict):
    """(method, name) -> its number, given on first use."""

    def __missing__(self, key):
        number = self[key] = len(self)
        return number


def times_of(values, per_s=1.0, add=sum):
    """The Times of a non-empty list of latencies, summed up by add."""
    return Times(values, add(values), min(values), max(values), per_s)


def without(times, gone):
    """The Times less the values at the sorted indexes gone."""
    values = times.values
    if len(gone) * 16 > len(values):
        keep = [True] * len(values)
        for i in gone:
            keep[i] = False
        kept = list(compress(values, keep))
    else:
        kept = values[:]
        for i in reversed(gone):
            del kept[i]
    total, least, most, per_s = times[1:]
    if not kept:
        return Times(kept, 0.0, math.inf, 0.0, per_s)
    dropped = [values[i] for i in gone]
    if min(dropped) <= least:
        least = min(kept)
    if max(dropped) >= most:
        most = max(kept)
    left = total - math.fsum(dropped)
    if left < total / 2:        # most of it cancelled: add the rest up
        left = sum(kept)
    return Times(kept, left, least, most, per_s)


def picked(values, rows, per_s):
    """The Times of the values at the indexes rows, or None when none."""
    ok = list(map(values.__getitem__, rows))
    return times_of(ok, per_s) if ok else None


def parse_block(block, nlines, fmt, first_line, fast=True):
    """A block of nlines whole lines, each ending with b"\\n" (not
    b"\\r\\n") and none holding a quote, the first of them line number
    first_line -> Parsed.

    The fast path (fast_columns) reads the columns in a few C passes; when
    any line is not plainly valid, each line goes through parse_line()
    (slow_columns).  Both give the same result; fast=False takes the slow
    path alone.
    """
    if fast:
        columns = fast_columns(block, nlines, fmt)
        if columns is not None:
            return Parsed([columns], 0, None)
    return slow_columns(enumerate(block.split(b"\n")[:-1], first_line), fmt)


def one_value(fields, joined=None):
    """Whether a non-empty list of fields (bytes) holds one value only,
    checked in C: their join against the first repeated."""
    if joined is None:
        joined = b"".join(fields)
    return joined == fields[0] * len(fields)


def fast_keys(fmt, flat, last, last_joined):
    """The keys and key_of of Columns from the fields of a block, or False
    when a method is empty (malformed); with one key, two joins."""
    ncols, width = fmt.ncols, len(last)
    columns = []
    for index in (fmt.method, fmt.name):
        if index is None:
            columns.append([b""] * width)
        elif index == ncols - 1:
            columns.append(last)
        else:
            columns.append(flat[index::ncols])
    methods, names = columns
    strip = [fmt.method == ncols - 1, fmt.name == ncols - 1]
    if one_value(methods) and one_value(names, last_joined if names is last
                                        else None):
        key_of = None
        keys = [(methods[0], names[0])]
    else:
        ids = KeyIds()
        key_of = list(map(ids.__getitem__, zip(methods, names)))
        keys = list(ids)
    keys = [(m[:-1] if strip[0] else m, n[:-1] if strip[1] else n)
            for m, n in keys]
    if fmt.method is not None and any(not m for m, _ in keys):
        return False
    return keys, key_of


def fast_one_key(block, nlines, fmt):
    """The Columns of a block whose lines all end with the same method and
    name (and node), in hammer's layout (fmt.core), or None.  Those are
    cut off the block in one C pass, as the last line has them, and the
    rest is read as a file of fmt.core: fmt.keyed fields fewer a line for
    split() to make."""
    start = block.rfind(b"\n", 0, len(block) - 1) + 1
    comma = len(block)
    for _ in range(fmt.keyed):
        comma = block.rfind(b",", start, comma)
        if comma < 0:
            return None
    tail = block[comma:]
    first = block.find(b"\n") + 1
    if first < len(tail) or not block.startswith(tail, first - len(tail)):
        return None     # the first line's ending differs: not one key
    rest = block.replace(tail, b"\n")
    if len(block) - len(rest) != nlines * (len(tail) - 1):
        return None     # every line ends with tail (its only newline)
    fields = tail[1:-1].split(b",")
    method, name = fields[:2]
    nodes = None
    if fmt.node is not None:
        nodes = [node_number(fields[2])]
        if nodes[0] is None:
            return None
    columns = fast_columns(rest, nlines, fmt.core) if method else None
    return columns and columns._replace(keys=[(method, name)], nodes=nodes)


def fast_nodes(fields, newline, joined=None):
    """The nodes and node_of of Columns from a block's node fields (each
    ending with a newline when newline; joined, when given, is their
    join), or None when one is not a node_number()."""
    if one_value(fields, joined):
        values, node_of = [fields[0]], None
    else:
        ids = KeyIds()
        node_of = list(map(ids.__getitem__, fields))
        values = list(ids)
    nodes = [node_number(v[:-1] if newline else v) for v in values]
    return None if None in nodes else (nodes, node_of)


def fast_columns(block, nlines, fmt):
    """The Columns of a block of nlines whole lines, or None when any
    line is not plainly valid.

    Each line's last field keeps its newline: every line has ncols fields
    only when each of those nlines fields ends with one (no other field
    can hold a newline), which a count of the fields alone would not tell
    (a line short of a field, then one with a field too many).
    """
    if fmt.core is not None:
        columns = fast_one_key(block, nlines, fmt)
        if columns is not None:
            return columns
    ncols = fmt.ncols
    flat = block.replace(b"\n", b"\n,").split(b",")
    if len(flat) != ncols * nlines + 1:
        return None
    del flat[-1]
    last = flat[ncols - 1::ncols]
    errors = None
    last_joined = None
    if fmt.error is not None:
        errors = last if fmt.error == ncols - 1 else flat[fmt.error::ncols]
        kinds = set(errors)
        for kind in kinds:
            if kind[:1].isdigit() or kind[:1] in (b".", b"-"):
                return None
    if errors is last:      # hammer's: a few distinct kinds to look at
        aligned = all(kind.endswith(b"\n") for kind in kinds)
    else:
        last_joined = b"".join(last)
        aligned = last_joined.count(b"\n") == nlines
    if not aligned:
        return None
    keys = key_of = None
    if fmt.named:
        named = fast_keys(fmt, flat, last, last_joined)
        if named is False:
            return None
        keys, key_of = named
    nodes = node_of = None
    if fmt.node is not None:
        at_end = fmt.node == ncols - 1
        found = fast_nodes(last if at_end else flat[fmt.node::ncols],
                           at_end, last_joined if at_end else None)
        if found is None:
            return None
        nodes, node_of = found
    statuses = flat[fmt.status::ncols]
    fields = flat[fmt.response_time::ncols]
    elapsed = flat[fmt.elapsed::ncols]
    scheduled = None
    if fmt.scheduled is not None:
        scheduled = (last if fmt.scheduled == ncols - 1
                     else flat[fmt.scheduled::ncols])
    del flat
    try:
        joined = b",".join(fields)
        if micro_shape(joined, len(fields)):
            values = list(map(int, joined.replace(b".", b"").split(b",")))
            times = times_of(values, US_PER_S)
        else:
            times = times_of(list(map(float, fields)))
        joined = b",".join(elapsed)
        shape = micro_shape(joined, len(elapsed))
        if shape == 2:
            lo, hi = float(min(elapsed)), float(max(elapsed))
        else:
            elapsed = list(map(float, elapsed))
            lo, hi = min(elapsed), max(elapsed)
            if not (0 <= lo and math.isfinite(sum(elapsed))):
                return None
        corrected = None
        if scheduled is not None:
            corrected = fast_corrected(scheduled, scheduled is last, elapsed,
                                       joined, shape, times)
            if corrected is False:
                return None
    except ValueError:
        return None
    counts, others = status_counts(statuses)
    codes = status_codes(counts, fmt.error is not None)
    if codes is None:
        return None
    kinded = []
    if errors is not None and not kinds <= {b"", b"\n"}:
        kinded = kind_rows(errors, b"\n" if errors is last else b"", kinds,
                           statuses, others)
    if not (hi < MAX_VALUE_S and times.most < MAX_VALUE_S * times.per_s and (
            times.per_s == US_PER_S or (0 <= times.least
                                        and math.isfinite(times.total)))):
        return None
    return Columns(elapsed, times, statuses, counts, others, codes, errors,
                   kinded, lo, hi, corrected, keys, key_of, nodes, node_of)


def kind_rows(errors, empty, kinds, statuses, others):
    """The indexes of the rows whose error field (errors, distinct values
    kinds) is not empty: in hammer's requests, the rows of status 0, found
    from status_counts()' others; else each kind's rows, found by
    list.index() in C."""
    count = len(errors) - errors.count(empty)
    zero = rows_with(statuses, others, {b"0"})
    if len(zero) == count and all(errors[i] != empty for i in zero):
        return zero
    rows = []
    for kind in kinds:
        if kind != empty:
            i = -1
            try:
                while True:
                    i = errors.index(kind, i + 1)
                    rows.append(i)
            except ValueError:
                pass
    return sorted(rows)


def fast_corrected(scheduled, with_newline, elapsed, elapsed_joined, shape,
                   times):
    """The Times of the corrected latencies of a block whose rows all have
    a scheduled time; None when no row has one; False when some rows have
    one and some not, or one is not a time from 0 to its elapsed (then the
    slow path looks at each line).  Whole microseconds, as hammer writes
    them, are added up as such; other times go through corrected_times()."""
    joined = b",".join(scheduled)
    if with_newline:
        if len(joined) == 2 * len(scheduled) - 1:     # every one b"\n"
            return None
        joined = joined.replace(b"\n", b"")
    elif not joined.strip(b","):
        return None
    if (b"\n" if with_newline else b"") in scheduled:
        return False
    if shape and times.per_s == US_PER_S and micro_shape(joined,
                                                          len(scheduled)):
        late = list(map(operator.sub, map(int, elapsed_joined.replace(
            b".", b"").split(b",")), map(int, joined.replace(
                b".", b"").split(b","))))
        if min(late) < 0:
            return False
        return times_of(list(map(operator.add, late, times.values)),
                        US_PER_S)
    sent = list(map(float, scheduled))
    if not (0 <= min(sent) and math.isfinite(sum(sent))):
        return False
    if not isinstance(elapsed[0], float):
        elapsed = list(map(float, elapsed))
    if any(map(operator.gt, sent, elapsed)):
        return False
    values = times.values
    if times.per_s != 1.0:
        values = list(map(operator.truediv, values, repeat(times.per_s)))
    return times_of(corrected_times(elapsed, sent, values))


def corrected_times(elapsed, scheduled, times):
    """Latency from the intended send instant, elapsed - scheduled +
    response_time, of columns of floats, rounded to the microsecond (the
    CSV's resolution) so that a block gives the same keys however it is
    read."""
    return list(map(round, map(operator.add, map(operator.sub, elapsed,
                                                 scheduled), times),
                    repeat(6)))


def slow_columns(numbered, fmt):
    """(line number, record) pairs checked one by one with parse_line()
    -> Parsed.  Blank lines and repeated headers are skipped; a record of
    None is a malformed line."""
    rows, malformed, first_bad = [], 0, None
    for number, line in numbered:
        if line is not None and (not line.strip() or line == fmt.header):
            continue
        row = parse_line(line, fmt) if line is not None else None
        if row is None:
            malformed += 1
            if first_bad is None:
                first_bad = number
        else:
            rows.append(row)
    return Parsed(row_columns(rows, fmt), malformed, first_bad)


def numbered_records(items, first_line):
    """records()' items -> (line number, record) pairs, each record
    numbered by its first line."""
    number = first_line
    for lines, record in items:
        yield number, record
        number += lines


def row_columns(rows, fmt):
    """parse_line() Rows -> a list of Columns: those without a scheduled
    time, then those with one."""
    if not rows:
        return []
    if fmt.scheduled is not None:
        timed = [r for r in rows if r.scheduled is not None]
        if timed and len(timed) < len(rows):
            return (row_columns([r for r in rows if r.scheduled is None], fmt)
                    + row_columns(timed, fmt))
    (elapsed, times, codes, errors, scheduled, methods, names,
     numbers) = (list(c) for c in zip(*rows))
    corrected = None
    if scheduled[0] is not None:
        corrected = times_of(corrected_times(elapsed, scheduled, times),
                             add=math.fsum)
    statuses = [b"%d" % c for c in codes]
    counts, others = status_counts(statuses)
    keys = key_of = None
    if fmt.named:
        ids = KeyIds()
        key_of = list(map(ids.__getitem__, zip(methods, names)))
        keys = list(ids)
        if len(keys) == 1:
            key_of = None
    nodes = node_of = None
    if fmt.node is not None:
        ids = KeyIds()
        node_of = list(map(ids.__getitem__, numbers))
        nodes = list(ids)
        if len(nodes) == 1:
            node_of = None
    if fmt.error is None:
        errors, kinded = None, []
    else:
        kinded = [i for i, kind in enumerate(errors) if kind]
    return [Columns(elapsed, times_of(times, add=math.fsum), statuses, counts,
                    others, status_codes(counts), errors, kinded,
                    min(elapsed), max(elapsed), corrected, keys, key_of,
                    nodes, node_of)]


def status_counts(statuses):
    """Status fields (bytes) -> (their counts, the indexes of the rows whose
    status differs from the first row's); a few C passes, as most rows
    share one status."""
    top = statuses[0]
    others = list(compress(range(len(statuses)),
                           map(operator.ne, statuses, repeat(top))))
    counts = collections.Counter(map(statuses.__getitem__, others))
    counts[top] = len(statuses) - len(others)
    return counts, others


def rows_with(statuses, others, wanted):
    """The indexes of the rows whose status is in the set wanted, given
    others from status_counts()."""
    if statuses[0] in wanted:
        return list(compress(range(len(statuses)),
                             map(wanted.__contains__, statuses)))
    return [i for i in others if statuses[i] in wanted]


def row_errors(columns, rule=None):
    """The RowErrors of Columns under the error rule of their file
    (hammer.rule_of(); None: hammer.LEGACY_RULE).  A row is an error when
    it has an error kind but 'accepted' or 'abandoned' (excused_rows()),
    or when hammer.error_class() makes its status one (400 and more but
    the rule's ok statuses, or under the legacy rule a 5xx; in a file
    without an error column, status 0 too) and the script did not accept
    it, each distinct status asked once.  A row has no latency when its status is 0 and it has an
    error kind (a transport error, or a timer or task that raised), or in
    a file without an error column when its status is 0; so a timer's row
    of status 0 and no error (its block sent no request) has one."""
    counts, codes = columns.counts, columns.codes
    statuses, others, kinded = columns.statuses, columns.others, columns.kinded
    plain = None if columns.errors is None else ""
    bad = set(s for s in counts if hammer.error_class(codes[s], plain, rule))
    wrong = rows_with(statuses, others, bad) if bad else []
    if columns.errors is None:
        zero = set(s for s in counts if codes[s] == 0)
        return RowErrors(wrong, rows_with(statuses, others, zero) if zero
                         else [])
    if not kinded:
        return RowErrors(wrong, [])
    excused = excused_rows(columns)
    if excused:
        wrong = sorted(set(wrong).union(kinded).difference(excused))
    elif wrong:
        wrong = sorted(set(wrong).union(kinded))
    else:
        wrong = kinded
    return RowErrors(wrong, [i for i in kinded if codes[statuses[i]] == 0])


def excused_rows(columns):
    """The indexes of the kinded rows whose kind makes them no error:
    hammer.ACCEPTED (a status the script accepted) or hammer.ABANDONED
    (a request in flight when --sizing stopped the run), looked for row
    by row only in a block whose distinct kinds hold one."""
    errors, kinded = columns.errors, columns.kinded
    excusing = (hammer.ACCEPTED.encode("ascii"),
                hammer.ABANDONED.encode("ascii"))
    kinds = set(k.rstrip(b"\n") for k in set(map(errors.__getitem__,
                                                  kinded)))
    if not kinds.intersection(excusing):
        return []
    return [i for i in kinded if errors[i].rstrip(b"\n") in excusing]


def error_classes(columns, rule=None):
    """hammer.classify() of Columns under the error rule of their file:
    their error rows by class, and each class's by kind (text), each
    distinct status and (status, kind) classified once."""
    codes, statuses, kinded = columns.codes, columns.statuses, columns.kinded
    pairs = collections.Counter()
    if kinded:
        for (status, kind), n in collections.Counter(zip(
                map(statuses.__getitem__, kinded),
                map(columns.errors.__getitem__, kinded))).items():
            pairs[codes[status], kind.rstrip(b"\n").decode("latin-1")] += n
    plain = collections.Counter()
    for status, n in columns.counts.items():
        plain[codes[status]] += n
    return hammer.classify(hammer.without_kinded(plain, pairs), pairs,
                           None if columns.errors is None else "", rule)


def take(columns, rows):
    """The Columns of the rows at the sorted indexes rows (no keys, their
    nodes)."""
    pick = lambda values: list(map(values.__getitem__, rows))
    elapsed = columns.elapsed
    if isinstance(elapsed, Moved):      # all at once, not one by one
        elapsed = list(elapsed)
    elapsed, statuses = pick(elapsed), pick(columns.statuses)
    counts, others = status_counts(statuses)
    times, corrected = columns.times, columns.corrected
    if corrected is not None:
        corrected = picked(corrected.values, rows, corrected.per_s)
    kinded = []
    if columns.kinded:
        mine = set(columns.kinded)
        kinded = [j for j, i in enumerate(rows) if i in mine]
    lo, hi = min(elapsed), max(elapsed)
    node_of = columns.node_of
    if node_of is not None:
        node_of = pick(node_of)
    return Columns(elapsed, picked(times.values, rows, times.per_s),
                   statuses, counts, others, columns.codes,
                   columns.errors and pick(columns.errors), kinded,
                   float(lo), float(hi), corrected, None, None,
                   columns.nodes, node_of)


# --- counting: buckets, names, nodes, the chart, the last end, the sample ----


def timed_us(times):
    """Times -> (values, sum, least, greatest) in whole microseconds, as
    Bucket.add_us() takes them: latencies not in whole microseconds are
    rounded to them first, as hammer.to_us() rounds them."""
    values, total, least, most, per_s = times
    if not values:
        return [], 0, math.inf, 0
    if per_s != US_PER_S:
        values = hammer.to_us(values)
        total, least, most = sum(values), min(values), max(values)
    return values, total, least, most


def sorted_keys(values):
    """Latencies in whole microseconds (a non-empty list of ints) -> their
    hammer.Histogram keys, ascending: sorted once, then looked up in
    order in key_table() (latency_keys())."""
    values = sorted(values)
    return hammer.latency_keys(values, values[-1])


def frozen(hist, ordered=None):
    """A hammer.Histogram compressed (thawed() reads it); ordered is its
    sorted_counts(), when known."""
    return zlib.compress(marshal.dumps(hist.packed(ordered)), 1)


def thawed(data):
    """The hammer.Histogram of frozen()'s bytes."""
    return hammer.Histogram.unpacked(marshal.loads(zlib.decompress(data)))


class Bucket(object):
    """One interval (or stage, or name, or a name's chart slot): request
    and error counts and a latency histogram, and for rows with a
    scheduled time the histogram of their corrected latency, kept in a
    Bucket of its own (`corrected`).

    The histogram is a hammer.Histogram while the bucket is live and a
    compressed copy (`frozen`) once it is not, which keeps memory flat;
    its latency_summary() is worked out before it is frozen (unless the
    bucket's class never settles), so that a summary need not thaw it.

    Latencies come in blocks (add_us()).  The histogram counts their
    number, sum, least and greatest at once, and their keys later, all
    at once (fold()): sorted once, an interval's latencies are counted in
    key order, which is cheaper than a dict's random order, and freeze()
    gets the keys in the order that the percentiles and the compressed
    copy need.  An interval's Bucket counts its keys in the run's totals
    too, as they fold (`totals`).
    """

    __slots__ = ("requests", "errors", "tasks", "hist", "frozen", "latency",
                 "corrected", "owner", "pending", "totals")
    settles = True

    def __init__(self):
        self.requests = 0
        self.errors = 0
        self.tasks = 0          # failed tasks, counted in errors too
        self.hist = None
        self.frozen = None
        self.latency = None     # latency_summary() of hist, once known
        self.corrected = None
        self.owner = None       # see Bucketer.owned()
        self.pending = []       # latencies hist counts, but not yet by key
        self.totals = None      # a Histogram whose keys count them too

    def add_us(self, values, total, least, most):
        """Count latencies in whole microseconds: a list of ints, their
        sum, least and greatest (timed_us())."""
        self.latency = None
        self.histogram().add_summary(len(values), total, least, most)
        self.pending.extend(values)
        if len(self.pending) >= PENDING_MAX:
            self.fold()

    def fold(self):
        """Count the pending latencies in the histogram's keys, and in
        those of `totals` -> the histogram's sorted_counts() when its
        keys were all pending, else None."""
        if not self.pending:
            return None
        keys = sorted_keys(self.pending)
        self.pending = []
        if self.totals is not None:
            self.totals.counts.update(keys)
        counts = collections.Counter(keys)      # in key order
        if self.hist.counts:
            hammer.add_counts(self.hist.counts, counts)
            return None
        self.hist.counts = counts
        return list(counts), list(counts.values())

    def size(self):
        """How many keys its live histograms hold, and latencies pending."""
        size = 0
        if self.hist is not None:
            size = len(self.hist.counts) + len(self.pending)
        if self.corrected is not None:
            size += self.corrected.size()
        return size

    def part(self):
        """The Bucket of the corrected latency, made on first use."""
        if self.corrected is None:
            self.corrected = type(self)()
        return self.corrected

    def histogram(self):
        if self.hist is None:
            if self.frozen is None:
                self.hist = hammer.Histogram()
            else:
                self.hist = thawed(self.frozen)
                self.frozen = None
        return self.hist

    def peek(self):
        """The histogram, left as it is kept (live or frozen)."""
        if self.hist is None and self.frozen is not None:
            return thawed(self.frozen)
        self.fold()
        return self.hist or hammer.Histogram()

    def freeze(self, settle=False):
        """Compress the histograms, after working out their
        latency_summary() if the class settles, or if settle."""
        if self.hist is not None:
            ordered = self.fold() or self.hist.sorted_counts()
            if self.latency is None and (self.settles or settle):
                self.latency = latency_summary(self.hist, ordered)
            self.frozen = frozen(self.hist, ordered)
            self.hist = None
        if self.corrected is not None:
            self.corrected.freeze(settle)

    def settle(self):
        """Work out latency_summary() of the histogram, when not known."""
        if self.latency is None:
            self.latency = latency_summary(self.peek())

    def merge(self, other):
        self.requests += other.requests
        self.errors += other.errors
        self.tasks += other.tasks
        if other.hist is not None or other.frozen is not None:
            self.histogram().merge(other.peek())
            self.latency = None
        if other.corrected is not None:
            self.part().merge(other.corrected)


class Kept(Bucket):
    """A Bucket whose latency is worked out when asked for, not each time
    it is frozen: a name's, a node's or a chart slot's, whose rows come
    in any order (an interval's come in one stretch of the input)."""

    __slots__ = ()
    settles = False


MIXED = "mixed"     # a Bucket.owner: rows of several keys


class Live(object):
    """Buckets with a live histogram, least recently used first: past
    `most` of them, or past LIVE_KEYS_MAX histogram keys in all (each
    bucket's as counted when it was last touched), the oldest are frozen
    (compressed)."""

    def __init__(self, most):
        self.most = most
        self.order = collections.OrderedDict()  # bucket -> its keys
        self.keys = 0

    def touch(self, bucket):
        size = bucket.size()
        self.keys += size - self.order.pop(bucket, 0)
        self.order[bucket] = size
        while len(self.order) > 1 and (len(self.order) > self.most
                                       or self.keys > LIVE_KEYS_MAX):
            oldest, keys = self.order.popitem(last=False)
            self.keys -= keys
            oldest.freeze()

    def clear(self):
        self.order.clear()
        self.keys = 0


def group_rows(labels):
    """A list of labels (ints) -> [(label, the indexes with that label)],
    labels ascending, by a stable sort in C."""
    order = sorted(range(len(labels)), key=labels.__getitem__)
    ordered = list(map(labels.__getitem__, order))
    groups, end = [], 0
    while end < len(order):
        start, label = end, ordered[end]
        end = bisect.bisect_right(ordered, label, start)
        groups.append((label, order[start:end]))
    return groups


def bucket_edge(number, width):
    """The least whole microsecond (as seconds) t with t // width >=
    number: where bucket `number` starts for %.6f times."""
    t = round(number * width, 6)
    while t // width >= number:
        t = round(t - 1e-6, 6)
    while t // width < number:
        t = round(t + 1e-6, 6)
    return t


def bucket_slots(elapsed, width, first, last):
    """Each row's bucket number less first (an int, bool or whole float),
    for a block whose elapsed times span buckets first to last.  elapsed
    are floats or, when bytes, fields of one %.6f shape (micro_shape() 2),
    which are placed by comparing them with the buckets' edges as bytes
    when there are fewer edges than rows, or a Moved of either (the
    fields are compared with the edges moved back)."""
    fields = elapsed.fields if isinstance(elapsed, Moved) else elapsed
    if not isinstance(fields[0], bytes) or last - first > len(fields):
        numbers = map(operator.floordiv, map(float, elapsed), repeat(width))
        return list(map(operator.sub, numbers, repeat(first)))
    edges = [bucket_edge(n, width) for n in range(first + 1, last + 1)]
    if fields is not elapsed:   # the edge less the offset, in microseconds
        offset = round(elapsed.offset_s * US_PER_S)
        edges = [(round(e * US_PER_S) - offset) / US_PER_S for e in edges]
    edges = [b"%0*.6f" % (len(fields[0]), e) for e in edges]
    if len(edges) == 1:
        return list(map(operator.ge, fields, repeat(edges[0])))
    return list(map(bisect.bisect_right, repeat(edges), fields))


class Bucketer(object):
    """Rows counted in buckets of interval_s seconds of their elapsed
    time, and, given stage_edges (the starts of a stage plan's stages but
    the first, ascending), in one bucket per stage too; bounded in memory.

    Only LIVE_BUCKETS_MAX buckets keep a live histogram; the others are
    compressed.  When the elapsed times seen (min_elapsed to max_elapsed)
    need more than INTERVALS_MAX intervals, the Bucketer is too_wide: it
    drops its buckets and only follows the elapsed times from then on,
    so that check() can name the whole span once every row is read.

    With names (a NameTable), an interval bucket whose rows all came in
    blocks of one key (the usual file of one name, or a block of one
    name) is owned by that key, whose latency is then not counted twice:
    the key gets the bucket's histograms when rows of another key come,
    or at freeze() (all at once, from the totals, when one key owns every
    bucket and no chart needs them per interval).

    The totals' histograms count each block's number, sum, least and
    greatest of latencies as it comes, and their keys as the interval
    buckets fold them (Bucket.fold()), each row once.
    """

    def __init__(self, interval_s, stage_edges=None, names=None):
        self.interval_s = interval_s
        self.stage_edges = stage_edges
        self.names = names
        self.buckets = {}       # interval number -> Bucket
        self.stages = {}        # stage number (from 0) -> Bucket
        self.live = Live(LIVE_BUCKETS_MAX)
        self.total = hammer.Histogram()     # every bucket's rows
        self.corrected_total = hammer.Histogram()   # their corrected latency
        self.min_elapsed = self.max_elapsed = None
        self.too_wide = False

    def widen(self, lo, hi):
        """Take in elapsed times lo to hi, before any bucket is touched;
        when they need more than INTERVALS_MAX intervals, the Bucketer
        is too_wide from then on (the caller counts no more rows)."""
        if self.max_elapsed is not None:
            lo, hi = min(lo, self.min_elapsed), max(hi, self.max_elapsed)
        self.min_elapsed, self.max_elapsed = lo, hi
        if not self.too_wide and intervals_needed(
                lo, hi, self.interval_s) > INTERVALS_MAX:
            self.too_wide = True
            self.buckets.clear()
            self.stages.clear()
            self.live.clear()
            self.total, self.corrected_total = (hammer.Histogram(),
                                                hammer.Histogram())

    def check(self):
        """Raise InputError when too_wide, naming the elapsed times seen
        and a width that fits them."""
        if self.too_wide:
            check_intervals(self.min_elapsed, self.max_elapsed,
                            self.interval_s)

    def add(self, columns, errors, owner=None):
        """Count Columns (already widen()ed), with their RowErrors, per
        interval and per stage, and in the totals: requests, errors and the
        response times (not of gone rows), and the corrected latencies
        when given.  owner is the key of every row, MIXED, or None (no
        names).  A block of rows that all fall in one bucket (most
        blocks) needs no per-row bucket number."""
        elapsed, width = columns.elapsed, self.interval_s
        first, last = int(columns.lo // width), int(columns.hi // width)
        edges = self.stage_edges
        staged = edges is not None
        if staged:
            stage_first = bisect.bisect_right(edges, columns.lo)
            stage_last = bisect.bisect_right(edges, columns.hi)
        ok, corrected = columns.times, columns.corrected
        if errors.gone:
            ok = without(ok, errors.gone)
            if corrected is not None:
                corrected = without(corrected, errors.gone)
        counted = tuple(None if times is None else timed_us(times)
                        for times in (ok, corrected))  # once for every bucket
        for hist, part in zip((self.total, self.corrected_total), counted):
            if part is not None:
                hist.add_summary(len(part[0]), *part[1:])
        one = (len(columns.statuses), len(errors.wrong)) + counted
        if first == last:
            bucket = self._bucket(self.buckets, first)
            if not self.owned(bucket, first, owner):
                self.names.add_times(owner, ok, corrected, first)
            self._add_one(bucket, *one)
        else:
            self._add_spread(self.buckets, bucket_slots(elapsed, width, first,
                                                        last), first,
                             columns, errors, owner)
        if not staged:
            return
        if stage_first == stage_last:
            self._add_one(self._bucket(self.stages, stage_first), *one)
        else:
            slots = list(map(bisect.bisect_right, repeat(edges),
                             map(float, elapsed)))
            self._add_spread(self.stages, slots, 0, columns, errors)

    def add_failed(self, columns):
        """Count the Columns of failed tasks' rows (already widen()ed), per
        interval and per stage: errors, and tasks (which errors are a
        share of with the requests); no request and no latency."""
        width = self.interval_s
        first, last = int(columns.lo // width), int(columns.hi // width)
        slots = {0: len(columns.statuses)} if first == last else (
            collections.Counter(bucket_slots(columns.elapsed, width, first,
                                             last)))
        places = [(self.buckets, first + int(slot), n)
                  for slot, n in slots.items()]
        if self.stage_edges is not None:
            places += [(self.stages, slot, n) for slot, n in
                       collections.Counter(map(
                           bisect.bisect_right, repeat(self.stage_edges),
                           map(float, columns.elapsed))).items()]
        for buckets, number, n in places:
            bucket = self._bucket(buckets, number)
            bucket.errors += n
            bucket.tasks += n

    def owned(self, bucket, number, owner):
        """Before rows of owner (a key, MIXED or None) go into interval
        bucket `number`: a bucket owned by another key hands its
        histograms to that key, and is MIXED from then on.  False when
        the rows are a key's and the bucket will not hand them over (it
        is MIXED): the caller gives them to the key."""
        if owner is None or bucket.owner == owner:
            return True
        if bucket.owner is None:
            bucket.owner = owner
            return True
        if bucket.owner is not MIXED:
            self._release(bucket, number)
        return owner is MIXED

    def _release(self, bucket, number):
        part = bucket.corrected
        self.names.release(bucket.owner, number, bucket.peek(),
                           part.peek() if part is not None else None)
        bucket.owner = MIXED

    def _add_one(self, bucket, requests, errors, ok, corrected):
        """Count a block's rows in one bucket: ok and corrected are the
        timed_us() of the responses and of their corrected latencies (or
        None)."""
        bucket.requests += requests
        bucket.errors += errors
        if ok is not None:
            bucket.add_us(*ok)
        if corrected is not None:
            self._part(bucket).add_us(*corrected)

    def _add_spread(self, buckets, slots, first, columns, errors,
                    owner=None):
        """Columns over several buckets (of the dict buckets): slots are
        the rows' bucket numbers less first.  The rows are grouped by slot
        (a stable sort), so only the buckets they fall in are touched:
        O(rows log rows), whatever the buckets' span."""
        wrong = collections.Counter(map(slots.__getitem__, errors.wrong))
        gone = set(errors.gone)
        times, corrected = columns.times, columns.corrected
        for slot, rows in group_rows(slots):
            number = first + int(slot)
            bucket = self._bucket(buckets, number)
            handed = owner is None or self.owned(bucket, number, owner)
            bucket.requests += len(rows)
            bucket.errors += wrong[slot]
            if gone:
                rows = list(filterfalse(gone.__contains__, rows))
            ok = picked(times.values, rows, times.per_s)
            if ok is not None:
                bucket.add_us(*timed_us(ok))
            part = None
            if corrected is not None:
                part = picked(corrected.values, rows, corrected.per_s)
                corrected_part = self._part(bucket)     # made even if empty
                if part is not None:
                    corrected_part.add_us(*timed_us(part))
            if not handed and (ok or part):
                self.names.add_times(owner, ok, part, number)

    def _bucket(self, buckets, number):
        """The Bucket of that number in the dict buckets (intervals or
        stages), made on first use and kept live; an interval's counts
        its keys in the totals."""
        bucket = buckets.get(number)
        if bucket is None:
            bucket = buckets[number] = Bucket()
        if buckets is self.buckets:
            bucket.totals = self.total
        self.live.touch(bucket)
        return bucket

    def _part(self, bucket):
        """A bucket's corrected part, which counts its keys in the
        corrected totals when the bucket counts in the totals."""
        part = bucket.part()
        if bucket.totals is not None:
            part.totals = self.corrected_total
        return part

    def freeze(self):
        """Compress every histogram, after working out what summarise()
        needs of them (this runs in the worker processes): each bucket's
        latency_summary(); and hand the owned buckets' histograms to their
        keys (all at once, the totals, when one key owns every bucket)."""
        owners = set(b.owner for b in self.buckets.values())
        whole = (self.names is not None and self.names.timeline is None
                 and len(owners) == 1 and None not in owners
                 and MIXED not in owners)
        for number, bucket in self.buckets.items():
            if bucket.owner not in (None, MIXED):
                if whole:
                    bucket.owner = MIXED
                else:
                    self._release(bucket, number)
        freeze_buckets(self.buckets.values())
        freeze_buckets(self.stages.values())
        for bucket in self.buckets.values():     # all folded in the totals
            bucket.totals = None
            if bucket.corrected is not None:
                bucket.corrected.totals = None
        if whole:
            self.names.release(owners.pop(), None, self.total,
                               self.corrected_total)
        self.live.clear()

    def merge(self, other):
        """Add another Bucketer's counts (e.g. of a later byte range);
        both are frozen."""
        if other.max_elapsed is not None:
            self.widen(other.min_elapsed, other.max_elapsed)
        if self.too_wide:   # so is a merge with a too_wide one
            return
        self.total.merge(other.total)
        self.corrected_total.merge(other.corrected_total)
        merge_buckets(self.buckets, other.buckets)
        merge_buckets(self.stages, other.stages)


def merge_buckets(mine, theirs, live=None):
    """Add the dict of Buckets theirs to mine, by number; a merged one is
    frozen, or kept live in live when given."""
    for number, bucket in theirs.items():
        ours = mine.get(number)
        if ours is None:
            mine[number] = bucket
        else:
            ours.merge(bucket)
            if live is None:
                ours.freeze()
            else:
                live.touch(ours)


def negated(rank):
    """A key_rank() that sorts the other way, for heapq's least-first
    heap: (-crc, the key's bytes inverted)."""
    return -rank[0], tuple(bytes(255 - c for c in part) + b"\xff"
                           for part in rank[1])


def lump_key(key):
    """Where a key past NAMES_MAX is counted: (method, None), its method
    b"timer", b"task", or b"*" for every request."""
    return (key[0] if key[0] in (TIMER, TASK) else b"*"), None


def key_rank(key):
    """The order in which NameTable keeps keys past NAMES_MAX: by a CRC of
    the method and name, the same in every process and run."""
    return zlib.crc32(key[1], zlib.crc32(key[0] + b"\n")), key


def bucket_times(bucket, times, corrected):
    """Count Times (or None) into a Bucket, and the corrected latencies'
    Times (or None) into its corrected part."""
    for part, values in ((bucket, times), (bucket.part() if corrected
                                           else None, corrected)):
        if values is not None:
            part.add_us(*timed_us(values))


def bucket_hists(bucket, hist, corrected):
    """Merge Histograms (or None) into a Bucket and its corrected part."""
    for part, data in ((bucket, hist), (bucket.part() if corrected
                                        else None, corrected)):
        if data is not None and data.n:
            part.latency = None
            part.histogram().merge(data)


def freeze_buckets(buckets):
    """Settle and freeze Buckets, and their corrected parts."""
    for bucket in buckets:
        bucket.freeze(settle=True)
        bucket.settle()
        if bucket.corrected is not None:
            bucket.corrected.settle()


def interval_numbers(columns, width, keep):
    """The interval numbers of Columns' rows at the indexes keep (None:
    all rows), or their one number when they share it."""
    first, last = int(columns.lo // width), int(columns.hi // width)
    if first == last:
        return first
    slots = bucket_slots(columns.elapsed, width, first, last)
    if keep is not None:
        slots = list(map(slots.__getitem__, keep))
    return [first + int(s) for s in slots]


class NameTable(object):
    """Each (method, name) key's rows over the run, in the order the keys
    first came: a Bucket (requests, errors, their latency and corrected
    latency) and a Counter of its error kinds.

    Of more than NAMES_MAX keys, the NAMES_MAX of least key_rank() are
    kept, and the rows of the others are counted under their lump_key()
    (`lumped` says so); a key is dropped to its lump when one of less
    rank comes.  Those are the same keys whichever process reads which
    part of the input (a key kept over the whole input is kept in every
    part that has it), which the first NAMES_MAX in file order would not
    be.  The keys of pinned names (--fail-if's) are always kept.  With a
    Timeline (for the report), each key's latency per chart slot too.
    """

    def __init__(self, pinned=frozenset(), timeline=None):
        self.entries = collections.OrderedDict()   # key -> Bucket
        self.kinds = {}         # key -> Counter of error kinds (bytes)
        self.statuses = {}      # key -> Counter of status codes (ints)
        self.ranks = []         # heap of (-rank, ...) of the keys kept
        self.lumps = {}         # key -> its lump key, for keys summed
        self.lumped = False
        self.pinned = pinned
        self.timeline = timeline
        self.live = Live(NAMES_LIVE_MAX)

    def entry(self, key):
        """The key under which key's rows are kept: itself, or its lump
        key; made on first use."""
        if key in self.entries:
            return key
        if key in self.lumps:
            return self.lumps[key]
        if key[1] is not None and key[1] not in self.pinned:
            rank = key_rank(key)
            if len(self.ranks) >= NAMES_MAX:
                self.lumped = True
                if rank > self.ranks[0][1]:     # for good: ranks only fall
                    if len(self.lumps) >= LUMPS_MEMO_MAX:
                        self.lumps.clear()
                    lump = self.lumps[key] = self.entry(lump_key(key))
                    return lump
                self._drop(heapq.heappop(self.ranks)[1][1])
            heapq.heappush(self.ranks, (negated(rank), rank))
        self.entries[key] = Kept()
        return key

    def _drop(self, key):
        """Move a key's rows to its lump."""
        lump = self.entry(lump_key(key))
        self.entries[lump].merge(self.entries.pop(key))
        kinds = self.kinds.pop(key, None)
        if kinds:
            self.kinds.setdefault(lump, collections.Counter()).update(kinds)
        statuses = self.statuses.pop(key, None)
        if statuses:
            self.statuses.setdefault(lump, collections.Counter()).update(
                statuses)
        if self.timeline is not None:
            self.timeline.rename(key, lump)

    def count(self, entry, requests, errors, kinds=None, statuses=None):
        """Count rows of an entry() key: how many, how many errors, and
        the error kinds and status codes (Counters), when any."""
        entry = self.entry(entry)
        bucket = self.entries[entry]
        bucket.requests += requests
        bucket.errors += errors
        if kinds:
            self.kinds.setdefault(entry, collections.Counter()).update(kinds)
        if statuses:
            self.statuses.setdefault(entry, collections.Counter()).update(
                statuses)

    def add_rows(self, entry, columns, errors, rows, latency, width):
        """Count rows (indexes, or None for all) of Columns, with their
        RowErrors, in an entry() key: how many, the errors and their
        kinds, and with latency their latencies (else an owned bucket
        hands them over); width, the intervals', places them in the
        Timeline."""
        wrong, gone, kinded = errors.wrong, errors.gone, columns.kinded
        if rows is not None:
            mine = set(rows)
            wrong, gone, kinded = ([i for i in wrong if i in mine],
                                   [i for i in gone if i in mine],
                                   [i for i in kinded if i in mine])
        kinds = None
        if kinded:      # of the errors (not a request abandoned at a stop)
            failed = set(wrong)
            kinds = collections.Counter(columns.errors[i].rstrip(b"\n")
                                        for i in kinded if i in failed)
        codes = columns.codes
        if rows is None:
            counts = columns.counts
        elif not columns.others:    # one status in the block: no row read
            counts = {columns.statuses[0]: len(rows)}
        else:
            counts = collections.Counter(map(columns.statuses.__getitem__,
                                             rows))
        statuses = collections.Counter()
        for status, n in counts.items():
            statuses[codes[status]] += n
        self.count(entry, len(rows if rows is not None
                              else columns.statuses), len(wrong), kinds,
                   statuses)
        if not latency:
            return
        times, corrected = columns.times, columns.corrected
        if rows is None and not gone:
            keep = None
        else:
            keep = list(range(len(columns.statuses))) if rows is None else rows
            if gone:
                gone = set(gone)
                keep = [i for i in keep if i not in gone]
            times = picked(times.values, keep, times.per_s)
            if corrected is not None:
                corrected = picked(corrected.values, keep, corrected.per_s)
        numbers = None
        if self.timeline is not None:
            numbers = interval_numbers(columns, width, keep)
        self.add_times(entry, times, corrected, numbers)

    def add_times(self, entry, times, corrected, numbers):
        """Count latencies of an entry() key: Times, or None; numbers are
        the rows' interval numbers (a list beside times' values) or their
        one interval number."""
        entry = self.entry(entry)
        bucket = self.entries[entry]
        self.live.touch(bucket)
        bucket_times(bucket, times, corrected)
        if self.timeline is not None:
            self.timeline.add(entry, numbers, times, corrected)

    def release(self, entry, number, hist, corrected):
        """Count histograms (corrected: None or that of the corrected
        latency) of an entry() key's rows in interval `number`, or in
        every interval when None.  The key may have been dropped to its
        lump since."""
        entry = self.entry(entry)
        bucket = self.entries[entry]
        self.live.touch(bucket)
        if corrected is not None and not corrected.n:
            corrected = None
        bucket_hists(bucket, hist, corrected)
        if number is not None and self.timeline is not None:
            self.timeline.release(entry, number, hist, corrected)

    def freeze(self):
        freeze_buckets(self.entries.values())
        self.live.clear()
        if self.timeline is not None:
            self.timeline.freeze()

    def merge(self, other):
        """Add another table (of a later part of the input), key by key
        in its order; the other is frozen, and the merged entries stay
        live as the table's own (freeze() compresses them)."""
        for key, bucket in other.entries.items():
            entry = self.entry(key)
            self.entries[entry].merge(bucket)
            self.live.touch(self.entries[entry])
            if key in other.kinds:
                self.kinds.setdefault(entry, collections.Counter()).update(
                    other.kinds[key])
            if key in other.statuses:
                self.statuses.setdefault(
                    entry, collections.Counter()).update(other.statuses[key])
        self.lumped = self.lumped or other.lumped
        if self.timeline is not None and other.timeline is not None:
            self.timeline.merge(other.timeline, self.entry)


class NodeTable(object):
    """Each node's rows over the run, by node number: a Bucket (requests,
    errors, their latency and corrected latency).  Rows come from a node
    column, grouped by node in each block however the file is sorted, or
    a whole input's at once (whole())."""

    def __init__(self):
        self.entries = {}       # node number -> Bucket
        self.live = Live(NODES_LIVE_MAX)

    def _bucket(self, node):
        bucket = self.entries.get(node)
        if bucket is None:
            bucket = self.entries[node] = Kept()
        self.live.touch(bucket)
        return bucket

    def add(self, columns, errors):
        """Count Columns of a file with a node column, with their
        RowErrors: requests, errors, and the latencies but of gone rows."""
        nodes, node_of = columns.nodes, columns.node_of
        times, corrected = columns.times, columns.corrected
        if node_of is None:
            bucket = self._bucket(nodes[0])
            bucket.requests += len(columns.statuses)
            bucket.errors += len(errors.wrong)
            if errors.gone:
                times = without(times, errors.gone)
                if corrected is not None:
                    corrected = without(corrected, errors.gone)
            bucket_times(bucket, times, corrected)
            return
        wrong = collections.Counter(map(node_of.__getitem__, errors.wrong))
        gone = set(errors.gone)
        for k, rows in group_rows(node_of):
            bucket = self._bucket(nodes[k])
            bucket.requests += len(rows)
            bucket.errors += wrong[k]
            if gone:
                rows = list(filterfalse(gone.__contains__, rows))
            bucket_times(bucket, picked(times.values, rows, times.per_s),
                         corrected and picked(corrected.values, rows,
                                              corrected.per_s))

    def whole(self, node, requests, errors, hist, corrected):
        """Count an input's rows, all of one node: how many, how many
        errors, and their histograms (corrected: None or that of the
        corrected latency)."""
        bucket = self._bucket(node)
        bucket.requests += requests
        bucket.errors += errors
        bucket_hists(bucket, hist, corrected if corrected is not None
                     and corrected.n else None)
        bucket.freeze()

    def freeze(self):
        freeze_buckets(self.entries.values())
        self.live.clear()

    def merge(self, other):
        """Add another table, node by node; the other is frozen, and the
        merged entries stay live (freeze() compresses them)."""
        merge_buckets(self.entries, other.entries, self.live)


class Timeline(object):
    """Each key's latency per chart slot, for the report's p95 chart: a
    slot is the interval number >> shift, shift the least that keeps the
    slots from the first interval seen to the last within
    CHART_SLOTS_MAX, so the result does not depend on how the input was
    cut."""

    def __init__(self):
        self.shift = 0
        self.first = self.last = None   # interval numbers seen
        self.cells = {}         # key -> {slot: Bucket}
        self.live = Live(CELLS_LIVE_MAX)

    def widen(self, first, last):
        """Take in interval numbers first to last."""
        if self.first is not None:
            first, last = min(first, self.first), max(last, self.last)
        self.first, self.last = first, last
        while (last >> self.shift) - (first >> self.shift) >= \
                CHART_SLOTS_MAX:
            self._coarsen()

    def _coarsen(self):
        """Double the slots' width, merging each pair of cells."""
        self.shift += 1
        self.live.clear()
        for key, slots in self.cells.items():
            self.cells[key] = merge_cells({}, slots, 1)

    def _cell(self, key, number):
        slots = self.cells.get(key)
        if slots is None:
            slots = self.cells[key] = {}
        slot = number >> self.shift
        cell = slots.get(slot)
        if cell is None:
            cell = slots[slot] = Kept()
        self.live.touch(cell)
        return cell

    def add(self, key, numbers, times, corrected):
        """Count a key's Times (and corrected Times, or None) of rows in
        the intervals numbers (a list, or one number)."""
        if isinstance(numbers, int):
            groups = [(numbers, None)]
        else:
            groups = group_rows([n >> self.shift for n in numbers])
            groups = [(slot << self.shift, rows) for slot, rows in groups]
        for number, rows in groups:
            cell = self._cell(key, number)
            for part, values in ((cell, times), (cell.part() if corrected
                                                 else None, corrected)):
                if values is not None and rows is not None:
                    values = picked(values.values, rows, values.per_s)
                if values is not None:
                    part.add_us(*timed_us(values))

    def release(self, key, number, hist, corrected):
        """Count histograms of a key's rows in interval `number`."""
        cell = self._cell(key, number)
        cell.histogram().merge(hist)
        if corrected is not None:
            cell.part().histogram().merge(corrected)

    def rename(self, key, other):
        """Count a key's cells as other's."""
        slots = self.cells.pop(key, None)
        if slots:
            self.live.clear()
            self.cells[other] = merge_cells(self.cells.get(other, {}),
                                            slots, 0)

    def freeze(self):
        for slots in self.cells.values():
            for cell in slots.values():
                cell.freeze()
        self.live.clear()

    def merge(self, other, entry):
        """Add another Timeline, its keys mapped by entry()."""
        if other.first is None:
            return
        self.widen(other.first, other.last)
        while self.shift < other.shift:
            self._coarsen()
        for key, slots in other.cells.items():
            mine = entry(key)
            self.cells[mine] = merge_cells(self.cells.get(mine, {}), slots,
                                           self.shift - other.shift)
        self.live.clear()

    def series(self, keys, width_s, corrected):
        """The p95 (seconds) of the rows of keys (as text, key_text()),
        merged, per slot: a list of (the slot's middle in seconds, p95),
        slots without rows left out; width_s is the interval's width.  The
        corrected latency when corrected."""
        merged = {}
        keys = set(keys)
        for key, slots in self.cells.items():
            if (key_text(key[0]), key_text(key[1])) not in keys:
                continue
            for slot, cell in slots.items():
                part = cell.corrected if corrected else cell
                if part is not None:
                    merged.setdefault(slot, hammer.Histogram()).merge(
                        part.peek())
        span = width_s * (1 << self.shift)
        return [((slot + 0.5) * span, hist.percentile(95))
                for slot, hist in sorted(merged.items()) if hist.n]


def merge_cells(mine, theirs, shift):
    """Add the {slot: Bucket} theirs, each slot >> shift, to mine (frozen
    when merged); returns mine."""
    for slot, cell in theirs.items():
        ours = mine.get(slot >> shift)
        if ours is None:
            mine[slot >> shift] = cell
        else:
            ours.merge(cell)
            ours.freeze()
    return mine


def last_end(block, floor):
    """The greatest of floor and a block's elapsed + response time, where
    block is (lo, hi, elapsed, times, most, per_s): the least and greatest
    elapsed, the rows' elapsed and response times (in 1/per_s seconds)
    and the greatest of these.  Only the rows whose response time could
    take them past floor, and past the slowest row's end, are added up
    (with a margin for rounding), found in one C pass."""
    lo, hi, elapsed, times, most, per_s = block
    most_s = most / per_s
    over_s = max(floor - hi, most_s - (hi - lo))
    over = (over_s - 1e-9 * (abs(floor) + abs(hi) + most_s + 1.0)) * per_s
    picks = compress(range(len(times)), map(operator.gt, times, repeat(over)))
    return max([floor] + [float(elapsed[i]) + times[i] / per_s
                          for i in picks])


class LastEnd(object):
    """The greatest elapsed + response time of a stream's rows, followed
    over its Columns with as few passes over their rows as can be.

    A block whose slowest response takes longer than its elapsed times
    span has few rows that can end last: they are added up at once. A
    block of faster responses is kept while its rows may end after every
    end known; the next blocks' elapsed times soon pass it, and only the
    oldest beyond OPEN_ENDS_MAX are added up.
    """

    def __init__(self):
        self.seen = 0.0         # the greatest end known
        self.pending = []       # (bound, block) of blocks not added up

    def add(self, columns, max_elapsed):
        """Take in Columns, once max_elapsed (the greatest elapsed of the
        stream so far) counts theirs."""
        times = columns.times
        block = (columns.lo, columns.hi, columns.elapsed, times.values,
                 times.most, times.per_s)
        floor = max(self.seen, max_elapsed)
        bound = columns.hi + times.most / times.per_s
        pending = self.pending
        if bound > floor:
            if times.most / times.per_s > columns.hi - columns.lo:
                self.seen = last_end(block, floor)
            else:
                pending.append((bound, block))
        if pending and pending[0][0] <= floor:
            pending[:] = [p for p in pending if p[0] > floor]
        while len(pending) > OPEN_ENDS_MAX:
            self._close(pending.pop(0), max_elapsed)

    def _close(self, pending, max_elapsed):
        self.seen = last_end(pending[1], max(self.seen, max_elapsed))

    def value(self, max_elapsed):
        """The greatest end, once settle()d."""
        if max_elapsed is None:
            return self.seen
        return max(self.seen, max_elapsed)

    def settle(self, max_elapsed):
        """Add up the blocks still pending."""
        for pending in sorted(self.pending, reverse=True,
                              key=operator.itemgetter(0)):
            if pending[0] > self.value(max_elapsed):
                self._close(pending, max_elapsed)
        del self.pending[:]

    def merge(self, other):
        self.seen = max(self.seen, other.seen)
        self.pending.extend(other.pending)


def sample_hash(elapsed):
    """A well-mixed 32-bit hash of an elapsed time, the same in every
    process and run (float hashes are not randomised)."""
    return ((hash(elapsed) * SAMPLE_MIX) >> 29) & 0xFFFFFFFF


def sample_picks(elapsed, mask):
    """Indexes of the times whose sample_hash has no bit of mask set (the
    bits of the mixed hash from 29 up), computed by map() in C rather than
    a Python call per row."""
    mixed = map(operator.mul, map(hash, elapsed), repeat(SAMPLE_MIX))
    low = map(operator.and_, mixed, repeat((mask << 29) | ((1 << 29) - 1)))
    return compress(range(len(elapsed)),
                    map(operator.lt, low, repeat(1 << 29)))


class Sampler(object):
    """At most SCATTER_POINTS_MAX rows, (elapsed, response time, status,
    whether an error), for the report's scatter: those whose elapsed time
    hashes to 0 under a mask that grows as needed, so that the kept set
    depends only on the rows, not on how they were read or merged."""

    def __init__(self):
        self.points = []
        self.bits = 0

    def add(self, columns, errors):
        elapsed = list(map(float, columns.elapsed))
        times, statuses, codes = columns.times, columns.statuses, columns.codes
        wrong = set(errors.wrong)
        mask = (1 << self.bits) - 1
        self.points.extend((elapsed[i], times.values[i] / times.per_s,
                            codes[statuses[i]], i in wrong)
                           for i in sample_picks(elapsed, mask))
        self._shrink()

    def _shrink(self):
        while len(self.points) > SCATTER_POINTS_MAX:
            self.bits += 1
            mask = (1 << self.bits) - 1
            self.points = [p for p in self.points
                           if not sample_hash(p[0]) & mask]

    def merge(self, other):
        self.bits = max(self.bits, other.bits)
        mask = (1 << self.bits) - 1
        self.points = [p for p in self.points + other.points
                       if not sample_hash(p[0]) & mask]
        self._shrink()


# --- the tally: lines in, each row counted where it counts -------------------


class Lines(object):
    """A stream's blocks of lines -> the Columns of their valid rows.

    A block of plain lines goes through parse_block(); one holding a
    quote is cut into records (records()), which a quoted field may hold
    open over several lines and blocks (carry), read by slow_columns().
    Counts the lines, the malformed ones and the first of them, and the
    line number of a truncated last line; numbers count from the stream's
    first line (main() shifts them for byte ranges).
    """

    def __init__(self, fmt, fast=True):
        self.fmt = fmt
        self.fast = fast        # parse_block()'s fast path
        self.carry = b""        # a record a quoted field keeps open
        self.lines = 0
        self.malformed = 0
        self.first_bad = None
        self.truncated = None

    def block(self, block):
        """The Columns of a block of lines (bytes).  Only the stream's
        last block may end without a newline: that line may be truncated
        (a killed run).  A record that a quoted field keeps open at the
        block's end waits for the next block."""
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        if self.carry:
            block, self.carry = self.carry + block, b""
        if b'"' in block:
            items, self.carry = records(block, not block.endswith(b"\n"))
            return self._records(items, not block.endswith(b"\n"))
        if not block.endswith(b"\n"):
            head, newline, tail = block.rpartition(b"\n")
            columns = self.block(head + newline) if newline else []
            return columns + self._final_line(tail)
        nlines = block.count(b"\n")
        parsed = parse_block(block, nlines, self.fmt, self.lines + 1,
                             self.fast)
        self.lines += nlines
        return self._parsed(parsed)

    def long_line(self):
        """A line longer than LINE_MAX_B, skipped unread: malformed.  A
        record left open before it is too long too: the Columns of what
        it held open."""
        columns = self.flush()
        self.lines += 1
        self._malformed(1, self.lines)
        return columns

    def flush(self):
        """The end of the stream, or a long line: the records still open
        are not records (records() with final); their Columns."""
        if not self.carry:
            return []
        items, self.carry = records(self.carry, True)[0], b""
        return self._records(items, False)

    def _records(self, items, final):
        """The Columns of records()' items; with final, the last is the
        stream's last line, without its newline."""
        tail = items.pop() if final and items else None
        parsed = slow_columns(numbered_records(items, self.lines + 1),
                              self.fmt)
        self.lines += sum(lines for lines, _ in items)
        columns = self._parsed(parsed)
        if tail is not None:
            columns += self._final_line(*reversed(tail))
        return columns

    def _parsed(self, parsed):
        self._malformed(parsed.malformed, parsed.first_bad)
        return parsed.columns

    def _malformed(self, count, first_bad):
        self.malformed += count
        if self.first_bad is None:
            self.first_bad = first_bad

    def _final_line(self, line, lines=1):
        self.lines += lines
        if not line.strip():
            return []
        row = parse_line(line, self.fmt)
        if row is None:
            self.truncated = self.lines
            return []
        return row_columns([row], self.fmt)

    def merge(self, other, line_offset):
        """Add the counts of the lines after these (line_offset of them)."""
        self.malformed += other.malformed
        if self.first_bad is None and other.first_bad is not None:
            self.first_bad = other.first_bad + line_offset
        if other.truncated is not None:
            self.truncated = other.truncated + line_offset
        self.lines += other.lines


Routed = collections.namedtuple("Routed", "names totals owner")
Routed.__doc__ = """Where a Columns' rows count (Router.route()): names,
a list of (NameTable entry, the row indexes or None for all, whether
their latencies count there too); totals, the indexes of the rows that
count in the totals, ascending; owner, the Bucketer's owner of those
(a key, MIXED, or None without names)."""


class Router(object):
    """Which rows count where: each (method, name) key's in its NameTable
    entry (keys summed past NAMES_MAX come as one), and in the totals the
    requests (not timers or tasks), or, given wanted (--name), every row
    of those names and no other."""

    def __init__(self, names, wanted=None):
        self.names = names
        self.wanted = wanted    # None, or the names (bytes) --name keeps

    def place(self, key):
        """A key's NameTable entry (None when --name leaves it out) and
        whether its rows count in the totals."""
        if self.wanted is not None:
            if key[1] not in self.wanted:
                return None, False
            return self.names.entry(key), True
        return self.names.entry(key), key[0] not in (TIMER, TASK)

    def route(self, columns):
        """Columns -> Routed.  A key whose rows all count in the totals
        owns them there: its entry gets their latencies through the
        Bucketer (latency False)."""
        every = range(len(columns.statuses))
        if columns.keys is None:
            return Routed([], every if self.wanted is None else [], None)
        places = [self.place(key) for key in columns.keys]
        if columns.key_of is None:
            entry, in_totals = places[0]
            if entry is None:
                return Routed([], [], None)
            return Routed([(entry, None, not in_totals)],
                          every if in_totals else [], entry)
        ids = KeyIds()      # rows grouped by entry
        places = [(ids[place] if place[0] is not None else -1)
                  for place in places]
        groups = group_rows(list(map(places.__getitem__, columns.key_of)))
        places = list(ids)
        owners = set(places[k][0] for k, _ in groups if k >= 0
                     and places[k][1])
        owner = owners.pop() if len(owners) == 1 else MIXED
        names, totals = [], []
        for k, rows in groups:
            if k >= 0:
                entry, in_totals = places[k]
                names.append((entry, rows, owner != entry))
                if in_totals:
                    totals.extend(rows)
        return Routed(names, sorted(totals), owner)


class Counts(object):
    """The totals' rows counted by status and, by hammer's error_class()
    under their file's rule, the error rows by class and kind (transport
    errors' kinds, and the script's failures'); the failed tasks by the
    exception's type (class hammer.TASK_CLASS), and how many rows have a
    scheduled time."""

    def __init__(self):
        self.counted = 0        # the totals' rows
        self.scheduled_rows = 0     # of them, with a scheduled time
        self.statuses = collections.Counter()
        self.classes = collections.Counter()    # error rows, by class
        self.kinds = collections.Counter()      # transport errors by kind
        self.checked = collections.Counter()    # failed by a script, by kind
        self.class_kinds = {}   # error rows with a kind: class -> Counter
        self.tasks = collections.Counter()      # failed tasks, by type

    def add(self, columns, rule=None):
        codes = columns.codes
        for s, count in columns.counts.items():
            self.statuses[codes[s]] += count
        self.counted += len(columns.statuses)
        if columns.corrected is not None:
            self.scheduled_rows += len(columns.statuses)
        classes, kinds = error_classes(columns, rule)
        self.classes.update(classes)
        self.kinds.update(kinds.get("transport", ()))
        self.checked.update(kinds.get("script", ()))
        for which, counts in kinds.items():
            self.class_kinds.setdefault(which, collections.Counter()).update(
                counts)

    def add_failed(self, columns):
        """Count the Columns of failed tasks' rows, by their kind."""
        self.classes[hammer.TASK_CLASS] += len(columns.statuses)
        self.tasks.update(k.rstrip(b"\n").decode("latin-1")
                          for k in columns.errors)

    def merge(self, other):
        self.counted += other.counted
        self.scheduled_rows += other.scheduled_rows
        self.statuses.update(other.statuses)
        self.classes.update(other.classes)
        self.kinds.update(other.kinds)
        self.checked.update(other.checked)
        for which, counts in other.class_kinds.items():
            self.class_kinds.setdefault(which, collections.Counter()).update(
                counts)
        self.tasks.update(other.tasks)


def failed_tasks(columns):
    """The indexes of Columns' rows of failed tasks (method task), which
    the totals count as errors under the error rule (not the legacy
    one)."""
    keys = columns.keys
    if keys is None or columns.errors is None:
        return []
    tasks = set(k for k, key in enumerate(keys) if key[0] == TASK)
    if not tasks:
        return []
    if columns.key_of is None:
        return list(range(len(columns.statuses)))
    return [i for i, k in enumerate(columns.key_of) if k in tasks]


class Tally(object):
    """Everything crunch keeps of one stream of lines, bounded in memory,
    in pieces that pass Columns between them: Lines reads blocks into
    Columns; every row counts in `rows` and the LastEnd; a Router says
    which rows count in which (method, name) entry of the NameTable and
    in the totals; the totals' rows count in the Counts, the Bucketer
    (intervals and stages), in a file with a node column the NodeTable,
    and, with sample, a Sampler (and the names in their Timeline).  With
    offset_s, every row lands that much later (shifted()), as alignment()
    says.  freeze() and merge() hand on to each piece.
    """

    fast = True     # parse_block()'s fast path (tests turn it off)

    def __init__(self, fmt, interval_s, sample=False, stage_edges=None,
                 wanted=None, pinned=frozenset(), offset_s=0.0,
                 too_wide=False, rule=None):
        self.fmt = fmt
        self.offset_s = offset_s    # rows land this much later (alignment)
        self.rule = rule    # the file's error rule: hammer.rule_of()
        self.reader = Lines(fmt, self.fast)
        self.names = NameTable(pinned, Timeline() if sample else None)
        self.router = Router(self.names, wanted)
        self.counts = Counts()
        self.bucketer = Bucketer(interval_s, stage_edges, self.names)
        self.bucketer.too_wide = too_wide
        self.nodes = NodeTable()
        self.ends = LastEnd()
        self.sampler = Sampler() if sample else None
        self.rows = 0           # every valid row

    buckets = property(lambda self: self.bucketer.buckets)
    stages = property(lambda self: self.bucketer.stages)
    min_elapsed = property(lambda self: self.bucketer.min_elapsed)
    max_elapsed = property(lambda self: self.bucketer.max_elapsed)
    sample = property(lambda self: self.sampler and self.sampler.points)

    @property
    def last_end(self):
        """The greatest elapsed + response time of the rows (once frozen)."""
        return self.ends.value(self.max_elapsed)

    def add_block(self, block):
        """Count a block of lines (bytes): Lines.block()."""
        for columns in self.reader.block(block):
            self._count(columns)

    def add_long_line(self):
        """Count a line longer than LINE_MAX_B: Lines.long_line()."""
        for columns in self.reader.long_line():
            self._count(columns)

    def _count(self, columns):
        """Valid Columns -> the last end, the names, and the totals."""
        if self.offset_s:
            columns = shifted(columns, self.offset_s)
        bucketer = self.bucketer
        bucketer.widen(columns.lo, columns.hi)
        self.rows += len(columns.statuses)
        if bucketer.too_wide:   # refused once every elapsed time is seen
            return
        self.ends.add(columns, bucketer.max_elapsed)
        timeline, width = self.names.timeline, bucketer.interval_s
        if timeline is not None:
            timeline.widen(int(columns.lo // width), int(columns.hi // width))
        errors = row_errors(columns, self.rule)
        routed = self.router.route(columns)
        for entry, rows, latency in routed.names:
            self.names.add_rows(entry, columns, errors, rows, latency, width)
        if len(routed.totals) == len(columns.statuses):
            self._total(columns, errors, routed.owner)
        elif routed.totals:
            part = take(columns, routed.totals)
            self._total(part, row_errors(part, self.rule), routed.owner)
        if self.rule is not hammer.LEGACY_RULE and self.router.wanted is None:
            failed = failed_tasks(columns)
            if failed:
                part = columns if len(failed) == len(columns.statuses) else (
                    take(columns, failed))
                self.counts.add_failed(part)
                self.bucketer.add_failed(part)

    def _total(self, columns, errors, owner):
        """Count the totals' Columns: statuses and errors, buckets, nodes
        and the sample."""
        self.counts.add(columns, self.rule)
        if self.sampler is not None:
            self.sampler.add(columns, errors)
        self.bucketer.add(columns, errors, owner)
        if columns.nodes is not None:
            self.nodes.add(columns, errors)

    def freeze(self):
        """Count what is still open as the stream's end, settle the last
        response's end and compress every histogram, after working out
        what summarise() needs of them (this runs in the worker
        processes)."""
        for columns in self.reader.flush():
            self._count(columns)
        self.ends.settle(self.max_elapsed)
        self.bucketer.freeze()
        self.names.freeze()
        self.nodes.freeze()
        return self

    def merge(self, other, line_offset=0):
        """Add another frozen tally (e.g. of a later byte range of the
        same file)."""
        self.reader.merge(other.reader, line_offset)
        self.bucketer.merge(other.bucketer)
        self.names.merge(other.names)
        self.nodes.merge(other.nodes)
        self.ends.merge(other.ends)
        if self.sampler is not None and other.sampler is not None:
            self.sampler.merge(other.sampler)
        self.counts.merge(other.counts)
        self.rows += other.rows
        return self


# --- summarising: rows of numbers, comparisons and thresholds ----------------


def summarise(tally, interval_s, end):
    """A tally and the run's end (run_end()) -> (interval rows, totals
    row), each a dict.

    Every interval from the first to the last is listed, empty ones too
    (the tally's _widen() has kept them within INTERVALS_MAX).  The last
    one is divided by its real width, from its start to the end
    of the run (at most interval_s, at least MIN_WIDTH_S), and the totals
    by the time from the first interval's start to the end.
    Rows with a scheduled time (the open model) add the corrected_*
    keys of stats_row() to every row.
    """
    rows = []
    tally.freeze()
    is_open = tally.counts.scheduled_rows > 0
    if not tally.buckets:       # no row counts in the totals
        start = 0.0
        if tally.min_elapsed is not None:
            start = (tally.min_elapsed // interval_s) * interval_s
        totals = stats_row(start, max(MIN_WIDTH_S, end - start), 0, 0,
                           latency_summary(None))
        totals["histogram"] = hammer.Histogram()
        return rows, totals
    first, last = min(tally.buckets), max(tally.buckets)
    requests = errors = tasks = 0
    for number in range(first, last + 1):
        bucket = tally.buckets.get(number)
        start = number * interval_s
        width = interval_s
        if number == last:
            width = min(interval_s, max(MIN_WIDTH_S, end - start))
        rows.append(bucket_row(start, width, bucket, is_open))
        if bucket is not None:
            requests += bucket.requests
            errors += bucket.errors
            tasks += bucket.tasks
    span = max(MIN_WIDTH_S, end - first * interval_s)
    totals = stats_row(first * interval_s, span, requests, errors,
                       latency_summary(tally.bucketer.total),
                       latency_summary(tally.bucketer.corrected_total)
                       if is_open else None, tasks)
    totals["histogram"] = tally.bucketer.total
    if is_open:
        totals["corrected_histogram"] = tally.bucketer.corrected_total
    return rows, totals


SECTIONS = ((b"", "requests"), (TIMER, "timers"), (TASK, "tasks"))


def section_of(method):
    """The per-name section of a key's method: requests, timers or tasks."""
    return {TIMER: "timers", TASK: "tasks"}.get(method, "requests")


def key_text(value):
    """A key's method or name (bytes, or None for the lump) as text."""
    return None if value is None else value.decode("utf-8", "replace")


def summarise_names(tally, width, is_open):
    """A frozen tally's NameTable -> one row per key: method, name (None
    for the rows summed past NAMES_MAX), section, then stats_row()'s keys
    but the start and width (req/s divides by width, the totals' span),
    error_kinds and statuses (status code text -> rows).  Requests
    first, then timers, then tasks; each the busiest first, then by
    name."""
    rows = []
    for key, bucket in tally.names.entries.items():
        for part in (bucket, bucket.corrected):
            if part is not None and part.latency is None:
                part.settle()
        row = collections.OrderedDict((
            ("method", key_text(key[0])), ("name", key_text(key[1])),
            ("section", section_of(key[0]))))
        stats = bucket_row(0.0, width, bucket, is_open)
        del stats["start_s"], stats["width_s"]
        row.update(stats)
        row["error_kinds"] = collections.OrderedDict(
            (key_text(k), n) for k, n in sorted(
                tally.names.kinds.get(key, {}).items()))
        row["statuses"] = collections.OrderedDict(
            ("%d" % code, n) for code, n in sorted(
                tally.names.statuses.get(key, {}).items()))
        rows.append(row)
    order = dict((name, i) for i, (_, name) in enumerate(SECTIONS))
    rows.sort(key=lambda r: (order[r["section"]], -r["requests"],
                             r["name"] is None, r["name"] or "", r["method"]))
    return rows


def settings_node(settings):
    """The node number a run's settings give (hammer --node I/N: I), or
    None."""
    node = (settings or {}).get("node")
    if isinstance(node, int) and not isinstance(node, bool) and \
            1 <= node <= NODES_MAX:
        return node
    return None


def settings_hosts(settings):
    """A merged file's settings -> {node: host or None}: nodes 1 to its
    "nodes", and the hosts of its "node_hosts" entries ({"node": 1,
    "host": "h1", ...}); entries crunch cannot read are passed over."""
    count = (settings or {}).get("nodes")
    hosts = {}
    if isinstance(count, int) and 0 < count <= NODES_MAX:
        hosts = dict.fromkeys(range(1, count + 1))
    entries = (settings or {}).get("node_hosts")
    for entry in entries if isinstance(entries, list) else ():
        node = settings_node(entry if isinstance(entry, dict) else None)
        if node is not None:
            host = entry.get("host")
            hosts[node] = host if isinstance(host, str) else None
    return hosts


def node_plan(names, all_settings, sources):
    """Where the inputs' nodes come from -> (hosts, warning): hosts is
    {node: host or None} of the nodes the settings name, or None when
    there is no per-node table.  sources: per input, COLUMN (a node
    column), the node its settings give, or None.  Every input must have
    one, and the settings' nodes must differ, else a warning says why
    there is no table; one also names the nodes of the settings' "nodes"
    no input holds."""
    if all(source is None for source in sources):
        return None, None
    lacking = [n for n, source in zip(names, sources) if source is None]
    if lacking:
        return None, ("%s: no node column, nor a node in the settings: no"
                      " per-node table" % ", ".join(map(shown_name, lacking)))
    filed = [(n, source) for n, source in zip(names, sources)
             if source != COLUMN]
    counts = collections.Counter(source for _, source in filed)
    twice = [n for n, source in filed if counts[source] > 1]
    if twice:
        return None, ("%s: the settings give the same node twice: no"
                      " per-node table" % ", ".join(twice))
    hosts, expected = {}, 0
    for settings, source in zip(all_settings, sources):
        settings = settings or {}
        if source == COLUMN:
            hosts.update(settings_hosts(settings))
            continue
        host = settings.get("host")
        hosts[source] = host if isinstance(host, str) else None
        count = settings.get("nodes")
        if isinstance(count, int) and count <= NODES_MAX:
            expected = max(expected, count)
    missing = [k for k in range(1, expected + 1) if k not in hosts]
    warning = None
    if missing:
        warning = "node%s %s of %d %s not among the inputs" % (
            "s" if len(missing) > 1 else "", ", ".join(map(str, missing)),
            expected, "are" if len(missing) > 1 else "is")
    return hosts, warning


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def mark_nodes(rows):
    """Give each per-node row its "marks": "slow" when its p95 is the
    nodes' worst, more than OUTLIER_RATIO times their median and at
    least OUTLIER_P95_FLOOR_S; "failing" the same for the error % (floor
    OUTLIER_ERRORS_FLOOR_PCT); "no requests" when it has none and another
    node has some.  The median is over the nodes with requests."""
    for row in rows:
        row["marks"] = []
    active = [r for r in rows if r["requests"]]
    if active:
        for row in rows:
            if not row["requests"]:
                row["marks"].append("no requests")
    for key, floor, mark in (("p95_s", OUTLIER_P95_FLOOR_S, "slow"),
                             ("error_pct", OUTLIER_ERRORS_FLOOR_PCT,
                              "failing")):
        values = [r[key] for r in active if r[key] is not None]
        if len(values) < 2:
            continue
        worst = max(values)
        if worst >= floor and worst > OUTLIER_RATIO * median(values):
            for row in active:
                if row[key] == worst:
                    row["marks"].append(mark)
    return rows


def summarise_nodes(tally, hosts, width):
    """A frozen tally's NodeTable and the nodes the settings name (hosts,
    from node_plan()) -> one row per node, by number: node, host (None
    when unknown), stats_row()'s keys but the start and width (req/s
    divides by width, the run's span), and marks (mark_nodes()); or None
    when there are fewer than two nodes.  A node the settings name that
    has no rows gets a row of none."""
    entries = tally.nodes.entries
    numbers = sorted(set(hosts) | set(entries))
    if len(numbers) < 2:
        return None
    is_open = any(b.corrected is not None for b in entries.values())
    rows = []
    for number in numbers:
        bucket = entries.get(number)
        for part in (bucket, bucket and bucket.corrected):
            if part is not None and part.latency is None:
                part.settle()
        row = collections.OrderedDict((("node", number),
                                       ("host", hosts.get(number))))
        stats = bucket_row(0.0, width, bucket, is_open)
        del stats["start_s"], stats["width_s"]
        row.update(stats)
        rows.append(row)
    return mark_nodes(rows)


def name_entries(tally, names, is_open):
    """hammer.named_metrics()' entries of the rows of each of names
    (text), a (method, name) key's each: (name, requests, errors,
    latency); the latency from the intended send when is_open."""
    entries = []
    for key, bucket in tally.names.entries.items():
        name = key_text(key[1])
        if name in names:
            part = bucket.corrected if is_open else bucket
            entries.append((name, bucket.requests, bucket.errors,
                            part.peek() if part is not None
                            else hammer.Histogram()))
    return entries


def summarise_stages(tally, stages, end):
    """A frozen tally kept with the stage_edges of timed_stages(stages)
    -> one row per stage that began before the run's end: the stage's
    number, times and targets (from, to), then stats_row(), divided by
    the part of the stage the run lasted (at least MIN_WIDTH_S)."""
    rows = []
    is_open = tally.counts.scheduled_rows > 0
    for k, stage in enumerate(timed_stages(stages)[0]):
        bucket = tally.stages.get(k)
        if bucket is None and stage.start_s >= end:
            continue
        width = max(MIN_WIDTH_S, min(stage.end_s, end) - stage.start_s)
        if stage.end_s > end:       # the run ended in it: clipped there
            stage = stage._replace(end_s=end, end=round(hammer.target_at(
                [stage], end), 3))
        row = collections.OrderedDict((
            ("stage", stage.number), ("start_s", stage.start_s),
            ("end_s", stage.end_s), ("from", stage.begin),
            ("to", stage.end)))
        row.update(bucket_row(stage.start_s, width, bucket, is_open))
        rows.append(row)
    return rows


def bucket_row(start, width, bucket, is_open):
    """stats_row() of a frozen Bucket (None: no rows), with the corrected
    latency when is_open."""
    empty = latency_summary(None)
    if bucket is None:
        return stats_row(start, width, 0, 0, empty, empty if is_open
                         else None)
    corrected = None
    if is_open:
        part = bucket.corrected
        corrected = (part.latency if part is not None else None) or empty
    return stats_row(start, width, bucket.requests, bucket.errors,
                     bucket.latency or empty, corrected, bucket.tasks)


def latency_summary(hist, ordered=None):
    """A histogram (or None) -> (responses, mean, percentiles, max, min),
    what a row keeps of it; ordered is its sorted_counts(), when known."""
    if hist is None or not hist.n:
        return 0, None, [None] * len(hammer.PERCENTILES), None, None
    return (hist.n, hist.mean, hist.percentiles(hammer.PERCENTILES, ordered),
            hist.max, hist.min)


def stats_row(start, width, requests, errors, latency, corrected=None,
              tasks=0):
    """One table row as a dict (a plain one: a run may have a million);
    latencies (a latency_summary()) in seconds, None when no response was
    counted: the percentiles exact (to the microsecond below 100 ms), and
    min_s, which only the per-name tables show, besides the percentiles'
    shown values (shown_value()).  With corrected, the latency_summary()
    of the corrected latencies, the row ends with the same keys prefixed
    `corrected_`.
    tasks: the failed tasks among the errors, which errors are a share of
    with the requests (the key failed_tasks, when there are any)."""
    row = {}
    row["start_s"] = start
    row["width_s"] = width
    row["requests"] = requests
    row["rps"] = requests / width if width > 0 else 0.0
    latency_cells(row, "", latency)
    row["errors"] = errors
    judged = requests + tasks
    row["error_pct"] = 100.0 * errors / judged if judged else 0.0
    if tasks:
        row["failed_tasks"] = tasks
    if corrected is not None:
        latency_cells(row, "corrected_", corrected)
    return row


def latency_cells(row, prefix, latency):
    """Put a latency_summary() in a row, its keys prefixed."""
    responses, mean, percentiles, most, least = latency
    row[prefix + "responses"] = responses
    row[prefix + "mean_s"] = mean
    for p, value in zip(hammer.PERCENTILES, percentiles):
        row[prefix + "p%d_s" % p] = value
    row[prefix + "max_s"] = most
    row[prefix + "min_s"] = least


# (key, label, higher is worse, judged for a regression)
COMPARE_METRICS = (
    ("requests", "requests", None, False),
    ("rps", "req/s", False, True),
    ("mean_s", "mean", True, True),
    ("p50_s", "p50", True, True),
    ("p90_s", "p90", True, True),
    ("p95_s", "p95", True, True),
    ("p99_s", "p99", True, True),
    ("max_s", "max", True, False),
    ("error_pct", "errors %", True, True),
)


def compare_names(base, run, tolerance_pct):
    """Per-name rows (summarise_names()) of a baseline and a run ->
    [{method, name, section, verdict, metrics}] for every request and
    timer key of either, the run's order first: metrics as
    compare_totals() gives them, verdict 'regression' when a metric is
    one, else 'better' when one is, else 'ok'; 'new' or 'gone' for a key
    of only one of them."""
    def key(row):
        return row["method"], row["name"]
    base_rows = dict((key(r), r) for r in base if r["section"] != "tasks")
    out = []
    run_rows = [r for r in run if r["section"] != "tasks"]
    seen = set(key(r) for r in run_rows)
    for row in run_rows + [r for r in base if r["section"] != "tasks"
                           and key(r) not in seen]:
        old = base_rows.get(key(row))
        new = row if key(row) in seen else None
        metrics = None
        if old is None or new is None:
            verdict = "new" if old is None else "gone"
        else:
            metrics = compare_totals(old, new, tolerance_pct)
            verdicts = set(m["verdict"] for m in metrics)
            verdict = ("regression" if "regression" in verdicts else
                       "better" if "better" in verdicts else "ok")
        out.append(collections.OrderedDict((
            ("method", row["method"]), ("name", row["name"]),
            ("section", row["section"]), ("verdict", verdict),
            ("metrics", metrics))))
    return out


def compare_totals(base, run, tolerance_pct):
    """Totals of a baseline and a run -> list of dicts with the change in %
    and a verdict: 'regression', 'better' or 'ok' ('' when not judged)."""
    out = []
    for key, label, worse_up, judged in COMPARE_METRICS:
        old, new = base.get(key), run.get(key)
        change = None
        if old is not None and new is not None:
            if old:
                change = 100.0 * (new - old) / old
            elif new:
                change = math.inf
            else:
                change = 0.0
        verdict = ""
        if judged and change is not None:
            worse = change if worse_up else -change
            if worse > tolerance_pct:
                verdict = "regression"
            elif worse < -tolerance_pct:
                verdict = "better"
            else:
                verdict = "ok"
        out.append(collections.OrderedDict((
            ("metric", label), ("key", key), ("base", old), ("run", new),
            ("change_pct", change), ("verdict", verdict))))
    return out


def judge(thresholds, run, trust=None):
    """--fail-if's thresholds against a run (crunch_run()), with hammer's
    evaluator: [(threshold, value, ok)].  An unscoped threshold judges the
    totals; one with a name every row of that name, whatever its method
    (a name no row has fails).  Latency is the corrected latency when the
    rows have scheduled times, as in hammer's --rate runs.  trust: the
    monitor file's trust verdict, which `trusted` judges (None: not
    judged, and it fails)."""
    totals = run.totals
    latency = totals.get("corrected_histogram", totals["histogram"])
    metrics = hammer.threshold_metrics(latency, totals["requests"],
                                       totals["errors"], totals["width_s"],
                                       totals.get("failed_tasks", 0))
    names = set(t.name for t in thresholds if t.name is not None)
    named = hammer.named_metrics(name_entries(
        run.tally, names, run.names_open), totals["width_s"])
    if trust is not None:
        metrics["trusted"] = trust["verdict"] == "trusted"
    return hammer.evaluate_thresholds(thresholds, metrics, named)


# --- formatting: text tables, CSV and JSON -----------------------------------

TABLE_COLUMNS = (
    # (header, key, format, scale)
    ("start_s", "start_s", "%.1f", 1),
    ("requests", "requests", "%d", 1),
    ("req/s", "rps", "%.1f", 1),
    ("mean_ms", "mean_s", "%.3f", 1000),
    ("p50_ms", "p50_s", "%.3f", 1000),
    ("p90_ms", "p90_s", "%.3f", 1000),
    ("p95_ms", "p95_s", "%.3f", 1000),
    ("p99_ms", "p99_s", "%.3f", 1000),
    ("max_ms", "max_s", "%.3f", 1000),
    ("errors", "errors", "%d", 1),
    ("error_%", "error_pct", "%.2f", 1),
)
COLUMN_OF = dict((column[1], column) for column in TABLE_COLUMNS)


def columns_of(keys):
    """TABLE_COLUMNS' columns of the keys (a space-separated string), in
    that order: the other tables show the same columns alike."""
    return tuple(COLUMN_OF[key] for key in keys.split())

CSV_HEADER = ("start_s", "requests", "req_per_s", "mean_ms", "p50_ms",
              "p90_ms", "p95_ms", "p99_ms", "max_ms", "errors", "error_pct")
# The open model's corrected latency, beside the service time: in the
# tables and the CSV after max_ms (the JSON has every corrected_* key).
CORRECTED_COLUMNS = (
    ("corrected_p50_ms", "corrected_p50_s", "%.3f", 1000),
    ("corrected_p95_ms", "corrected_p95_s", "%.3f", 1000),
    ("corrected_p99_ms", "corrected_p99_s", "%.3f", 1000),
)
CORRECTED_AFTER = "max_s"       # the column they follow
LATENCY_VIEWS = (
    # (label, the totals' histogram), as hammer's summary names them
    ("latency from the intended send (corrected for coordinated omission):",
     "corrected_histogram"),
    ("service time from the actual send:", "histogram"),
)
CORRECTED_LEGEND = ("corrected_*: latency from the intended send, elapsed -"
                    " scheduled + response_time")


# The per-stage table: FunkLoad's capacity curve.  Cells of "%s" are
# formatted by stage_cells(); the target's header is the plan's unit.
STAGE_COLUMNS = (
    ("stage", "stage", "%d", 1),
    ("start_s", "start_s", "%s", 1),
    ("end_s", "end_s", "%s", 1),
    ("users", "target", "%s", 1),
) + columns_of("requests rps p50_s p95_s p99_s errors error_pct")
UNIT_HEADERS = {"users": "users", "req/s": "target_req/s"}


class ShownWithin(dict):
    """A row's key -> the keys of the least and greatest latency that a
    percentile's shown value is kept within (hammer.shown_latency()), or
    None for a key of another value; worked out once a key."""

    def __missing__(self, key):
        prefix = "corrected_" if key.startswith("corrected_") else ""
        within = None
        if key[len(prefix):] in ["p%d_s" % p for p in hammer.PERCENTILES]:
            within = (prefix + "min_s", prefix + "max_s")
        self[key] = within
        return within


SHOWN_WITHIN = ShownWithin()
HIDDEN_KEYS = ("min_s", "corrected_min_s")     # not in the JSON


def shown_value(row, key):
    """A row's value of key as people read it: a percentile rounded as
    hammer.shown_latency() says (the 3 significant digits hammer's
    summary shows), any other value as it is."""
    value = row[key]
    within = SHOWN_WITHIN[key]
    if value is None or within is None:
        return value
    return hammer.shown_latency(value, row[within[0]], row[within[1]])


def with_corrected(columns, row, after=CORRECTED_AFTER):
    """columns (of TABLE_COLUMNS' shape), with CORRECTED_COLUMNS after the
    column of the key `after` when row has a corrected latency."""
    if "corrected_responses" not in row:
        return columns
    at = [c[1] for c in columns].index(after) + 1
    return columns[:at] + CORRECTED_COLUMNS + columns[at:]


def csv_header(columns):
    """The CSV names of columns: TABLE_COLUMNS' as CSV_HEADER says, the
    others as their table header."""
    names = dict(zip((c[0] for c in TABLE_COLUMNS), CSV_HEADER))
    return [names.get(c[0], c[0]) for c in columns]


def cell(row, key, form, scale, empty="-"):
    """A row's value of key as a text cell, as people read it
    (shown_value())."""
    return value_cell(shown_value(row, key), form, scale, empty)


def value_cell(value, form, scale, empty="-"):
    if value is None:
        return empty
    return form % (value * scale) if scale != 1 else form % value


def row_cells(row, empty="-", label=None, columns=TABLE_COLUMNS):
    """One row's text cells, in the order of columns; label, when given,
    replaces the first (the start)."""
    cells = [cell(row, key, form, scale, empty)
             for _, key, form, scale in columns]
    if label is not None:
        cells[0] = label
    return cells


def table_cells(rows, totals, empty="-", columns=TABLE_COLUMNS):
    """Rows of text cells; the totals row starts with 'total'."""
    return [row_cells(row, empty, columns=columns) for row in rows] + [
        row_cells(totals, empty, "total", columns)]


def column_width(rows, column):
    """The widest cell of a column, its header or "total" too, found from
    the greatest value: the values are >= 0 and a fixed format is no
    narrower for a greater one."""
    header, key, form, scale = column
    widths = [len(header), len("total") if key == "start_s" else 1]
    if SHOWN_WITHIN[key]:
        values = [shown_value(r, key) for r in rows if r[key] is not None]
    else:
        values = [r[key] for r in rows if r[key] is not None]
    if values:
        widths.append(len(value_cell(max(values), form, scale)))
    return max(widths)


def format_table(rows, totals, columns=TABLE_COLUMNS):
    """The aligned text table as a list of lines; no cell is kept longer
    than its line, as a run may have a million intervals."""
    widths = [column_width(rows + [totals], c) for c in columns]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))
    header = line([h for h, _, _, _ in columns])
    return [header] + [line(row_cells(r, columns=columns)) for r in rows] + [
        "-" * len(header), line(row_cells(totals, label="total",
                                          columns=columns))]


def format_instant(seconds):
    """A stage's start or end: 30, 0.25, 7.5."""
    return ("%.3f" % seconds).rstrip("0").rstrip(".")


def format_target(begin, end):
    """A stage's target: 50 when held, 10->50 when it moves."""
    if begin == end:
        return "%g" % end
    return "%g->%g" % (begin, end)


def stage_table(stages, unit):
    """Per-stage rows (summarise_stages()) -> (header, rows of cells)."""
    columns = with_corrected(STAGE_COLUMNS, stages[0], after="p99_s")
    columns += tuple(("cpu_%%:%s" % key[4:], key, "%.0f", 1)
                     for key in stages[0] if key.startswith("cpu:"))
    header = [UNIT_HEADERS[unit] if key == "target" else name
              for name, key, _, _ in columns]
    cells = []
    for row in stages:
        row = dict(row, target=format_target(row["from"], row["to"]),
                   start_s=format_instant(row["start_s"]),
                   end_s=format_instant(row["end_s"]))
        cells.append(row_cells(row, columns=columns))
    return header, cells


def format_stages(stages, unit):
    """The per-stage table as aligned lines."""
    header, cells = stage_table(stages, unit)
    widths = [max(len(c[i]) for c in cells + [header])
              for i in range(len(header))]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))
    return ["per stage:", line(header)] + [line(c) for c in cells]


def format_settings(settings):
    return ["%s: %s" % (k, json.dumps(v) if not isinstance(v, str) else v)
            for k, v in settings.items()]


def format_offsets(inputs, offsets):
    """The line that says how far alignment() moved each aligned input,
    when there are several: [] else."""
    aligned = [(name, offset) for name, offset in zip(inputs, offsets or ())
               if offset is not None]
    if len(aligned) < 2:
        return []
    return ["aligned on started_epoch_s: " + ", ".join(
        "%s +%gs" % pair for pair in aligned)]


def format_header(inputs, tally, interval_s, settings, wanted=None,
                  offsets=None):
    lines = ["crunch %s: %s, %d rows, interval %gs" % (
        __version__, ", ".join(inputs), tally.rows, interval_s)]
    lines += format_offsets(inputs, offsets)
    if wanted:
        lines.append("names: %s (%d rows)" % (", ".join(
            shown(n) for n in wanted), tally.counts.counted))
    if settings:
        lines.append("settings: " + ", ".join(format_settings(settings)))
    return lines


def error_counts(counts):
    """(errors, 5xx, transport errors, failed by a script) of a tally's
    Counts, by hammer.error_class(): every error row once."""
    classes = counts.classes
    return (sum(classes.values()), classes["5xx"], classes["transport"],
            classes["script"])


def format_kinds(kinds):
    """A Counter of error kinds as `timeout 3, reset 1`: most first."""
    return ", ".join("%s %d" % (k or "unknown", n) for k, n in sorted(
        kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def format_counts(counts):
    """A tally's Counts: status codes, and errors broken down as hammer's
    summary does, one line: `status: 200 x 9, 404 x 1, 503 x 2; errors 5
    (4xx: 1; 5xx: 2; transport: timeout 1; failed by the script: check 1;
    tasks: KeyError 1)`."""
    parts = ["%d x %d" % (code, n) for code, n in sorted(
        counts.statuses.items()) if code]
    line = "status: " + (", ".join(parts) or "none")
    errors, server, transport, script = error_counts(counts)
    if not errors:
        return line + "; errors none"
    parts = ["%s: %d" % kv for kv in hammer.status_classes(counts.classes)]
    if transport:
        parts.append("transport: " + (format_kinds(counts.kinds)
                                      or "%d" % transport))
    if script:
        parts.append("failed by the script: " + format_kinds(counts.checked))
    if counts.tasks:
        parts.append("tasks: " + format_kinds(counts.tasks))
    return line + "; errors %d (%s)" % (errors, "; ".join(parts))


# The per-name tables: after the method and name (left-aligned text),
# Locust's columns: requests, fails, median, p95, p99, avg, min, max and
# req/s; the open model adds CORRECTED_COLUMNS after max_ms.
NAME_COLUMNS = (
    ("requests", "requests", "%d", 1),
    ("fails", "errors", "%d", 1),
    ("fails_%", "error_pct", "%.2f", 1),
    ("median_ms", "p50_s", "%.3f", 1000),
    ("p95_ms", "p95_s", "%.3f", 1000),
    ("p99_ms", "p99_s", "%.3f", 1000),
    ("avg_ms", "mean_s", "%.3f", 1000),
    ("min_ms", "min_s", "%.3f", 1000),
    ("max_ms", "max_s", "%.3f", 1000),
    ("req/s", "rps", "%.1f", 1),
)
NAME_SECTIONS = (
    # (section, title, header of the count, whether the method shows)
    ("requests", "per name:", "requests", True),
    ("timers", "timers:", "count", False),
)
OTHER_NAME = "(other)"          # the rows summed past NAMES_MAX keys


def shown(text):
    """A method or name for a text table or a chart: control characters
    escaped (a name may hold a newline), None as OTHER_NAME."""
    if text is None:
        return OTHER_NAME
    return "".join(c if 32 <= ord(c) < 127 or ord(c) >= 160
                   else repr(c)[1:-1] for c in text)


def name_tables(rows):
    """Per-name rows (summarise_names()) -> [(title, header, cells,
    text columns)] for each section that has rows: requests, timers,
    then task failures (name, failures and their kinds)."""
    tables = []
    for section, title, count, with_method in NAME_SECTIONS:
        part = [r for r in rows if r["section"] == section]
        if not part:
            continue
        columns = with_corrected(NAME_COLUMNS, part[0])
        header = [h if k != "requests" else count for h, k, _, _ in columns]
        text = ["method", "name"] if with_method else ["name"]
        cells = [([shown(r["method"])] if with_method else []) +
                 [shown(r["name"])] + row_cells(r, columns=columns)
                 for r in part]
        tables.append((title, text + header, cells, len(text)))
    tasks = [r for r in rows if r["section"] == "tasks"]
    if tasks:
        tables.append(("task failures:", ["name", "failures", "kinds"], [
            [shown(r["name"]), "%d" % r["requests"],
             format_kinds(r["error_kinds"]) or "-"] for r in tasks], 1))
    return tables


def aligned(header, cells, left=0, last_left=False):
    """A table's lines: the first `left` columns left-aligned (and the
    last, with last_left), the others right-aligned."""
    widths = [max(len(c[i]) for c in cells + [header])
              for i in range(len(header))]
    lefts = set(range(left)) | (set([len(header) - 1]) if last_left
                                else set())
    return ["  ".join((c.ljust(w) if i in lefts else c.rjust(w))
                      for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in [header] + cells]


def format_names(rows):
    """The per-name tables as text lines."""
    lines = []
    for title, header, cells, left in name_tables(rows):
        lines.append(title)
        lines += aligned(header, cells, left)
    return lines


# The per-node table: after the node and its host, these columns, then
# the marks (mark_nodes()).
NODE_COLUMNS = columns_of("requests rps p95_s error_pct")


def node_table(rows):
    """Per-node rows (summarise_nodes()) -> (header, rows of cells)."""
    header = ["node", "host"] + [h for h, _, _, _ in NODE_COLUMNS] + [""]
    cells = [["%d" % r["node"], shown(r["host"] or "")]
             + row_cells(r, columns=NODE_COLUMNS)
             + ["<- " + ", ".join(r["marks"]) if r["marks"] else ""]
             for r in rows]
    return header, cells


def format_nodes(rows):
    """The per-node table as text lines."""
    return ["per node:"] + aligned(*node_table(rows), left=2, last_left=True)


def format_latencies(totals):
    """The open model's two latency views of the totals, each named as in
    hammer's summary, and what the corrected_* columns are: [] when the
    rows have no scheduled time."""
    if "corrected_histogram" not in totals:
        return []
    return ["%s %s" % (label, hammer.format_latency(totals[key]))
            for label, key in LATENCY_VIEWS] + [CORRECTED_LEGEND]


def format_verdicts(verdicts):
    """Each threshold's line, as in hammer's summary."""
    return ["threshold   %s: %s %s" % (
        t.expr, hammer.format_threshold_value(t.metric, value),
        "ok" if ok else "FAILED") for t, value, ok in verdicts]


def format_change(change):
    if change is None:
        return "-"
    if math.isinf(change):
        return "new"
    return "%+.1f%%" % change


def format_metric(key, row):
    """A compared metric of a totals row, as people read it."""
    value = shown_value(row, key)
    if value is None:
        return "-"
    if key.endswith("_s"):
        return "%.3f ms" % (value * 1000)
    if key == "requests":
        return "%d" % value
    return "%.2f" % value


def format_compare(comparison, base, run, tolerance_pct):
    """compare_totals() of the totals rows base and run, as lines."""
    header = ("metric", "base", "run", "change", "")
    rows = [(c["metric"], format_metric(c["key"], base.totals),
             format_metric(c["key"], run.totals),
             format_change(c["change_pct"]),
             c["verdict"].upper() if c["verdict"] == "regression"
             else c["verdict"]) for c in comparison]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(5)]
    lines = ["compared with %s (tolerance %g%%):" % (base.inputs[0],
                                                     tolerance_pct)]
    for r in [header] + rows:
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
                     .rstrip())
    return lines


def compare_names_table(compared):
    """Per-name comparison (compare_names()) -> (header, cells): each
    name's change in % per judged metric, and its verdict."""
    judged = [(key, label) for key, label, _, on in COMPARE_METRICS if on]
    header = ["method", "name"] + [label for _, label in judged] + [""]
    cells = []
    for c in compared:
        changes = dict((m["key"], m["change_pct"]) for m in c["metrics"] or [])
        cells.append([shown(c["method"]), shown(c["name"])] + [
            format_change(changes.get(key)) for key, _ in judged] + [
            c["verdict"].upper() if c["verdict"] == "regression"
            else c["verdict"]])
    return header, cells


def format_compare_names(compared, base_name):
    """Per-name comparison as text lines."""
    return ["per name, compared with %s:" % base_name] + aligned(
        *compare_names_table(compared), left=2, last_left=True)


def format_report(run, base, comparison, tolerance_pct, verdicts,
                  compared=None):
    """The text report's lines: the header, the interval table, the
    counts, the open model's latencies, the per-node and per-name tables,
    the stages, the comparison (in total, then per name) and the
    thresholds."""
    totals = run.totals
    lines = format_header(run.inputs, run.tally, run.interval_s,
                          run.settings, run.wanted, run.offsets)
    lines += format_table(run.rows, totals,
                          with_corrected(TABLE_COLUMNS, totals))
    lines.append(format_counts(run.tally.counts))
    lines += format_latencies(totals)
    if run.nodes:
        lines += format_nodes(run.nodes)
    if run.names:
        lines += format_names(run.names)
    if run.stages:
        lines += format_stages(run.stages, run.unit)
    if run.hosts is not None:
        lines += format_hosts(run.hosts)
    if comparison is not None:
        lines += format_compare(comparison, base, run, tolerance_pct)
    if compared:
        lines += format_compare_names(compared, base.inputs[0])
    return lines + format_verdicts(verdicts or [])


def format_csv(rows, totals, names=None, nodes=None):
    """The CSV's lines: the intervals and the totals row, then, with the
    per-name rows, one row per name labelled `name` and the columns
    method and name added at the end, then, with the per-node rows, one
    row per node labelled `node` and the columns node, host and mark
    added after those (quoted as the csv module quotes)."""
    columns = with_corrected(TABLE_COLUMNS, totals)
    header = csv_header(columns)
    body = table_cells(rows, totals, "", columns)
    parts = [(names, ["method", "name"]), (nodes, ["node", "host", "mark"])]
    parts = [(part, added) for part, added in parts if part is not None]
    for part, added in parts:
        header = header + added
        body = [cells + [""] * len(added) for cells in body]
        for row in part:
            label = "name" if added[0] == "method" else "node"
            cells = row_cells(dict(row, start_s=0.0), "", label, columns)
            body.append(cells + [""] * (len(header) - len(cells)
                                        - len(added))
                        + extra_cells(row, label))
    return [",".join(header)] + [",".join(cells) for cells in body]


def extra_cells(row, label):
    """The cells a name's or a node's CSV row ends with."""
    if label == "name":
        return [hammer.csv_cell(row["method"]),
                hammer.csv_cell(row["name"] or "")]
    return ["%d" % row["node"], hammer.csv_cell(row["host"] or ""),
            hammer.csv_cell(", ".join(row["marks"]))]


def json_number(key, value):
    """Round a float so that the last bits of a sum (which depend on how the
    input was cut into blocks) never show: ns for times, else 6 decimals."""
    if not isinstance(value, float):
        return value
    return round(value, 9 if key.endswith("_s") else 6)


def json_report(run, comparison=None, verdicts=None, compared=None):
    """A Run (and --compare's comparison and compared, --fail-if's
    verdicts) as the JSON report: an OrderedDict."""
    inputs, tally, totals = run.inputs, run.tally, run.totals
    clean = lambda row: dict((k, json_number(k, v)) for k, v in row.items()
                             if not k.endswith("histogram")
                             and k not in HIDDEN_KEYS)
    report = collections.OrderedDict()
    report["crunch"] = __version__
    report["inputs"] = inputs
    report["offsets_s"] = run.offsets or [None] * len(inputs)
    report["interval_s"] = run.interval_s
    report["end_s"] = json_number("end_s", run.end[0])
    report["end_from"] = run.end[1]
    report["settings"] = run.settings
    counts = tally.counts
    report["rows"] = tally.rows
    report["malformed"] = tally.reader.malformed
    report["first_malformed_line"] = tally.reader.first_bad
    report["statuses"] = collections.OrderedDict(
        (str(k), v) for k, v in sorted(counts.statuses.items()))
    report["transport_errors"] = collections.OrderedDict(
        sorted(counts.kinds.items()))
    report["script_errors"] = collections.OrderedDict(
        sorted(counts.checked.items()))
    report["errors"] = collections.OrderedDict(zip(
        ("total", "5xx", "transport", "script"), error_counts(counts)))
    for which, n in hammer.status_classes(counts.classes):
        report["errors"][which] = n     # 4xx under the rule, ...
    if counts.tasks:
        report["errors"]["tasks"] = sum(counts.tasks.values())
        report["task_errors"] = collections.OrderedDict(
            sorted(counts.tasks.items()))
    report["intervals"] = [clean(r) for r in run.rows]
    report["totals"] = clean(totals)
    if run.nodes is not None:
        report["nodes"] = [clean(r) for r in run.nodes]
    if run.names is not None:
        report["name_filter"] = run.wanted
        report["names"] = [clean(r) for r in run.names]
        report["names_lumped"] = tally.names.lumped
    if run.stages is not None:
        report["stage_target"] = run.unit
        report["stages"] = [clean(r) for r in run.stages]
    if run.hosts is not None:
        report["hosts"] = collections.OrderedDict((
            ("file", run.hosts.path), ("intervals", run.hosts.rows),
            ("summary", hammer.monitor_summary(run.hosts.samples)),
            ("bottleneck", run.hosts.bottleneck),
            ("trust", run.hosts.trust)))
    if verdicts is not None:
        report["thresholds"] = [collections.OrderedDict((
            ("expr", t.expr), ("value", json_number("value_s", value)),
            ("ok", ok))) for t, value, ok in verdicts]
    finite = lambda metrics: [collections.OrderedDict(
        (k, (None if isinstance(v, float) and math.isinf(v) else v))
        for k, v in m.items()) for m in metrics]
    if comparison is not None:
        report["compare"] = finite(comparison)
    if compared is not None:
        report["compare_names"] = [collections.OrderedDict(
            (k, finite(v) if k == "metrics" and v else v)
            for k, v in c.items()) for c in compared]
    return report


# --- HTML report -------------------------------------------------------------

CHART_W, CHART_H = 900, 260
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 64, 16, 28, 36
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
BASE_COLOR = "#999999"
NAME_COLORS = COLORS + ("#8c564b", "#e377c2", "#17becf")
CDF_POINTS_MAX = 400
LEGEND_LABEL_MAX = 40           # characters of a name in a chart's legend
LEGEND_ROW_H = 16

esc = html.escape


def nice_step(span, ticks=5):
    """A round tick step (1, 2 or 5 times a power of ten) for a span."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def fmt_num(v):
    """Short, stable text for an axis label."""
    if v == 0:
        return "0"
    if abs(v) >= 100 or v == int(v):
        return "%d" % round(v)
    return ("%.3f" % v).rstrip("0").rstrip(".")


def axis_top(low, high):
    """A y axis from low up to high: (its tick step, its top)."""
    step = nice_step(high - low)
    return step, max(step, math.ceil(high / step) * step)


class Chart(object):
    """An SVG plot area with linear or log axes, and a second y axis on the
    right when `right` is (label, (low, high)); pure string building."""

    def __init__(self, title, x_label, y_label, x_range, y_range,
                 log_x=False, right=None):
        self.title, self.x_label, self.y_label = title, x_label, y_label
        self.log_x = log_x
        x0, x1 = x_range
        if log_x:
            x0, x1 = math.log10(x0), math.log10(x1)
        if x1 <= x0:
            x1 = x0 + 1
        y0, y1 = y_range
        self.y_step, y1 = axis_top(y0, y1)
        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1
        self.margin = PLOT_RIGHT
        self.right = None       # (label, low, top, tick step)
        if right is not None:
            label, (low, high) = right
            step, top = axis_top(low, high)
            self.right, self.margin = (label, low, top, step), PLOT_LEFT
        self.parts = []
        self.height = CHART_H

    def px(self, x):
        if self.log_x:
            x = math.log10(x)
        w = CHART_W - PLOT_LEFT - self.margin
        return PLOT_LEFT + (x - self.x0) / (self.x1 - self.x0) * w

    def py(self, y, right=False):
        h = CHART_H - PLOT_TOP - PLOT_BOTTOM
        y0, y1 = self.right[1:3] if right else (self.y0, self.y1)
        return CHART_H - PLOT_BOTTOM - (y - y0) / (y1 - y0) * h

    def line(self, points, color, dashed=False, width=1.5, right=False):
        if not points:
            return
        text = " ".join("%.1f,%.1f" % (self.px(x), self.py(y, right))
                        for x, y in points)
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        self.parts.append('<polyline fill="none" stroke="%s" stroke-width="%g"'
                          '%s points="%s"/>' % (color, width, dash, text))

    def dots(self, points, color, radius=1.6, opacity=0.5, right=False):
        out = ['<g fill="%s" fill-opacity="%g">' % (color, opacity)]
        out.extend('<circle cx="%.1f" cy="%.1f" r="%g"/>'
                   % (self.px(x), self.py(y, right), radius)
                   for x, y in points)
        out.append("</g>")
        self.parts.append("".join(out))

    def _right_axis(self, right):
        """The right axis' tick labels and its label."""
        out = []
        label, y, top, step = self.right
        while y <= top + 1e-9 * step:
            out.append('<text x="%d" y="%.1f" text-anchor="start">%s</text>'
                       % (right + 6, self.py(y, True) + 4, esc(fmt_num(y))))
            y += step
        middle = (PLOT_TOP + CHART_H - PLOT_BOTTOM) // 2
        out.append('<text x="%d" y="%d" text-anchor="middle" '
                   'transform="rotate(90 %d %d)">%s</text>'
                   % (CHART_W - 14, middle, CHART_W - 14, middle, esc(label)))
        return out

    def _axes(self):
        out = []
        left, right = PLOT_LEFT, CHART_W - self.margin
        bottom = CHART_H - PLOT_BOTTOM
        y = self.y0
        while y <= self.y1 + 1e-9 * self.y_step:
            py = self.py(y)
            out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" '
                       'stroke="#e5e5e5"/>' % (left, right, py, py))
            out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                       % (left - 6, py + 4, esc(fmt_num(y))))
            y += self.y_step
        if self.right is not None:
            out += self._right_axis(right)
        if self.log_x:
            ticks = [10.0 ** e for e in range(int(math.floor(self.x0)),
                                             int(math.ceil(self.x1)) + 1)]
            ticks = [t for t in ticks
                     if self.x0 - 1e-9 <= math.log10(t) <= self.x1 + 1e-9]
        else:
            step = nice_step(self.x1 - self.x0, 8)
            first = math.ceil(self.x0 / step) * step
            ticks = [first + i * step for i in
                     range(int((self.x1 - first) / step + 1e-9) + 1)]
        for t in ticks:
            px = self.px(t)
            out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" '
                       'stroke="#e5e5e5"/>' % (px, px, PLOT_TOP, bottom))
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                       % (px, bottom + 16, esc(fmt_num(t))))
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
                   'stroke="#888"/>' % (left, PLOT_TOP, right - left,
                                        bottom - PLOT_TOP))
        out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>'
                   % ((left + right) // 2, CHART_H - 4, esc(self.x_label)))
        out.append('<text x="14" y="%d" text-anchor="middle" '
                   'transform="rotate(-90 14 %d)">%s</text>'
                   % ((PLOT_TOP + bottom) // 2, (PLOT_TOP + bottom) // 2,
                      esc(self.y_label)))
        out.append('<text x="%d" y="18" class="title">%s</text>'
                   % (left, esc(self.title)))
        return out

    def legend(self, entries):
        x = CHART_W - self.margin - 8
        for i, (label, color, dashed) in enumerate(reversed(entries)):
            w = 28 + 7 * len(label)
            x -= w
            dash = ' stroke-dasharray="5,3"' if dashed else ""
            self.parts.append(
                '<line x1="%d" x2="%d" y1="14" y2="14" stroke="%s" '
                'stroke-width="2"%s/><text x="%d" y="18">%s</text>'
                % (x, x + 18, color, dash, x + 22, esc(label)))

    def legend_below(self, entries):
        """The legend in rows under the chart, for many or long labels
        (each cut to LEGEND_LABEL_MAX characters)."""
        x, row = PLOT_LEFT, 0
        for label, color, dashed in entries:
            if len(label) > LEGEND_LABEL_MAX:
                label = label[:LEGEND_LABEL_MAX - 1] + "~"
            w = 36 + 8 * len(label)
            if x + w > CHART_W - self.margin and x > PLOT_LEFT:
                x, row = PLOT_LEFT, row + 1
            y = CHART_H + 10 + LEGEND_ROW_H * row
            dash = ' stroke-dasharray="5,3"' if dashed else ""
            self.parts.append(
                '<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" '
                'stroke-width="2"%s/><text x="%d" y="%d">%s</text>'
                % (x, x + 18, y, y, color, dash, x + 22, y + 4, esc(label)))
            x += w
        self.height = CHART_H + 10 + LEGEND_ROW_H * (row + 1)

    def svg(self):
        body = self._axes() + self.parts
        height = self.height
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" '
                'height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">'
                '%s</svg>' % (CHART_W, height, CHART_W, height,
                              esc(self.title), "".join(body)))


def series(rows, key, scale=1.0):
    """(interval middle, value) points, skipping intervals without a value."""
    return [(r["start_s"] + r["width_s"] / 2, r[key] * scale)
            for r in rows if r[key] is not None]


def x_range(*row_lists):
    starts = [r["start_s"] for rows in row_lists for r in rows]
    ends = [r["start_s"] + r["width_s"] for rows in row_lists for r in rows]
    return (min(starts), max(ends)) if starts else (0.0, 1.0)


def y_max(*point_lists):
    ys = [y for points in point_lists for _, y in points]
    return max(ys) if ys and max(ys) > 0 else 1.0


def chart_over_time(title, y_label, lines, xr, below=False):
    """lines: (label, color, dashed, points); the legend under the chart
    when below."""
    chart = Chart(title, "elapsed (s)", y_label, xr,
                  (0.0, y_max(*[p for _, _, _, p in lines])))
    for _, color, dashed, points in lines:
        chart.line(points, color, dashed)
    entries = [(label, color, dashed) for label, color, dashed, _ in lines]
    if below:
        chart.legend_below(entries)
    else:
        chart.legend(entries)
    return chart.svg()


def cdf_points(hist):
    """(latency ms, % of responses at or below) from a hammer.Histogram
    (its keys whole microseconds)."""
    buckets = sorted(hist.counts.items())
    points, seen = [], 0
    step = max(1, len(buckets) // CDF_POINTS_MAX)
    for i, (us, count) in enumerate(buckets):
        seen += count
        if i % step == 0 or i == len(buckets) - 1:
            points.append((max(us, 1) / 1000.0, 100.0 * seen / hist.n))
    return points


def report_charts(run, base):
    """The SVG charts of a run and, when given, its baseline (dashed)."""
    rows = run.rows
    base_rows = base.rows if base else []
    xr = x_range(rows, base_rows)
    svgs = []
    tp = [("req/s", COLORS[0], False, series(rows, "rps"))]
    if base:
        tp.append(("base req/s", BASE_COLOR, True, series(base_rows, "rps")))
    svgs.append(throughput_chart(tp, run.plan, run.unit, xr))
    lat = []
    for i, p in enumerate((50, 90, 99)):
        key = "p%d_s" % p
        lat.append(("p%d" % p, COLORS[i], False, series(rows, key, 1000)))
        if base:
            lat.append(("base p%d" % p, COLORS[i], True,
                        series(base_rows, key, 1000)))
    for which, data in (("", run), ("base ", base)):
        if data and "corrected_responses" in data.totals:
            lat.append((which + "corrected p99", COLORS[4], bool(which),
                        series(data.rows, "corrected_p99_s", 1000)))
    svgs.append(chart_over_time("Latency percentiles", "ms", lat, xr))
    err = [("errors %", COLORS[3], False, series(rows, "error_pct"))]
    if base:
        err.append(("base errors %", BASE_COLOR, True,
                    series(base_rows, "error_pct")))
    svgs.append(chart_over_time("Error rate", "% of requests", err, xr))
    svgs.append(scatter_chart(run, base, xr))
    svgs.append(cdf_chart(run, base))
    if run.stages and len(run.stages) >= CAPACITY_POINTS_MIN:
        svgs.append(capacity_chart(run, base))
    elif run.stages:
        svgs.append('<p class="note">No capacity chart: it draws a point'
                    ' per stage, and the %s that ran %s too few to read'
                    ' a curve from (it needs %d or more: --stages or'
                    ' --cycles with more steps).</p>' % (
                        "stage" if len(run.stages) == 1
                        else "%d stages" % len(run.stages),
                        "is" if len(run.stages) == 1 else "are",
                        CAPACITY_POINTS_MIN))
    for section, label in (("requests", "requests"), ("timers", "timers")):
        svg = names_chart(run, section, label, xr)
        if svg:
            svgs.append(svg)
    return svgs


def busiest(rows, section):
    """The keys of a section's busiest names, at most CHART_NAMES_MAX (the
    first by requests, then name, as summarise_names() sorts them), and
    the keys of the others."""
    part = [r for r in rows if r["section"] == section]
    keys = [(r["method"], r["name"]) for r in part]
    return keys[:CHART_NAMES_MAX], keys[CHART_NAMES_MAX:]


def names_chart(run, section, label, xr):
    """The p95 over time of a section's busiest names, the others summed
    as "other", from the names' Timeline; None when the section has no
    names.  The corrected p95 when the rows have scheduled times."""
    timeline = run.tally.names.timeline
    if not run.names or timeline is None:
        return None
    top, rest = busiest(run.names, section)
    if not top:
        return None
    width, corrected = run.interval_s, run.names_open
    lines = []
    for i, key in enumerate(top):
        text = shown(key[1]) if section == "timers" else "%s %s" % (
            shown(key[0]), shown(key[1]))
        points = timeline.series([key], width, corrected)
        lines.append((text, NAME_COLORS[i % len(NAME_COLORS)], False,
                      [(x, y * 1000) for x, y in points]))
    if rest:
        points = timeline.series(rest, width, corrected)
        lines.append(("other", BASE_COLOR, True,
                      [(x, y * 1000) for x, y in points]))
    title = "%sp95 over time, busiest %s" % (
        "corrected " if corrected else "", label)
    return chart_over_time(title, "ms", lines, xr, below=True)


def plan_points(plan, lo, hi):
    """A stage plan's target from instant lo to hi, as line points: linear
    within a stage, a step where a stage has no length."""
    points = [(lo, hammer.target_at(plan, lo))]
    for s in plan:
        for t, target in ((s.start_s, s.begin), (s.end_s, s.end)):
            if lo < t < hi:
                points.append((t, target))
    return points + [(hi, hammer.target_at(plan, hi))]


def throughput_chart(lines, plan, unit, xr):
    """Throughput over time, with the plan's target: req/s on the same
    axis, users on one of their own on the right."""
    if not plan:
        return chart_over_time("Throughput", "requests/s", lines, xr)
    target = plan_points(plan, xr[0], xr[1])
    if unit == "req/s":
        return chart_over_time("Throughput", "requests/s", lines + [
            ("target req/s", COLORS[2], False, target)], xr)
    chart = Chart("Throughput", "elapsed (s)", "requests/s", xr,
                  (0.0, y_max(*[p for _, _, _, p in lines])),
                  right=("users", (0.0, y_max(target))))
    for _, color, dashed, points in lines:
        chart.line(points, color, dashed)
    chart.line(target, COLORS[2], right=True)
    chart.legend([(label, color, dashed) for label, color, dashed, _
                  in lines] + [("users (right)", COLORS[2], False)])
    return chart.svg()


def mean_target(row):
    """A stage's mean target over the part of it the run lasted."""
    length = row["end_s"] - row["start_s"]
    share = min(1.0, row["width_s"] / length) if length > 0 else 1.0
    return row["from"] + (row["to"] - row["from"]) * share / 2.0


def capacity_points(run):
    """A run's capacity curve: (req/s points, p95 ms points), one per
    stage at its mean target, and the same per interval (dots) at the
    target of the interval's middle.  p95 is the corrected one when the
    rows have scheduled times."""
    key = ("corrected_p95_s" if "corrected_responses" in run.totals
           else "p95_s")
    stages = run.stages or []
    x = [mean_target(r) for r in stages]
    curve = ([(t, r["rps"]) for t, r in zip(x, stages)],
             [(t, r[key] * 1000) for t, r in zip(x, stages)
              if r[key] is not None])
    middle = [hammer.target_at(run.plan, r["start_s"] + r["width_s"]
                               / 2) for r in run.rows] if run.plan else []
    dots = ([(t, r["rps"]) for t, r in zip(middle, run.rows)],
            [(t, r[key] * 1000) for t, r in zip(middle, run.rows)
             if r[key] is not None])
    return curve, dots


def capacity_chart(run, base):
    """Throughput and p95 against the target (users or req/s): one point
    per stage joined in stage order, FunkLoad's capacity curve, over a dot
    per interval; the baseline's curve dashed."""
    curve, dots = capacity_points(run)
    base_curve = capacity_points(base)[0] if base and base.stages else (
        [], [])
    label = "corrected p95" if "corrected_responses" in run.totals \
        else "p95"
    everything = curve + dots + base_curve
    xs = [x for points in everything for x, _ in points]
    unit = run.unit
    chart = Chart("Capacity: throughput and %s against %s" % (
        label, "users" if unit == "users" else "the target rate"),
        "users" if unit == "users" else "target req/s", "requests/s",
        (0.0, max(xs + [1.0])), (0.0, y_max(curve[0], dots[0],
                                             base_curve[0])),
        right=(label + " ms", (0.0, y_max(curve[1], dots[1],
                                          base_curve[1]))))
    for i, right in ((0, False), (1, True)):
        chart.dots(dots[i], COLORS[i], opacity=0.3, right=right)
        chart.line(base_curve[i], BASE_COLOR, True, right=right)
        chart.line(curve[i], COLORS[i], right=right)
        chart.dots(curve[i], COLORS[i], radius=3, opacity=1, right=right)
    entries = [("req/s", COLORS[0], False),
               (label + " (right)", COLORS[1], False)]
    if base_curve[0]:
        entries.append(("base", BASE_COLOR, True))
    chart.legend(entries)
    return chart.svg()


def scatter_title(shown, requests):
    """The scatter's title: all the requests, or a sample of them."""
    if shown < requests:
        return "Response times (a sample of %d of %d requests)" % (shown,
                                                                 requests)
    return "Response times (all %d requests)" % requests


def scatter_chart(run, base, xr):
    points = sorted(run.sample)
    base_points = sorted(base.sample) if base else []
    # The y axis fits the responses; transport errors (often a timeout
    # long) sit at the top edge when they are slower than every response.
    ys = [p[1] * 1000 for p in points + base_points if p[2]]
    top = max(ys) if ys else max([p[1] * 1000 for p in points] or [1.0])
    chart = Chart(scatter_title(len(points), run.tally.counts.counted),
                  "elapsed (s)", "ms", xr, (0.0, top))
    clamp = lambda sample: [(p[0], min(p[1] * 1000, chart.y1))
                            for p in sample]
    if base_points:
        chart.dots(clamp(base_points), BASE_COLOR, opacity=0.35)
    chart.dots(clamp(p for p in points if not p[3]), COLORS[0])
    chart.dots(clamp(p for p in points if p[3]),
               COLORS[3], radius=2.2, opacity=0.8)
    entries = [("response", COLORS[0], False), ("error", COLORS[3], False)]
    if base_points:
        entries.append(("base", BASE_COLOR, False))
    chart.legend(entries)
    return chart.svg()


def cdf_chart(run, base):
    lines = [("run", COLORS[0], False, cdf_points(run.totals["histogram"]))]
    if "corrected_histogram" in run.totals:
        lines.append(("corrected", COLORS[4], False,
                      cdf_points(run.totals["corrected_histogram"])))
    if base:
        lines.append(("base", BASE_COLOR, True,
                      cdf_points(base.totals["histogram"])))
    xs = [x for _, _, _, p in lines for x, _ in p]
    lo = min(xs) if xs else 0.1
    hi = max(xs) if xs else 1.0
    lo = 10 ** math.floor(math.log10(lo))
    hi = 10 ** math.ceil(math.log10(hi)) if hi > lo else lo * 10
    chart = Chart("Latency distribution (CDF)", "ms (log scale)",
                  "% of responses", (lo, hi), (0.0, 100.0), log_x=True)
    for _, color, dashed, points in lines:
        chart.line(points, color, dashed)
    chart.legend([(label, color, dashed) for label, color, dashed, _ in lines])
    return chart.svg()


HTML_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
h3 { font-size: 15px; margin-top: 18px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 3px 9px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.total td { font-weight: bold; border-top: 2px solid #888; }
svg { display: block; margin: 10px 0 18px; font-size: 11px; }
svg .title { font-size: 14px; font-weight: bold; }
.regression { color: #c00; font-weight: bold; }
.better { color: #070; }
.warn { color: #a60; }
.note { color: #555; font-style: italic; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; }
details { margin-top: 28px; } summary { font-size: 17px; font-weight: bold; }
"""


def html_table(header, rows, classes=None):
    out = ["<table><tr>%s</tr>" % "".join("<th>%s</th>" % esc(h)
                                         for h in header)]
    for i, cells in enumerate(rows):
        cls = classes[i] if classes else ""
        out.append("<tr%s>%s</tr>" % (' class="%s"' % cls if cls else "",
                                      "".join("<td>%s</td>" % esc("%s" % c)
                                              for c in cells)))
    out.append("</table>")
    return "".join(out)


HTML_NAME_TITLES = {"per name:": "Requests", "timers:": "Timers",
                    "task failures:": "Task failures"}


def percent_of(n, total):
    return "%.2f" % (100.0 * n / total) if total else "-"


def format_statuses(statuses):
    """{code (int or text): rows} as `200 x 9, 404 x 2`, by code."""
    return ", ".join("%s x %d" % (code, n) for code, n in sorted(
        statuses.items(), key=lambda kv: int(kv[0])))


def error_rows(counts, rule):
    """The report's errors by kind: (class, kind, rows, % of the rows:
    the requests and the failed tasks the errors count) per kind of each
    class of hammer.classify() under the error rule (failed tasks by
    their exception's type), the class's rows of no kind by status (a
    4xx, a 5xx), the biggest class first."""
    total = counts.counted + counts.classes[hammer.TASK_CLASS]
    rows = []
    for which, n in sorted(counts.classes.items(),
                           key=lambda kv: (-kv[1], kv[0])):
        kinds = counts.class_kinds.get(which) or (
            counts.tasks if which == hammer.TASK_CLASS
            else collections.Counter())
        for kind, k in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append((which, kind or "unknown", k, percent_of(k, total)))
        rest = n - sum(kinds.values())
        if rest > 0:
            codes = [code for code in sorted(counts.statuses) if code
                     and hammer.error_class(code, "", rule) == which]
            rows.append((which, "status " + ", ".join(map(str, codes))
                         if codes else "-", rest, percent_of(rest, total)))
    return rows


def name_failure_rows(names):
    """Per (method, name): requests, failures, failure %, statuses and
    failure kinds, in summarise_names()' order."""
    return [(shown(r["method"]), shown(r["name"]), r["requests"], r["errors"],
             percent_of(r["errors"], r["requests"]),
             format_statuses(r.get("statuses") or {}),
             format_kinds(r["error_kinds"])) for r in names]


def settings_details(settings):
    """The run's settings, folded: those set in a table, the names of
    those that are null on one line."""
    given = [(k, v if isinstance(v, str) else json.dumps(v))
             for k, v in settings.items() if v is not None]
    unset = [k for k, v in settings.items() if v is None]
    out = ["<details><summary>Run settings (%d set, %d not set)</summary>"
           % (len(given), len(unset))]
    if given:
        out.append(html_table(("setting", "value"), given))
    if unset:
        out.append("<p>Not set: %s.</p>" % esc(", ".join(unset)))
    out.append("</details>")
    return "\n".join(out)


SIZING_REASONS = {"condition": "breaking point", "plateau": "throughput"
                  " plateau", "saturated": "hammer saturated before the"
                  " target broke", "max": "no breaking point"}


def sizing_line(settings):
    """What hammer --sizing found, from its settings' summary.sizing, as
    one line; None without it (or when it is not what hammer writes)."""
    summary = (settings or {}).get("summary")
    sizing = summary.get("sizing") if isinstance(summary, dict) else None
    if not (isinstance(sizing, dict)
            and sizing.get("reason") in SIZING_REASONS
            and is_seconds(sizing.get("users"))
            and is_seconds(sizing.get("rps"))):
        return None
    where = "%d users" % sizing["users"]
    if is_seconds(sizing.get("target_rps")):
        where = "a target of %s req/s" % fmt_num(sizing["target_rps"])
    line = "sizing: %s at %s (%s req/s)" % (
        SIZING_REASONS[sizing["reason"]], where, fmt_num(sizing["rps"]))
    if is_seconds(sizing.get("abandoned")) and sizing["abandoned"]:
        line += "; %d requests in flight at its stop abandoned (no errors)" \
            % sizing["abandoned"]
    return line


def verdict_html(run, columns, cells, verdicts):
    """The report's first section: the totals, what --sizing found, the
    errors by kind, the thresholds."""
    out = ["<h2>Verdict</h2>", html_table([h for h, _, _, _ in columns],
                                          cells[-1:], ["total"])]
    out.extend("<p>%s</p>" % esc(line)
               for line in format_latencies(run.totals))
    sizing = sizing_line(run.settings)
    if sizing:
        out.append("<p>%s</p>" % esc(sizing))
    out.append("<h3>Errors by kind</h3>")
    rows = error_rows(run.tally.counts, hammer.rule_of(run.settings))
    if rows:
        out.append(html_table(("class", "kind", "rows", "% of rows"), rows))
    else:
        out.append("<p>No errors.</p>")
    if verdicts:
        out.append("<h3>Thresholds</h3>")
        out.append(html_table(("threshold", "value", "verdict"), [
            (t.expr, hammer.format_threshold_value(t.metric, value),
             "ok" if ok else "FAILED") for t, value, ok in verdicts],
            ["better" if ok else "regression" for _, _, ok in verdicts]))
    return out


def hosts_html(run):
    """The report's Hosts section: the verdicts, then a chart per host
    (CPU busy, busiest core and memory in %, the network in Mb/s on the
    right), on the latency charts' time axis, with the stage edges."""
    hosts = run.hosts
    out = ["<h2>Hosts</h2>", "<p>%s</p>" % esc(hosts.path)]
    out += ["<p>%s</p>" % esc(line) for line in hammer.format_verdicts(
        hosts.bottleneck, hosts.trust)]
    xr = x_range(run.rows)
    inside = lambda points: [(t, v) for t, v in points
                             if xr[0] <= t <= xr[1]]
    edges = [s["start_s"] for s in run.stages or ()][1:]
    for host, keys in host_points(hosts.samples).items():
        lines = [(label, COLORS[i], False, inside(keys.get(key, [])))
                 for i, (label, key) in enumerate((
                     ("CPU busy %", "cpu"), ("busiest core %", "core_max"),
                     ("memory %", "mem")))]
        net = inside(keys.get("net", []))
        chart = Chart("Host %s" % host, "elapsed (s)", "%", xr, (0.0, 100.0),
                      right=("Mb/s", (0.0, y_max(net))) if net else None)
        for _, color, dashed, points in lines:
            chart.line(points, color, dashed)
        if net:
            chart.line(net, COLORS[3], right=True)
        for edge in edges:
            chart.line([(edge, 0.0), (edge, 100.0)], BASE_COLOR, True, 1.0)
        chart.legend_below([(label, color, dashed) for label, color, dashed, _
                            in lines] + ([("network Mb/s (right)", COLORS[3],
                                           False)] if net else []))
        out.append(chart.svg())
    return out


def render_html(run, base=None, comparison=None, tolerance_pct=None,
                verdicts=None, compared=None):
    """The whole report as one string: no script, no outside resource.
    The verdict (totals, errors by kind, thresholds) first, the run's
    settings last, folded."""
    title = "crunch report: %s" % ", ".join(run.inputs)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>%s</title>" % esc(title),
           "<style>%s</style></head><body>" % HTML_STYLE,
           "<h1>%s</h1>" % esc(title)]
    tally = run.tally
    out.append("<p>%d rows, interval %s s. %s</p>" % (
        tally.rows, esc(fmt_num(run.interval_s)),
        esc(format_counts(tally.counts))))
    out.extend("<p>%s</p>" % esc(line)
               for line in format_offsets(run.inputs, run.offsets))
    for warning in run.warnings:
        out.append('<p class="warn">%s</p>' % esc(warning))
    columns = with_corrected(TABLE_COLUMNS, run.totals)
    header = [h for h, _, _, _ in columns]
    cells = table_cells(run.rows, run.totals, columns=columns)
    out += verdict_html(run, columns, cells, verdicts)
    statuses = tally.counts.statuses
    if statuses:
        out.append("<h2>Status codes</h2>")
        out.append(html_table(("status", "rows", "% of rows"), [
            (code if code else "0 (no response)", n,
             percent_of(n, tally.counts.counted))
            for code, n in sorted(statuses.items())]))
    if run.names:
        out.append("<h2>Per name</h2>")
        for title, header_row, name_cells, _ in name_tables(run.names):
            out.append("<h3>%s</h3>" % esc(HTML_NAME_TITLES[title]))
            out.append(html_table(header_row, name_cells))
        out.append("<h3>Failures and statuses per name</h3>")
        out.append(html_table(("method", "name", "rows", "failures",
                               "failure %", "statuses", "failure kinds"),
                              name_failure_rows(run.names)))
    if run.failures:
        out.append("<h2>Script failures</h2>")
        for kind, count, text in run.failures:
            out.append("<h3>%s</h3>" % esc("%d x %s" % (count, kind)))
            if text:
                out.append("<pre>%s</pre>" % esc(text))
    if run.nodes:
        out.append("<h2>Per node</h2>")
        out.append(html_table(*node_table(run.nodes), classes=[
            "regression" if r["marks"] else "" for r in run.nodes]))
    if run.stages:
        out.append("<h2>Stages</h2>")
        out.append(html_table(*stage_table(run.stages, run.unit)))
    if comparison is not None:
        out.append("<h2>Compared with %s (tolerance %s%%)</h2>" % (
            esc(", ".join(base.inputs)), esc(fmt_num(tolerance_pct))))
        rows = [(c["metric"], format_metric(c["key"], base.totals),
                 format_metric(c["key"], run.totals),
                 format_change(c["change_pct"]), c["verdict"])
                for c in comparison]
        out.append(html_table(("metric", "base", "run", "change", "verdict"),
                              rows, [c["verdict"] for c in comparison]))
    if compared:
        out.append("<h3>Per name</h3>")
        header_row, name_cells = compare_names_table(compared)
        out.append(html_table(header_row[:-1] + ["verdict"], name_cells,
                              [c["verdict"] for c in compared]))
    out.append("<h2>Charts</h2>")
    out.extend(report_charts(run, base))
    if run.hosts is not None:
        out += hosts_html(run)
    out.append("<h2>Intervals</h2>")
    out.append(html_table(header, cells,
                          [""] * (len(cells) - 1) + ["total"]))
    if run.settings:
        out.append(settings_details(run.settings))
    out.append("<p>crunch %s</p></body></html>" % esc(__version__))
    return "\n".join(out) + "\n"


# --- reading input -----------------------------------------------------------


def load_settings(path):
    """hammer's run settings beside a CSV, or None when absent or broken."""
    try:
        with open(path + hammer.SETTINGS_SUFFIX, "r") as f:
            data = json.load(f, object_pairs_hook=collections.OrderedDict)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_first_line(f):
    """The first line of a binary stream, without its newline, and the
    newline (b"" when the stream ends first).  Raises InputError when the
    line is longer than LINE_MAX_B: more of it is never read."""
    line = f.readline(LINE_MAX_B + 1)
    if line.endswith(b"\n"):
        return line[:-1], b"\n"
    if len(line) > LINE_MAX_B:
        raise InputError("the first line is longer than %d bytes: not a"
                         " results file" % LINE_MAX_B)
    return line, b""


def skip_line(f):
    """Read past the next newline, at most READ_BLOCK_B bytes at a time;
    returns how many bytes that was."""
    skipped = 0
    while True:
        part = f.readline(READ_BLOCK_B)
        skipped += len(part)
        if not part or part.endswith(b"\n"):
            return skipped


def split_long_lines(block):
    """A block of whole lines -> the runs of lines no longer than
    LINE_MAX_B, with None in place of each longer line."""
    lines = block.split(b"\n") if len(block) > LINE_MAX_B + 1 else ()
    if not lines or max(map(len, lines)) <= LINE_MAX_B:
        yield block
        return
    start = end = 0
    for line in lines[:-1]:
        end += len(line) + 1
        if len(line) > LINE_MAX_B:
            if start < end - len(line) - 1:
                yield block[start:end - len(line) - 1]
            yield None
            start = end
    if start < len(block):
        yield block[start:]


def read_blocks(f, pending=b"", stop=None):
    """Blocks of whole lines from a binary stream, each ending with a
    newline but perhaps the stream's last, and None in place of each line
    longer than LINE_MAX_B (newline not counted), which is read past in
    bounded memory.  pending: the start of the first line, already read.
    With `stop`, the lines that start in the next `stop` bytes; else every
    line to the end.  Time is linear and memory bounded, whatever the
    lines' lengths."""
    left = math.inf if stop is None else stop
    while left > 0:
        data = f.read(min(READ_BLOCK_B, left))
        if not data:
            if pending:
                yield pending
            return
        left -= len(data)
        data = pending + data
        cut = data.rfind(b"\n") + 1
        pending = data[cut:]
        if cut:
            for block in split_long_lines(data[:cut]):
                yield block
        if len(pending) > LINE_MAX_B:
            yield None
            left -= skip_line(f)
            pending = b""
    if pending:         # the line that starts before stop runs past it
        line = pending + f.readline(LINE_MAX_B + 2 - len(pending))
        ended = line.endswith(b"\n")
        if len(line) - ended > LINE_MAX_B:
            if not ended:
                skip_line(f)
            line = None
        yield line


def range_blocks(f, start, stop):
    """read_blocks() of the lines of a seekable binary stream that begin
    at byte offsets in [start, stop)."""
    start = line_start(f, start)
    if start < stop:
        for block in read_blocks(f, stop=stop - start):
            yield block


def feed(tally, blocks):
    """Count blocks of lines, as read_blocks() gives them, in tally."""
    for block in blocks:
        if block is None:
            tally.add_long_line()
        else:
            tally.add_block(block)


Counting = collections.namedtuple(
    "Counting", "interval_s sample stage_edges wanted pinned offset_s"
                " too_wide rule")
Counting.__new__.__defaults__ = (False, None, None, frozenset(), 0.0, False,
                                 None)
Counting.__doc__ = """How a Tally counts: Tally(fmt, *counting).  too_wide:
the input is known to need too many intervals (probed()), so the rows
are read for their elapsed times alone.  rule: the input's error rule,
as its settings record it (hammer.rule_of()); None, hammer.LEGACY_RULE,
for a file written before hammer recorded it, or without settings."""

RangeJob = collections.namedtuple("RangeJob",
                                  "path fmt start stop counting aligned")
RangeJob.__doc__ = """A worker's part of a file: the records that begin
at byte offsets in [start, stop), counted as counting says; start is a
record's start when aligned, else the next line starts one."""


def line_start(f, start):
    """The offset of the first line that begins at or after start in a
    seekable binary stream, which is left there."""
    f.seek(max(start - 1, 0))
    if start and f.read(1) != b"\n":
        start += skip_line(f)
    return start


def crunch_range(job):
    """Worker: a RangeJob -> the frozen Tally of its records, with `span`,
    the offsets of its first record and past its last.  A record that a
    quoted field holds open at the range's end is read to its end, so
    span ends where the next record starts; the next range's span starts
    there unless a quoted field held a newline over the cut (then
    crunch_ranges() reads that range again, aligned)."""
    tally = Tally(job.fmt, *job.counting)
    with open(job.path, "rb") as f:
        if job.aligned:
            start = job.start
            f.seek(start)
        else:
            start = line_start(f, job.start)
        end = start
        if start < job.stop:
            feed(tally, read_blocks(f, stop=job.stop - start))
            finish_record(f, tally)
            end = f.tell()
    tally.span = (start, end)
    return tally.freeze()


def finish_record(f, tally):
    """Feed tally the lines of f, one at a time, while a quoted field
    keeps its last record open."""
    while tally.reader.carry:
        line = f.readline(LINE_MAX_B + 1)
        if not line:
            return
        if len(line) > LINE_MAX_B and not line.endswith(b"\n"):
            skip_line(f)
            tally.add_long_line()
        else:
            tally.add_block(line)


def shown_name(name):
    return "<stdin>" if name == "-" else name


def crunch_input(name, counting, stdin, processes):
    """One file (or '-') -> frozen Tally, counted as counting says.  Files
    past MIN_PARALLEL_B are cut into byte ranges crunched by `processes`
    worker processes.  Raises InputError, its message starting with the
    input's name."""
    f = None
    try:
        f = stdin if name == "-" else open(name, "rb")
        tally = read_input(f, name, counting, processes)
        reader = tally.reader
        if not tally.rows and reader.malformed:
            raise InputError("no valid rows: %d malformed line%s, the first"
                             " is line %d" % (reader.malformed, "s" if
                                              reader.malformed > 1 else "",
                                              reader.first_bad))
        if not tally.rows:
            raise InputError("no valid rows")
        return tally
    except OSError as exc:
        raise InputError("%s: %s" % (shown_name(name), exc.strerror or exc))
    except InputError as exc:
        raise InputError("%s: %s" % (shown_name(name), exc))
    finally:
        if f is not None and f is not stdin:
            f.close()


def read_input(f, name, counting, processes):
    """An open input -> frozen Tally (see crunch_input)."""
    line, sep = read_first_line(f)
    rest = b"" if line.strip() else f.read(1)
    if not line.strip() and not rest:
        raise InputError("empty input")
    fmt, has_header = parse_first_line(line)
    size = os.fstat(f.fileno()).st_size if name != "-" else 0
    regular = name != "-" and os.path.isfile(name)
    body_start = len(line) + len(sep) if has_header else 0
    if regular:
        counting = probed(f, fmt, body_start, size, counting)
    if regular and processes > 1 and size >= MIN_PARALLEL_B:
        tally = crunch_ranges(name, fmt, body_start, size, counting,
                              processes, has_header)
    else:
        tally = Tally(fmt, *counting)
        if has_header:
            tally.reader.lines = 1
            first = b""
        else:
            first = line + sep
        feed(tally, read_blocks(f, pending=first + rest))
    return tally.freeze()


def ends_span(f, fmt, body_start, size):
    """The elapsed times of a seekable file's first and last rows (its
    body from body_start), or None when either line is no row; the file
    is left where it was."""
    at = f.tell()
    try:
        f.seek(body_start)
        first = parse_line(f.readline(LINE_MAX_B + 1).rstrip(b"\r\n"), fmt)
        start = max(body_start, size - LINE_MAX_B)
        f.seek(start)
        tail = f.read(size - start).rstrip(b"\r\n").rsplit(b"\n", 1)
        if len(tail) < 2 and start > body_start:
            return None     # the last line may start before the tail read
        last = parse_line(tail[-1].rstrip(b"\r"), fmt)
    finally:
        f.seek(at)
    if first is None or last is None:
        return None
    return first.elapsed, last.elapsed


def probed(f, fmt, body_start, size, counting):
    """counting, made too_wide when the elapsed times of a regular file's
    first and last rows (ends_span(), moved by offset_s) already need
    more than INTERVALS_MAX intervals, with a margin for the rounding of
    moved times: every row is then read for its elapsed time alone, and
    none is counted in a bucket, as the run is refused (hammer writes its
    rows about in time order)."""
    span = ends_span(f, fmt, body_start, size)
    if span is not None and not counting.too_wide:
        lo, hi = sorted(round(t + counting.offset_s, 6) for t in span)
        if intervals_needed(lo, hi, counting.interval_s) > INTERVALS_MAX + 2:
            return counting._replace(too_wide=True)
    return counting


def range_edges(start, stop, processes):
    """Byte offsets that cut [start, stop) into ranges for `processes`
    workers: each range a share of what is left, at most RANGE_B and at
    least RANGE_MIN_B, so that the last ones are small and the workers
    finish together."""
    edges = [start]
    while edges[-1] < stop:
        left = stop - edges[-1]
        step = min(RANGE_B, max(RANGE_MIN_B, left // (2 * processes)))
        edges.append(min(stop, edges[-1] + step))
    return edges


def crunch_ranges(path, fmt, body_start, size, counting, processes,
                  has_header):
    """Cut a file into byte ranges and crunch them in a process pool; the
    tallies merge in file order, so the result does not depend on the
    number of processes.  A range that does not start where the one
    before it ended (a quoted name held a newline over the cut) is read
    again from there, in this process."""
    edges = range_edges(body_start, size, processes)
    jobs = [RangeJob(path, fmt, a, b, counting, a == body_start)
            for a, b in zip(edges, edges[1:])]
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        context = multiprocessing.get_context()
    total = Tally(fmt, *counting)
    total.reader.lines = 1 if has_header else 0
    end = body_start
    with context.Pool(min(processes, len(jobs))) as pool:
        for job, part in zip(jobs, pool.imap(crunch_range, jobs)):
            if part.span[0] != end:
                part = crunch_range(job._replace(start=end, aligned=True))
            total.merge(part, line_offset=total.reader.lines)
            end = part.span[1]
    return total


def crunch_inputs(names, counting, stdin, processes, all_settings,
                  offsets=None):
    """Several inputs, their settings (or None) and their offsets from
    alignment() (None: all None) -> (merged Tally, warnings, (end, where
    from), sources), the end the latest of the inputs' run_end(), each
    moved by its input's offset; sources as node_plan() takes them.  The
    rows of an input whose settings give its node (and that has no node
    column) count as that node's.  Raises InputError."""
    merged, warnings, end, sources = None, [], None, []
    for i, name in enumerate(names):
        offset = (offsets and offsets[i]) or 0.0
        settings = all_settings[i]
        tally = crunch_input(name, counting._replace(
            offset_s=offset, rule=hammer.rule_of(settings)), stdin, processes)
        shown = shown_name(name)
        source = COLUMN if tally.fmt.node is not None else settings_node(
            settings)
        if source not in (None, COLUMN):
            bucketer = tally.bucketer
            tally.nodes.whole(source, tally.counts.counted, sum(
                b.errors - b.tasks for b in bucketer.buckets.values()),
                bucketer.total, bucketer.corrected_total)
        sources.append(source)
        seconds, source, warning = run_end(settings,
                                           tally.max_elapsed - offset,
                                           tally.last_end - offset)
        seconds += offset
        if warning:
            warnings.append("%s%s: %s" % (name, hammer.SETTINGS_SUFFIX,
                                          warning))
        if end is None or seconds > end[0]:
            end = (seconds, source)
        reader = tally.reader
        if reader.truncated is not None:
            warnings.append("%s: skipped the truncated last line %d"
                            % (shown, reader.truncated))
        if reader.malformed:
            warnings.append("%s: skipped %d malformed line%s, the first is"
                            " line %d" % (shown, reader.malformed,
                                          "" if reader.malformed == 1 else "s",
                                          reader.first_bad))
        merged = tally if merged is None else merged.merge(tally)
    try:
        merged.bucketer.check()
    except InputError as exc:
        raise InputError("%s: %s" % (", ".join(map(shown_name, names)), exc))
    return merged, warnings, end, sources


# --- a run: inputs -> Run ----------------------------------------------------


def name_warnings(tally, wanted):
    """What to say of the names: the keys past NAMES_MAX summed, and
    --name's names that no row has.  Raises InputError when no row has
    any of them."""
    warnings = []
    if tally.names.lumped:
        warnings.append("more than %d method and name pairs: the per-name"
                        " figures keep %d of them (by a hash of each, the"
                        " same in every run) and sum the rest as %s"
                        % (NAMES_MAX, NAMES_MAX, OTHER_NAME))
    if wanted:
        found = set(key_text(key[1]) for key in tally.names.entries)
        missing = [n for n in wanted if n not in found]
        if len(missing) == len(wanted):
            raise InputError("no rows named %s" % ", ".join(
                "%r" % n for n in missing))
        warnings += ["no rows named %r" % n for n in missing]
    return warnings


Run = collections.namedtuple(
    "Run", "inputs interval_s tally rows totals offsets settings warnings"
           " end sample unit stages plan wanted names names_open nodes"
           " failures hosts")
Run.__doc__ = """Everything the outputs need of some inputs (crunch_run()).

inputs: their names as shown (<stdin> for '-'); interval_s; tally: the
merged, frozen Tally; rows and totals: summarise()'s interval rows and
totals row; offsets: alignment()'s (None each input not moved);
settings: the first input's, or None; warnings: lines to say; end:
run_end()'s (seconds, where from); sample: the scatter's points; unit
and plan: the stage plan's unit and PlannedStages (None without one);
stages: summarise_stages()' rows; wanted: --name's names or None;
names: summarise_names()' rows (None without method or name columns);
names_open: whether the names' latency is from the intended send;
nodes: summarise_nodes()' rows, or None; failures: script_failures()
of the inputs' settings; hosts: the monitor file's Hosts, or None."""


def script_failures(all_settings):
    """The failures a script raised, as the inputs' settings record them
    (hammer's summary.failures: {kind, count, text}) -> [(kind, count,
    text)], each kind once over the inputs (counts added, the first
    text kept), the most first; malformed entries are left out."""
    merged = collections.OrderedDict()
    for one in all_settings:
        summary = (one or {}).get("summary")
        failures = summary.get("failures") if isinstance(summary,
                                                         dict) else None
        for entry in failures if isinstance(failures, list) else ():
            if not (isinstance(entry, dict)
                    and isinstance(entry.get("kind"), str)
                    and isinstance(entry.get("text"), str)
                    and isinstance(entry.get("count"), int)):
                continue
            mine = merged.setdefault(entry["kind"], [0, entry["text"]])
            mine[0] += entry["count"]
    return sorted(((kind, count, text) for kind, (count, text)
                   in merged.items()), key=lambda f: (-f[1], f[0]))


def crunch_run(names, interval_s, sample, stdin, processes, wanted=None,
               pinned=(), monitor=None):
    """Inputs -> their Run.  wanted: None, or the names (text) whose rows
    alone count (--name); pinned: names never summed past NAMES_MAX
    (--fail-if's); monitor: --monitor's file (monitor_file())."""
    all_settings = [load_settings(n) if n != "-" else None for n in names]
    unit, stages, plan_warning = stage_plan(names, all_settings)
    edges = None
    if stages and timed_stages(stages)[0]:
        edges = timed_stages(stages)[1]
    encode = lambda texts: frozenset(t.encode("utf-8") for t in texts)
    counting = Counting(interval_s, sample, edges, wanted and encode(wanted),
                        encode(pinned))
    offsets, warnings = alignment(names, all_settings)
    tally, more, end, sources = crunch_inputs(names, counting, stdin,
                                              processes, all_settings,
                                              offsets)
    warnings += more + name_warnings(tally, wanted)
    rows, totals = summarise(tally, interval_s, end[0])
    if plan_warning:
        warnings.append(plan_warning)
    short = cut_short(all_settings, stages, end[0])
    if short:
        warnings.append(short)
    hosts, node_warning = node_plan(names, all_settings, sources)
    if node_warning:
        warnings.append(node_warning)
    counts = tally.counts
    if 0 < counts.scheduled_rows < counts.counted:
        warnings.append("%d of %d rows have a scheduled time: the corrected"
                        " latency covers only those" % (
                            counts.scheduled_rows, counts.counted))
    names_open = any(b.corrected is not None
                     for b in tally.names.entries.values())
    stage_rows = stages and summarise_stages(tally, stages, end[0])
    monitored = None
    path = monitor_file(monitor, names)
    if path is not None:
        samples = read_monitor(path)
        points = host_points(samples)
        monitored = Hosts(path, samples, host_intervals(points, interval_s),
                          None, None)
        if stage_rows:
            stage_cpu(stage_rows, points)
    return Run(
        inputs=[shown_name(n) for n in names], interval_s=interval_s,
        tally=tally, rows=rows, totals=totals, offsets=offsets,
        settings=all_settings[0], warnings=warnings, end=end,
        sample=tally.sample or [], unit=unit,
        stages=stage_rows, plan=stages, wanted=wanted,
        names=summarise_names(tally, totals["width_s"], names_open)
        if tally.names.entries else None, names_open=names_open,
        nodes=hosts is not None and summarise_nodes(
            tally, hosts, totals["width_s"]) or None,
        failures=script_failures(all_settings), hosts=monitored)


# --- hosts: hammer --monitor's samples beside the rows -----------------------

# The hosts table's columns: (header, key, format); each sample's metric
# goes to a key, the per-interface, per-disk and per-process ones combined
# at each instant (summed, or the greatest).
HOST_COLUMNS = (
    ("cpu_%", "cpu", "%.0f"),
    ("core_max_%", "core_max", "%.0f"),
    ("iowait_%", "iowait", "%.1f"),
    ("mem_%", "mem", "%.1f"),
    ("load1", "load1", "%.2f"),
    ("net_Mbps", "net", "%.1f"),
    ("disk_max_%", "disk", "%.0f"),
    ("procs_cpu_%", "procs", "%.0f"),
)
HOST_KEYS = {
    "cpu_busy_pct": ("cpu", None), "cpu_core_max_pct": ("core_max", max),
    "cpu_iowait_pct": ("iowait", None), "mem_used_pct": ("mem", None),
    "load1": ("load1", None), "net_rx_mbps": ("net", sum),
    "net_tx_mbps": ("net", sum), "disk_util_pct": ("disk", max),
    "proc_cpu_pct": ("procs", sum)}
MONITOR_LINES_MAX = 10000000    # a longer monitor file is refused
Hosts = collections.namedtuple("Hosts", "path samples rows bottleneck trust")
Hosts.__doc__ = """--monitor's part of a Run: the file, its hammer.Samples,
host_intervals()' rows, and the verdicts (hammer.monitor_verdicts())."""


def monitor_file(given, names):
    """The monitor file to read: --monitor's, else <first input>.monitor.csv
    when it exists, else None."""
    if given is not None:
        return given
    if names and names[0] != "-":
        path = names[0] + hammer.MONITOR_SUFFIX
        if os.path.isfile(path):
            return path
    return None


def read_monitor(path):
    """<output>.monitor.csv -> [hammer.Sample]; InputError names a bad
    header or line."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            header = f.readline()
            if header != hammer.MONITOR_HEADER:
                raise InputError("%r is not a monitor file: its header is"
                                 " %r, not %r" % (
                                     path, header[:HEADER_SHOWN_MAX],
                                     hammer.MONITOR_HEADER.strip()))
            samples = []
            for number, line in enumerate(f, 2):
                if number > MONITOR_LINES_MAX:
                    raise InputError("%r has more than %d lines"
                                     % (path, MONITOR_LINES_MAX))
                fields = line.rstrip("\n").rsplit(",", 2)
                try:
                    elapsed, host = fields[0].split(",", 1)
                    sample = hammer.Sample(float(elapsed), host, fields[1],
                                           float(fields[2]))
                except (ValueError, IndexError):
                    raise InputError("%s line %d: not elapsed,host,metric,"
                                     "value: %r" % (path, number, line[:80]))
                if not (math.isfinite(sample.elapsed)
                        and math.isfinite(sample.value)):
                    raise InputError("%s line %d: not a finite number"
                                     % (path, number))
                samples.append(sample)
    except OSError as exc:
        raise InputError("cannot read %r: %s" % (path, exc.strerror or exc))
    return samples


def host_points(samples):
    """{host: {key: [(elapsed, value)]}}, the keys of HOST_KEYS, each
    instant's per-interface (per-disk, per-process) values combined."""
    at = collections.OrderedDict()
    for s in samples:
        key, combine = HOST_KEYS.get(hammer.metric_base(s.metric),
                                     (None, None))
        if key is not None:
            at.setdefault(s.host, collections.OrderedDict()).setdefault(
                (s.elapsed, key), [combine, []])[1].append(s.value)
    points = collections.OrderedDict()
    for host, cells in at.items():
        mine = points.setdefault(host, {})
        for (elapsed, key), (combine, values) in cells.items():
            mine.setdefault(key, []).append(
                (elapsed, combine(values) if combine else values[-1]))
    return points


def host_intervals(points, width):
    """Rows {start_s, host, key: mean} per interval of width seconds and
    host, in time then host order."""
    cells = {}
    for host, keys in points.items():
        for key, values in keys.items():
            for elapsed, value in values:
                number = int(math.floor(elapsed / width))
                cells.setdefault((number, host), {}).setdefault(
                    key, []).append(value)
    order = dict((host, i) for i, host in enumerate(points))
    rows = []
    for number, host in sorted(cells, key=lambda c: (c[0], order[c[1]])):
        row = collections.OrderedDict((("start_s", number * width),
                                       ("host", host)))
        for _, key, _ in HOST_COLUMNS:
            values = cells[number, host].get(key)
            row[key] = sum(values) / len(values) if values else None
        rows.append(row)
    return rows


def stage_cpu(stages, points):
    """Each stage row (summarise_stages()) gains 'cpu:HOST', the mean of
    the host's cpu_busy_pct samples inside the stage (None without)."""
    for row in stages:
        for host, keys in points.items():
            values = [v for t, v in keys.get("cpu", ())
                      if row["start_s"] < t <= row["end_s"]]
            row["cpu:" + host] = sum(values) / len(values) if values else None
    return stages


def settings_stages(settings, end_s):
    """The settings' stage plan as hammer.Stages (one stage to the run's
    end without a plan)."""
    stages = []
    for s in (settings or {}).get("stages") or ():
        try:
            stages.append(hammer.Stage(float(s["start_s"]), float(s["end_s"]),
                                       float(s["from"]), float(s["to"])))
        except (KeyError, TypeError, ValueError):
            return [hammer.Stage(0.0, end_s, 0, 0)]
    return stages or [hammer.Stage(0.0, end_s, 0, 0)]


def judge_hosts(run, checks):
    """hammer.monitor_verdicts() of a Run with a monitor file: the run's
    periods are its intervals; sizing, speeds, offsets and the hosts lost
    come from its settings, as hammer recorded them; checks: --fail-if's
    verdicts (judge())."""
    settings = run.settings or {}
    summary = settings.get("summary") if isinstance(
        settings.get("summary"), dict) else {}
    monitor = settings.get("monitor") if isinstance(
        settings.get("monitor"), dict) else {}
    periods = [hammer.Period(r["start_s"] + r["width_s"], r["requests"],
                             r["errors"], r.get("p95_s"))
               for r in run.rows]
    sizing = slo = None
    found = summary.get("sizing")
    try:
        if isinstance(found, dict) and "at_s" in found:
            sizing = hammer.SizingResult(
                found["reason"], found["users"], found.get("target_rps"),
                found["rps"], None, None, float(found["at_s"]))
        if isinstance(settings.get("sizing"), dict):
            slo = hammer.parse_threshold(settings["sizing"]["slo"])
    except (KeyError, TypeError, ValueError):
        sizing = slo = None
    late = False
    try:
        if "target_rps" in summary:
            late = hammer.rate_short(summary["target_rps"],
                                     summary["sent_rps"],
                                     summary["late"]["p99_ms"] / 1000.0)
    except (KeyError, TypeError):
        pass
    interval = monitor.get("interval_s")
    window = max(2 * (interval if is_seconds(interval) else 1.0),
                 (settings.get("sizing") or {}).get("window_s") or 0.0
                 if isinstance(settings.get("sizing"), dict) else 0.0)
    lost = monitor.get("lost") if isinstance(monitor.get("lost"),
                                             list) else []
    return hammer.monitor_verdicts(
        run.hosts.samples, periods,
        settings_stages(settings, run.end[0]),
        "corrected_responses" in run.totals, late, sizing, slo, checks,
        monitor.get("speeds") if isinstance(monitor.get("speeds"), dict)
        else None,
        monitor.get("offsets") if isinstance(monitor.get("offsets"), dict)
        else None, lost, window)


def hosts_table(rows):
    """The hosts table's header and text cells."""
    header = ["start_s", "host"] + [h for h, _, _ in HOST_COLUMNS]
    cells = [["%.1f" % r["start_s"], r["host"]] + [
        "-" if r[key] is None else form % r[key]
        for _, key, form in HOST_COLUMNS] for r in rows]
    return header, cells


def format_hosts(hosts):
    """The text report's hosts table and verdict lines."""
    header, cells = hosts_table(hosts.rows)
    lines = ["hosts per interval (%s):" % hosts.path]
    lines += aligned(header, cells, left=2)
    return lines + hammer.format_verdicts(hosts.bottleneck, hosts.trust)


# --- main --------------------------------------------------------------------


def build_parser():
    parser = hammer.ArgumentParser(
        prog="crunch",
        description="Per-interval throughput and latency from hammer's "
                    "results.csv, as a table, CSV, JSON or an HTML report.")
    parser.add_argument("inputs", nargs="+", metavar="FILE",
                        help="results CSV files, merged on elapsed (on the "
                             "clock when run with hammer's --start-at); '-' "
                             "reads stdin")
    parser.add_argument("--interval", type=hammer.duration_arg,
                        default=None, metavar="S",
                        help="interval width: 30, 30s, 500ms, 5m, 1h "
                             "(default: the first input's settings' "
                             "crunch_interval_s, else %gs)"
                        % DEFAULT_INTERVAL_S)
    parser.add_argument("--csv", metavar="FILE", default=None,
                        help="write the interval rows and totals as CSV, "
                             "and a row per name and per node "
                             "(default: off)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON instead of the table "
                             "(default: the table)")
    parser.add_argument("--html", metavar="FILE", default=None,
                        help="write a self-contained HTML report "
                             "(default: off)")
    parser.add_argument("--compare", metavar="BASE.csv", default=None,
                        help="compare the totals, and each name's, with a "
                             "baseline run; exit 1 on a regression "
                             "(default: off)")
    parser.add_argument("--tolerance", type=float,
                        default=DEFAULT_TOLERANCE_PCT, metavar="PCT",
                        help="change in %% that --compare lets pass "
                             "(default: %(default)s)")
    parser.add_argument("--fail-if", action="append", default=[],
                        metavar="EXPR",
                        help="exit 3 when EXPR fails, as hammer's --fail-if:"
                             " METRIC OP VALUE, METRIC one of %s; OP < <= >"
                             " >=; VALUE with us, ms or s for latency, %%%%"
                             " for errors, a number for rps and requests, as"
                             " in p95<500ms or errors<1%%%%; latency is from"
                             " the intended send when the rows have a"
                             " scheduled time; METRIC{NAME} OP VALUE judges"
                             " the rows of that name, as p95{checkout}<300ms"
                             " (a name no row has fails); repeatable"
                             " (default: none)"
                        % " ".join(hammer.THRESHOLD_METRICS))
    parser.add_argument("--name", action="append", default=[],
                        metavar="NAME",
                        help="count only the rows of this name, whatever"
                             " their method (timers and tasks too), in every"
                             " output; repeatable (default: every name, and"
                             " the totals count requests only)")
    parser.add_argument("--monitor", metavar="FILE", default=None,
                        help="hammer --monitor's samples to show beside the"
                             " rows, with the bottleneck and trust verdicts"
                             " (default: FILE.monitor.csv beside the first"
                             " input, when there is one)")
    parser.add_argument("--processes", type=hammer.positive_int_arg,
                        default=None, metavar="N",
                        help="worker processes for big files (default: the CPUs "
                             "this process may use)")
    parser.add_argument("--version", action="version",
                        version="crunch " + __version__)
    return parser


def parse_args(argv):
    """argv -> argparse namespace.  Bad usage raises SystemExit(2) after
    printing `crunch: error: ...` and `try 'crunch.py --help'`; --help and
    --version raise SystemExit(0) after printing."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.interval is not None and args.interval <= 0:
        parser.error("--interval must be > 0, got %g" % args.interval)
    if not (args.tolerance >= 0 and math.isfinite(args.tolerance)):
        parser.error("--tolerance must be a number >= 0, got %r"
                     % args.tolerance)
    try:
        args.thresholds = [hammer.parse_threshold(t) for t in args.fail_if]
    except ValueError as exc:
        parser.error("--fail-if: %s" % exc)
    if args.inputs.count("-") > 1 or args.compare == "-" and "-" in args.inputs:
        parser.error("stdin ('-') can be read only once")
    for name in args.name:
        if not name or hammer.has_control(name):
            parser.error("--name %r: a name is a request's, a timer's or a"
                         " task's, without control characters" % name)
    if args.csv and args.html and same_path(args.csv, args.html):
        parser.error("--csv and --html name the same file %r" % args.csv)
    inputs = [i for i in args.inputs + [args.compare] if i and i != "-"]
    for option, path in (("--csv", args.csv), ("--html", args.html)):
        for name in inputs + [i + hammer.SETTINGS_SUFFIX for i in inputs]:
            if path and same_path(path, name):
                parser.error("%s %r would overwrite the input %r"
                             % (option, path, name))
    return args


def interval_of(args):
    """--interval, else the first input's settings' crunch_interval_s (a
    multi-mechanize project's results_ts_interval), else
    DEFAULT_INTERVAL_S."""
    if args.interval is not None:
        return args.interval
    if args.inputs[0] != "-":
        value = (load_settings(args.inputs[0]) or {}).get("crunch_interval_s")
        if is_seconds(value) and value > 0:
            return float(value)
    return DEFAULT_INTERVAL_S


def same_path(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def write_text(path, text):
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except OSError as exc:
        raise InputError("cannot write %r: %s" % (path, exc.strerror or exc))


def main(argv=None, stdin=None, stdout=None, stderr=None):
    """Command line entry.  Returns 0 when done (--help and --version too),
    1 when hammer.py cannot be imported, the input cannot be read or is
    empty, an output cannot be written or --compare finds a regression, 2
    for bad usage (from argparse), 3 when a --fail-if threshold fails (and
    no regression was found), 130 when interrupted.  Every error is one
    `crunch: error: ...` line on stderr (with `try 'crunch.py --help'`
    after it, for bad usage)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if hammer is None:
        stderr.write("crunch: error: cannot import hammer.py: keep crunch.py"
                     " beside it\n")
        return 1
    try:
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            args = parse_args(argv)
    except SystemExit as exc:
        return exc.code
    processes = args.processes or hammer.available_cpus()
    if stdin is None:
        stdin = sys.stdin.buffer if sys.stdin is not None else None
    sample = args.html is not None
    wanted = args.name or None
    pinned = [t.name for t in args.thresholds if t.name is not None]
    try:
        interval_s = interval_of(args)
        run = crunch_run(args.inputs, interval_s, sample, stdin, processes,
                         wanted, pinned, args.monitor)
        base = comparison = compared = None
        if args.compare:
            base = crunch_run([args.compare], interval_s, sample, stdin,
                              processes, wanted, pinned)
            comparison = compare_totals(base.totals, run.totals,
                                        args.tolerance)
            if run.names is not None and base.names is not None:
                compared = compare_names(base.names, run.names,
                                         args.tolerance)
        for warning in run.warnings + (base.warnings if base else []):
            stderr.write("crunch: warning: %s\n" % warning)
        verdicts = trust = None
        if run.hosts is not None:
            trust = judge_hosts(run, [])[1]
        if args.thresholds:
            verdicts = judge(args.thresholds, run, trust)
        if run.hosts is not None:
            run = run._replace(hosts=run.hosts._replace(
                bottleneck=judge_hosts(run, verdicts or [])[0], trust=trust))
        if args.json:
            report = json_report(run, comparison, verdicts, compared)
            text = json.dumps(report, indent=1) + "\n"
        else:
            text = "\n".join(format_report(run, base, comparison,
                                           args.tolerance, verdicts,
                                           compared)) + "\n"
        if args.csv:        # files first: one that fails leaves stdout empty
            write_text(args.csv, "\n".join(format_csv(
                run.rows, run.totals, run.names, run.nodes))
                + "\n")
        if args.html:
            write_text(args.html, render_html(run, base, comparison,
                                              args.tolerance, verdicts,
                                              compared))
        stdout.write(text)
    except (InputError, OSError) as exc:
        stderr.write("crunch: error: %s\n" % exc)
        return 1
    except KeyboardInterrupt:
        print("crunch: interrupted", file=stderr)
        return 130
    if comparison and any(c["verdict"] == "regression"
                          for c in comparison + (compared or [])):
        return 1
    if verdicts and not all(ok for _, _, ok in verdicts):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

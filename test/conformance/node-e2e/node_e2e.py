#!/usr/bin/env python3
"""ONNX backend node tests end to end on the host target.

For every case folder under --data (Debian's libonnx-testdata, node/):
`kilnc model.onnx --target=host` makes a .so, run_case.py loads it through
the C API, feeds each test_data_set_*/input_*.pb and compares the outputs
with output_*.pb at the ONNX backend's tolerance (rtol 1e-3, atol 1e-7,
unless tolerances.txt names a looser one for the case).

Each case ends as one of
  pass         every output of every data set matches;
  fail         a wrong result, a run-time error, a crash or a timeout of
               kilnc or of the compiled code;
  unsupported  kilnc refused the model cleanly (unknown op, type, ...);
               its one-line error is kept;
  error        kilnc accepted the model's ops but failed later (a
               legalization or link error): a bug, listed by name;
  skipped      listed in node-e2e-skip.txt (run anyway, never gating).

    node_e2e.py --kilnc KILNC [--workdir DIR] [--report FILE] [--summary]

Without --summary, exits 1 when any case that is not skipped ends in `fail`
or `error`: kilnc accepted its ops, so it must give the right result.
With --summary, prints passed/total from --report (running the cases first
when the report is missing or older than kilnc or the skip list) and exits
0: coverage is information, correctness is what gates.
"""
import argparse
import collections
import concurrent.futures
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"
DEFAULT_SKIPS = os.path.join(HERE, "..", "node-e2e-skip.txt")
DEFAULT_TOLERANCES = os.path.join(HERE, "tolerances.txt")
# The ONNX backend test runner's defaults (onnx/backend/test/loader).
DEFAULT_RTOL, DEFAULT_ATOL = 1e-3, 1e-7
LIBRARY_NAME = "node"
# kilnc refuses what Kiln does not support with a one-line error naming the
# node, input or model and the reason. A diagnostic from a later stage (an
# MLIR verifier or legalization error, a link error) means Kiln accepted the
# ops and then could not build them: an `error`.
AFTER_IMPORT = re.compile(r"^loc\(|failed to legalize|linking .* failed|LLVM ERROR|"
                          r"verification failed|internal error", re.I)


def read_table(path):
    """NAME REST... lines of PATH, '#' comments ignored: {NAME: REST}."""
    table = {}
    if not os.path.exists(path):
        return table
    with open(path) as lines:
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, rest = line.partition(" ")
                table[name] = rest.strip()
    return table


def read_tolerances(path):
    """tolerances.txt: NAME RTOL ATOL REASON..."""
    tolerances = {}
    for name, rest in read_table(path).items():
        rtol, atol, _reason = (rest.split(None, 2) + ["", ""])[:3]
        tolerances[name] = (float(rtol), float(atol))
    return tolerances


def one_line_error(stderr, model_path):
    """kilnc's first error on one line, without the model's path."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    first = next((i for i, line in enumerate(lines) if "error" in line), 0)
    if not lines:
        return ""
    message = lines[first]
    if message.endswith(":") and first + 1 < len(lines):
        message += " " + lines[first + 1]  # "linking ... failed:" then the linker's reason
    message = message.replace("kilnc: error: ", "", 1)
    message = message.replace(model_path + ": ", "").replace(model_path, "model.onnx")
    return message[:300]


def compile_case(kilnc, model_path, library, timeout):
    """Returns None when kilnc made LIBRARY, else an outcome dict."""
    command = [kilnc, model_path, "--target=host", f"--name={LIBRARY_NAME}", "-o", library]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"outcome": "fail", "detail": f"kilnc timed out after {timeout} s"}
    if result.returncode == 0:
        if not os.path.exists(library):
            return {"outcome": "fail", "detail": "kilnc exited 0 but wrote no library"}
        return None
    message = one_line_error(result.stderr, model_path)
    if result.returncode < 0 or result.returncode >= 128:
        return {"outcome": "fail", "detail": f"kilnc crashed (status {result.returncode}): {message}"}
    if not message:
        return {"outcome": "fail", "detail": f"kilnc exited {result.returncode} without a message"}
    if AFTER_IMPORT.search(message):
        return {"outcome": "error", "detail": message}
    return {"outcome": "unsupported", "detail": message}


def run_compiled(library, case_dir, tolerance, timeout):
    rtol, atol = tolerance
    command = [sys.executable, os.path.join(HERE, "run_case.py"), library, LIBRARY_NAME, case_dir,
               "--rtol", repr(rtol), "--atol", repr(atol)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"outcome": "fail", "detail": f"run timed out after {timeout} s"}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"outcome": "fail", "detail": f"run crashed (status {result.returncode}): {tail}"[:300]}
    return json.loads(lines[-1])


def run_case(case_dir, args, tolerance):
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix=os.path.basename(case_dir) + ".", dir=args.workdir)
    try:
        library = os.path.join(workdir, f"lib{LIBRARY_NAME}.so")
        model_path = os.path.join(case_dir, "model.onnx")
        result = compile_case(args.kilnc, model_path, library, args.timeout)
        if result is None:
            result = run_compiled(library, case_dir, tolerance, args.timeout)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def run_all(args):
    cases = sorted(name for name in os.listdir(args.data)
                   if os.path.exists(os.path.join(args.data, name, "model.onnx"))
                   and re.search(args.filter, name))
    if not cases:
        sys.exit(f"no ONNX node tests under {args.data}: install Debian's libonnx-testdata "
                 "or pass --data")
    tolerances = read_tolerances(args.tolerances)
    os.makedirs(args.workdir, exist_ok=True)
    started = time.monotonic()
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_case, os.path.join(args.data, name), args,
                               tolerances.get(name, (DEFAULT_RTOL, DEFAULT_ATOL))): name
                   for name in cases}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            results[futures[future]] = future.result()
            if done % 100 == 0 or done == len(cases):
                print(f"... {done}/{len(cases)} cases, {time.monotonic() - started:.0f} s",
                      flush=True)
    return {"cases": results, "seconds": round(time.monotonic() - started, 1),
            "kilnc": os.path.abspath(args.kilnc)}


def skip_reason(name, skips):
    """The reason node-e2e-skip.txt gives for NAME (entries may be fnmatch
    patterns such as test_and*), or None."""
    for pattern, reason in skips.items():
        if fnmatch.fnmatchcase(name, pattern):
            return reason
    return None


def apply_skips(report, skips):
    for name, result in report["cases"].items():
        reason = skip_reason(name, skips)
        if reason is not None and result["outcome"] != "unsupported":
            result["skip_reason"] = reason
            result["outcome_if_run"] = result["outcome"]
            result["outcome"] = "skipped"


def stale_skips(report, skips):
    """Skip entries that no longer exclude a case that would not pass."""
    needed = set()
    for name, result in report["cases"].items():
        if result.get("outcome_if_run", "pass") != "pass":
            needed.update(p for p in skips if fnmatch.fnmatchcase(name, p))
    return sorted(set(skips) - needed)


def write_report(report, path):
    with open(path + ".tmp", "w") as out:
        json.dump(report, out, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)
    with open(os.path.splitext(path)[0] + ".txt", "w") as out:
        for name, result in sorted(report["cases"].items()):
            out.write(f"{name}: {result['outcome']}: {result.get('detail', '')}\n")


def reason_kind(detail):
    """An error message with names and numbers removed, to group by cause."""
    detail = re.sub(r"'[^']*'", "'_'", detail)
    detail = re.sub(r"\"[^\"]*\"", "'_'", detail)
    return re.sub(r"\d+", "N", detail)


def print_summary(report, skips):
    cases = report["cases"]
    counts = collections.Counter(result["outcome"] for result in cases.values())
    for name, result in sorted(cases.items()):
        if result["outcome"] in ("fail", "error"):
            print(f"{result['outcome'].upper()} {name}: {result['detail']}")
    by_reason = collections.defaultdict(collections.Counter)
    for result in cases.values():
        if result["outcome"] == "skipped":
            by_reason[result["skip_reason"]][result["outcome_if_run"]] += 1
    for reason, outcomes in sorted(by_reason.items()):
        print(f"skipped ({reason}): " + ", ".join(f"{n} would {o}" for o, n in sorted(outcomes.items())))
    for pattern in stale_skips(report, skips):
        print(f"note: node-e2e-skip.txt lists {pattern}, which excludes no failing case: remove it")
    kinds = collections.Counter(reason_kind(result["detail"]) for result in cases.values()
                                if result["outcome"] == "unsupported")
    print("Most common reasons for 'unsupported':")
    for kind, count in kinds.most_common(12):
        print(f"  {count:4d}  {kind}")
    total = len(cases)
    supported = total - counts["unsupported"]
    print(f"ONNX node tests on the host target: {counts['pass']} passed / {total} total "
          f"({100.0 * counts['pass'] / total:.1f}%); {counts['pass']} passed / {supported} "
          f"supported; {counts['fail']} failed, {counts['error']} kilnc errors after import, "
          f"{counts['skipped']} skipped "
          f"(node-e2e-skip.txt), {counts['unsupported']} not supported; "
          f"{report['seconds']} s with {report.get('jobs', '?')} workers")
    return counts


def report_is_current(path, kilnc, skips_path):
    if not os.path.exists(path):
        return False
    stamp = os.path.getmtime(path)
    inputs = [kilnc, skips_path, os.path.join(HERE, "node_e2e.py"), os.path.join(HERE, "run_case.py")]
    return all(os.path.getmtime(p) < stamp for p in inputs if os.path.exists(p))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--skips", default=DEFAULT_SKIPS)
    parser.add_argument("--tolerances", default=DEFAULT_TOLERANCES)
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "kiln-node-e2e"),
                        help="scratch folder for the compiled libraries (emptied per case)")
    parser.add_argument("--report", help="JSON report to write (a .txt beside it lists cases)")
    parser.add_argument("--filter", default="", help="regex on case names")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=120, help="seconds per compile and per run")
    parser.add_argument("--summary", action="store_true",
                        help="print passed/total from --report (rerun when stale); never fail")
    args = parser.parse_args()
    skips = read_table(args.skips)
    try:  # run_case.py runs under this interpreter and needs both
        import numpy, onnx  # noqa: F401, E401
    except ImportError as error:
        sys.exit(f"{sys.executable}: {error}: run with a Python that has numpy and onnx "
                 "(CMake's KILN_PYTHON; scripts/install-deps.sh makes one)")

    if args.summary and args.report and report_is_current(args.report, args.kilnc, args.skips):
        with open(args.report) as existing:
            report = json.load(existing)
        print(f"(from {args.report})")
    else:
        report = run_all(args)
        report["jobs"] = args.jobs
        apply_skips(report, skips)
        if args.report:
            write_report(report, args.report)
    counts = print_summary(report, skips)
    if args.summary:
        return 0
    broken = counts["fail"] + counts["error"]
    if broken:
        print(f"{broken} cases whose ops kilnc accepts do not pass (FAIL/ERROR above): fix them, "
              f"or list them with the reason in {os.path.relpath(args.skips)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

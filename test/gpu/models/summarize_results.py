#!/usr/bin/env python3
"""Turns the gpu-models.txt that scripts/gpu-models.sh run writes into JSON:
device, date, and per case the max abs error of each API path against the
host target and onnxruntime, with the time per run.

    summarize_results.py gpu-models.txt OUT.json
"""
import json
import re
import sys


def main():
    lines = open(sys.argv[1]).read().splitlines()
    result = {"date": lines[0].split(": ", 1)[1], "device": lines[1].split(": ", 1)[1],
              "cases": {}, "not_compiled": {}}
    case = reference = None
    for line in lines[2:]:
        if line.startswith("== memcheck"):
            case = None
            continue
        if m := re.match(r"== (\S+): not compiled: (.*)", line):
            result["not_compiled"][m.group(1)] = m.group(2).strip()
        elif m := re.match(r"== (\S+) vs (host|onnxruntime)( \(tolerance \S+\))?$", line):
            case, reference = m.group(1), m.group(2)
        elif case and (m := re.match(r"(time_per_run_us\S*) (\S+)", line)):
            result["cases"].setdefault(case, {})[f"{m.group(1)}_{reference}"] = float(m.group(2))
        elif case and (m := re.match(r"(.+): output \d+ '(.+)': max_abs_error (\S+) "
                                     r"max_abs_reference (\S+)", line)):
            entry = result["cases"].setdefault(case, {}).setdefault(f"vs_{reference}", {})
            entry[m.group(1)] = {"output": m.group(2), "max_abs_error": float(m.group(3)),
                                 "max_abs_reference": float(m.group(4))}
    with open(sys.argv[2], "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()

"""Run one command and write its exit code, wall and CPU seconds and own peak memory as JSON.

    python benchmarks/own_peak.py RESULT.json TIMEOUT -- learningloop --store S indicators

The benchmark starts every command through this small process rather than directly. Linux
carries a process's memory high-water mark across fork and exec, so a command forked straight
from the benchmark (which has held a whole store's queries in memory) reports at least the
benchmark's own peak as its ru_maxrss: a loaded 10M run printed 12,529 MiB that way. Forked
from this process instead, a command starts from this process's few MiB, so the ru_maxrss
that wait4 returns is the command's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def main() -> int:
    result, timeout, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        raise SystemExit("usage: own_peak.py RESULT.json TIMEOUT -- COMMAND ...")
    started = time.perf_counter()
    child = subprocess.Popen(command)  # stdout and stderr are this process's own
    timer = threading.Timer(float(timeout), child.kill)
    timer.start()
    _, status, usage = os.wait4(child.pid, 0)
    timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    Path(result).write_text(
        json.dumps(
            {
                "exit": code,
                "seconds": time.perf_counter() - started,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "peak_mib": usage.ru_maxrss / 1024,  # KiB on Linux
            }
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

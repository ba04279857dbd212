# SPDX-License-Identifier: MIT
"""Files written from the code by a committed script (man/make_catalogue.py,
examples/grafana/make-dashboards.py): write them, or with --check tell which
committed file differs from what the script writes (tests/e2e/test_docs.py
runs the checks)."""
import os


def write_or_check(files, script, argv):
    """files: {path: text}. Returns the exit status: 1 when --check finds a
    file out of date."""
    stale = []
    for path, text in files.items():
        if "--check" in argv:
            try:
                with open(path) as f:
                    if f.read() == text:
                        continue
            except OSError:
                pass
            stale.append(os.path.basename(path))
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print(f"out of date (run {script}): " + ", ".join(stale))
        return 1
    return 0

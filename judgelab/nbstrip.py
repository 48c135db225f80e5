"""Strip outputs and execution counts from notebooks (used by the pre-commit hook).

``python -m judgelab.nbstrip [--check] NOTEBOOK...``: rewrites each notebook without
outputs; with ``--check`` only reports notebooks that carry outputs (exit 1).
Notebooks are committed as documents; their results live in ``reports/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def has_outputs(nb) -> bool:
    return any(
        c.get("outputs") or c.get("execution_count") is not None
        for c in nb.cells
        if c.cell_type == "code"
    )


def strip(nb):
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
            c.execution_count = None
        # papermill and editors add volatile metadata; keep only the tags that matter
        tags = c.metadata.get("tags")
        c.metadata = {"tags": tags} if tags else {}
    return nb


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"]
    dirty = []
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        if has_outputs(nb):
            dirty.append(p)
            if not check:
                nbformat.write(strip(nb), p)
    for p in dirty:
        print(f"{p}: {'has outputs' if check else 'outputs stripped'}")
    return 1 if dirty else 0


if __name__ == "__main__":
    raise SystemExit(main())

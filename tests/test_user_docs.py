"""docs/your_data.md then docs/your_judges.md, run as a newcomer would: every fenced
```python and ```bash block, in page order, in one temporary directory (python blocks share
one namespace, bash blocks run in a shell there). The local-server part talks to
tests/openai_server.py, started here and given to the page as LOCAL_LLM_URL. Blocks fenced
without a language (output, placeholders for hosted keys) are not run.

Two notebook executions in all (the calibration audit and the position-bias report of the
worked example)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "docs" / "your_data.md", ROOT / "docs" / "your_judges.md"]
FENCE = re.compile(r"^```(python|bash)\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text())]


def test_pages_have_runnable_blocks():
    kinds = [k for page in PAGES for k, _ in blocks(page)]
    assert kinds.count("python") >= 4 and kinds.count("bash") >= 3


@pytest.fixture
def server():
    srv = FakeOpenAI().start()
    yield srv
    srv.stop()


def test_user_docs_run_in_order(tmp_path, server, monkeypatch):
    env = dict(os.environ)
    env["LOCAL_LLM_URL"] = server.base_url
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    bindir = str(Path(sys.executable).parent)  # the `judgelab` of this interpreter
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    monkeypatch.setenv("LOCAL_LLM_URL", server.base_url)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for page in PAGES:
        for n, (kind, code) in enumerate(blocks(page)):
            where = f"{page.name} block {n} ({kind}):\n{code}"
            if kind == "python":
                try:
                    exec(compile(code, f"{page.name}#{n}", "exec"), namespace)
                except Exception as exc:  # the block and the error, not a bare traceback
                    pytest.fail(f"{where}\nfailed: {type(exc).__name__}: {exc}")
            else:
                res = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", code],
                    cwd=tmp_path,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                assert res.returncode == 0, f"{where}\n{res.stdout}\n{res.stderr}"
    # the local server answered the page's judge, both orders of the 30 pairs
    assert len(server.requests) == 60
    assert (tmp_path / "reports" / "my_bench_position" / "findings.json").exists()

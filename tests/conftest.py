"""Shared fixtures: small and generic (paths, data locations, one executed toy study)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TOY_NOTEBOOKS = TESTS / "notebooks"


@pytest.fixture
def tmp_store(tmp_path) -> Path:
    """A fresh verdict store path (the file does not exist yet)."""
    return tmp_path / "verdicts.sqlite"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The offline copies of public datasets: ``$JUDGELAB_DATA``, else ``../shared/data`` beside
    the checkout (as tests/test_datasets_real.py looks); skips, saying where, when absent."""
    from judgelab import config

    checkout = Path(__file__).resolve().parents[1]  # the tests' checkout, wherever judgelab is
    path = Path(config.data_env_dir() or checkout / config.SHARED_DATA_BESIDE)
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set JUDGELAB_DATA)")
    return path


@pytest.fixture(scope="session")
def toy_verdicts(tmp_path_factory) -> Path:
    """A CSV verdict export on the demo data: two judges, both orders, 60 human pairs, seeded."""
    import numpy as np
    import pandas as pd

    import judgelab as jl

    pairs = jl.load_dataset("demo").pairs("human", n_pairs=60, seed=1)
    rng = np.random.default_rng(0)
    rows = []
    for model, fam, p_first in (
        ("judgelab-sim/aurora-mini", "aurora", 0.7),
        ("judgelab-sim/basalt-pro", "basalt", 0.5),
    ):
        choices = rng.choice(
            ["A", "B", "tie"], p=[0.9 * p_first, 0.9 * (1 - p_first), 0.1], size=(len(pairs), 2)
        )
        for r, cs in zip(pairs.itertuples(), choices, strict=True):
            for order, c in zip(("ab", "ba"), cs, strict=True):
                first, second = (
                    (r.response_a, r.response_b) if order == "ab" else (r.response_b, r.response_a)
                )
                rows.append(
                    dict(
                        model=model,
                        backend="csv",
                        judge_version="v1",
                        judge_family=fam,
                        protocol="pairwise",
                        item_id=r.item_id,
                        response_a=r.response_a,
                        response_b=r.response_b,
                        response_id=None,
                        order=order,
                        sample=0,
                        raw_output=f"[[{'C' if c == 'tie' else c}]]",
                        choice=c,
                        winner={"A": first, "B": second, "tie": "tie"}[c],
                        score=None,
                        parse_ok=True,
                    )
                )
    path = tmp_path_factory.mktemp("verdicts") / "verdicts.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def toy_env(tmp_path_factory) -> dict:
    """Environment for runs of the toy study (tests/notebooks/toy.ipynb), with a user's own
    broken ``python3`` kernelspec first on JUPYTER_PATH: runs must not use it."""
    user = tmp_path_factory.mktemp("user_jupyter")
    kdir = user / "kernels" / "python3"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(
        '{"argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],'
        ' "display_name": "broken user kernel", "language": "python"}'
    )
    return {"JUDGELAB_NOTEBOOKS": str(TOY_NOTEBOOKS), "JUPYTER_PATH": str(user)}


@contextlib.contextmanager
def patched_env(env: dict):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def cli(toy_env):
    """Invoke the judgelab CLI in-process with the toy environment: cli(*args) -> click Result."""
    from typer.testing import CliRunner

    from judgelab.cli import app

    def invoke(*args):
        with patched_env(toy_env):
            return CliRunner().invoke(app, [str(a) for a in args])

    return invoke


TOY_CALL = ("-p", "verdicts", "call", "-p", "judges", "panel:demo", "-p", "n_pairs", "10")


@pytest.fixture(scope="session")
def toy_run(cli, tmp_path_factory) -> Path:
    """One `judgelab run toy` judging 10 demo pairs with the simulated panel (180 calls) into
    its own store; shared by the CLI, report and browser tests."""
    base = tmp_path_factory.mktemp("runs")
    res = cli("run", "toy", *TOY_CALL, "-p", "store", base / "store.sqlite", "--out", base / "toy")
    assert res.exit_code == 0, res.output
    return base / "toy"


def stored_calls(store) -> int:
    """The number of calls a verdict store holds (0 when the file was never created): tests of
    inputs refused before judging assert it is 0."""
    from judgelab import VerdictStore

    if not Path(store).exists():
        return 0
    with VerdictStore(store) as st:
        return len(st.query("SELECT address FROM calls"))


@pytest.fixture
def no_openai_key(monkeypatch):
    """No OpenAI or Anthropic key or endpoint in the environment."""
    for v in (
        "OPENAI_API_KEY",
        "OPENAI_ADMIN_KEY",
        "OPENAI_API_BASE",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
    ):
        monkeypatch.delenv(v, raising=False)

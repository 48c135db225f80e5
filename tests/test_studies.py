"""judgelab.studies: prepare() on stored verdicts, selection, mixed identities, findings.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from judgelab import findings, judge_specs, studies
from judgelab.data import DataError
from judgelab.stats._tidy import FINDING_COLUMNS, finding, findings_frame


@pytest.fixture
def mixed_csv(toy_verdicts, tmp_path):
    """The toy verdicts plus a second judge_version of one model (a 'mixed' selection)."""
    v = pd.read_csv(toy_verdicts)
    extra = v[v["model"] == "judgelab-sim/aurora-mini"].head(30).assign(judge_version="v2")
    path = tmp_path / "mixed.csv"
    pd.concat([v, extra]).to_csv(path, index=False)
    return path


def test_prepare_reads_a_verdict_file_and_describes_identities(toy_verdicts, tmp_path):
    ctx = studies.prepare(
        "toy",
        verdicts=str(toy_verdicts),
        judges=None,
        store=str(tmp_path / "s.sqlite"),
        seed=3,
        protocol="pairwise",
        margin=0.05,
    )
    assert len(ctx.verdicts) == 240
    assert [j["model"] for j in ctx.judges] == [
        "judgelab-sim/aurora-mini",
        "judgelab-sim/basalt-pro",
    ]
    assert set(ctx.judges[0]) == {"model", "backend", "judge_version", "family"}
    assert ctx.judges[0]["family"] == "aurora"
    assert ctx.identities["n"].tolist() == [120, 120]
    assert ctx.verdicts["judge"].iloc[0] == "judgelab-sim/aurora-mini|csv|v1"
    # unknown extras are accepted and recorded; the store path is made absolute; defaults filled in
    assert ctx.extras == {"protocol": "pairwise", "margin": 0.05}
    assert ctx.parameters["margin"] == 0.05 and ctx.parameters["tie_policy"] == "class"
    assert ctx.parameters["verdicts"] == str(toy_verdicts.resolve())
    assert ctx.seed == 3 and ctx.run_summary["mode"] == "stored"
    assert ctx.dataset.name == "demo"


def test_judges_filter_and_select_with_lists(toy_verdicts):
    ctx = studies.prepare("toy", verdicts=str(toy_verdicts), judges=["judgelab-sim/basalt-pro"])
    assert ctx.verdicts["model"].unique().tolist() == ["judgelab-sim/basalt-pro"]
    ctx = studies.prepare(
        "toy",
        verdicts=str(toy_verdicts),
        judges=None,
        select={"model": ["judgelab-sim/aurora-mini", "nobody"], "judge_version": "v1"},
    )
    assert ctx.verdicts["model"].unique().tolist() == ["judgelab-sim/aurora-mini"]
    assert ctx.run_summary["rows_selected"] == 120


def test_bad_filters_and_sources_name_what_is_wrong(toy_verdicts, tmp_path):
    with pytest.raises(DataError, match="none of the judges .*'gpt-x'.* models present"):
        studies.prepare("toy", verdicts=str(toy_verdicts), judges=["gpt-x"])
    with pytest.raises(
        ValueError, match=r"unknown key\(s\) \['modle'\]; valid keys: model, backend"
    ):
        studies.prepare("toy", verdicts=str(toy_verdicts), judges=None, select={"modle": "x"})
    with pytest.raises(DataError, match="keeps none"):
        studies.prepare(
            "toy", verdicts=str(toy_verdicts), judges=None, select={"backend": "elsewhere"}
        )
    with pytest.raises(DataError, match="no such file"):
        studies.prepare("toy", verdicts=str(tmp_path / "missing.csv"), judges=None)
    with pytest.raises(DataError, match="has no stored verdicts"):
        studies.prepare("toy", verdicts="dataset", judges=None)
    bad = tmp_path / "bad.csv"
    pd.read_csv(toy_verdicts).drop(columns=["judge_version"]).to_csv(bad, index=False)
    with pytest.raises(
        DataError, match="table 'verdicts', column 'judge_version': missing required column"
    ):
        studies.prepare("toy", verdicts=str(bad), judges=None)


def test_two_judge_versions_of_one_model_are_mixed(mixed_csv):
    """Unfiltered stored verdicts: every identity is its own judge (issue 12 item 8). Naming
    the model in `judges` asks for one judge: its two identities are refused until one is
    selected or allow_mixed keeps them apart."""
    ctx = studies.prepare("toy", verdicts=str(mixed_csv), judges=None)
    assert ctx.identities["judge"].tolist() == [
        "judgelab-sim/aurora-mini|csv|v1",
        "judgelab-sim/aurora-mini|csv|v2",
        "judgelab-sim/basalt-pro|csv|v1",
    ]
    assert ctx.identities["n"].tolist()[:2] == [120, 30]
    named = ["judgelab-sim/aurora-mini", "judgelab-sim/basalt-pro"]
    with pytest.raises(studies.MixedIdentitiesError) as err:
        studies.prepare("toy", verdicts=str(mixed_csv), judges=named)
    msg = str(err.value)
    assert "judgelab-sim/aurora-mini|csv|v1  (120 verdicts)" in msg
    assert "judgelab-sim/aurora-mini|csv|v2  (30 verdicts)" in msg
    assert "basalt" not in msg  # only the mixed judge is listed
    assert "allow_mixed=True" in msg
    assert err.value.identities["n"].tolist() == [120, 30]
    # selecting one version resolves it; allow_mixed keeps both identities apart
    ctx = studies.prepare(
        "toy", verdicts=str(mixed_csv), judges=named, select={"judge_version": "v2"}
    )
    assert ctx.identities["judge"].tolist() == ["judgelab-sim/aurora-mini|csv|v2"]
    ctx = studies.prepare("toy", verdicts=str(mixed_csv), judges=named, allow_mixed=True)
    assert len(ctx.judges) == 3


def test_parquet_and_jsonl_exports_read_like_csv(toy_verdicts, tmp_path):
    v = pd.read_csv(toy_verdicts)
    v.to_parquet(tmp_path / "v.parquet")
    v.to_json(tmp_path / "v.jsonl", orient="records", lines=True)
    a = studies.prepare("toy", verdicts=str(tmp_path / "v.parquet"), judges=None)
    b = studies.prepare("toy", verdicts=str(tmp_path / "v.jsonl"), judges=None)
    pd.testing.assert_frame_equal(a.identities, b.identities)
    assert a.verdicts["parse_ok"].dtype == bool


def _rows():
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.2, size=8)
    rows = [
        finding(
            "first_slot_share",
            0.6 + i / 100,
            judge=f"m{i}|b|v",
            ci_low=0.5,
            ci_high=0.7,
            p_value=p[i],
            primary=True,
            n=100,
            method="sign flip",
        )
        for i in range(4)
    ]
    rows += [
        finding(
            "tie_share", 0.1, judge=f"m{i}|b|v", slice={"family": "aurora"}, p_value=p[4 + i], n=100
        )
        for i in range(4)
    ]
    rows.append(finding("undefined_thing", None, reason="no inconsistent pair", n=0))
    return findings_frame(rows), p


def test_save_findings_adjusts_and_writes_the_documented_shape(toy_verdicts, tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGELAB_OUT", str(tmp_path / "out"))
    ctx = studies.prepare("toy", verdicts=str(toy_verdicts), judges=None)
    f, p = _rows()
    adjusted = ctx.save_findings(f)
    # Holm over the primary p-values, Benjamini-Hochberg over the exploratory ones (statsmodels as reference)
    np.testing.assert_allclose(
        adjusted["p_adjusted"].iloc[:4].astype(float), multipletests(p[:4], method="holm")[1]
    )
    np.testing.assert_allclose(
        adjusted["p_adjusted"].iloc[4:8].astype(float), multipletests(p[4:], method="fdr_bh")[1]
    )
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert list(doc) == [
        "study",
        "created_at",
        "judgelab_version",
        "parameters",
        "data",
        "judges",
        "findings",
    ]
    assert doc["data"] == {"name": "demo", "sha256": ctx.dataset.sha256}
    assert doc["judges"] == ctx.judges
    # the standard columns first, in order; study-specific ones (e.g. adjustment) after them
    assert all(list(r)[: len(FINDING_COLUMNS)] == FINDING_COLUMNS for r in doc["findings"])
    undefined = doc["findings"][-1]
    assert undefined["estimate"] is None and undefined["reason"] == "no inconsistent pair"
    assert doc["findings"][4]["slice"] == {"family": "aurora"}
    assert json.loads((tmp_path / "out" / "run_summary.json").read_text())[0]["mode"] == "stored"


def test_findings_table_has_one_row_per_finding_primary_first(toy_verdicts):
    ctx = studies.prepare("toy", verdicts=str(toy_verdicts), judges=None)
    f, _ = _rows()
    f = f.iloc[::-1].reset_index(drop=True)  # primary last in the input
    table = ctx.findings_table(f)
    html = table._repr_html_()
    assert f'class="dataframe {findings.FINDINGS_TABLE_CLASS}"' in html
    body = html.split("<tbody>")[1]
    assert body.count("<tr") == len(f)  # one row per finding
    shown = table.frame()
    assert shown["finding"].iloc[0].endswith("(primary)") and not shown["finding"].iloc[
        -1
    ].endswith("(primary)")
    assert "undefined" in shown["estimate [CI]"].tolist()


def test_unknown_study_lists_the_valid_ones(monkeypatch, tmp_path):
    (tmp_path / "alpha.ipynb").write_text("{}")
    monkeypatch.setenv("JUDGELAB_NOTEBOOKS", str(tmp_path))
    assert "alpha" in studies.available_studies()
    with pytest.raises(ValueError, match="unknown study 'nope'; valid studies: .*alpha"):
        studies.notebook_path("nope")


def test_resolve_judges_panel_and_mappings():
    sim = pytest.importorskip("judgelab.sim")
    if not hasattr(sim, "panel"):
        pytest.skip("judgelab.sim.panel not available yet")
    panel = judge_specs.resolve_judges("panel:demo")
    assert len(panel) == 9 and len({j.family for j in panel}) == 3
    js = judge_specs.resolve_judges(
        [
            "openai/gpt-4o",
            {"model": "anthropic/claude-3-5-sonnet", "temperature": 0.5},
            {"name": "aurora-mini", "sim": {"family": "aurora", "noise": 0.5}},
        ]
    )
    assert js[0].model == "openai/gpt-4o" and js[1].temperature == 0.5
    assert js[2].model.startswith("judgelab-sim/") and js[2].family == "aurora"
    with pytest.raises(ValueError, match="cannot read"):
        judge_specs.resolve_judges([3])


def test_verdicts_exported_from_a_store_analyse_like_the_call(cli, tmp_store, tmp_path):
    """verdicts=<path>: a store, and its CSV / Parquet exports, give the verdicts judged by the call."""
    judges = [
        {"name": "aurora-t", "sim": {"family": "aurora", "position_bias": 1.0}},
        {"name": "cirrus-t", "sim": {"family": "cirrus", "noise": 2.0}},
    ]
    called = studies.prepare("toy", judges=judges, n_pairs=8, store=str(tmp_store), seed=2)
    assert called.run_summary["mode"] == "call" and called.run_summary["sent"] == 32
    assert [j["model"] for j in called.judges] == ["judgelab-sim/aurora-t", "judgelab-sim/cirrus-t"]
    res = cli("verdicts", tmp_store, "--export", tmp_path / "v.csv")
    assert res.exit_code == 0, res.output
    assert "2 identities, 32 verdicts" in res.output and "judgelab-sim/aurora-t" in res.output
    assert cli("verdicts", tmp_store, "--export", tmp_path / "v.parquet").exit_code == 0
    key = ["judge", "item_id", "response_a", "response_b", "order", "sample"]
    cols = [*key, "choice", "winner", "parse_ok", "judge_family"]
    want = called.verdicts[cols].sort_values(key).reset_index(drop=True)
    for source in (tmp_store, tmp_path / "v.csv", tmp_path / "v.parquet"):
        ctx = studies.prepare(
            "toy", verdicts=str(source), judges=["judgelab-sim/aurora-t", "judgelab-sim/cirrus-t"]
        )
        assert ctx.judges == called.judges
        got = ctx.verdicts[cols].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got.astype(str), want.astype(str))
    # judges is a filter for stored verdicts
    one = studies.prepare("toy", verdicts=str(tmp_path / "v.csv"), judges=[judges[1]])
    assert one.identities["model"].tolist() == ["judgelab-sim/cirrus-t"]
    res = cli("verdicts", tmp_path / "nothing.sqlite")
    assert res.exit_code == 1 and "no verdict store" in res.output


def test_published_verdicts_with_prompt_versions_are_judges_of_their_own(shared_data, monkeypatch):
    """LLMBar stores each judge under 15 prompting strategies (judge_versions). Left unfiltered,
    each identity is analysed as its own judge; naming a model in `judges` asks for one judge
    and its 15 identities are refused with the list; selecting one strategy gives one
    identity per judge."""
    if not (shared_data / "llmbar_judges").is_dir():
        pytest.skip("llmbar_judges not in the shared data")
    monkeypatch.setenv("JUDGELAB_DATA", str(shared_data))
    ctx = studies.prepare("position_bias", dataset="llmbar", verdicts="published")
    assert len(ctx.identities) == ctx.verdicts.groupby(["model", "judge_version"]).ngroups > 15
    assert ctx.parameters["judges"] is None
    with pytest.raises(
        studies.MixedIdentitiesError, match=r"GPT-4\|published\|llmbar-CoT  \(\d+ verdicts\)"
    ):
        studies.prepare("position_bias", dataset="llmbar", verdicts="published", judges=["GPT-4"])
    ctx = studies.prepare(
        "position_bias",
        dataset="llmbar",
        verdicts="dataset",
        judges=["GPT-4", "PaLM2"],
        select={"judge_version": "llmbar-Vanilla"},
    )
    assert ctx.identities["judge"].tolist() == [
        "GPT-4|published|llmbar-Vanilla",
        "PaLM2|published|llmbar-Vanilla",
    ]
    assert ctx.run_summary["mode"] == "stored" and ctx.run_summary["source"] == "dataset 'llmbar'"


def test_each_notebooks_store_default_is_config_default_store():
    """The parameters cell of every study notebook states the verdict store default as a
    literal; it must be :data:`judgelab.config.DEFAULT_STORE`."""
    import ast

    import nbformat

    from judgelab import config

    for study in studies.STUDIES:
        nb = nbformat.read(str(studies.notebook_path(study)), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        stores = [
            node.value.value
            for node in ast.parse(cell.source).body
            if isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["store"]
        ]
        assert stores == [config.DEFAULT_STORE], study
    assert studies.SHARED_DEFAULTS["store"] == config.DEFAULT_STORE


SECRET = "sk-test-0123456789abcdef"


def test_credential_names_and_redaction():
    from judgelab.findings import (
        REDACTED,
        credential_values,
        is_credential_name,
        redact_credentials,
    )

    for name in (
        "api_key",
        "apiKey",
        "x-api-key",
        "OPENAI_API_KEY",
        "access_token",
        "client_secret",
        "password",
        "Authorization",
    ):
        assert is_credential_name(name), name
    for name in ("max_tokens", "model", "keys_seen", "monkey", "judge_version", "top_logprobs"):
        assert not is_credential_name(name), name
    params = {
        "judges": [{"model": "m", "api_key": SECRET, "max_tokens": 5}, "panel:demo"],
        "router": {"model_list": [{"litellm_params": {"api_key": SECRET, "model": "x"}}]},
        "extra": {"headers": {"Authorization": "Bearer " + SECRET}},
        "unset": {"api_key": None},
    }
    red = redact_credentials(params)
    assert SECRET not in json.dumps(red)
    assert red["judges"][0] == {"model": "m", "api_key": REDACTED, "max_tokens": 5}
    assert red["unset"] == {"api_key": None} and red["judges"][1] == "panel:demo"
    assert params["judges"][0]["api_key"] == SECRET  # a copy: the calls keep their key
    assert sorted(credential_values(params)) == sorted([SECRET, SECRET, "Bearer " + SECRET])


def test_an_api_key_in_the_judges_parameter_is_never_written(toy_verdicts, tmp_path, monkeypatch):
    from judgelab import run_record

    monkeypatch.setenv("JUDGELAB_OUT", str(tmp_path))
    monkeypatch.delenv(run_record.PARAMETERS_GIVEN_ENV, raising=False)
    judges = [{"model": "judgelab-sim/aurora-mini", "api_key": SECRET}]
    ctx = studies.prepare("toy", verdicts=str(toy_verdicts), judges=judges, n_boot=50)
    assert ctx.identities["model"].tolist() == ["judgelab-sim/aurora-mini"]
    rows = [finding("first_slot_share", 0.5, judge=ctx.verdicts["judge"].iloc[0], p_value=0.5)]
    ctx.save_findings(findings_frame(rows))
    for name in ("findings.json", "run_record.json", "run_summary.json"):
        assert SECRET not in (tmp_path / name).read_text(), name
    doc = json.loads((tmp_path / "findings.json").read_text())
    assert doc["parameters"]["judges"] == [
        {"model": "judgelab-sim/aurora-mini", "api_key": "<redacted>"}
    ]
    rec = run_record.read_run_record(tmp_path)
    assert rec["parameters"]["given"]["judges"][0]["api_key"] == "<redacted>"


def test_cli_run_writes_no_api_key_into_manifest_notebook_or_report(cli, toy_run, tmp_path):
    store = toy_run.parent / "store.sqlite"
    judges = "[{model: judgelab-sim/aurora-lite, api_key: " + SECRET + "}]"
    out = tmp_path / "run"
    res = cli("run", "toy", "-p", "verdicts", store, "-p", "judges", judges, "--out", out)
    assert res.exit_code == 0, res.output
    written = [
        p for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".ipynb", ".html")
    ]
    assert {"manifest.json", "findings.json", "run_record.json", "toy.ipynb", "toy.html"} <= {
        p.name for p in written
    }
    for p in written:
        assert SECRET not in p.read_text(), p.name
    # the key is moved into the kernel's environment before the run: the records name that
    # variable (litellm's os.environ/NAME), never the key itself
    recorded = "os.environ/JUDGELAB_JUDGE_KEY_0"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters_given"]["judges"][0]["api_key"] in (recorded, "<redacted>")
    given = json.loads((out / "run_record.json").read_text())["parameters"]["given"]
    assert given["judges"][0]["model"] == "judgelab-sim/aurora-lite"
    assert given["judges"][0]["api_key"] in (recorded, "<redacted>")

"""The simulated judge panel (judgelab.sim): planted biases are found, the null is null,
the provider and the vectorised sampler agree, identity and determinism hold.

Checks go through the public API: the store route (judgelab.run -> llm -> litellm ->
provider -> parser -> VerdictStore) for the provider, and sample_verdicts for the large
null/power checks. Every closed-form probability a test compares against is computed
here from truth.csv with scipy's expit, independently of the module's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import binom

import judgelab as jl
from judgelab import run, sim
from judgelab.judges import parse_pairwise, parse_rubric, parse_single

Z999 = 3.2905  # two-sided 99.9% normal quantile


@pytest.fixture(scope="module")
def ds():
    return jl.load_dataset("demo")


@pytest.fixture(scope="module")
def truth(ds):
    t = ds.truth.set_index("response_id")
    return t.join(ds.responses.set_index("response_id")[["generator", "family"]])


@pytest.fixture(scope="module")
def prepared(ds):
    return sim.prepare_responses(sim.responses_frame(ds))


def _first_second(v):
    ab = (v["order"] == "ab").to_numpy()
    first = np.where(ab, v["response_a"], v["response_b"])
    second = np.where(ab, v["response_b"], v["response_a"])
    return first, second


def _classify(v):
    """Per (pair, judge): consistent / primacy / recency from the displayed choices in ab, ba
    (STATISTICS.md): primacy = {AA, A tie, tie A}, recency = {BB, B tie, tie B}."""
    ok = v[v["parse_ok"].astype(bool)]
    w = ok.pivot_table(
        index=["model", "backend", "response_a", "response_b"],
        columns="order",
        values="choice",
        aggfunc="first",
    )
    w = w.dropna()
    ab, ba = w["ab"], w["ba"]
    primacy = (
        ((ab == "A") & (ba == "A")) | ((ab == "A") & (ba == "tie")) | ((ab == "tie") & (ba == "A"))
    )
    recency = (
        ((ab == "B") & (ba == "B")) | ((ab == "B") & (ba == "tie")) | ((ab == "tie") & (ba == "B"))
    )
    return pd.DataFrame({"primacy": primacy, "recency": recency}).groupby(level=[0, 1]).sum()


# --------------------------------------------------------------- parameters


def test_param_hash_is_canonical_and_sensitive():
    a = sim.param_hash({"noise": 1, "position_bias": 0.5})
    assert a == sim.param_hash({"position_bias": 0.5, "noise": 1.0})
    assert a == sim.param_hash(
        {"position_bias": 0.5, "sleep": True}
    )  # defaults filled, sleep not identity
    assert a != sim.param_hash({"position_bias": 0.51})
    assert len(a) == 64 and int(a, 16) >= 0
    j = sim.judge("aurora-max", position_bias=0.5)
    assert sim.backend(j) == "judgelab-sim:" + a[:8]
    assert (
        j.model == "judgelab-sim/aurora-max"
        and j.family == "aurora"
        and j.sim["position_bias"] == 0.5
    )


@pytest.mark.parametrize(
    "params, word",
    [
        ({"positon_bias": 1}, "positon_bias"),
        ({"noise": 0}, "noise"),
        ({"parse_failure_rate": 2}, "parse_failure_rate"),
        ({"tie_band": "x"}, "tie_band"),
    ],
)
def test_bad_parameters_are_named(params, word):
    with pytest.raises(ValueError, match=word):
        sim.judge("x", **params)


def test_panels():
    demo, null = sim.panel("demo"), sim.panel("null")
    names = [j.model.split("/")[1] for j in demo]
    assert names == [g for gs in jl.families.DEMO_FAMILIES.values() for g in gs]
    assert [j.model for j in null] == [j.model for j in demo]
    noise = [j.sim["noise"] for j in null]
    assert len(set(noise)) > 1 and noise == [j.sim["noise"] for j in demo]  # unequal noise, kept
    for j in null:
        assert all(
            j.sim[k] == 0
            for k in (
                "position_bias",
                "self_preference",
                "family_preference",
                "lineage_preference",
                "length_bias",
                "family_taste",
            )
        )
    prices = [j.sim["price_in"] for j in demo]
    assert max(prices) / min(prices) >= 50  # cheap and expensive
    assert {sim.backend(a) for a in demo}.isdisjoint({sim.backend(b) for b in null})
    with pytest.raises(ValueError, match="unknown simulated panel"):
        sim.panel("nope")


# ---------------------------------------------------- planted position bias


def test_position_bias_through_the_store(ds, truth, tmp_path):
    pos, s, tau = 0.8, 0.5, 0.1
    j = sim.judge(
        "posonly",
        position_bias=pos,
        noise=s,
        tie_band=tau,
        price_in=1.0,
        price_out=4.0,
        latency_s=7.5,
    )
    v = run.judge_pairwise(
        ds, [j], store=tmp_path / "v.sqlite", n_pairs=50, seed=3, progress=False, verbose=False
    )
    assert len(v) == 100 and v["parse_ok"].all()
    first, second = _first_second(v)
    q = truth["quality"]
    eta = q.loc[first].to_numpy() - q.loc[second].to_numpy() + pos
    p_first = expit((eta - tau) / s)  # closed form, independent of judgelab.sim
    wins = int((v["choice"] == "A").sum())
    z = (wins - p_first.sum()) / np.sqrt((p_first * (1 - p_first)).sum())
    assert abs(z) <= Z999, z
    # the stored logprob fields are the same closed-form probabilities
    np.testing.assert_allclose(v["p_a"].to_numpy(dtype=float), p_first, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        v["p_b"].to_numpy(dtype=float), expit((-eta - tau) / s), rtol=0, atol=1e-9
    )
    cls = _classify(v).iloc[0]
    assert cls["primacy"] + cls["recency"] > 0
    assert cls["primacy"] / (cls["primacy"] + cls["recency"]) > 0.5
    # cost is computed from tokens and prices; latency recorded
    np.testing.assert_allclose(
        v["cost_usd"], (v["prompt_tokens"] * 1.0 + v["completion_tokens"] * 4.0) / 1e6, rtol=1e-12
    )
    assert (v["prompt_tokens"] > 100).all() and (v["completion_tokens"] > 3).all()
    assert (v["latency_s"] == 7.5).all()  # recorded, not slept (100 calls would take minutes)


def test_latency_is_slept_only_when_asked(ds):
    import time

    import litellm

    item = ds.items.iloc[0]
    texts = ds.responses[ds.responses["item_id"] == item["item_id"]]["text"].tolist()
    for sleep, at_least in ((True, 0.3), (False, 0.0)):
        j = sim.judge("sleepy", latency_s=0.3, sleep=sleep)
        msgs = j.messages("pairwise", question=item["prompt"], answer_a=texts[0], answer_b=texts[1])
        t0 = time.perf_counter()
        r = litellm.completion(
            model=j.model, messages=msgs, **j.request_params(), **sim.request_kwargs(j, 0)
        )
        assert time.perf_counter() - t0 >= at_least
        assert r._hidden_params["judgelab_sim"]["latency_s"] == 0.3
        assert r._hidden_params["response_cost"] == 0.0  # priced (at 0) through litellm's model map


def test_single_scale_is_read_from_the_prompt(ds):
    item = ds.items.iloc[1]
    text = ds.responses[ds.responses["item_id"] == item["item_id"]]["text"].iloc[0]
    j = sim.judge("scaler", noise=2.0)
    for scale in ((1, 5), (0, 100), (1.5, 4.5)):
        msgs = j.messages("single", question=item["prompt"], answer=text, scale=scale)
        out = sim.simulate_call(j.model, msgs, {"temperature": 0, **sim.request_kwargs(j, 0)})
        values = [float(k) for k in out["probabilities"]]
        assert min(values) == np.ceil(scale[0]) and max(values) == np.floor(scale[1])
        assert sum(out["probabilities"].values()) == pytest.approx(1.0)
        assert parse_single(out["text"], scale).ok


def test_position_bias_sampler_matches_closed_form(ds, prepared, truth):
    pairs = ds.all_pairs()
    j = sim.judge("posonly", position_bias=0.4, noise=0.7, tie_band=0.2)
    v = sim.sample_verdicts(pairs, prepared, [j], seed=11)
    first, second = _first_second(v)
    q = truth["quality"]
    eta = q.loc[first].to_numpy() - q.loc[second].to_numpy() + 0.4
    p_first, p_second = expit((eta - 0.2) / 0.7), expit((-eta - 0.2) / 0.7)
    for code, p in (("A", p_first), ("B", p_second), ("tie", 1 - p_first - p_second)):
        n = int((v["choice"] == code).sum())
        z = (n - p.sum()) / np.sqrt((p * (1 - p)).sum())
        assert abs(z) <= Z999, (code, z)
    cls = _classify(v).iloc[0]
    assert cls["primacy"] / (cls["primacy"] + cls["recency"]) > 0.5


# ------------------------------------------------------ planted self-preference


def test_self_preference_through_the_store(ds, tmp_path):
    # the same judge name with and without the planted term: same uniforms, same pairs
    biased = sim.judge("cirrus-base", noise=0.5, self_preference=1.2)
    plain = sim.judge("cirrus-base", noise=0.5)
    v = run.judge_pairwise(
        ds,
        [biased, plain],
        store=tmp_path / "v.sqlite",
        pairs="baseline:cirrus-base",
        n_pairs=25,
        seed=5,
        progress=False,
        verbose=False,
    )
    own = v["winner"].str.endswith("-cirrus-base").fillna(False)
    rate = own.groupby(v["backend"]).mean()
    assert rate[sim.backend(biased)] > rate[sim.backend(plain)]
    # common random numbers: never fewer own wins on any call
    key = ["response_a", "response_b", "order"]
    b = v[v["backend"] == sim.backend(biased)].set_index(key)["winner"]
    p = v[v["backend"] == sim.backend(plain)].set_index(key)["winner"]
    b_own, p_own = b.str.endswith("-cirrus-base"), p.loc[b.index].str.endswith("-cirrus-base")
    assert (b_own.to_numpy() >= p_own.to_numpy()).all()


def test_self_preference_sampler_power(ds, prepared):
    pairs = ds.pairs("baseline:cirrus-base")
    biased = sim.judge("cirrus-base", noise=0.5, self_preference=0.5)
    other = sim.judge("cirrus-base", noise=0.5)
    v = sim.sample_verdicts(pairs, prepared, [biased, other], seed=2)
    own = v["winner"].str.endswith("-cirrus-base").fillna(False).astype(float)
    diff = (
        own[v["backend"] == sim.backend(biased)].mean()
        - own[v["backend"] == sim.backend(other)].mean()
    )
    assert diff > 0.05


# ------------------------------------------------------------------- the null


def _own_family_excess(v, fam_of, family, n_boot=999, seed=0):
    """Win rate of `family`'s answers under that family's judges minus under the other
    families' judges, on the same pairs (exactly one answer from `family`); item-cluster
    bootstrap percentile CI at 99.9%."""
    fa, fb = fam_of.loc[v["response_a"]].to_numpy(), fam_of.loc[v["response_b"]].to_numpy()
    keep = ((fa == family) ^ (fb == family)) & v["parse_ok"].to_numpy(dtype=bool)
    sub = v[keep]
    won = (fam_of.reindex(sub["winner"]).to_numpy() == family).astype(float)
    inside = (sub["judge_family"] == family).to_numpy()
    items, idx = np.unique(sub["item_id"].to_numpy(), return_inverse=True)
    per_item = np.zeros((len(items), 4))
    np.add.at(per_item[:, 0], idx[inside], won[inside])
    np.add.at(per_item[:, 1], idx[inside], 1)
    np.add.at(per_item[:, 2], idx[~inside], won[~inside])
    np.add.at(per_item[:, 3], idx[~inside], 1)
    w = np.random.default_rng(seed).multinomial(
        len(items), np.full(len(items), 1 / len(items)), size=n_boot
    )
    tot = w @ per_item
    boot = tot[:, 0] / tot[:, 1] - tot[:, 2] / tot[:, 3]
    s = per_item.sum(axis=0)
    return s[0] / s[1] - s[2] / s[3], np.quantile(boot, [0.0005, 0.9995])


def test_null_panel_is_null_and_demo_panel_is_not(ds, prepared, truth):
    pairs = ds.all_pairs()
    fam_of = truth["family"]
    # families differ in quality (the confound the null must survive)
    fam_q = truth.groupby("family")["quality"].mean()
    assert fam_q["aurora"] - fam_q["cirrus"] > 1.0
    null = sim.sample_verdicts(pairs, prepared, sim.panel("null"), seed=0)
    demo = sim.sample_verdicts(pairs, prepared, sim.panel("demo"), seed=0)
    assert len(null) == 9 * len(pairs) * 2
    cls = _classify(null)
    for (model, _), row in cls.iterrows():
        n = int(row["primacy"] + row["recency"])
        lo, hi = binom.interval(0.999, n, 0.5)
        assert lo <= row["primacy"] <= hi, (model, row["primacy"], n)
    for family in ("aurora", "basalt", "cirrus"):
        est, (lo, hi) = _own_family_excess(null, fam_of, family)
        assert lo <= 0 <= hi, (family, est, lo, hi)
    # power: the demo panel's planted biases are found on the same pairs
    cls = _classify(demo)
    share = cls["primacy"] / (cls["primacy"] + cls["recency"])
    for (model, _), row in cls.iterrows():
        n = int(row["primacy"] + row["recency"])
        assert row["primacy"] > binom.interval(0.999, n, 0.5)[1], model
    assert share.min() > 0.55
    est, (lo, hi) = _own_family_excess(demo, fam_of, "cirrus")
    assert lo > 0, (est, lo, hi)


def test_demo_panel_best_judge_can_pass_the_gate(ds, prepared):
    from sklearn.metrics import cohen_kappa_score

    pairs = ds.human_pairs()
    counts = pd.crosstab(
        [ds.preferences["response_a"], ds.preferences["response_b"]], ds.preferences["preference"]
    )
    maj = (
        counts.idxmax(axis=1).where(counts.max(axis=1) >= 2).rename("human").reset_index()
    )  # 2 of 3 raters
    v = sim.sample_verdicts(pairs, prepared, sim.panel("demo"), seed=0).merge(
        maj, on=["response_a", "response_b"]
    )
    v = v[v["human"].notna() & v["parse_ok"]]
    label = np.where(
        v["winner"] == "tie", "tie", np.where(v["winner"] == v["response_a"], "a", "b")
    )
    models = v["model"].to_numpy()
    kappa = pd.Series(
        {
            m: cohen_kappa_score(label[models == m], v["human"].to_numpy()[models == m])
            for m in np.unique(models)
        }
    )
    assert kappa["judgelab-sim/aurora-max"] >= 0.75
    assert kappa.idxmax() == "judgelab-sim/aurora-max" and kappa.min() < 0.6  # unequal judges


# ------------------------------------------------------------- parse failures


def test_parse_failures_at_the_planted_rate(ds, prepared, tmp_path):
    rate = 0.25
    j = sim.judge("flaky", parse_failure_rate=rate)
    v = run.judge_pairwise(
        ds, [j], store=tmp_path / "v.sqlite", n_pairs=40, seed=1, progress=False, verbose=False
    )
    n_fail = int((~v["parse_ok"].astype(bool)).sum())
    lo, hi = binom.interval(0.999, len(v), rate)
    assert lo <= n_fail <= hi
    failed = v[~v["parse_ok"].astype(bool)]
    assert (
        failed["choice"].isna().all()
        and failed["winner"].isna().all()
        and (failed["status"] == "done").all()
    )
    assert v.attrs["summary"]["parse_failures"] == n_fail
    assert all(not parse_pairwise(t).ok for t in failed["raw_output"])
    # the sampler at scale, all three protocols
    for protocol, kw in (("pairwise", {}), ("single", {}), ("rubric", {"rubric": ds.rubric})):
        units = ds.all_pairs() if protocol == "pairwise" else None
        s = sim.sample_verdicts(units, prepared, [j], protocol=protocol, seed=4, **kw)
        k = int((~s["parse_ok"]).sum())
        lo, hi = binom.interval(0.999, len(s), rate)
        assert lo <= k <= hi, (protocol, k, len(s))


def test_failure_texts_fail_the_strict_parsers(ds, prepared):
    j = sim.judge("flaky", parse_failure_rate=1.0)
    for protocol, parse in (
        ("pairwise", parse_pairwise),
        ("single", lambda t: parse_single(t, (1, 10))),
        ("rubric", lambda t: parse_rubric(t, ds.rubric)),
    ):
        units = ds.human_pairs().head(5) if protocol == "pairwise" else None
        s = sim.sample_verdicts(
            units, prepared, [j], protocol=protocol, rubric=ds.rubric, render=True
        )
        assert not s["parse_ok"].any()
        assert all(not parse(t).ok for t in s["raw_output"].head(5))


# --------------------------------------------------- identity and determinism

_TWO_PROCESS_SCRIPT = textwrap.dedent(
    """
    import json, litellm, judgelab as jl
    from judgelab import sim
    out = []
    ds = jl.load_dataset("demo")
    items = ds.items.set_index("item_id")["prompt"]
    texts = ds.responses.set_index("response_id")["text"]
    j = sim.judge("basalt-m", position_bias=0.3, self_preference=0.4, family_taste=0.5, tie_band=0.2, noise=0.8, parse_failure_rate=0.2)
    for temperature in (0.0, 0.9):
        j.temperature = temperature
        for sample in (0, 1, 2):
            for item, a, b in [("q003", "q003-basalt-m", "q003-cirrus-nano")]:
                msgs = j.messages("pairwise", question=items[item], answer_a=texts[a], answer_b=texts[b])
                r = litellm.completion(model=j.model, messages=msgs, **j.request_params(), **sim.request_kwargs(j, sample))
                lp = getattr(r.choices[0], "logprobs", None)
                out.append([r.choices[0].message.content, lp.model_dump() if lp else None, r.usage.prompt_tokens])
            msgs = j.messages("single", question=items["q005"], answer=texts["q005-aurora-lite"], scale=(1, 10))
            r = litellm.completion(model=j.model, messages=msgs, **j.request_params(), **sim.request_kwargs(j, sample))
            out.append(r.choices[0].message.content)
            msgs = j.messages("rubric", question=items["q006"], answer=texts["q006-cirrus-base"], rubric=ds.rubric)
            r = litellm.completion(model=j.model, messages=msgs, **j.request_params(), **sim.request_kwargs(j, sample))
            out.append(r.choices[0].message.content)
    plain = sim.judge("basalt-m", position_bias=0.3, tie_band=0.2, noise=0.8)
    msgs = plain.messages("pairwise", question="An unknown question?", answer_a="unknown one", answer_b="unknown two")
    out.append(sim.simulate_call(plain.model, msgs, {"temperature": 0, **sim.request_kwargs(plain, 0)})["probabilities"])
    out.append([sim.param_hash(j.sim), sim.backend(j), j.version])
    v = sim.sample_verdicts(ds.human_pairs(), sim.responses_frame(ds), sim.panel("demo"), seed=7, repeats=2, temperature=0.5)
    out.append(v.drop(columns=["raw_output"]).to_csv(index=False))
    out.append(hash("judgelab"))  # differs between the processes: their hash seeds differ
    if __name__ == "__main__":
        print(json.dumps(out))
    """
)


def test_two_processes_with_different_hash_seeds_agree():
    # process 1: a fresh interpreter with a fixed hash seed; process 2: this one (its own seed)
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    env = {**os.environ, "PYTHONHASHSEED": seed, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _TWO_PROCESS_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    namespace = {"__name__": "in_process"}
    exec(_TWO_PROCESS_SCRIPT, namespace)
    a = json.loads(json.dumps(namespace["out"]))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    b = json.loads(out.strip().splitlines()[-1])
    assert a[-1] != b[-1]  # the hash seeds really differ
    a, b = a[:-1], b[:-1]
    assert a == b
    # temperature 0: identical repeats; temperature > 0: samples differ somewhere
    per_sample = 3  # one pairwise, one single, one rubric call per sample
    t0 = [a[i * per_sample : (i + 1) * per_sample] for i in range(3)]
    t9 = [a[(3 + i) * per_sample : (4 + i) * per_sample] for i in range(3)]
    assert t0[0] == t0[1] == t0[2]
    assert not (t9[0] == t9[1] == t9[2])
    # unknown texts: neutral quality, so only the planted position term separates A and B
    p = a[-3]
    s, tau, pos = 0.8, 0.2, 0.3
    assert p["A"] == pytest.approx(expit((pos - tau) / s), abs=1e-12)
    assert p["B"] == pytest.approx(expit((-pos - tau) / s), abs=1e-12)


def test_replanting_makes_new_calls_and_the_same_judge_is_cached(ds, tmp_path):
    store = tmp_path / "v.sqlite"
    j1 = sim.judge("aurora-plus", position_bias=0.2)
    first = run.judge_pairwise(ds, [j1], store=store, n_pairs=5, progress=False, verbose=False)
    again = run.judge_pairwise(
        ds,
        [sim.judge("aurora-plus", position_bias=0.2)],
        store=store,
        n_pairs=5,
        progress=False,
        verbose=False,
    )
    assert again.attrs["summary"]["cached"] == again.attrs["summary"]["calls"] == 10
    replanted = run.judge_pairwise(
        ds,
        [sim.judge("aurora-plus", position_bias=0.3)],
        store=store,
        n_pairs=5,
        progress=False,
        verbose=False,
    )
    summary = replanted.attrs["summary"]
    assert summary["cached"] == 0 and summary["sent"] == 10
    assert set(replanted["backend"]) != set(first["backend"])
    assert set(replanted["address"]).isdisjoint(set(first["address"]))


# ------------------------------------------------- provider <-> sampler agreement


def test_provider_and_sampler_agree_exactly(ds, prepared, tmp_path):
    store = tmp_path / "v.sqlite"
    j = sim.judge(
        "aurora-plus",
        temperature=0.7,
        noise=0.6,
        tie_band=0.25,
        position_bias=0.3,
        self_preference=0.5,
        family_preference=0.3,
        length_bias=1.0,
        family_taste=0.4,
        parse_failure_rate=0.15,
        pass_threshold=0.7,  # a Judge setting: the stored verdict is recomputed with it
        warn_threshold=0.4,
    )
    pw = run.judge_pairwise(
        ds, [j], store=store, n_pairs=12, seed=9, repeats=2, progress=False, verbose=False
    )
    pairs = pw[["item_id", "response_a", "response_b"]].drop_duplicates()
    sv = sim.sample_verdicts(pairs, prepared, [j], repeats=2, render=True)
    key = ["response_a", "response_b", "order", "sample"]
    m = pw.merge(sv, on=key, suffixes=("", "_sim"), validate="one_to_one")
    assert len(m) == len(pw) == 48
    assert (m["choice"].fillna("-") == m["choice_sim"].fillna("-")).all()
    assert (m["winner"].fillna("-") == m["winner_sim"].fillna("-")).all()
    assert (m["parse_ok"].astype(bool) == m["parse_ok_sim"]).all()
    assert (m["raw_output"] == m["raw_output_sim"]).all()
    assert (m["backend"] == m["backend_sim"]).all() and (
        m["judge_version"] == m["judge_version_sim"]
    ).all()
    ok = m["parse_ok_sim"]
    for col in ("p_a", "p_b", "p_tie", "margin"):
        np.testing.assert_allclose(
            m.loc[ok, col].to_numpy(dtype=float),
            m.loc[ok, f"{col}_sim"].to_numpy(dtype=float),
            atol=1e-9,
        )
    assert m["choice"].eq("tie").any() and (~ok).any()  # ties and failures were exercised
    # repeats vary at temperature 0.7
    assert (
        pw.pivot_table(
            index=["response_a", "response_b", "order"],
            columns="sample",
            values="raw_output",
            aggfunc="first",
        ).nunique(axis=1)
        > 1
    ).any()

    ids = pairs["response_a"].head(10).tolist()
    sg = run.judge_single(ds, [j], store=store, responses=ids, progress=False, verbose=False)
    ss = sim.sample_verdicts(
        pd.DataFrame({"response_id": ids}),
        prepared,
        [j],
        protocol="single",
        scale=ds.scale,
        render=True,
    )
    m = sg.merge(ss, on=["response_id", "sample"], suffixes=("", "_sim"), validate="one_to_one")
    assert len(m) == 10 and (m["raw_output"] == m["raw_output_sim"]).all()
    assert (m["score"].fillna(-1) == m["score_sim"].fillna(-1)).all()
    np.testing.assert_allclose(
        m["margin"].to_numpy(dtype=float), m["margin_sim"].to_numpy(dtype=float), atol=1e-9
    )

    rb = run.judge_rubric(ds, [j], store=store, responses=ids, progress=False, verbose=False)
    rs = sim.sample_verdicts(
        pd.DataFrame({"response_id": ids}),
        prepared,
        [j],
        protocol="rubric",
        rubric=ds.rubric,
        render=True,
    )
    m = rb.merge(rs, on=["response_id", "sample"], suffixes=("", "_sim"), validate="one_to_one")
    assert len(m) == 10 and (m["raw_output"] == m["raw_output_sim"]).all()
    ok = m["parse_ok_sim"]
    assert (m.loc[ok, "judge_verdict"] == m.loc[ok, "judge_verdict_sim"]).all()
    assert (m.loc[ok, "verdict"] == m.loc[ok, "verdict_sim"]).all()
    for a, b in zip(m.loc[ok, "sections"], m.loc[ok, "sections_sim"], strict=True):
        assert json.loads(a) == json.loads(b)


# -------------------------------------------------------- closed forms vs draws


def test_score_and_rubric_closed_forms_match_draws(ds, prepared):
    j = sim.judge("cirrus-ultra", noise=0.7, self_preference=0.5, temperature=1.0)
    units = pd.DataFrame({"response_id": ds.responses["response_id"].head(60)})
    v = sim.sample_verdicts(
        pd.concat([units] * 1, ignore_index=True),
        prepared,
        [j],
        protocol="single",
        repeats=40,
        seed=3,
    )
    # expected score from the ordered-logit closed form, computed here
    q = prepared.frame.set_index("response_id")
    self_term = np.where(
        q.loc[v["response_id"], "generator"].to_numpy() == "cirrus-ultra", 0.5, 0.0
    )
    vv = q.loc[v["response_id"], "quality"].to_numpy() + self_term
    k = np.arange(1, 10)
    c = (10 / 3) * (2 * k / 10 - 1)
    cdf = np.column_stack(
        [np.zeros(len(vv)), expit((c[None, :] - vv[:, None]) / 0.7), np.ones(len(vv))]
    )
    probs = np.diff(cdf, axis=1)
    mean = probs @ np.arange(1, 11)
    var = probs @ np.arange(1, 11) ** 2 - mean**2
    z = (v["score"].sum() - mean.sum()) / np.sqrt(var.sum())
    assert abs(z) <= Z999, z
    r = sim.sample_verdicts(
        units, prepared, [j], protocol="rubric", rubric=ds.rubric, repeats=40, seed=3
    )
    for verdict, col in (("pass", "p_pass"), ("warn", "p_warn"), ("fail", "p_fail")):
        p = r[col].to_numpy()
        n = int((r["judge_verdict"] == verdict).sum())
        z = (n - p.sum()) / np.sqrt((p * (1 - p)).sum())
        assert abs(z) <= Z999, (verdict, z)


def test_sampler_validates_inputs(prepared):
    j = sim.judge("x")
    with pytest.raises(jl.DataError, match="response id not in responses"):
        sim.sample_verdicts(
            pd.DataFrame(
                {"item_id": ["q001"], "response_a": ["nope"], "response_b": ["q001-aurora-max"]}
            ),
            prepared,
            [j],
        )
    with pytest.raises(ValueError, match="protocol"):
        sim.sample_verdicts(None, prepared, [j], protocol="likert")
    with pytest.raises(ValueError, match="not a simulated judge"):
        sim.sample_verdicts(
            None, prepared, [{"model": "openai/gpt-4o", "sim": None}], protocol="single"
        )


# Pinned on the code before judgelab.sim became a package and a plugged-in litellm endpoint:
# stores written before that refactor must still be read as cached, so neither the identity
# strings (model|backend|judge_version) nor the call addresses may move.
DEMO_IDENTITIES = [
    "judgelab-sim/aurora-max|judgelab-sim:aa7797ba|aurora-max-c7ac66587038",
    "judgelab-sim/aurora-plus|judgelab-sim:0002e857|aurora-plus-c7ac66587038",
    "judgelab-sim/aurora-lite|judgelab-sim:aeffcd5d|aurora-lite-c7ac66587038",
    "judgelab-sim/basalt-xl|judgelab-sim:d0706398|basalt-xl-c7ac66587038",
    "judgelab-sim/basalt-m|judgelab-sim:506ebac8|basalt-m-c7ac66587038",
    "judgelab-sim/basalt-s|judgelab-sim:b6015ba6|basalt-s-c7ac66587038",
    "judgelab-sim/cirrus-ultra|judgelab-sim:fd3aaad9|cirrus-ultra-c7ac66587038",
    "judgelab-sim/cirrus-base|judgelab-sim:e7c6ce21|cirrus-base-c7ac66587038",
    "judgelab-sim/cirrus-nano|judgelab-sim:f732a711|cirrus-nano-c7ac66587038",
]
DEMO_ADDRESS = "1891f999c0541fc23d8a015b5a9c5b6ba3fc3faf5351a78244c4c86a2b9c66d6"


def test_demo_identity_strings_and_a_call_address_are_pinned(ds):
    from judgelab.llm import call_address, route_of

    panel = sim.panel("demo")
    assert [j.identity() for j in panel] == DEMO_IDENTITIES
    pairs = ds.pairs("human", None, 0)
    item, ra, rb = pairs[["item_id", "response_a", "response_b"]].iloc[0]
    assert (item, ra, rb) == ("q001", "q001-basalt-xl", "q001-cirrus-ultra")
    j = panel[0]
    prompts, refs, texts = run._texts(ds)
    msgs = j.messages(
        "pairwise",
        question=prompts[item],
        answer_a=texts[ra],
        answer_b=texts[rb],
        reference=run._ref(refs, item),
    )
    address, route, _ = call_address(j, msgs, 0, route_of(j))
    assert address == DEMO_ADDRESS
    assert route.startswith("aa7797ba")  # the full sim parameter hash

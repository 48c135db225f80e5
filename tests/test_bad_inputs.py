"""The bad-input battery: common user mistakes, each refused with a message that names what is
wrong and how to fix it, a non-zero exit and no traceback; where the mistake must be caught
before judging, no call is sent (the store's ``calls`` table is empty and the test server saw
no request).

Every case runs in-process through typer's CliRunner (the ``cli`` fixture) against a small
own dataset written per case, so that the battery costs seconds. A case is a function
``case(tmp_path, server) -> (args, fragments)``: the command line and the phrases the
message must hold (the fault, and the fix)."""

# ruff: noqa: F811  (pytest fixtures imported from openai_server are used as arguments)
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import stored_calls
from openai_server import _fake_openai_module, fake_openai  # noqa: F401

# ------------------------------------------------------------------ fixtures


def _write_dataset(root: Path, **tables: pd.DataFrame | str | None) -> Path:
    """A small own dataset (3 items, 2 generators, 6 responses, 6 human preferences, 24
    verdicts of 2 judges in both orders) with any table replaced or removed (None)."""
    root.mkdir(parents=True, exist_ok=True)
    items = pd.DataFrame({"item_id": ["i1", "i2", "i3"], "prompt": ["p1", "p2", "p3"]})
    responses = pd.DataFrame(
        {
            "response_id": [f"{i}-{g}" for i in ("i1", "i2", "i3") for g in ("x", "y")],
            "item_id": [i for i in ("i1", "i2", "i3") for _ in range(2)],
            "generator": ["gen-x", "gen-y"] * 3,
            "text": ["an answer"] * 6,
        }
    )
    prefs = pd.DataFrame(
        {
            "item_id": ["i1", "i1", "i2", "i2", "i3", "i3"],
            "response_a": ["i1-x", "i1-x", "i2-x", "i2-x", "i3-x", "i3-x"],
            "response_b": ["i1-y", "i1-y", "i2-y", "i2-y", "i3-y", "i3-y"],
            "rater_id": ["r1", "r2"] * 3,
            "preference": ["a", "a", "b", "b", "a", "tie"],
        }
    )
    default = {
        "items": items,
        "responses": responses,
        "preferences": prefs,
        "verdicts": _verdicts(),
    }
    default.update(tables)
    meta = default.pop("dataset.yaml", "name: mine\ndescription: my own data\nlicence: CC0\n")
    if meta is not None:
        (root / "dataset.yaml").write_text(meta)
    for name, table in default.items():
        if table is None:
            continue
        if isinstance(table, str):
            (root / f"{name}.csv").write_text(table)
        else:
            table.to_csv(root / f"{name}.csv", index=False)
    return root


def _verdicts(**changes) -> pd.DataFrame:
    """Verdicts of two judges on the three pairs, both orders (choice and winner agree)."""
    rows = []
    for model, fam in (("acme/judge-1", "acme"), ("zeta/judge-2", "zeta")):
        for i in ("i1", "i2", "i3"):
            a, b = f"{i}-x", f"{i}-y"
            for order, choice in (("ab", "A"), ("ba", "B")):
                first, second = (a, b) if order == "ab" else (b, a)
                rows.append(
                    dict(
                        model=model,
                        backend="file",
                        judge_version="v1",
                        judge_family=fam,
                        protocol="pairwise",
                        item_id=i,
                        response_a=a,
                        response_b=b,
                        order=order,
                        sample=0,
                        choice=choice,
                        winner=first if choice == "A" else second,
                        parse_ok=True,
                    )
                )
    frame = pd.DataFrame(rows)
    for col, value in changes.items():
        frame[col] = value
    return frame


def _judge(**fields) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in fields.items()) + "}"


@dataclass
class Case:
    name: str
    build: Callable[[Path, object], tuple[list, list[str]]]
    #: the mistake must be caught before any call is sent
    before_calls: bool = True


CASES: list[Case] = []


def case(name: str, before_calls: bool = True):
    def register(fn):
        CASES.append(Case(name, fn, before_calls))
        return fn

    return register


def _stored(d: Path, study: str = "position_bias", *extra) -> list:
    """``judgelab run STUDY`` on dataset ``d`` with its stored verdicts."""
    return ["run", study, "-p", "dataset", d, "-p", "verdicts", "published", *extra]


# ---------------------------------------------------------- commands, params


@case("unknown study")
def _(tmp, server):
    return ["run", "posiiton_bias"], ["unknown study 'posiiton_bias'", "valid studies:"]


@case("unknown parameter")
def _(tmp, server):
    return ["run", "position_bias", "-p", "n_pair", "3"], [
        "unknown parameter 'n_pair'",
        "valid parameters:",
    ]


@case("a -p without its value")
def _(tmp, server):
    return ["run", "position_bias", "-p", "n_pairs"], ["-p needs NAME VALUE"]


@case("a stray argument")
def _(tmp, server):
    return ["run", "position_bias", "n_pairs=3"], [
        "unexpected argument 'n_pairs=3'",
        "-p NAME VALUE",
    ]


@case("missing --params file")
def _(tmp, server):
    return ["run", "position_bias", "--params", tmp / "nope.yaml"], ["nope.yaml"]


@case("--params file that is not YAML")
def _(tmp, server):
    f = tmp / "bad.yaml"
    f.write_text("n_pairs: [3\nseed: 1\n")
    return ["run", "position_bias", "--params", f], ["bad.yaml"]


@case("--params file that is not a mapping")
def _(tmp, server):
    f = tmp / "list.yaml"
    f.write_text("- n_pairs\n- 3\n")
    return ["run", "position_bias", "--params", f], [
        "list.yaml",
        "expected a mapping of parameter names to values",
    ]


@case("an output directory that exists")
def _(tmp, server):
    (tmp / "o").mkdir()
    (tmp / "o" / "findings.json").write_text("{}")
    return ["run", "position_bias", "--out", tmp / "o"], ["--resume", "--force"]


# ------------------------------------------------------------------- dataset


@case("unknown dataset name")
def _(tmp, server):
    return ["run", "position_bias", "-p", "dataset", "no_such_dataset"], ["no_such_dataset"]


@case("dataset directory without dataset.yaml")
def _(tmp, server):
    d = _write_dataset(tmp / "d", **{"dataset.yaml": None})
    return _stored(d), ["no dataset.yaml"]


@case("dataset without items")
def _(tmp, server):
    d = _write_dataset(tmp / "d", items=None)
    return _stored(d), ["items", "required table missing"]


@case("duplicate item ids")
def _(tmp, server):
    items = pd.DataFrame({"item_id": ["i1", "i1", "i3"], "prompt": ["p1", "p2", "p3"]})
    items = pd.concat([items, pd.DataFrame({"item_id": ["i2"], "prompt": ["p"]})])
    d = _write_dataset(tmp / "d", items=items)
    return _stored(d), ["items", "item_id", "duplicate ids"]


@case("a response of an unknown item")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    r = pd.read_csv(d / "responses.csv")
    r.loc[5, "item_id"] = "i9"
    r.to_csv(d / "responses.csv", index=False)
    return _stored(d), ["responses", "item_id", "unknown item"]


@case("responses without a generator column")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    pd.read_csv(d / "responses.csv").drop(columns="generator").to_csv(
        d / "responses.csv", index=False
    )
    return _stored(d), ["responses", "generator", "missing required column"]


@case("a human preference coded left/right")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    p = pd.read_csv(d / "preferences.csv")
    p.loc[0, "preference"] = "left"
    p.to_csv(d / "preferences.csv", index=False)
    return _stored(d), ["preferences", "preference", "not in {a, b, tie}"]


@case("a preference of an unknown response")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    p = pd.read_csv(d / "preferences.csv")
    p.loc[2, "response_b"] = "i2-z"
    p.to_csv(d / "preferences.csv", index=False)
    return _stored(d), ["preferences", "response_b", "unknown response"]


@case("a non-numeric human score")
def _(tmp, server):
    labels = pd.DataFrame({"response_id": ["i1-x"], "rater_id": ["r1"], "score": ["good"]})
    d = _write_dataset(tmp / "d", labels=labels)
    return _stored(d), ["labels", "score", "non-numeric"]


@case("a human score off the declared scale")
def _(tmp, server):
    labels = pd.DataFrame({"response_id": ["i1-x"], "rater_id": ["r1"], "score": [12]})
    meta = "name: mine\nscale: {min: 1, max: 10}\n"
    d = _write_dataset(tmp / "d", labels=labels, **{"dataset.yaml": meta})
    return _stored(d), ["labels", "score", "off the declared scale"]


@case("a table that is not UTF-8")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    (d / "items.csv").write_bytes("item_id,prompt\ni1,caf\xe9\ni2,p\ni3,p\n".encode("latin-1"))
    return _stored(d), ["items", "not UTF-8", "save the file as UTF-8"]


@case("an empty verdict table")
def _(tmp, server):
    d = _write_dataset(tmp / "d", verdicts=_verdicts().iloc[:0])
    return _stored(d), ["no stored verdicts", "verdicts='call'"]


# ------------------------------------------------------------------ verdicts


@case("a verdict file that does not exist")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    return ["run", "position_bias", "-p", "dataset", d, "-p", "verdicts", tmp / "v.csv"], [
        "no such file"
    ]


@case("a verdict file of an unsupported type")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    f = tmp / "v.xlsx"
    f.write_text("x")
    return ["run", "position_bias", "-p", "dataset", d, "-p", "verdicts", f], [
        "unsupported file type",
        ".csv",
    ]


@case("verdicts missing required columns")
def _(tmp, server):
    d = _write_dataset(tmp / "d", verdicts=_verdicts().drop(columns=["backend", "judge_version"]))
    return _stored(d), ["verdicts", "backend", "judge_version", "missing"]


@case("a choice coded left/right")
def _(tmp, server):
    v = _verdicts()
    v.loc[3, "choice"] = "left"
    d = _write_dataset(tmp / "d", verdicts=v.drop(columns="winner"))
    return _stored(d), ["verdicts", "choice", "3"]


@case("a winner that contradicts the choice")
def _(tmp, server):
    v = _verdicts()
    v.loc[0, "winner"] = "i1-y"
    d = _write_dataset(tmp / "d", verdicts=v)
    return _stored(d), ["verdicts", "winner", "choice", "0"]


@case("an unknown display order")
def _(tmp, server):
    v = _verdicts()
    v.loc[1, "order"] = "reversed"
    d = _write_dataset(tmp / "d", verdicts=v)
    return _stored(d), ["verdicts", "order", "1"]


@case("two conflicting verdicts for one call")
def _(tmp, server):
    v = _verdicts()
    dup = v.iloc[[0]].assign(choice="B", winner="i1-y")
    d = _write_dataset(tmp / "d", verdicts=pd.concat([v, dup], ignore_index=True))
    return _stored(d), ["verdicts", "give different verdicts", "rows [0, 12]", "keep one"]


@case("a verdict naming an unknown response")
def _(tmp, server):
    v = _verdicts()
    v.loc[2, "response_b"] = "i2-z"
    d = _write_dataset(tmp / "d", verdicts=v)
    return _stored(d), ["verdicts", "response_b", "unknown response"]


@case("an unknown protocol")
def _(tmp, server):
    d = _write_dataset(tmp / "d", verdicts=_verdicts(protocol="pairwize"))
    return _stored(d), ["verdicts", "protocol", "pairwize"]


@case("a judge score off the scale")
def _(tmp, server):
    v = _verdicts().iloc[:2].copy()
    v["protocol"], v["response_id"], v["score"] = "single", ["i1-x", "i1-y"], [7, 42]
    v[["response_a", "response_b", "order", "choice", "winner"]] = None
    meta = "name: mine\nscale: {min: 1, max: 10}\n"
    d = _write_dataset(tmp / "d", verdicts=v, **{"dataset.yaml": meta})
    return _stored(d, "calibration_audit"), ["verdicts", "score", "42"]


@case("a judges filter naming no stored judge")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    return _stored(d, "position_bias", "-p", "judges", "acme/judge-9"), [
        "acme/judge-9",
        "models present",
    ]


@case("select with an unknown key")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    return _stored(d, "position_bias", "-p", "select", "{version: v2}"), [
        "select",
        "version",
        "valid keys",
    ]


@case("select that keeps nothing")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    return _stored(d, "position_bias", "-p", "select", "{judge_version: v9}"), [
        "keeps none of the 12 verdicts"
    ]


# ------------------------------------------------------------ parameter values


@case("n_boot that is not a number")
def _(tmp, server):
    return ["run", "position_bias", "-p", "n_boot", "many"], ["n_boot", "many", "int"]


@case("n_pairs that is not a number")
def _(tmp, server):
    return ["run", "position_bias", "-p", "n_pairs", "fifty"], ["n_pairs", "fifty"]


@case("dry_run that is not a boolean")
def _(tmp, server):
    return ["run", "position_bias", "-p", "dry_run", "maybe"], [
        "dry_run",
        "maybe",
        "accepts true or false",
    ]


@case("tie_policy not among its values")
def _(tmp, server):
    return ["run", "position_bias", "-p", "tie_policy", "maybe"], ["tie_policy", "maybe"]


@case("a negative budget")
def _(tmp, server):
    return ["run", "position_bias", "-p", "max_cost_usd", "-1"], ["max_cost_usd", "-1"]


@case("a demo parameter no study takes")
def _(tmp, server):
    return ["demo", "--out", tmp / "demo", "-p", "n_pair", "100"], ["n_pair"]


# -------------------------------------------------------------------- judges


@case("a provider typo")
def _(tmp, server):
    return ["run", "position_bias", "-p", "judges", "opneai/gpt-4o", "-p", "n_pairs", "3"], [
        "unknown provider 'opneai'",
        "did you mean 'openai'",
    ]


@case("a model without a provider")
def _(tmp, server):
    return ["run", "position_bias", "-p", "judges", "gpt4o", "-p", "n_pairs", "3"], [
        "no provider in the model name"
    ]


@case("a missing API key")
def _(tmp, server):
    return ["run", "position_bias", "-p", "judges", "openai/gpt-4o", "-p", "n_pairs", "3"], [
        "OPENAI_API_KEY"
    ]


@case("a local server given without api_key")
def _(tmp, server):
    judge = _judge(model="openai/x", api_base=server.base_url)
    return ["run", "position_bias", "-p", "judges", judge, "-p", "n_pairs", "3"], [
        "`api_key: none`"
    ]


@case("a panel typo")
def _(tmp, server):
    return ["run", "position_bias", "-p", "judges", "panel:dmeo", "-p", "n_pairs", "3"], ["dmeo"]


@case("a panel member typo")
def _(tmp, server):
    return [
        "run",
        "position_bias",
        "-p",
        "judges",
        "panel:demo/aurora-lite,basalt-x",
        "-p",
        "n_pairs",
        "3",
    ], ["basalt-x", "members"]


@case("an unknown field in a judge mapping")
def _(tmp, server):
    judge = _judge(model="openai/x", api_base=server.base_url, api_key="none", temprature=0)
    return ["run", "position_bias", "-p", "judges", judge, "-p", "n_pairs", "3"], ["temprature"]


@case("a judge comparison without a source or recorded costs")
def _(tmp, server):
    d = _write_dataset(tmp / "d")
    return _stored(d, "judge_comparison"), ["source", "acme/judge-1", "zeta/judge-2"]


@case("a judge comparison with a tolerated disagreement outside (0, 1)")
def _(tmp, server):
    # checked with the other parameters, before the kernel and any call (not by the analysis)
    judge = _judge(model="openai/x", api_base=server.base_url, api_key="none")
    return ["run", "judge_comparison", "-p", "judges", judge, "-p", "alphas", "[0.1, 1.5]"], [
        "alphas: got [0.1, 1.5]",
        "not fitting: 1.5",
        "each element a number in (0, 1)",
    ]


@case("a corrected estimate judged now on a dataset without human preferences")
def _(tmp, server):
    d = _write_dataset(tmp / "d", preferences=None, verdicts=None)
    judge = _judge(model="openai/x", api_base=server.base_url, api_key="none")
    return ["run", "corrected_estimate", "-p", "dataset", d, "-p", "judges", judge], [
        "has no human preferences between two answers (table preferences)",
        "Add a preferences table",
    ]


@case("a corrected estimate by the simulated panel on a dataset without human preferences")
def _(tmp, server):
    d = _write_dataset(tmp / "d", preferences=None, verdicts=None)
    return ["run", "corrected_estimate", "-p", "dataset", d, "-p", "judges", "panel:demo"], [
        "has no human preferences between two answers (table preferences)"
    ]


# ---------------------------------------------------------------- the battery


@pytest.fixture
def never_run(monkeypatch):
    """A refused input never starts the kernel: fail the case if the notebook would run."""
    import papermill

    def execute_notebook(*a, **k):
        raise AssertionError("the kernel must not start")

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)


def test_the_battery_has_at_least_forty_distinct_mistakes():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) and len(names) >= 40, len(names)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_a_mistake_is_refused_with_a_message_naming_it(
    c, cli, fake_openai, tmp_path, no_openai_key, never_run, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # default stores and reports land here, never in the checkout
    args, fragments = c.build(tmp_path, fake_openai)
    store = tmp_path / "case.sqlite"
    args = [str(a) for a in args]
    if args[0] == "run":  # a store and an output directory of the case's own, given first
        head = ["-p", "store", str(store)] if "store" not in args else []
        head += ["--out", str(tmp_path / "out")] if "--out" not in args else []
        args = args[:2] + head + args[2:]
    res = cli(*args)
    out = res.output
    assert res.exit_code not in (0, None), out
    assert "Traceback" not in out, out
    missing = [f for f in fragments if f not in out]
    assert not missing, f"message lacks {missing}:\n{out}"
    if c.before_calls:
        assert fake_openai.requests == [], out
        assert stored_calls(store) == 0 and not (tmp_path / "runs").exists(), out

"""A run on another dataset with stored verdicts records no demo name (issue 12 item 8).

The study notebooks declare defaults that name the demo panel (``judges = "panel:demo"``).
A run given only ``dataset`` and ``verdicts`` analyses every stored identity; its manifest,
findings, run record and report record what the study resolved, never those defaults. The one
place a demo name remains is the notebook's own ``parameters`` cell (the declared defaults,
overridden by the cell papermill injects): documented in docs/design.md#run-outputs.
"""

from __future__ import annotations

import json
import re

import pandas as pd
from typer.testing import CliRunner

#: Names of the demo panel.
DEMO_NAMES = re.compile(r"panel:demo|aurora|basalt|cirrus")
JUDGES = ("gpt-4o", "llama-3")


def _toy_dataset(directory, n_items=12):
    """Items answered by two generators, judged in both orders by two stored judges (no texts:
    the verdicts are all there is)."""
    directory.mkdir(parents=True)
    (directory / "dataset.yaml").write_text("name: toy_stored\nlicence: CC0-1.0\n")
    items = pd.DataFrame({"item_id": [f"i{k}" for k in range(n_items)], "prompt": "q"})
    items.to_csv(directory / "items.csv", index=False)
    responses = pd.DataFrame(
        [(f"i{k}-{g}", f"i{k}", g) for k in range(n_items) for g in ("gpt-4o", "claude-3")],
        columns=["response_id", "item_id", "generator"],
    )
    responses.to_csv(directory / "responses.csv", index=False)
    rows = [
        dict(
            model=judge,
            backend="published",
            judge_version="v1",
            protocol="pairwise",
            item_id=f"i{k}",
            response_a=f"i{k}-gpt-4o",
            response_b=f"i{k}-claude-3",
            order=order,
            choice="A" if (k * (j + 1) + len(order)) % 3 else "B",
            parse_ok=True,
        )
        for j, judge in enumerate(JUDGES)
        for k in range(n_items)
        for order in ("ab", "ba")
    ]
    pd.DataFrame(rows).to_csv(directory / "verdicts.csv", index=False)
    return directory


def test_stored_verdicts_run_records_no_demo_name(tmp_path, monkeypatch):
    from judgelab.cli import app

    monkeypatch.delenv("JUDGELAB_NOTEBOOKS", raising=False)  # the built-in study notebooks
    data = _toy_dataset(tmp_path / "toy_stored")
    out = tmp_path / "out"
    args = ["run", "position_bias", "-p", "dataset", str(data), "-p", "verdicts", "dataset"]
    args += ["-p", "n_boot", "20", "-p", "store", str(tmp_path / "store.sqlite")]
    res = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output

    manifest = json.loads((out / "manifest.json").read_text())
    # what the study resolved: judges left at its default analyses every stored identity
    assert manifest["parameters"]["judges"] is None
    assert manifest["parameters"]["verdicts"] == "dataset"
    assert manifest["parameters"]["n_boot"] == 20
    assert sorted(j["model"] for j in manifest["judges"]) == sorted(JUDGES)
    for name in ("manifest.json", "findings.json", "run_record.json", "position_bias.html"):
        text = (out / name).read_text()
        found = DEMO_NAMES.findall(text)
        assert not found, f"{name} names the demo panel: {sorted(set(found))}"

    # the executed notebook: only its declared defaults (the cell tagged `parameters`) name
    # the demo; the injected parameters, the code and every output do not
    cells = json.loads((out / "position_bias.ipynb").read_text())["cells"]
    naming = [
        c.get("metadata", {}).get("tags", [])
        for c in cells
        if DEMO_NAMES.search("".join(c["source"]) + json.dumps(c.get("outputs", [])))
    ]
    assert naming == [["parameters"]]

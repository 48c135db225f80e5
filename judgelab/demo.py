"""The demo benchmark: seeded, objectively checkable items answered by fictional generators.

``python -m judgelab.demo [OUT_DIR]`` regenerates ``judgelab/demo_data/`` (the top-level
``data/demo`` links to it) byte for byte: a test regenerates it into a temporary
directory and compares every file.

The generative story (documented for readers in ``demo_data/README.md``):

- 160 items in four categories whose answers can be checked: arithmetic, unit
  conversion, date arithmetic, and reading (a fact stated in the prompt).
- 9 fictional generators in 3 fictional families (``families.DEMO_FAMILIES``);
  each has a skill (logit of answering correctly) and a verbosity (mean number of
  filler sentences), and each family a recognisable style. Families differ in
  average skill: aurora > basalt > cirrus.
- True quality on the logit scale: ``quality = 1.5 * (2 * correct - 1) + presentation``,
  ``presentation ~ N(family offset, 0.35)``. Length does not enter quality, so any
  preference for longer answers is a bias.
- 3 simulated raters. Scores: ``round(5.5 + 1.5 * quality + rater offset + N(0, 0.6))``
  clipped to 1..10. Preferences on 3 random pairs per item (480 pairs), every rater:
  ``u = quality + N(0, 0.2)`` per answer, a tie when ``|u_a - u_b| < 0.1``.
- Rubric (Correctness, Reasoning, Clarity) with true section metrics in truth.csv
  and 2 raters' pass/warn/fail labels (per section and overall) on 180 responses.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab.families import DEMO_FAMILIES

SEED = 20261122
N_ITEMS = 160
PAIRS_PER_ITEM = 3
RATERS = ("r1", "r2", "r3")
RUBRIC_RATERS = ("r1", "r2")
N_RUBRIC_RESPONSES = 180
# the rubric defaults of judgelab.rubric, so judges and raters label on one scale
from judgelab.rubric import DEFAULT_PASS_THRESHOLD as PASS_THRESHOLD  # noqa: E402
from judgelab.rubric import DEFAULT_WARN_THRESHOLD as WARN_THRESHOLD  # noqa: E402

# generator -> (skill: logit of a correct answer, verbosity: mean filler sentences)
GENERATORS: dict[str, tuple[float, float]] = {
    "aurora-max": (2.6, 1.0),
    "aurora-plus": (2.0, 2.0),
    "aurora-lite": (1.4, 0.5),
    "basalt-xl": (1.8, 1.5),
    "basalt-m": (1.1, 2.5),
    "basalt-s": (0.6, 1.0),
    "cirrus-ultra": (1.0, 3.0),
    "cirrus-base": (0.3, 2.0),
    "cirrus-nano": (-0.3, 0.5),
}
FAMILY_PRESENTATION = {"aurora": 0.25, "basalt": 0.0, "cirrus": -0.25}
# probability that a family's answer shows its working (drives the Reasoning section)
FAMILY_SHOWS_WORK = {"aurora": 0.9, "basalt": 0.8, "cirrus": 0.3}

FILLER = [
    "This is a common kind of question.",
    "I double-checked the calculation.",
    "Let me know if you need anything else.",
    "Problems like this come up often in practice.",
    "It helps to write each step down.",
    "Hopefully this explanation is useful.",
    "There are several ways to approach this.",
    "The key is to be careful with each step.",
]

RUBRIC = {
    "name": "demo-answer-quality",
    "sections": [
        {
            "title": "Correctness",
            "body": "The final answer matches the correct answer exactly.",
            "bullets": ["Numbers and units are right", "Dates use the requested format"],
        },
        {
            "title": "Reasoning",
            "body": "The answer shows the steps needed to reach it.",
            "bullets": ["Each step follows from the previous one"],
        },
        {
            "title": "Clarity",
            "body": "The answer is concise and free of filler.",
            "bullets": ["No irrelevant sentences", "The final answer is easy to find"],
        },
    ],
}


def _make_item(i: int, rng: np.random.Generator) -> dict:
    cat = ("arithmetic", "unit_conversion", "date_arithmetic", "reading")[i % 4]
    if cat == "arithmetic":
        a, b, c = (int(x) for x in rng.integers([12, 3, 5], [99, 19, 200]))
        prompt = f"What is {a} × {b} + {c}? Give the final number."
        ref = a * b + c
        steps = f"{a} × {b} = {a * b}, and {a * b} + {c} = {{ans}}."
        wrong = [ref + int(rng.choice([-10, -1, 1, 10])), a * (b + c)]
    elif cat == "unit_conversion":
        kind = int(rng.integers(3))
        x = int(rng.integers(2, 95))
        if kind == 0:
            prompt, ref = f"How many metres are in {x} kilometres?", x * 1000
            steps = f"1 kilometre is 1000 metres, so {x} × 1000 = {{ans}}."
            wrong = [x * 100, x * 10000]
        elif kind == 1:
            prompt, ref = f"How many minutes are in {x} hours?", x * 60
            steps = f"1 hour is 60 minutes, so {x} × 60 = {{ans}}."
            wrong = [x * 100, x * 60 + 60]
        else:
            prompt, ref = f"How many inches are in {x} feet?", x * 12
            steps = f"1 foot is 12 inches, so {x} × 12 = {{ans}}."
            wrong = [x * 10, x * 12 + 12]
    elif cat == "date_arithmetic":
        start = dt.date(2020, 1, 1) + dt.timedelta(days=int(rng.integers(0, 1500)))
        n = int(rng.integers(5, 120))
        prompt = f"What date is {n} days after {start.isoformat()}? Answer as YYYY-MM-DD."
        ref = (start + dt.timedelta(days=n)).isoformat()
        steps = f"Counting {n} days forward from {start.isoformat()} gives {{ans}}."
        wrong = [
            (start + dt.timedelta(days=n + 1)).isoformat(),
            (start + dt.timedelta(days=n - 1)).isoformat(),
        ]
    else:
        names = ["Mira", "Tomas", "Lena", "Ravi", "Ines", "Kofi", "Anya", "Juno"]
        a_name, b_name = (str(s) for s in rng.choice(names, 2, replace=False))
        have, give = int(rng.integers(3, 40)), int(rng.integers(1, 30))
        prompt = (
            f"{a_name} has some marbles and gives {give} of them to {b_name}. "
            f"Before that, {b_name} had {have} marbles. How many marbles does {b_name} have now?"
        )
        ref = have + give
        steps = f"{b_name} starts with {have} and receives {give}: {have} + {give} = {{ans}}."
        wrong = [abs(have - give), have + give + 1]
    return {
        "item_id": f"q{i + 1:03d}",
        "prompt": prompt,
        "reference": str(ref),
        "category": cat,
        "_steps": steps,
        "_wrong": [str(w) for w in wrong],
        "_difficulty": float(rng.normal(0, 0.8)),
    }


# Each generator has its own phrasing inside its family's style, so that no two generators
# write the same text for an item (the simulated judge recognises answers by their text).
PHRASING = {
    "aurora-max": ("**Answer:** {ans}", "Working"),
    "aurora-plus": ("**Final answer:** {ans}", "Steps"),
    "aurora-lite": ("**Result:** {ans}", "How"),
    "basalt-xl": ("Let's solve this step by step.", "Therefore, the answer is {ans}."),
    "basalt-m": ("Let's work through it.", "So the answer is {ans}."),
    "basalt-s": ("Step by step:", "The answer is {ans}."),
    "cirrus-ultra": ("I think it's {ans}.", "Hope this helps!"),
    "cirrus-base": ("It's {ans}.", "Hope that helps!"),
    "cirrus-nano": ("{ans}.", "Cheers!"),
}


def _render(generator: str, family: str, ans: str, steps: str | None, fillers: list[str]) -> str:
    first, second = PHRASING[generator]
    tail = (" " + " ".join(fillers)) if fillers else ""
    if family == "aurora":
        body = first.format(ans=ans)
        if steps:
            body += f"\n\n{second}: {steps.format(ans=ans)}"
        return body + (f"\n\n{' '.join(fillers)}" if fillers else "")
    if family == "basalt":
        lead = f"{first} {steps.format(ans=ans)} " if steps else ""
        return f"{lead}{second.format(ans=ans)}{tail}"
    body = first.format(ans=ans) + (f" {steps.format(ans=ans)}" if steps else "")
    return f"{body}{tail} {second}"


def _aggregate(metrics: list[float]) -> str:
    """pass/warn/fail from section metrics (the docs/design.md rubric rule, default thresholds)."""
    below_warn = sum(m < WARN_THRESHOLD for m in metrics)
    gaps = sum(WARN_THRESHOLD <= m < PASS_THRESHOLD for m in metrics)
    if below_warn or gaps >= 2:
        return "fail"
    return "warn" if gaps == 1 else "pass"


def build() -> dict[str, pd.DataFrame | dict | str]:
    rng = np.random.default_rng(SEED)
    items = [_make_item(i, rng) for i in range(N_ITEMS)]
    fam_of = {g: f for f, gs in DEMO_FAMILIES.items() for g in gs}

    resp_rows, truth_rows = [], []
    for it in items:
        for gen, (skill, verbosity) in GENERATORS.items():
            fam = fam_of[gen]
            p = 1 / (1 + np.exp(-(skill - it["_difficulty"])))
            correct = bool(rng.random() < p)
            ans = it["reference"] if correct else str(rng.choice(it["_wrong"]))
            shows_work = bool(rng.random() < FAMILY_SHOWS_WORK[fam])
            n_fill = int(rng.poisson(verbosity))
            fillers = [
                str(s) for s in rng.choice(FILLER, size=min(n_fill, len(FILLER)), replace=False)
            ]
            text = _render(gen, fam, ans, it["_steps"] if shows_work else None, fillers)
            presentation = float(rng.normal(FAMILY_PRESENTATION[fam], 0.35))
            quality = 1.5 * (2 * correct - 1) + presentation
            sec = {
                "Correctness": 0.95 if correct else 0.05,
                "Reasoning": float(
                    np.clip((0.92 if shows_work else 0.35) + rng.normal(0, 0.05), 0, 1)
                ),
                "Clarity": float(np.clip(0.95 - 0.12 * n_fill + rng.normal(0, 0.05), 0, 1)),
            }
            rid = f"{it['item_id']}-{gen}"
            resp_rows.append(
                {
                    "response_id": rid,
                    "item_id": it["item_id"],
                    "generator": gen,
                    "family": fam,
                    "text": text,
                }
            )
            truth_rows.append(
                {
                    "response_id": rid,
                    "quality": round(quality, 4),
                    "correct": int(correct),
                    "n_words": len(text.split()),
                    **{f"section:{k}": round(v, 4) for k, v in sec.items()},
                }
            )
    dup = pd.DataFrame(resp_rows).duplicated(["item_id", "text"])
    assert not dup.any(), "two generators wrote the same text for an item"
    items_df = pd.DataFrame(
        [{k: v for k, v in it.items() if not k.startswith("_")} for it in items]
    )
    responses = pd.DataFrame(resp_rows)
    truth = pd.DataFrame(truth_rows)
    q = dict(zip(truth["response_id"], truth["quality"], strict=True))

    # human scores: every rater scores every response
    offsets = {"r1": 0.3, "r2": -0.2, "r3": 0.0}
    label_rows = []
    for rid in responses["response_id"]:
        for r in RATERS:
            s = 5.5 + 1.5 * q[rid] + offsets[r] + rng.normal(0, 0.6)
            label_rows.append(
                {"response_id": rid, "rater_id": r, "score": int(np.clip(round(s), 1, 10))}
            )
    labels = pd.DataFrame(label_rows)

    # human preferences: 3 random pairs per item, every rater, displayed in the stored order
    pref_rows = []
    by_item = responses.groupby("item_id", sort=True)["response_id"].apply(list)
    for item_id, rids in by_item.items():
        all_pairs = [(a, b) for i, a in enumerate(rids) for b in rids[i + 1 :]]
        chosen = rng.choice(len(all_pairs), PAIRS_PER_ITEM, replace=False)
        for k in sorted(int(c) for c in chosen):
            a, b = all_pairs[k]
            if rng.random() < 0.5:
                a, b = b, a
            for r in RATERS:
                ua, ub = q[a] + rng.normal(0, 0.2), q[b] + rng.normal(0, 0.2)
                pref = "tie" if abs(ua - ub) < 0.1 else ("a" if ua > ub else "b")
                pref_rows.append(
                    {
                        "item_id": item_id,
                        "response_a": a,
                        "response_b": b,
                        "rater_id": r,
                        "preference": pref,
                    }
                )
    preferences = pd.DataFrame(pref_rows)

    # rubric labels: 2 raters, per section and overall, on a seeded sample of responses
    rub_ids = sorted(
        rng.choice(responses["response_id"].to_numpy(), N_RUBRIC_RESPONSES, replace=False)
    )
    truth_idx = truth.set_index("response_id")
    rub_rows = []
    for rid in rub_ids:
        for r in RUBRIC_RATERS:
            metrics = []
            for sec in RUBRIC["sections"]:
                m = float(
                    np.clip(
                        truth_idx.loc[rid, f"section:{sec['title']}"] + rng.normal(0, 0.06), 0, 1
                    )
                )
                metrics.append(m)
                lab = "pass" if m >= PASS_THRESHOLD else ("warn" if m >= WARN_THRESHOLD else "fail")
                rub_rows.append(
                    {"response_id": rid, "rater_id": r, "section": sec["title"], "label": lab}
                )
            rub_rows.append(
                {
                    "response_id": rid,
                    "rater_id": r,
                    "section": "overall",
                    "label": _aggregate(metrics),
                }
            )
    rubric_labels = pd.DataFrame(rub_rows)

    meta = (
        "name: demo\n"
        "description: >-\n"
        "  judgelab's demo benchmark: 160 objectively checkable items answered by 9 fictional\n"
        "  generators in 3 fictional families (aurora, basalt, cirrus), scored and compared by 3\n"
        "  simulated human raters. No real provider's behaviour is claimed.\n"
        "licence: CC0-1.0 (generated by judgelab.demo)\n"
        "scale:\n  min: 1\n  max: 10\n"
        "rubric: rubric.json\n"
        f"rubric_thresholds:\n  pass: {PASS_THRESHOLD}\n  warn: {WARN_THRESHOLD}\n"
        f"seed: {SEED}\n"
    )
    return {
        "items": items_df,
        "responses": responses,
        "labels": labels,
        "preferences": preferences,
        "truth": truth,
        "rubric_labels": rubric_labels,
        "rubric": RUBRIC,
        "dataset.yaml": meta,
    }


def generate_demo(out_dir: str | Path) -> list[Path]:
    """Write the demo benchmark into ``out_dir``; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, obj in build().items():
        if isinstance(obj, pd.DataFrame):
            path = out / f"{name}.csv"
            obj.to_csv(path, index=False, lineterminator="\n")
        elif isinstance(obj, dict):
            path = out / f"{name}.json"
            path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            path = out / name
            path.write_text(obj, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - exercised by the regeneration test
    from judgelab.data import demo_data_dir

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else demo_data_dir()
    for p in generate_demo(target):
        print(p)

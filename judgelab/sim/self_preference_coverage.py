"""Coverage of the self-preference estimator on the demo panel, by simulation (issue 14 item 6).

One judge of the demo panel (by default cirrus-ultra, the sharpest judge of the worst family)
is re-planted with an *effective* self-preference ``effective`` (log-odds: the planted
``self_preference`` is ``effective * noise``, see :mod:`judgelab.sim`) at a chosen noise; its
other biases keep their effective (log-odds) size, its family taste keeps its size on the
quality scale, and the other eight judges stay as in the demo. Each replicate draws the
panel's verdicts on the demo's human pairs with a new seed and fits the study's conditional
logit (:func:`judgelab.stats.self_preference.fit_self_preference_logit`) with the quality
controlled by

* ``human``: per-judge slopes on the human score gap and preference share, every judge
  compared with the whole panel on a pair (``comparison="panel"``, the study before issue 14),
* ``band``: the same slopes, each judge compared with the judges of its sharpness band
  (``comparison="sharpness"``, the study's default), or
* ``truth``: one per-judge slope on the demo's true quality gap, whole panel (an oracle: the
  quality confound removed exactly, so what remains is not a quality confound).

The dataset (true quality, human votes) and the simulated family-taste draws are fixed
across replicates, as they are for a researcher re-running the demo: the table measures
the estimator on *this* data, not averaged over datasets. ``family_taste`` replaces the
judge family's taste (quality units) to test whether the shared taste draw explains a bias.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from judgelab.sim.panels import PANELS
from judgelab.sim.sampler import prepare_responses, sample_verdicts
from judgelab.sim.truth import responses_frame
from judgelab.stats.self_preference_judgments import judgment_table
from judgelab.stats.self_preference_logit import fit_self_preference_logit
from judgelab.stats.units import choice_codes, parsed_mask

__all__ = ["CONTROLS", "replanted_panel", "coverage_replicates", "coverage_table"]

CONTROLS = ("human", "band", "truth")
#: bias parameters that act on the judge's latent and so scale with its noise (log-odds fixed)
_SCALED = ("position_bias", "self_preference", "family_preference", "length_bias")


def replanted_panel(
    judge: str = "cirrus-ultra",
    noise: float = 0.12,
    effective: float = 1.0,
    *,
    panel: str = "demo",
    family_taste: float | None = None,
) -> list[dict]:
    """The panel's judges as sampler mappings, ``judge`` re-planted at ``noise`` with an
    effective self-preference ``effective`` (log-odds); its other latent biases keep their
    log-odds size; ``family_taste`` (quality units), when given, replaces the taste of every
    judge of ``judge``'s family (the taste is one draw shared by the family)."""
    judges = PANELS[panel]
    if judge not in judges:
        raise ValueError(f"{judge!r} is not a judge of panel {panel!r}: {sorted(judges)}")
    fam = judge.split("-", 1)[0]
    out = []
    for name, params in judges.items():
        p = dict(params)
        if name == judge:
            f = noise / p["noise"]
            for k in _SCALED:
                p[k] = p[k] * f
            p["noise"] = noise
            p["self_preference"] = effective * noise
        if family_taste is not None and name.split("-", 1)[0] == fam:
            p["family_taste"] = float(family_taste)
        out.append({"model": f"judgelab-sim/{name}", "sim": p})
    return out


def _pick_a(v: pd.DataFrame, first_a: np.ndarray) -> np.ndarray:
    """pick_a of :func:`judgment_table` for new draws on the same rows (same pairs and orders)."""
    ch = choice_codes(v["choice"])
    parsed = pd.notna(ch) & parsed_mask(v)
    a_won = np.where(first_a == 1, ch == "A", ch == "B")
    return np.where(parsed & (ch != "C"), a_won.astype(float), np.nan)


def coverage_replicates(
    dataset,
    *,
    judge: str = "cirrus-ultra",
    noises: Iterable[float] = (0.12, 0.3, 0.6),
    effective: float = 1.0,
    controls: Iterable[str] = CONTROLS,
    n_rep: int = 200,
    seed: int = 0,
    family_taste: float | None = None,
    panel: str = "demo",
) -> pd.DataFrame:
    """One row per (noise, control, replicate): the judge's self term ``estimate``,
    ``ci_low``/``ci_high`` (95% Wald, cluster-robust by item), ``covers`` (the CI holds
    ``effective``) and ``rejects_low`` / ``rejects_high`` (CI entirely below / above 0).

    ``dataset`` is the demo Dataset (its truth gives the oracle control); replicate ``r``
    draws the verdicts with sampler seed ``seed + r``."""
    controls = list(controls)
    bad = sorted(set(controls) - set(CONTROLS))
    if bad:
        raise ValueError(f"unknown quality control(s) {bad}; choose from {list(CONTROLS)}")
    resp = responses_frame(dataset)
    prep = prepare_responses(resp)
    pairs = dataset.pairs("human")
    quality = resp.set_index(resp["response_id"].astype(str))["quality"]
    rows = []
    for noise in noises:
        judges = replanted_panel(judge, noise, effective, panel=panel, family_taste=family_taste)
        jt0 = judgment_table(sample_verdicts(pairs, prep, judges, seed=seed), dataset)
        true_gap = jt0["ra"].map(quality).to_numpy() - jt0["rb"].map(quality).to_numpy()
        ident = next(j for j in jt0["judge"].unique() if j.split("|")[0].endswith("/" + judge))
        first_a = jt0["first_a"].to_numpy()
        for r in range(n_rep):
            jt = jt0.copy()
            if r:
                jt["pick_a"] = _pick_a(sample_verdicts(pairs, prep, judges, seed=seed + r), first_a)
            for control in controls:
                x, comparison = jt, "sharpness" if control == "band" else "panel"
                if control == "truth":
                    x = jt.assign(hgap=true_gap, pgap=np.nan)
                c = fit_self_preference_logit(x, comparison)
                row = c[(c["judge"] == ident) & (c["term"] == "self")].iloc[0]
                est, lo, hi = row["estimate"], row["ci_low"], row["ci_high"]
                ok = est is not None and pd.notna(est)
                rows.append(
                    {
                        "noise": float(noise),
                        "control": control,
                        "replicate": r,
                        "estimate": float(est) if ok else np.nan,
                        "ci_low": float(lo) if ok else np.nan,
                        "ci_high": float(hi) if ok else np.nan,
                        "covers": bool(ok and lo <= effective <= hi),
                        "rejects_low": bool(ok and hi < 0),
                        "rejects_high": bool(ok and lo > 0),
                    }
                )
    return pd.DataFrame(rows)


def coverage_table(reps: pd.DataFrame, target: float = 0.9) -> pd.DataFrame:
    """Per (noise, control): replicates, mean estimate, coverage of the planted value, share
    rejecting below / above 0, and ``adequate`` (coverage >= ``target``)."""
    g = reps.groupby(["noise", "control"], sort=True)
    out = g.agg(
        replicates=("covers", "size"),
        mean_estimate=("estimate", "mean"),
        coverage=("covers", "mean"),
        rejects_low=("rejects_low", "mean"),
        rejects_high=("rejects_high", "mean"),
    ).reset_index()
    out["adequate"] = out["coverage"] >= target
    return out

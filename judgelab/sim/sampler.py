"""The vectorised sampler: the generative model drawn with numpy, without litellm, giving
exactly the verdicts the provider would (same uniforms, probabilities and texts)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from judgelab import families
from judgelab import rubric as rubric_mod
from judgelab.sim.model import (
    _FAIL_PAIRWISE,
    _FAIL_SINGLE,
    _KNOWN_JUDGES,
    _PROTOCOL_CODE,
    NEUTRAL_QUALITY,
    PROVIDER,
    RUBRIC_PASS,
    RUBRIC_WARN,
    STREAM_CHOICE,
    STREAM_PARSE,
    _chain,
    _draw_pairwise,
    _draw_score,
    _family_key,
    _greedy_pairwise,
    _h64,
    _judge_family,
    _margin,
    _name_of,
    _pairwise_parts,
    _perceived,
    _relation_terms,
    _rubric_fail_text,
    _rubric_metrics,
    _rubric_parts,
    _section_values,
    _sim_of,
    _single_parts,
    _taste_z,
    _uniform,
    confidence_z,
    normalize_params,
    pairwise_probabilities,
    param_hash,
    reported_probabilities,
    rubric_probabilities,
    score_probabilities,
)
from judgelab.sim.truth import (
    _n_words,
)

# ------------------------------------------------------------ vectorised sampler


def _judge_spec(j: Any) -> dict[str, Any]:
    if isinstance(j, str):
        name = _name_of(j)
        params = normalize_params(_KNOWN_JUDGES.get(name))
        return {
            "name": name,
            "params": params,
            "version": None,
            "temperature": 0.0,
            "seed": None,
            "allow_tie": True,
            "family": None,
        }
    get = j.get if isinstance(j, Mapping) else (lambda k, d=None: getattr(j, k, d))
    params = _sim_of(j)
    return {
        "name": _name_of(j),
        "params": params,
        "version": get("version", None),
        "temperature": float(get("temperature", 0.0) or 0.0),
        "seed": get("seed", None),
        "allow_tie": bool(get("allow_tie", True)),
        "family": get("family", None),
        # the Judge's own aggregation thresholds: the stored `verdict` is recomputed with them
        "pass_threshold": float(
            RUBRIC_PASS if get("pass_threshold", None) is None else get("pass_threshold")
        ),
        "warn_threshold": float(
            RUBRIC_WARN if get("warn_threshold", None) is None else get("warn_threshold")
        ),
    }


def _prepare_responses(responses: pd.DataFrame) -> pd.DataFrame:
    from judgelab.data import DataError

    if "response_id" not in responses.columns:
        raise DataError("responses", "response_id", "missing required column for sample_verdicts")
    r = responses.copy()
    r["response_id"] = r["response_id"].astype(str)
    dup = r["response_id"].duplicated(keep=False)
    if dup.any():
        raise DataError(
            "responses", "response_id", "duplicate ids", np.flatnonzero(dup.to_numpy()).tolist()
        )
    for col, default in (
        ("item_id", None),
        ("generator", None),
        ("family", None),
        ("correct", np.nan),
    ):
        if col not in r.columns:
            r[col] = default
    if "quality" not in r.columns:
        r["quality"] = NEUTRAL_QUALITY
    r["quality"] = (
        pd.to_numeric(r["quality"], errors="coerce").fillna(NEUTRAL_QUALITY).astype(float)
    )
    if "n_words" not in r.columns:
        r["n_words"] = r["text"].map(_n_words) if "text" in r.columns else 0
    r["n_words"] = pd.to_numeric(r["n_words"], errors="coerce").fillna(0).astype(float)
    missing = r["family"].isna() & r["generator"].notna()
    if missing.any():
        r.loc[missing, "family"] = r.loc[missing, "generator"].map(families.family_of)
    return r.reset_index(drop=True)


class PreparedResponses:
    """The ``responses`` input of :func:`sample_verdicts`, validated and indexed once.

    Replicate loops (hundreds of calls on the same responses) should prepare once and pass
    this object instead of the frame: it caches the response keys, relations and taste
    draws, which otherwise dominate a call's fixed cost."""

    def __init__(self, responses: pd.DataFrame):
        r = _prepare_responses(responses)
        self.frame = r
        self.rid_list: list[str] = r["response_id"].tolist()
        self.index = pd.Index(self.rid_list)
        self.keys = np.fromiter(
            (_h64("rid:" + rid) for rid in self.rid_list), dtype=np.uint64, count=len(r)
        )
        self.quality = r["quality"].to_numpy(dtype=float)
        self.words = r["n_words"].to_numpy(dtype=float)
        self.item_ids = r["item_id"].to_numpy(dtype=object)
        self.sections = {
            c.split(":", 1)[1]: r[c].to_numpy(dtype=float)
            for c in r.columns
            if str(c).startswith("section:")
        }
        # relations depend on (generator, family) only: resolve each distinct one once
        gen = [None if pd.isna(g) else str(g) for g in r["generator"].tolist()]
        gfam = [None if pd.isna(f) else str(f) for f in r["family"].tolist()]
        combos: dict[tuple, int] = {}
        self.combo_codes = np.array(
            [combos.setdefault((g, f), len(combos)) for g, f in zip(gen, gfam, strict=True)],
            dtype=np.int64,
        )
        self.combos = list(combos)
        self.rid_cats = _pa_strings(self.rid_list)
        self.rid_tie = _pa_strings([*self.rid_list, "tie"])
        self._rel: dict[tuple, np.ndarray] = {}
        self._taste: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.rid_list)

    def relation_terms(self, name: str, family: str | None, p: Mapping[str, Any]) -> np.ndarray:
        key = (name, family, p["self_preference"], p["family_preference"], p["lineage_preference"])
        if key not in self._rel:
            rel_u = np.array(
                [_relation_terms(p, name, family, g, f) for g, f in self.combos], dtype=float
            )
            self._rel[key] = rel_u[self.combo_codes] if len(rel_u) else np.zeros(len(self))
        return self._rel[key]

    def taste(self, family_key: str) -> np.ndarray:
        if family_key not in self._taste:
            self._taste[family_key] = _taste_z(family_key, self.keys)
        return self._taste[family_key]

    def perceived(self, name: str, family: str | None, p: Mapping[str, Any]) -> np.ndarray:
        """V_j(r) for every response (module doc)."""
        taste = self.taste(_family_key(name, family)) if p["family_taste"] > 0 else 0.0
        return _perceived(self.quality, self.words, self.relation_terms(name, family, p), taste, p)


_PREPARED_CACHE: dict[str, PreparedResponses] = {}
_PREPARED_CACHE_SIZE = 8


def _fingerprint(responses: pd.DataFrame) -> str:
    """sha256 of every column the sampler reads (ids and strings joined, numbers as bytes):
    about 1 ms for the demo's 1,440 responses, against ~20 ms to prepare them again."""
    h = hashlib.sha256()
    read = ("response_id", "item_id", "generator", "family", "quality", "correct", "n_words")
    if "n_words" not in responses.columns:
        read += ("text",)  # word counts come from the texts then
    cols = [c for c in read if c in responses.columns]
    cols += sorted(c for c in responses.columns if str(c).startswith("section:"))
    for c in cols:
        h.update(str(c).encode() + b"\x1e")
        values = responses[c].to_numpy()
        if values.dtype.kind in "fiub":
            h.update(np.ascontiguousarray(values).tobytes())
        else:
            h.update("\x1f".join(map(str, values.tolist())).encode("utf-8"))
    return h.hexdigest()


def prepare_responses(responses: pd.DataFrame | PreparedResponses) -> PreparedResponses:
    """Validate and index a responses frame once for many :func:`sample_verdicts` calls.

    Frames are cached by a fingerprint of their content (8 most recent), so replicate loops
    that pass the same frame again skip the preparation; a changed frame is prepared anew."""
    if isinstance(responses, PreparedResponses):
        return responses
    key = _fingerprint(responses)
    prep = _PREPARED_CACHE.pop(key, None)
    if prep is None:
        prep = PreparedResponses(responses)
    _PREPARED_CACHE[key] = prep  # most recent last
    while len(_PREPARED_CACHE) > _PREPARED_CACHE_SIZE:
        _PREPARED_CACHE.pop(next(iter(_PREPARED_CACHE)))
    return prep


def _rubric_titles(rubric) -> list[str]:
    if rubric is None:
        raise ValueError(
            "protocol 'rubric' needs rubric= (a rubric mapping with sections, or a list of section titles)"
        )
    if isinstance(rubric, Mapping):
        sections = rubric.get("sections") or []
        return [
            str(s.get("title", f"section {i + 1}")) if isinstance(s, Mapping) else str(s)
            for i, s in enumerate(sections)
        ]
    return [str(s) for s in rubric]


@dataclass
class _Units:
    """What is judged: row positions (in the prepared responses) of the answer in slot A
    and slot B (the same for single / rubric), their items, the orders, scale and sections."""

    ia: np.ndarray
    ib: np.ndarray
    item_ids: np.ndarray
    orders: tuple
    scale: tuple[int, int] = (1, 10)
    titles: tuple[str, ...] = ()


def _pairwise_units(pairs, prep: PreparedResponses, orders) -> _Units:
    if pairs is None:
        raise ValueError("protocol 'pairwise' needs pairs (item_id, response_a, response_b)")
    for o in orders:
        if o not in ("ab", "ba"):
            raise ValueError(f"orders must be 'ab' and/or 'ba', not {o!r}")
    pr = pairs.reset_index(drop=True)
    ia = prep.index.get_indexer(pr["response_a"].astype(str))
    ib = prep.index.get_indexer(pr["response_b"].astype(str))
    bad = (ia < 0) | (ib < 0)
    if bad.any():
        from judgelab.data import DataError

        raise DataError(
            "pairs",
            "response_a/response_b",
            "response id not in responses",
            np.flatnonzero(bad).tolist(),
        )
    item_ids = (
        pr["item_id"].to_numpy(dtype=object) if "item_id" in pr.columns else prep.item_ids[ia]
    )
    return _Units(ia, ib, item_ids, tuple(orders))


def _response_units(pairs, prep: PreparedResponses, protocol: str, scale, rubric) -> _Units:
    if pairs is None:
        ia = np.arange(len(prep))
    else:
        col = "response_id" if "response_id" in pairs.columns else "response_a"
        ia = prep.index.get_indexer(pairs[col].astype(str))
        if (ia < 0).any():
            from judgelab.data import DataError

            raise DataError(
                "pairs", col, "response id not in responses", np.flatnonzero(ia < 0).tolist()
            )
    lo, hi = int(scale[0]), int(scale[1])
    if protocol == "single" and hi <= lo:
        raise ValueError(f"scale {scale} is empty")
    titles = tuple(_rubric_titles(rubric)) if protocol == "rubric" else ()
    return _Units(ia, ia, prep.item_ids[ia], (None,), (lo, hi), titles)


@dataclass
class _Draws:
    """One row per judge x unit x order x sample (C order): index arrays, the judges' settings
    broadcast to rows, the hashed uniforms and the perceived qualities they are applied to."""

    total: int
    jidx: np.ndarray
    uidx: np.ndarray
    oidx: np.ndarray
    sidx: np.ndarray
    noise: np.ndarray
    position_bias: np.ndarray
    tie_band: np.ndarray
    ties_ok: np.ndarray
    seed_rows: np.ndarray
    sample_eff: np.ndarray
    jkeys: np.ndarray
    first: np.ndarray
    second: np.ndarray | None
    k1: np.ndarray
    u_choice: np.ndarray
    parse_ok: np.ndarray
    vmat: np.ndarray  # V_j(r): judges x responses
    families: list
    temps: np.ndarray
    greedy: np.ndarray
    sharpness: np.ndarray
    conf_noise: np.ndarray


def _draws(specs, prep, units: _Units, protocol, repeats, seed, temperature, allow_tie) -> _Draws:
    n_j, n_units, n_orders = len(specs), len(units.ia), len(units.orders)
    per_judge = n_units * n_orders * repeats
    total = n_j * per_judge
    jidx = np.repeat(np.arange(n_j), per_judge)
    uidx = np.tile(np.repeat(np.arange(n_units), n_orders * repeats), n_j)
    oidx = np.tile(np.repeat(np.arange(n_orders), repeats), n_j * n_units)
    sidx = np.tile(np.arange(repeats), n_j * n_units * n_orders)

    def col(key):
        return np.array([s["params"][key] for s in specs], dtype=float)[jidx]

    temps = np.array(
        [s["temperature"] if temperature is None else float(temperature) for s in specs]
    )[jidx]
    ties_ok = np.array([s["allow_tie"] if allow_tie is None else bool(allow_tie) for s in specs])[
        jidx
    ]
    seeds = np.array(
        [int(s["seed"]) if s["seed"] is not None else int(seed) for s in specs], dtype=np.int64
    )
    seed_rows = seeds.astype(np.uint64)[jidx]
    sample_eff = np.where(temps > 0, sidx, 0).astype(np.uint64)
    jkeys = np.array([_h64("judge:" + s["name"]) for s in specs], dtype=np.uint64)[jidx]

    fams = []
    vmat = np.empty((n_j, len(prep)))
    for j, s in enumerate(specs):
        fam = s["family"] or _judge_family(s["name"], s["params"])
        fams.append(fam)
        vmat[j] = prep.perceived(s["name"], fam, s["params"])

    if protocol == "pairwise":
        swap = np.array([o == "ba" for o in units.orders])[oidx]
        first = np.where(swap, units.ib[uidx], units.ia[uidx])
        second = np.where(swap, units.ia[uidx], units.ib[uidx])
        k1, k2 = prep.keys[first], prep.keys[second]
    else:
        first, second = units.ia[uidx], None
        k1, k2 = prep.keys[first], np.zeros(total, dtype=np.uint64)
    pcode = _PROTOCOL_CODE[protocol]
    u_choice = _uniform(_chain(STREAM_CHOICE, jkeys, seed_rows, sample_eff, pcode, k1, k2))
    u_parse = _uniform(_chain(STREAM_PARSE, jkeys, seed_rows, sample_eff, pcode, k1, k2))
    return _Draws(
        total=total,
        jidx=jidx,
        uidx=uidx,
        oidx=oidx,
        sidx=sidx,
        noise=col("noise"),
        position_bias=col("position_bias"),
        tie_band=col("tie_band"),
        ties_ok=ties_ok,
        seed_rows=seed_rows,
        sample_eff=sample_eff,
        jkeys=jkeys,
        first=first,
        second=second,
        k1=k1,
        u_choice=u_choice,
        parse_ok=~(u_parse < col("parse_failure_rate")),
        vmat=vmat,
        families=fams,
        temps=temps,
        greedy=np.array([bool(s["params"]["greedy"]) for s in specs])[jidx],
        sharpness=col("confidence_sharpness"),
        conf_noise=col("confidence_noise"),
    )


def _identity_columns(specs, d: _Draws, protocol: str, units: _Units) -> dict[str, Any]:
    item_cats, item_codes = _categories(np.asarray(units.item_ids, dtype=object))
    return {
        "model": _str_col([f"{PROVIDER}/{s['name']}" for s in specs], d.jidx),
        "backend": _str_col([f"{PROVIDER}:{param_hash(s['params'])[:8]}" for s in specs], d.jidx),
        "judge_version": _str_col([s["version"] for s in specs], d.jidx),
        "judge_family": _str_col(d.families, d.jidx),
        "protocol": _str_col([protocol], np.zeros(d.total, dtype=np.int64)),
        "item_id": _str_col(item_cats, item_codes[d.uidx]),
    }


def _pairwise_columns(specs, d: _Draws, units: _Units, prep, render: bool):
    """Choice A / B / tie from the ordered logit of V(first) - V(second) + position bias."""
    parse_ok, none = d.parse_ok, np.full(d.total, -1, dtype=np.int64)
    v1, v2 = d.vmat[d.jidx, d.first], d.vmat[d.jidx, d.second]
    pa, pb, pt = pairwise_probabilities(v1 - v2 + d.position_bias, d.tie_band, d.noise, d.ties_ok)
    code = _draw_pairwise(pa, pb, d.u_choice)
    greedy = d.greedy & (d.temps == 0)
    if greedy.any():
        code = np.where(greedy, _greedy_pairwise(pa, pb, pt), code)
    # the reported logprobs (the provider's, docs/simulated_panel.md): the generative
    # probabilities unless a judge's confidence knobs distort them
    distort = (d.sharpness != 1.0) | (d.conf_noise != 0.0)
    if distort.any():
        z = confidence_z(
            d.jkeys, d.seed_rows, d.sample_eff, _PROTOCOL_CODE["pairwise"], d.k1,
            prep.keys[d.second], 3,
        )  # fmt: skip
        rep = reported_probabilities(np.stack([pa, pb, pt], axis=1), d.sharpness, d.conf_noise, z)
        pa = np.where(distort, rep[:, 0], pa)
        pb = np.where(distort, rep[:, 1], pb)
        pt = np.where(distort, rep[:, 2], pt)
    # len(prep) stands for "tie" in the winner categories
    win = np.where(code == 0, d.first, np.where(code == 1, d.second, len(prep)))
    top1 = np.maximum(np.maximum(pa, pb), pt)
    top2 = pa + pb + pt - top1 - np.minimum(np.minimum(pa, pb), pt)
    out = dict(
        response_a=_str_col(prep.rid_cats, units.ia[d.uidx]),
        response_b=_str_col(prep.rid_cats, units.ib[d.uidx]),
        response_id=_str_col([], none),
        order=_str_col(list(units.orders), d.oidx),
        sample=d.sidx.astype(np.int64),
        choice=_str_col(["A", "B", "tie"], np.where(parse_ok, code, -1)),
        winner=_str_col(prep.rid_tie, np.where(parse_ok, win, -1)),
        score=np.full(d.total, np.nan),
        parse_ok=parse_ok,
        p_a=np.where(parse_ok, pa, np.nan),
        p_b=np.where(parse_ok, pb, np.nan),
        p_tie=np.where(parse_ok, pt, np.nan),
        margin=np.where(parse_ok, top1 - top2, np.nan),
    )
    raw = None
    if render:
        texts = ["".join(_pairwise_parts(c)) for c in range(3)]
        raw = [
            texts[c] if ok else _FAIL_PAIRWISE
            for c, ok in zip(code.tolist(), parse_ok.tolist(), strict=True)
        ]
    return out, raw


def _response_columns(d: _Draws, prep) -> dict[str, Any]:
    """The columns single and rubric verdicts share (no pair, order or choice)."""
    nan, none = np.full(d.total, np.nan), np.full(d.total, -1, dtype=np.int64)
    return dict(
        response_a=_str_col([], none),
        response_b=_str_col([], none),
        response_id=_str_col(prep.rid_cats, d.first),
        order=_str_col([], none),
        sample=d.sidx.astype(np.int64),
        choice=_str_col([], none),
        winner=_str_col([], none),
        parse_ok=d.parse_ok,
        p_a=nan.copy(),
        p_b=nan.copy(),
        p_tie=nan.copy(),
    )


def _single_columns(specs, d: _Draws, units: _Units, prep, render: bool):
    """Score lo..hi from the ordered logit of V(response) with the scale's cut points."""
    lo, hi = units.scale
    parse_ok = d.parse_ok
    dist = score_probabilities(d.vmat[d.jidx, d.first], d.noise, (lo, hi))
    score = _draw_score(dist, d.u_choice, lo)
    out = _response_columns(d, prep)
    out["score"] = np.where(parse_ok, score.astype(float), np.nan)
    out["margin"] = np.where(parse_ok, _margin(dist), np.nan)
    raw = None
    if render:
        raw = [
            "".join(_single_parts(sc, lo, hi)) if ok else _FAIL_SINGLE
            for sc, ok in zip(score.tolist(), parse_ok.tolist(), strict=True)
        ]
    return out, raw


def _rubric_columns(specs, d: _Draws, units: _Units, prep, render: bool):
    """Section metrics expit(V_k + s*eps_k); the judge's own verdict and the one recomputed
    with each Judge's thresholds (as the store does)."""
    titles, parse_ok, first = list(units.titles), d.parse_ok, d.first
    v = d.vmat[d.jidx, first]
    sec_truth = (
        np.column_stack([prep.sections.get(t, np.full(len(prep), np.nan)) for t in titles])[first]
        if titles
        else np.empty((d.total, 0))
    )
    vsec = _section_values(prep.quality[first], v - prep.quality[first], sec_truth)
    metrics = _rubric_metrics(vsec, d.noise, d.jkeys, d.seed_rows, d.sample_eff, d.k1)
    pp, pw, pf, _ = rubric_probabilities(vsec, d.noise)
    vcode = _rubric_codes(metrics)  # the simulated judge's own verdict
    thresholds = np.array([[sp["pass_threshold"], sp["warn_threshold"]] for sp in specs])[d.jidx]
    recomputed = _rubric_codes(metrics, thresholds[:, :1], thresholds[:, 1:])
    verdict_names = list(rubric_mod.RUBRIC_VERDICTS)
    out = _response_columns(d, prep)
    out["score"] = np.where(parse_ok, metrics.mean(axis=1) if titles else np.nan, np.nan)
    out["margin"] = np.where(parse_ok, _margin(np.stack([pp, pw, pf], axis=1)), np.nan)
    out["verdict"] = _str_col(verdict_names, np.where(parse_ok, recomputed, -1))
    out["judge_verdict"] = _str_col(verdict_names, np.where(parse_ok, vcode, -1))
    metric_maps = [dict(zip(titles, row, strict=True)) for row in metrics.tolist()]
    out["sections"] = pd.array(
        [
            json.dumps(m) if ok else None
            for m, ok in zip(metric_maps, parse_ok.tolist(), strict=True)
        ],
        dtype="str",
    )
    out["p_pass"], out["p_warn"], out["p_fail"] = (
        np.where(parse_ok, x, np.nan) for x in (pp, pw, pf)
    )
    raw = None
    if render:
        raw = [
            "".join(_rubric_parts(verdict_names[c], m))
            if ok
            else _rubric_fail_text(verdict_names[c])
            for c, m, ok in zip(vcode.tolist(), metric_maps, parse_ok.tolist(), strict=True)
        ]
    return out, raw


_PROTOCOL_COLUMNS = {
    "pairwise": _pairwise_columns,
    "single": _single_columns,
    "rubric": _rubric_columns,
}


def sample_verdicts(
    pairs: pd.DataFrame | None,
    responses: pd.DataFrame | PreparedResponses,
    judges: Iterable[Any],
    orders: Sequence[str] = ("ab", "ba"),
    repeats: int = 1,
    seed: int = 0,
    protocol: str = "pairwise",
    scale: tuple[float, float] = (1, 10),
    rubric: Any = None,
    temperature: float | None = None,
    allow_tie: bool | None = None,
    render: bool = False,
) -> pd.DataFrame:
    """Draw verdicts from the simulated panel's generative model without litellm.

    ``pairs``: ``item_id, response_a, response_b`` (pairwise; order ``ab`` shows
    ``response_a`` first) or ``response_id`` rows / None for every response (single,
    rubric). ``responses``: ``response_id, item_id, generator, family, quality,
    correct, n_words`` (:func:`responses_frame` builds it from a Dataset; missing
    quality is neutral), or :func:`prepare_responses` of it for replicate loops. ``judges``: Judges (or mappings with ``model`` and ``sim``).
    ``seed`` plays the role of the request seed of the provider (a Judge's own
    ``seed``, when set, takes precedence); ``temperature`` / ``allow_tie`` override the
    judges'. At temperature 0 repeats are identical. ``render=True`` also returns the
    exact ``raw_output`` texts of the provider (else None).

    Returns the verdict frame of docs/design.md: ``model, backend, judge_version,
    judge_family, protocol, item_id, response_a, response_b, response_id, order,
    sample, choice, winner, score, parse_ok, p_a, p_b, p_tie, margin, raw_output``
    (+ ``verdict`` (recomputed with each Judge's ``pass_threshold`` / ``warn_threshold``, as
    the store does), ``judge_verdict`` (the simulated judge's own, at judgelab.rubric's
    default thresholds), ``sections``, ``p_pass, p_warn, p_fail`` for rubric). The probabilities are the
    closed-form ones of each call; they are NaN where the output failed to parse, as
    the provider returns no logprobs then. Rows: judge x unit x order x sample."""
    if protocol not in _PROTOCOL_CODE:
        raise ValueError(f"protocol must be one of {sorted(_PROTOCOL_CODE)}, not {protocol!r}")
    specs = [_judge_spec(j) for j in judges]
    if not specs:
        raise ValueError("sample_verdicts needs at least one judge")
    repeats = int(repeats)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, not {repeats}")
    prep = prepare_responses(responses)
    if protocol == "pairwise":
        units = _pairwise_units(pairs, prep, orders)
    else:
        units = _response_units(pairs, prep, protocol, scale, rubric)
    d = _draws(specs, prep, units, protocol, repeats, seed, temperature, allow_tie)
    out = _identity_columns(specs, d, protocol, units)
    columns, raw = _PROTOCOL_COLUMNS[protocol](specs, d, units, prep, render)
    out.update(columns)
    none = np.full(d.total, -1, dtype=np.int64)
    out["raw_output"] = pd.array(raw, dtype="str") if raw is not None else _str_col([], none)
    return pd.DataFrame(out)


def _categories(values: np.ndarray) -> tuple[list, np.ndarray]:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    return [None if pd.isna(u) else str(u) for u in uniques], codes.astype(np.int64)


def _pa_strings(values: Sequence[Any]):
    import pyarrow as pa

    return pa.array(
        [None if c is None else str(c) for c in values] or [None], type=pa.large_string()
    )


def _str_col(categories, codes: np.ndarray):
    """A pandas string column from categories and integer codes (-1 or a None category = null),
    built with one pyarrow ``take``: constructing it from Python objects costs ~50x more."""
    import pyarrow as pa

    codes = np.asarray(codes, dtype=np.int64)
    cats = categories if isinstance(categories, pa.Array) else _pa_strings(categories)
    idx = pa.array(np.where(codes < 0, 0, codes), mask=codes < 0)
    return pd.array(cats.take(idx), dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _rubric_codes(
    metrics: np.ndarray, pass_threshold=RUBRIC_PASS, warn_threshold=RUBRIC_WARN
) -> np.ndarray:
    """Vectorised :func:`judgelab.rubric.aggregate`: 0 pass, 1 warn, 2 fail (RUBRIC_VERDICTS order).
    Thresholds are scalars or (n, 1) columns (one per row)."""
    if metrics.shape[1] == 0:
        return np.full(metrics.shape[0], 2)
    violated = (metrics < warn_threshold).any(axis=1)
    gaps = ((metrics >= warn_threshold) & (metrics < pass_threshold)).sum(axis=1)
    return np.where(violated, 2, np.where(gaps == 0, 0, np.where(gaps == 1, 1, 2)))

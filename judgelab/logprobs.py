"""Reading a judge's token logprobs: the probability of each verdict alternative at the
verdict's own token (``logprob_fields``, stored with every call as p_a, p_b, p_tie, margin and
p_truncated) and the distribution over score values (``score_distribution``).

Split from :mod:`judgelab.judges`, which keeps the prompts, parsers and the verdict markers
these functions look for (``_PAIR_MARK``, ``_RATING``: one home for what a verdict looks like).
"""

from __future__ import annotations

import math
import re

from judgelab.judges import _PAIR_MARK, _RATING

__all__ = ["logprob_fields", "score_distribution"]


def _entries(content) -> list[dict]:
    """Logprob entries as plain dicts (litellm returns pydantic objects or dicts)."""
    out = []
    for e in content or []:
        if hasattr(e, "model_dump"):
            e = e.model_dump()
        elif not isinstance(e, dict):
            e = dict(getattr(e, "__dict__", {}))
        tops = []
        for t in e.get("top_logprobs") or []:
            if hasattr(t, "model_dump"):
                t = t.model_dump()
            tops.append(t)
        e["top_logprobs"] = tops
        out.append(e)
    return out


def _verdict_tokens(rx, text: str, entries: list[dict]) -> list[int]:
    """Indices of the tokens covering the verdict (group 1 of the last match of ``rx``) in
    ``text``; empty when there is no match or the tokens do not cover it."""
    matches = list(rx.finditer(text))
    if not matches:
        return []
    start, end = matches[-1].span(1)
    joined = "".join(str(e.get("token", "")) for e in entries)
    # tokens may cover only a suffix of the text (some providers): align on the end
    pos = len(text) - len(joined) if joined != text else 0
    out = []
    for i, e in enumerate(entries):
        tok = str(e.get("token", ""))
        if pos < end and start < pos + len(tok):
            out.append(i)
        pos += len(tok)
    return out


def _top(entry: dict) -> dict[str, float]:
    """The entry's alternatives as {stripped token: probability} (the token itself when the
    provider listed no alternatives)."""
    alts = entry.get("top_logprobs") or [
        {"token": entry.get("token"), "logprob": entry.get("logprob")}
    ]
    out: dict[str, float] = {}
    for a in alts:
        key = str(a.get("token", "")).strip()
        if a.get("logprob") is not None and key:
            out[key] = out.get(key, 0.0) + math.exp(float(a["logprob"]))
    return out


def score_distribution(text: str | None, content, scale=None) -> dict[float, float]:
    """The judge's distribution over the score values at the last ``Rating: [[N]]``.

    The alternatives of the score's first token are read as score values (``scale``:
    ``(lo, hi)`` integers admitted; else any number). A value written in two tokens ('10' as
    '1', '0') is chained: P(10) = P('1') P('0' | '1') and P(1) = P('1') (1 - P(digit | '1')),
    from the next token's alternatives, which are known only when the judge wrote '1'. Where an
    alternative is the first token of a longer admissible value and the judge wrote something
    else, its probability mixes two scores: refused (ValueError says how to fix). Values absent
    from the top-k are absent (the result is renormalised over those listed). Returns
    ``{value: probability}``, empty without logprobs."""
    entries = _entries(content)
    if not entries or not isinstance(text, str):
        return {}
    idx = _verdict_tokens(_RATING, text, entries)
    if not idx:
        return {}
    lo_hi = None if scale is None else (int(scale[0]), int(scale[1]))
    admissible = None if lo_hi is None else {str(v) for v in range(lo_hi[0], lo_hi[1] + 1)}

    def ok(tok: str) -> bool:
        if admissible is not None:
            return tok in admissible
        return re.fullmatch(r"[-+]?\d+(?:\.\d+)?", tok) is not None

    first = _top(entries[idx[0]])
    written = str(entries[idx[0]].get("token", "")).strip()
    # a tokenizer with multi-digit tokens writes numbers whole: no chaining needed
    whole = any(len(t) > 1 and t.isdigit() for t in first) or admissible is None
    nxt = _top(entries[idx[0] + 1]) if idx[0] + 1 < len(entries) else {}
    out: dict[float, float] = {}
    for tok, p in first.items():
        longer = [] if whole else [v for v in admissible if v != tok and v.startswith(tok)]
        if longer and tok != written:
            raise ValueError(
                f"the probability of '{tok}' at the rating token mixes the scores "
                f"{[tok, *sorted(longer)] if ok(tok) else sorted(longer)}: the next token after "
                f"'{tok}' is unknown because the judge wrote '{written}'. Use a scale whose "
                "values are single tokens (e.g. 1 to 9, or letters) or a model whose tokenizer "
                "writes these numbers whole"
            )
        cont = {tok + d: q for d, q in nxt.items() if tok + d in longer} if longer else {}
        for v, q in cont.items():
            out[float(v)] = out.get(float(v), 0.0) + p * q
        if ok(tok):
            out[float(tok)] = out.get(float(tok), 0.0) + p * (1.0 - sum(cont.values()))
    tot = sum(out.values())
    return {v: q / tot for v, q in sorted(out.items())} if tot > 0 else {}


def _truncation_bound(listed: list[dict]) -> float:
    """Upper bound of the probability of a token missing from a top-k list: the smallest
    listed probability, and no more than the mass the list leaves (0 when the list is the
    whole distribution)."""
    ps = [math.exp(float(a["logprob"])) for a in listed if a.get("logprob") is not None]
    if not ps:
        return 0.0
    rest = max(0.0, 1.0 - sum(ps))
    return min(min(ps), rest) if rest > 1e-6 else 0.0


def logprob_fields(
    protocol: str, text: str | None, content, allow_tie: bool = True
) -> dict[str, float | None]:
    """P(A), P(B), P(tie) and the margin from the top logprobs at the verdict token.

    The verdict token is the one holding the letter of the last ``[[X]]`` marker (pairwise)
    or the number of the last ``Rating: [[N]]`` (single). Probabilities are renormalised
    over the admissible verdicts among the top alternatives; an admissible verdict missing
    from the top-k enters at its upper bound (:func:`_truncation_bound`) and is named in
    ``p_truncated`` (e.g. ``"C"``), never as 0; ``margin`` is the gap between the two most
    probable verdicts (pairwise) or score values (single). Returns nulls when the provider
    gave no logprobs or the token cannot be located."""
    empty = {"p_a": None, "p_b": None, "p_tie": None, "margin": None, "p_truncated": None}
    entries = _entries(content)
    if not entries or not isinstance(text, str):
        return empty
    rx = _PAIR_MARK if protocol == "pairwise" else _RATING if protocol == "single" else None
    if rx is None:
        return empty
    located = _verdict_tokens(rx, text, entries)
    if not located:
        return empty
    hit = entries[located[0]]
    probs: dict[str, float] = {}
    listed = hit["top_logprobs"] or [{"token": hit.get("token"), "logprob": hit.get("logprob")}]
    for alt in listed:
        key = str(alt.get("token", "")).strip().strip("[]").strip()
        lp = alt.get("logprob")
        if lp is None or not key:
            continue
        probs[key] = probs.get(key, 0.0) + math.exp(float(lp))
    if protocol == "pairwise":
        keys = ["A", "B", "C"] if allow_tie else ["A", "B"]
        bound = _truncation_bound(listed)
        # an admissible verdict missing from the top-k is not 0: it is at most the smallest
        # listed probability (and the mass not listed); it enters at that bound, flagged
        truncated = [k for k in keys if k not in probs and bound > 0]
        raw = {k: probs.get(k, bound if k in truncated else 0.0) for k in keys}
        tot = sum(raw.values())
        if tot <= 0 or all(k in truncated for k in keys):
            return empty
        p = {k: raw[k] / tot for k in keys}
        ranked = sorted(p.values(), reverse=True)
        return {
            "p_a": p["A"],
            "p_b": p["B"],
            "p_tie": p.get("C") if allow_tie else None,
            "margin": ranked[0] - ranked[1],
            "p_truncated": ",".join(truncated) or None,
        }
    nums = {k: v for k, v in probs.items() if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", k)}
    tot = sum(nums.values())
    if tot <= 0:
        return empty
    ranked = sorted((v / tot for v in nums.values()), reverse=True) + [0.0]
    return {**empty, "margin": ranked[0] - ranked[1]}

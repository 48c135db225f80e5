"""Display names and colours shared by the figures and the notebooks: one short label per
judge identity (:func:`judgelab.identity.short_labels`) and one colour per judge family."""

from __future__ import annotations

import math

from judgelab.identity import short_labels

__all__ = ["short_label", "family_palette"]


def short_label(judge, all_judges=None, missing: str | None = None) -> str:
    """The label :func:`judgelab.identity.short_labels` gives ``judge`` among ``all_judges``
    (default: alone): its model without the ``judgelab-sim/`` prefix, or the full identity
    string when two identities share the model. ``missing``: the label of a judge that is
    None or nan (e.g. the calibration audit's ensemble rows); default ``str(judge)``."""
    if missing is not None and (judge is None or (isinstance(judge, float) and math.isnan(judge))):
        return missing
    key = str(judge)
    shown = [str(j) for j in all_judges if isinstance(j, str)] if all_judges is not None else []
    return short_labels([*shown, key])[key]


def family_palette(families) -> dict:
    """One colour per family (seaborn 'colorblind'), stable in sorted order."""
    import seaborn as sns

    fams = sorted({str(f) for f in families})
    cols = sns.color_palette("colorblind", max(len(fams), 3))
    return {f: cols[i] for i, f in enumerate(fams)}

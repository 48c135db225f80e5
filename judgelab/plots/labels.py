"""Display names and colours shared by the figures and the notebooks: one short label per
judge identity and one colour per judge family."""

from __future__ import annotations

__all__ = ["short_label", "family_palette"]


def short_label(judge: str, all_judges=None) -> str:
    """The model part of an identity string (``model|backend|version``) when it is unique
    among ``all_judges``, else the full identity; the ``judgelab-sim/`` prefix is dropped."""
    model = str(judge).split("|")[0]
    if all_judges is not None:
        models = [str(j).split("|")[0] for j in all_judges]
        if models.count(model) > 1:
            return str(judge)
    return model.split("/", 1)[1] if model.startswith("judgelab-sim/") else model


def family_palette(families) -> dict:
    """One colour per family (seaborn 'colorblind'), stable in sorted order."""
    import seaborn as sns

    fams = sorted({str(f) for f in families})
    cols = sns.color_palette("colorblind", max(len(fams), 3))
    return {f: cols[i] for i, f in enumerate(fams)}

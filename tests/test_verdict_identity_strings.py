"""The judge column of a loaded verdict frame is built once per distinct identity: it must
equal str(JudgeIdentity(...)) of every row, missing values spelled as they iterate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.identity import JudgeIdentity, identity_strings


def _reference(df: pd.DataFrame) -> list[str]:
    return [str(JudgeIdentity(*t)) for t in zip(df["model"], df["backend"], df["judge_version"])]


def test_identity_strings_equal_row_by_row():
    obj = pd.DataFrame(
        {
            "model": pd.Series(["a", None, np.nan, "a", pd.NA, "b"], dtype=object),
            "backend": pd.Series([None, None, np.nan, 1, 2, None], dtype=object),
            "judge_version": pd.Series([None, "v", None, "v", None, None], dtype=object),
        }
    )
    text = obj.astype("str")
    for df in (obj, text, obj.iloc[:0]):
        assert identity_strings(df).tolist() == _reference(df)

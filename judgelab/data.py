"""Datasets: items, responses, human labels and preferences, and stored verdicts.

A :class:`Dataset` holds judgelab's tidy long-format tables (docs/design.md#data-model):

========== ==========================================================================
table      columns
========== ==========================================================================
items      ``item_id, prompt`` [, ``reference``, ``category``]
responses  ``response_id, item_id, generator`` [, ``family``, ``text``]
labels     ``response_id, rater_id, score`` (human scores on the dataset's scale)
preferences ``item_id, response_a, response_b, rater_id, preference`` (a | b | tie)
verdicts   stored judge verdicts (identity columns ``model, backend, judge_version,
           judge_family`` then ``protocol, item_id, response_a, response_b,
           response_id, order, sample, raw_output, choice, winner, score, parse_ok``;
           the schema: :mod:`judgelab.verdict_schema`, docs/verdicts.md)
truth      ``response_id, quality, correct`` (simulated data only; read by the
           simulated panel and by tests, never by analyses of real data)
rubric_labels ``response_id, rater_id, section, label`` (pass | warn | fail;
           section is a rubric section title or ``overall``)
========== ==========================================================================

A dataset directory holds ``dataset.yaml`` (name, description, licence, optional
``scale: {min, max}``, optional ``grades`` (a grade set of pointwise verdicts, e.g.
``grades: {C: 1, P: 0.5, I: 0}`` or ``grades: [fail, pass]``), optional ``judge_scales:
{<judge_version>: {min, max}}``, optional ``rubric`` file name) and the tables as CSV, JSONL
or Parquet files named after the table (``items.csv``, ``responses.jsonl`` ...).

Bad input raises :class:`DataError` naming the table, the column and up to ten
offending rows. Missing response texts are not an error (published datasets
often carry votes only): they are counted and reported as a warning, and judging
such a response is refused before any call (:meth:`Dataset.require_texts`).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

# re-exported: DataError is defined below stats so that stats imports nothing above itself
from judgelab.stats.errors import MAX_ROWS_SHOWN, DataError, DataWarning  # noqa: F401
from judgelab.stats.units import member_mask
from judgelab.verdict_schema import (
    PREFERENCES,
    VERDICT_COLUMNS,
    check_verdicts,
    normalise_preferences,
    parse_grades,
    require_columns,
)
from judgelab.verdict_schema import REQUIRED as _VERDICT_REQUIRED

__all__ = [
    "DataError",
    "DataWarning",
    "Dataset",
    "TABLES",
    "REQUIRED_COLUMNS",
    "VERDICT_COLUMNS",
    "read_table",
    "demo_data_dir",
]

TABLES = ("items", "responses", "labels", "preferences", "verdicts", "truth", "rubric_labels")

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ("item_id", "prompt"),
    "responses": ("response_id", "item_id", "generator"),
    "labels": ("response_id", "rater_id", "score"),
    "preferences": ("item_id", "response_a", "response_b", "rater_id", "preference"),
    "verdicts": _VERDICT_REQUIRED,
    "truth": ("response_id", "quality", "correct"),
    "rubric_labels": ("response_id", "rater_id", "section", "label"),
}

PREFERENCE_VALUES = PREFERENCES  # the verdict schema is their home (judgelab.verdict_schema)


RUBRIC_LABEL_VALUES = ("pass", "warn", "fail")


def _offending(df: pd.DataFrame, mask) -> list[int]:
    """Row labels (0-based positions in the table as read) where mask is true."""
    mask = np.asarray(mask, dtype=bool)
    return [int(i) for i in np.flatnonzero(mask)]


def demo_data_dir() -> Path:
    """The demo benchmark shipped inside the package (works from a wheel too)."""
    return Path(__file__).resolve().parent / "demo_data"


def read_table(path: str | Path, table: str | None = None) -> pd.DataFrame:
    """Read one table from CSV, JSONL or Parquet. Ids are read as strings."""
    path = Path(path)
    name = table or path.stem
    suffix = "".join(path.suffixes[-1:]).lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, keep_default_na=False, na_values=[""])
        elif suffix in (".jsonl", ".ndjson"):
            df = pd.read_json(path, lines=True, dtype=False)
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            raise DataError(name, None, f"unsupported file type '{path.suffix}' ({path})")
    except DataError:
        raise
    except UnicodeDecodeError as exc:  # a spreadsheet's default export (latin-1, cp1252)
        raise DataError(
            name,
            None,
            f"could not read {path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save the file as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet) and try again",
        ) from exc
    except Exception as exc:  # parse errors name the file
        raise DataError(name, None, f"could not read {path}: {exc}") from exc
    return _normalise_ids(df)


_ID_COLUMNS = ("item_id", "response_id", "response_a", "response_b", "rater_id")


def _normalise_ids(df: pd.DataFrame) -> pd.DataFrame:
    """Id columns as strings (missing ids stay missing). Columns already of the ``str`` dtype are
    left alone, so normalising a table twice (read, then Dataset) costs nothing the second time."""
    out = df
    for col in _ID_COLUMNS:
        if col in df.columns:
            ids = _id_strings(df[col])
            if ids is not df[col]:
                if out is df:
                    out = df.copy(deep=False)  # copy-on-write: the caller's frame is untouched
                out[col] = ids
    return out


def _id_strings(s: pd.Series) -> pd.Series:
    """``str(v)`` for every present id, missing ids missing, in one vectorised ``astype``
    (a per-element ``map`` took seconds on 1M verdict rows)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.na_value is np.nan:
        return s
    present = s.notna()
    if not present.any() and (s.dtype == object or s.dtype.kind in "iufb"):
        return s  # nothing to convert: an all-missing column keeps its dtype and markers
    if s.dtype.kind in "iufb" or (
        s.dtype == object
        # str() turned other missing markers (pd.NA, NaT) into text: left to the map below
        and set(map(type, s.to_numpy()[~present.to_numpy()])) <= {type(None), float}
    ):
        return s.astype("str")
    return s.map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))


def _sha256_of_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _sha256_of_frames(frames: dict[str, pd.DataFrame | None]) -> str:
    h = hashlib.sha256()
    for name in sorted(frames):
        df = frames[name]
        if df is None:
            continue
        h.update(name.encode())
        h.update(df.to_csv(index=False).encode())
    return h.hexdigest()


@dataclass
class Dataset:
    """A judge benchmark in judgelab's tidy tables (see the module docstring).

    ``scale`` is ``(min, max)`` of the human and judge score scale, or None.
    ``grades`` is a declared grade set of pointwise judge verdicts, ``{label: score}`` (a
    list of labels from the lowest is read as scores 0, 1 ...; ``[0, 1]`` is binary), or
    None; ``judge_scales`` maps a judge_version to its own ``(min, max)`` score scale.
    ``rubric`` is the rubric mapping of docs/design.md, or None.
    """

    name: str
    items: pd.DataFrame
    responses: pd.DataFrame
    labels: pd.DataFrame | None = None
    preferences: pd.DataFrame | None = None
    verdicts: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None
    rubric_labels: pd.DataFrame | None = None
    rubric: dict | None = None
    scale: tuple[float, float] | None = None
    grades: dict[str, float] | None = None
    judge_scales: dict[str, tuple[float, float]] | None = None
    description: str = ""
    licence: str = ""
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None

    def __post_init__(self):
        for name in TABLES:
            df = getattr(self, name)
            if df is not None:
                setattr(self, name, _normalise_ids(pd.DataFrame(df)))
        if self.scale is not None:
            self.scale = (float(self.scale[0]), float(self.scale[1]))
        self.grades = parse_grades(self.grades)
        if self.judge_scales:
            self.judge_scales = {
                str(k): _scale_pair(s, f"judge_scales.{k}") for k, s in self.judge_scales.items()
            }
        if self.sha256 is None:
            self.sha256 = _sha256_of_frames({t: getattr(self, t) for t in TABLES})

    # ------------------------------------------------------------------ views
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by name."""
        return {t: getattr(self, t) for t in TABLES if getattr(self, t) is not None}

    def response_info(self) -> pd.DataFrame:
        """responses joined with items' category and (where known) the resolved family."""
        from judgelab import families

        r = self.responses.copy()
        if "family" not in r.columns:
            r["family"] = None
        missing = r["family"].isna()
        if missing.any():
            r.loc[missing, "family"] = r.loc[missing, "generator"].map(families.family_of)
        if "category" in self.items.columns:
            r = r.merge(self.items[["item_id", "category"]], on="item_id", how="left")
        if "text" not in r.columns:
            r["text"] = None
        r["n_words"] = r["text"].map(
            lambda t: len(str(t).split()) if isinstance(t, str) else np.nan
        )
        return r

    def missing_texts(self) -> pd.DataFrame:
        """Responses whose text is empty or absent."""
        r = self.responses
        if "text" not in r.columns:
            return r
        t = r["text"]
        if isinstance(t.dtype, pd.StringDtype):  # text only: vectorised
            bad = t.isna() | t.str.strip().eq("").fillna(True)
        else:
            bad = t.isna() | t.map(lambda v: not isinstance(v, str) or not v.strip())
        return r[bad.to_numpy()]

    def require_texts(self, response_ids) -> None:
        """Refuse (before any call) to judge responses that have no text."""
        ids = set(map(str, response_ids))
        missing = self.missing_texts()
        missing = missing[missing["response_id"].isin(ids)]
        if len(missing):
            raise DataError(
                "responses",
                "text",
                f"{len(missing)} response(s) to be judged have no text; a judge cannot read them",
                missing["response_id"].tolist(),
            )

    def human_pairs(self) -> pd.DataFrame:
        """Distinct pairs humans compared: item_id, response_a, response_b (first seen order)."""
        p = self.preferences
        if p is None or p.empty:
            return pd.DataFrame(columns=["item_id", "response_a", "response_b"])
        from judgelab.stats.reference import pair_key

        key = pair_key(p["response_a"], p["response_b"])  # order-free, vectorised
        out = p.assign(_key=key).drop_duplicates("_key")[["item_id", "response_a", "response_b"]]
        return out.reset_index(drop=True)

    def all_pairs(self) -> pd.DataFrame:
        """Every within-item pair of responses (response_a < response_b by id order of the table)."""
        rows = []
        for item_id, grp in self.responses.groupby("item_id", sort=False):
            ids = grp["response_id"].tolist()
            for i in range(len(ids)):
                for j in range(i + 1, len(ids)):
                    rows.append((item_id, ids[i], ids[j]))
        return pd.DataFrame(rows, columns=["item_id", "response_a", "response_b"])

    def pairs(
        self, how: str | pd.DataFrame = "human", n_pairs: int | None = None, seed: int = 0
    ) -> pd.DataFrame:
        """Pairs to judge: ``human`` (pairs humans compared), ``all``, ``baseline:<generator>``
        (every response against the generator's answer to the same item) or a DataFrame.
        ``n_pairs`` draws a seeded sample without replacement."""
        if isinstance(how, pd.DataFrame):
            out = _normalise_ids(how[["item_id", "response_a", "response_b"]])
        elif how == "human":
            out = self.human_pairs()
        elif how == "all":
            out = self.all_pairs()
        elif isinstance(how, str) and how.startswith("baseline:"):
            base = how.split(":", 1)[1]
            r = self.responses
            if base not in set(r["generator"]):
                raise DataError(
                    "responses", "generator", f"no responses from baseline generator '{base}'"
                )
            b = r[r["generator"] == base][["item_id", "response_id"]].rename(
                columns={"response_id": "response_b"}
            )
            o = r[r["generator"] != base][["item_id", "response_id"]].rename(
                columns={"response_id": "response_a"}
            )
            out = o.merge(b, on="item_id")[["item_id", "response_a", "response_b"]]
        else:
            raise ValueError(
                f"pairs must be 'human', 'all', 'baseline:<generator>' or a DataFrame, not {how!r}"
            )
        if n_pairs is not None and n_pairs < len(out):
            out = out.sample(
                n=int(n_pairs), random_state=np.random.default_rng(seed).integers(2**31)
            )
        return out.reset_index(drop=True)

    # ------------------------------------------------------------ validation
    def validate(self, warn: bool = True) -> dict[str, Any]:
        """Check every table; raise :class:`DataError` on the first problem.

        Returns a summary of what was checked (table sizes, missing texts)."""
        items, responses = self.items, self.responses
        _require_columns("items", items)
        _require_columns("responses", responses)
        _no_duplicates("items", items, "item_id")
        _no_duplicates("responses", responses, "response_id")
        _no_missing("items", items, "item_id")
        _no_missing("responses", responses, "response_id")
        # sets built from arrays: iterating an Arrow string column yields one value per call
        item_ids = set(items["item_id"].to_numpy(dtype=object))
        bad = ~responses["item_id"].isin(item_ids)
        if bad.any():
            raise DataError(
                "responses", "item_id", "response of an unknown item", _offending(responses, bad)
            )
        rid = responses["response_id"].to_numpy(dtype=object)
        response_ids = set(rid)
        response_item = dict(zip(rid, responses["item_id"].to_numpy(dtype=object), strict=False))

        if self.labels is not None:
            lab = self.labels
            _require_columns("labels", lab)
            _known("labels", lab, "response_id", response_ids, "label of an unknown response")
            score = pd.to_numeric(lab["score"], errors="coerce")
            nonnum = score.isna() & lab["score"].notna()
            if nonnum.any() or lab["score"].map(lambda v: isinstance(v, bool)).any():
                nonnum = nonnum | lab["score"].map(lambda v: isinstance(v, bool))
                raise DataError("labels", "score", "non-numeric score", _offending(lab, nonnum))
            if self.scale is not None:
                lo, hi = self.scale
                off = (score < lo) | (score > hi)
                if off.any():
                    raise DataError(
                        "labels",
                        "score",
                        f"score off the declared scale [{lo:g}, {hi:g}]",
                        _offending(lab, off),
                    )

        if self.preferences is not None:
            p = self.preferences
            _require_columns("preferences", p)
            _known("preferences", p, "item_id", item_ids, "preference of an unknown item")
            _known(
                "preferences", p, "response_a", response_ids, "preference of an unknown response"
            )
            _known(
                "preferences", p, "response_b", response_ids, "preference of an unknown response"
            )
            p = self.preferences = normalise_preferences(p)
            _pairs_well_formed("preferences", p, response_item)

        if self.verdicts is not None:
            # the verdict schema, normalised once here (docs/verdicts.md)
            self.verdicts = check_verdicts(
                self.verdicts,
                responses=responses[["response_id", "item_id"]],
                scale=self.scale,
                grades=self.grades,
                judge_scales=self.judge_scales,
                warn=warn,
            )

        if self.truth is not None:
            _require_columns("truth", self.truth)
            _known("truth", self.truth, "response_id", response_ids, "truth of an unknown response")

        if self.rubric_labels is not None:
            rl = self.rubric_labels
            _require_columns("rubric_labels", rl)
            _known(
                "rubric_labels",
                rl,
                "response_id",
                response_ids,
                "rubric label of an unknown response",
            )
            bad = ~rl["label"].isin(RUBRIC_LABEL_VALUES)
            if bad.any():
                raise DataError(
                    "rubric_labels", "label", "label not in {pass, warn, fail}", _offending(rl, bad)
                )

        missing = self.missing_texts()
        if len(missing) and warn:
            warnings.warn(
                f"dataset '{self.name}': {len(missing)} of {len(responses)} responses have no text "
                f"(e.g. {missing['response_id'].head(5).tolist()}); they can be analysed through stored "
                "verdicts but not judged",
                DataWarning,
                stacklevel=2,
            )
        return {
            "name": self.name,
            "items": len(items),
            "responses": len(responses),
            "generators": int(responses["generator"].nunique()),
            "labels": 0 if self.labels is None else len(self.labels),
            "preferences": 0 if self.preferences is None else len(self.preferences),
            "verdicts": 0 if self.verdicts is None else len(self.verdicts),
            "rubric_labels": 0 if self.rubric_labels is None else len(self.rubric_labels),
            "missing_texts": len(missing),
            "sha256": self.sha256,
        }

    def summary(self) -> str:
        s = self.validate(warn=False)
        return ", ".join(f"{k}={v}" for k, v in s.items() if k != "sha256")


def _require_columns(table: str, df: pd.DataFrame) -> None:
    """Every missing required column of ``table`` named in one error."""
    require_columns(table, df, REQUIRED_COLUMNS[table])


def _scale_pair(spec, where: str) -> tuple[float, float]:
    """``{min, max}`` or ``(min, max)`` as floats; anything else names where it was written."""
    try:
        lo, hi = (spec["min"], spec["max"]) if isinstance(spec, dict) else spec
        return float(lo), float(hi)
    except (KeyError, TypeError, ValueError):
        raise DataError(
            "dataset.yaml", where, f"a scale is {{min: <number>, max: <number>}}, not {spec!r}"
        ) from None


def _no_duplicates(table: str, df: pd.DataFrame, col: str) -> None:
    dup = df[col].duplicated(keep=False)
    if dup.any():
        raise DataError(table, col, "duplicate ids", _offending(df, dup))


def _no_missing(table: str, df: pd.DataFrame, col: str) -> None:
    miss = df[col].isna()
    if miss.any():
        raise DataError(table, col, "missing id", _offending(df, miss))


def _known(table: str, df: pd.DataFrame, col: str, known: set, problem: str) -> None:
    bad = ~member_mask(df[col], known)
    if bad.any():
        raise DataError(table, col, problem, _offending(df, bad))


def _pairs_well_formed(table: str, df: pd.DataFrame, response_item: dict, index=None) -> None:
    rows = np.arange(len(df)) if index is None else np.asarray(index)
    a, b = df["response_a"].to_numpy(), df["response_b"].to_numpy()
    same = a == b
    if same.any():
        raise DataError(
            table, "response_b", "pair compares a response with itself", rows[same].tolist()
        )
    ia = np.array([response_item.get(x) for x in a], dtype=object)
    ib = np.array([response_item.get(x) for x in b], dtype=object)
    cross = ia != ib
    if cross.any():
        raise DataError(
            table,
            "response_b",
            "the two responses of a pair belong to different items",
            rows[cross].tolist(),
        )
    if "item_id" in df.columns:
        wrong = df["item_id"].to_numpy() != ia
        wrong &= pd.notna(df["item_id"]).to_numpy()
        if wrong.any():
            raise DataError(
                table,
                "item_id",
                "pair's item_id differs from its responses' item",
                rows[wrong].tolist(),
            )


# ---------------------------------------------------------------- loading
def _find_table(directory: Path, table: str) -> Path | None:
    for ext in (".csv", ".jsonl", ".parquet"):
        p = directory / f"{table}{ext}"
        if p.exists():
            return p
    return None


def load_dataset_dir(directory: str | Path) -> Dataset:
    """Read a dataset directory: ``dataset.yaml`` plus tables as CSV, JSONL or Parquet."""
    directory = Path(directory)
    meta_path = directory / "dataset.yaml"
    if not meta_path.exists():
        raise DataError("dataset.yaml", None, f"no dataset.yaml in {directory}")
    meta = yaml.safe_load(meta_path.read_text()) or {}
    tables: dict[str, pd.DataFrame | None] = {}
    files = [meta_path]
    for t in TABLES:
        p = _find_table(directory, t)
        tables[t] = read_table(p, t) if p is not None else None
        if p is not None:
            files.append(p)
    for t in ("items", "responses"):
        if tables[t] is None:
            raise DataError(
                t,
                None,
                f"required table missing from {directory} (expected {t}.csv, .jsonl or .parquet)",
            )
    rubric = None
    if meta.get("rubric"):
        rp = directory / meta["rubric"]
        rubric = json.loads(rp.read_text())
        files.append(rp)
    scale = None
    if meta.get("scale"):
        scale = (meta["scale"]["min"], meta["scale"]["max"])
    return Dataset(
        name=str(meta.get("name", directory.name)),
        description=str(meta.get("description", "")),
        licence=str(meta.get("licence", meta.get("license", ""))),
        scale=scale,
        grades=meta.get("grades"),
        judge_scales=meta.get("judge_scales"),
        rubric=rubric,
        path=directory,
        meta=meta,
        sha256=_sha256_of_files(files),
        **tables,
    )

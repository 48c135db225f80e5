"""CPU time and peak memory of every study on N stored verdicts, run as the CLI runs them.

    python benchmarks/studies_scale.py [--n 1000000] [--studies position_bias,...]
        [--workdir /tmp/studies_scale] [--json out.json] [--seed 0]

1. Generates (once; cached under ``--workdir``) a dataset directory and a Parquet verdict
   file of N stored pairwise verdicts: 9 judges from 3 families (the demo's fictional
   aurora / basalt / cirrus names), both orders, 4 human-compared pairs per item, 3 human
   votes per pair, answers written by 9 generators of the same 3 families (so every judge
   has self, family and other relations), truth known. The verdicts come from a latent
   quality model with a small first-position bias, a small own-answer / own-family bias,
   and errors shared within a judge family (so entanglement is estimable); see
   :func:`generate`.
2. Runs ``judgelab run <study> -p dataset <dir> -p verdicts <file> -p judges ...`` for each
   study, one at a time, with n_boot 1000 and n_perm 9999 (position_bias), every stored
   identity analysed, all findings and figures written as the CLI writes them.
3. Measures each run in a child process tree (the CLI, the papermill kernel it starts):

   * **CPU** = user + sys of the whole tree, from ``os.wait4`` on the CLI process: Linux adds
     the rusage of every descendant its parent has reaped (jupyter_client reaps the kernel
     at shutdown), so the kernel's CPU is included once.
   * **peak** = the kernel's peak resident set (``VmHWM`` in ``/proc/<pid>/status``, read
     every 0.2 s while the kernel lives: the high-water mark, so growth between reads is not
     missed, only growth in the last 0.2 s before exit). Also reported: the largest single
     process's max RSS over the tree from ``wait4`` (``ru_maxrss``: exact, but only the
     largest process, which is the kernel in every run seen) and the largest sampled sum of
     RSS over the tree.

   ``load + validate`` is timed the same way in a child that only does what ``prepare``
   does before any statistic (load the dataset directory, validate it, read and normalise
   the verdict file, check identities).

Targets (issue 11 item 5): every study < 45 s CPU and < 2 GB peak on 1,000,000 verdicts.
The ratios printed are against those targets and against load + validate measured in the
same run (the floor every study pays). CPU time is the robust figure on a loaded machine;
wall time is printed with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

STUDIES = (
    "calibration_audit",
    "self_preference",
    "family_entanglement",
    "position_bias",
    "judge_comparison",
)
TARGET_CPU_S = 45.0
TARGET_PEAK_GB = 2.0
GENERATOR_VERSION = 1  # bump when the generated data change (invalidates the cache)

# Judges and generators: the same 9 fictional models (the demo's names, so judgelab's family
# table knows them). skill = logit of a correct answer; judges: discrimination (how sharply
# quality differences show), first-position bias and cost per call, bigger = better.
MODELS = [
    # model, family, skill, verbosity, discrimination, position bias, usd per call
    ("aurora-max", "aurora", 2.6, 1.0, 2.6, 0.10, 4.0e-4),
    ("aurora-plus", "aurora", 2.0, 2.0, 2.0, 0.20, 1.5e-4),
    ("aurora-lite", "aurora", 1.4, 0.5, 1.5, 0.35, 3.0e-5),
    ("basalt-xl", "basalt", 1.8, 1.5, 2.3, 0.15, 3.0e-4),
    ("basalt-m", "basalt", 1.1, 2.5, 1.7, 0.25, 1.0e-4),
    ("basalt-s", "basalt", 0.6, 1.0, 1.2, 0.40, 2.0e-5),
    ("cirrus-ultra", "cirrus", 1.0, 3.0, 2.1, 0.15, 2.5e-4),
    ("cirrus-base", "cirrus", 0.3, 2.0, 1.6, 0.30, 8.0e-5),
    ("cirrus-nano", "cirrus", -0.3, 0.5, 1.1, 0.45, 1.0e-5),
]
FAMILIES = ("aurora", "basalt", "cirrus")
FAMILY_OFFSET = {"aurora": 0.25, "basalt": 0.0, "cirrus": -0.25}
PAIRS_PER_ITEM = 4
RATERS = ("r1", "r2", "r3")
SELF_BONUS, FAMILY_BONUS = 0.5, 0.25  # judge's logit bonus for its own / its family's answer
TIE_THRESHOLD = 0.6  # ordered logit: P(A) = sigmoid(eta - t), P(B) = sigmoid(-eta - t)
FAMILY_NOISE, JUDGE_NOISE = 0.6, 0.4  # per-pair misperception shared by a family / one judge
PARSE_FAILURE_RATE = 0.001
CATEGORIES = ("arithmetic", "unit_conversion", "date_arithmetic", "reading")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def generate(n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Tables of a dataset with about ``n`` stored pairwise verdicts (rounded up to whole items:
    72 verdicts per item = 9 judges x 4 pairs x 2 orders).

    Model: item difficulty d ~ N(0, 0.8); an answer of generator g is correct with probability
    sigmoid(skill_g - d); its quality is 1.5 (2 correct - 1) + N(family offset, 0.35). Each of
    3 raters perceives quality + N(0, 0.25) and says tie within 0.1. Judge j in order (first,
    second) has eta = disc_j (dq + e_family + e_judge) + pos_j + bonus_j(first) - bonus_j(second),
    dq the quality difference first - second, e_family ~ N(0, 0.6) shared by the judges of j's
    family on that pair (correlated errors), e_judge ~ N(0, 0.4) shared by j's two orders, bonus
    0.5 for its own answer and 0.25 for its family's; the choice is drawn from the ordered logit
    P(A) = sigmoid(eta - 0.6), P(B) = sigmoid(-eta - 0.6), tie otherwise, and p_a, p_b, p_tie
    and margin (top minus second probability) are stored as a logprob-reading judge would.
    """
    rng = np.random.default_rng(seed)
    n_models = len(MODELS)
    name = np.array([m[0] for m in MODELS], dtype=object)
    family = np.array([m[1] for m in MODELS], dtype=object)
    skill = np.array([m[2] for m in MODELS])
    verbosity = np.array([m[3] for m in MODELS])
    disc = np.array([m[4] for m in MODELS])
    pos = np.array([m[5] for m in MODELS])
    price = np.array([m[6] for m in MODELS])
    fam_code = np.array([FAMILIES.index(f) for f in family])
    per_item = n_models * PAIRS_PER_ITEM * 2
    n_items = max(1, -(-n // per_item))

    # items
    item_ids = np.array([f"i{i:06d}" for i in range(n_items)], dtype=object)
    items = pd.DataFrame(
        {
            "item_id": item_ids,
            "prompt": [f"Question {i}: give the final answer." for i in range(n_items)],
            "reference": rng.integers(0, 1000, n_items).astype(str),
            "category": np.array(CATEGORIES, dtype=object)[rng.integers(0, 4, n_items)],
        }
    )

    # responses: one per (item, generator), row r = item * 9 + generator
    r_item = np.repeat(np.arange(n_items), n_models)
    r_gen = np.tile(np.arange(n_models), n_items)
    difficulty = rng.normal(0, 0.8, n_items)
    correct = rng.random(r_item.size) < _sigmoid(skill[r_gen] - difficulty[r_item])
    offset = np.array([FAMILY_OFFSET[f] for f in family])[r_gen]
    quality = 1.5 * (2 * correct - 1) + rng.normal(offset, 0.35)
    n_words = (8 + rng.poisson(6 + 8 * verbosity[r_gen])).astype(int)
    resp_ids = (item_ids[r_item] + "-") + name[r_gen]
    words = np.array(["word"] * int(n_words.max() + 1), dtype=object)
    responses = pd.DataFrame(
        {
            "response_id": resp_ids,
            "item_id": item_ids[r_item],
            "generator": name[r_gen],
            "family": family[r_gen],
            "text": [" ".join(words[:k]) for k in n_words],
        }
    )
    truth = pd.DataFrame(
        {
            "response_id": resp_ids,
            "quality": quality.round(4),
            "correct": correct.astype(int),
            "n_words": n_words,
        }
    )

    # pairs: 4 distinct of the 36 within-item pairs, drawn per item
    ga, gb = np.triu_indices(n_models, 1)
    pick = np.argsort(rng.random((n_items, ga.size)), axis=1)[:, :PAIRS_PER_ITEM]
    swap = rng.random(pick.shape) < 0.5  # stored orientation of the pair, random
    p_item = np.repeat(np.arange(n_items), PAIRS_PER_ITEM)
    g1, g2 = ga[pick].ravel(), gb[pick].ravel()
    sw = swap.ravel()
    p_ga, p_gb = np.where(sw, g2, g1), np.where(sw, g1, g2)
    ra, rb = p_item * n_models + p_ga, p_item * n_models + p_gb  # response rows
    n_pairs = p_item.size

    # human votes: 3 raters per pair
    h_pair = np.repeat(np.arange(n_pairs), len(RATERS))
    ua = quality[ra][h_pair] + rng.normal(0, 0.25, h_pair.size)
    ub = quality[rb][h_pair] + rng.normal(0, 0.25, h_pair.size)
    pref = np.where(np.abs(ua - ub) < 0.1, "tie", np.where(ua > ub, "a", "b")).astype(object)
    preferences = pd.DataFrame(
        {
            "item_id": item_ids[p_item][h_pair],
            "response_a": resp_ids[ra][h_pair],
            "response_b": resp_ids[rb][h_pair],
            "rater_id": np.tile(np.array(RATERS, dtype=object), n_pairs),
            "preference": pref,
        }
    )

    # verdicts: judge-major, then pair, then order (ab, ba)
    v_judge = np.repeat(np.arange(n_models), n_pairs * 2)
    v_pair = np.tile(np.repeat(np.arange(n_pairs), 2), n_models)
    v_ba = np.tile(np.array([False, True]), n_models * n_pairs)
    e_family = rng.normal(0, FAMILY_NOISE, (len(FAMILIES), n_pairs))[fam_code[v_judge], v_pair]
    e_judge = rng.normal(0, JUDGE_NOISE, (n_models, n_pairs))[v_judge, v_pair]

    def bonus(gen):
        same = gen == v_judge
        fam = fam_code[gen] == fam_code[v_judge]
        return np.where(same, SELF_BONUS, np.where(fam, FAMILY_BONUS, 0.0))

    d_ab = disc[v_judge] * (quality[ra][v_pair] - quality[rb][v_pair] + e_family + e_judge)
    d_ab += bonus(p_ga[v_pair]) - bonus(p_gb[v_pair])
    eta = np.where(v_ba, -d_ab, d_ab) + pos[v_judge]
    p_a = _sigmoid(eta - TIE_THRESHOLD)
    p_b = _sigmoid(-eta - TIE_THRESHOLD)
    p_tie = 1.0 - p_a - p_b
    u = rng.random(eta.size)
    choice = np.where(u < p_a, "A", np.where(u < p_a + p_b, "B", "tie")).astype(object)
    probs = np.sort(np.stack([p_a, p_b, p_tie]), axis=0)
    margin = probs[2] - probs[1]
    first = np.where(v_ba, resp_ids[rb][v_pair], resp_ids[ra][v_pair])
    second = np.where(v_ba, resp_ids[ra][v_pair], resp_ids[rb][v_pair])
    winner = np.where(choice == "A", first, np.where(choice == "B", second, "tie")).astype(object)
    raw = np.where(choice == "tie", "[[C]]", np.where(choice == "A", "[[A]]", "[[B]]"))
    failed = rng.random(eta.size) < PARSE_FAILURE_RATE
    choice[failed] = None
    winner[failed] = None
    raw = raw.astype(object)
    raw[failed] = "I cannot decide between the two answers."
    for p in (p_a, p_b, p_tie, margin):
        p[failed] = np.nan
    verdicts = pd.DataFrame(
        {
            "model": name[v_judge],
            "backend": "bench",
            "judge_version": "v1",
            "judge_family": family[v_judge],
            "protocol": "pairwise",
            "item_id": item_ids[p_item][v_pair],
            "response_a": resp_ids[ra][v_pair],
            "response_b": resp_ids[rb][v_pair],
            "response_id": None,
            "order": np.where(v_ba, "ba", "ab").astype(object),
            "sample": 0,
            "raw_output": raw,
            "choice": choice,
            "winner": winner,
            "score": np.nan,
            "parse_ok": ~failed,
            "p_a": p_a.round(6),
            "p_b": p_b.round(6),
            "p_tie": p_tie.round(6),
            "margin": margin.round(6),
            "cost_usd": price[v_judge],
            "run_id": "bench-stored",
        }
    )
    return {
        "items": items,
        "responses": responses,
        "preferences": preferences,
        "truth": truth,
        "verdicts": verdicts,
    }


def dataset_files(n: int, seed: int, workdir: Path) -> tuple[Path, Path, dict]:
    """The dataset directory and the verdict file for (n, seed), generated once under workdir."""
    base = Path(workdir) / f"n{n}-seed{seed}-v{GENERATOR_VERSION}"
    ds_dir, vfile, meta_path = base / "dataset", base / "verdicts.parquet", base / "meta.json"
    if meta_path.exists() and vfile.exists():
        return ds_dir, vfile, json.loads(meta_path.read_text())
    t0, c0 = time.perf_counter(), time.process_time()
    tables = generate(n, seed)
    ds_dir.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if name != "verdicts":
            df.to_parquet(ds_dir / f"{name}.parquet", index=False)
    tables["verdicts"].to_parquet(vfile, index=False)
    (ds_dir / "dataset.yaml").write_text(
        "name: studies_scale\n"
        f"description: generated by benchmarks/studies_scale.py (n={n}, seed={seed})\n"
        "licence: CC0-1.0\n"
    )
    meta = {
        "n_requested": n,
        "seed": seed,
        "rows": {k: len(v) for k, v in tables.items()},
        "generate_wall_s": round(time.perf_counter() - t0, 2),
        "generate_cpu_s": round(time.process_time() - c0, 2),
        "bytes": {p.name: p.stat().st_size for p in [*ds_dir.iterdir(), vfile]},
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return ds_dir, vfile, meta


def study_args(study: str, ds_dir: Path, vfile: Path, out: Path, store: Path) -> list[str]:
    """``judgelab run`` arguments: every stored identity analysed, n_boot 1000, n_perm 9999."""
    p = [
        ("dataset", str(ds_dir)),
        ("verdicts", str(vfile)),
        ("store", str(store)),
        ("n_boot", "1000"),
    ]
    models = [m[0] for m in MODELS]
    if study == "judge_comparison":
        source, ensemble = "aurora-max", ["aurora-max", "basalt-xl", "cirrus-ultra"]
        candidates = [m for m in models if m != source]
        p += [
            ("judges", json.dumps(candidates)),
            ("source", json.dumps({"model": source})),
            ("ensemble", json.dumps({"model": ensemble})),
        ]
    else:
        p.append(("judges", "null"))
    if study == "position_bias":
        p.append(("n_perm", "9999"))
    args = ["run", study, "--out", str(out), "--force"]
    for k, v in p:
        args += ["-p", k, v]
    return args


def _hwm_kib(pid: int) -> tuple[int, int]:
    """(VmHWM, VmRSS) of a process in KiB, or (0, 0) when it is gone."""
    hwm = rss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return hwm, rss


def measure(cmd: list[str], log: Path, env: dict | None = None) -> dict:
    """Run ``cmd`` and measure its process tree (see the module docstring)."""
    import psutil

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peaks: dict[int, dict] = {}
        tree_rss = [0]
        done = threading.Event()

        def poll():
            root = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    procs = [root, *root.children(recursive=True)]
                except psutil.Error:
                    procs = []
                total = 0
                for pr in procs:
                    hwm, rss = _hwm_kib(pr.pid)
                    total += rss
                    rec = peaks.get(pr.pid)
                    if rec is None:
                        try:
                            cmdline = " ".join(pr.cmdline())
                        except psutil.Error:
                            cmdline = ""
                        rec = peaks[pr.pid] = {"cmdline": cmdline, "hwm_kib": 0}
                    rec["hwm_kib"] = max(rec["hwm_kib"], hwm)
                tree_rss[0] = max(tree_rss[0], total)
                done.wait(0.2)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        th.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    kernel = [r for r in peaks.values() if "ipykernel" in r["cmdline"]]
    res = {
        "returncode": proc.returncode,
        "wall_s": wall,
        "cpu_user_s": ru.ru_utime,
        "cpu_sys_s": ru.ru_stime,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "tree_max_single_rss_gb": ru.ru_maxrss * 1024 / 1e9,  # KiB on Linux
        "kernel_peak_gb": max((r["hwm_kib"] for r in kernel), default=0) * 1024 / 1e9,
        "tree_sum_rss_gb": tree_rss[0] * 1024 / 1e9,
        "n_kernels": len(kernel),
        "log": str(log),
    }
    if proc.returncode != 0:
        lines = log.read_text(errors="replace").strip().splitlines()
        res["error"] = "\n".join(lines[-12:])
    return res


def load_only(ds_dir: str, vfile: str) -> None:
    """What ``studies.prepare`` does before any statistic, timed by phase (JSON on stdout)."""
    import warnings

    from judgelab.datasets import load_dataset
    from judgelab.studies import check_identities, load_verdicts

    phases = {}
    t = time.process_time()
    ds = load_dataset(ds_dir)
    phases["load_dataset"] = time.process_time() - t
    t = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.validate()
    phases["validate"] = time.process_time() - t
    t = time.process_time()
    v = load_verdicts(vfile, ds)
    phases["load_verdicts"] = time.process_time() - t
    t = time.process_time()
    check_identities(v)
    phases["check_identities"] = time.process_time() - t
    print(json.dumps({"phases_cpu_s": phases, "verdict_rows": len(v)}))


def _row(name: str, r: dict, floor_cpu: float | None) -> str:
    if r.get("returncode", 0) != 0:
        first = (r.get("error") or "").strip().splitlines()[-1:] or ["?"]
        return f"{name:<22} FAILED after {r['wall_s']:7.1f} s wall, {r['cpu_s']:7.1f} s CPU: {first[0][:90]}"
    peak = r["kernel_peak_gb"] or r["tree_max_single_rss_gb"]
    ok = "yes" if r["cpu_s"] < TARGET_CPU_S and peak < TARGET_PEAK_GB else "NO"
    vs_floor = f"{r['cpu_s'] / floor_cpu:6.1f}x" if floor_cpu else "    - "
    return (
        f"{name:<22} {r['cpu_s']:8.1f} {r['wall_s']:8.1f} {peak:8.2f} "
        f"{r['tree_max_single_rss_gb']:8.2f} {r['cpu_s'] / TARGET_CPU_S:7.2f}x "
        f"{peak / TARGET_PEAK_GB:7.2f}x {vs_floor}  {ok}"
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="stored verdicts (default 1,000,000)")
    ap.add_argument("--studies", default=",".join(STUDIES), help="comma-separated studies")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/studies_scale"))
    ap.add_argument("--json", type=Path, default=None, help="write the measurements here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generate-only", action="store_true", help="write the data and stop")
    ap.add_argument(
        "--load-only", nargs=2, metavar=("DATASET_DIR", "VERDICTS"), help=argparse.SUPPRESS
    )
    a = ap.parse_args(argv)
    if a.load_only:
        load_only(*a.load_only)
        return
    studies = [s.strip() for s in a.studies.split(",") if s.strip()]
    unknown = sorted(set(studies) - set(STUDIES))
    if unknown:
        ap.error(f"unknown studies {unknown}; valid: {', '.join(STUDIES)}")

    import judgelab

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"judgelab {judgelab.__version__} from {Path(judgelab.__file__).parent}"
    )
    print(f"load average {os.getloadavg()} on {os.cpu_count()} CPUs (wall times suffer under load)")
    t0 = time.perf_counter()
    ds_dir, vfile, meta = dataset_files(a.n, a.seed, a.workdir)
    print(
        f"data: {meta['rows']} in {ds_dir.parent} (generated in {meta['generate_wall_s']} s wall, "
        f"{meta['generate_cpu_s']} s CPU; this call {time.perf_counter() - t0:.1f} s)"
    )
    if a.generate_only:
        return
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(judgelab.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    results: dict[str, dict] = {"meta": {**meta, "load_average_start": os.getloadavg()}}
    runs = Path(a.workdir) / "runs" / f"n{a.n}"

    r = measure(
        [sys.executable, __file__, "--load-only", str(ds_dir), str(vfile)],
        runs / "load_validate.log",
        {**env, "JUDGELAB_VERDICT_CACHE": "off"},  # the check itself, never a kept result
    )
    if r["returncode"] == 0:
        r.update(json.loads(Path(r["log"]).read_text().strip().splitlines()[-1]))
    r["load_average"] = os.getloadavg()
    results["load_validate"] = r
    print(
        f"load + validate: {r['cpu_s']:.1f} s CPU, {r['wall_s']:.1f} s wall, "
        f"{r['tree_max_single_rss_gb']:.2f} GB max RSS; phases {r.get('phases_cpu_s')}"
    )
    floor = r["cpu_s"] if r["returncode"] == 0 else None

    for study in studies:
        cmd = [
            sys.executable,
            "-m",
            "judgelab",
            *study_args(study, ds_dir, vfile, runs / study, runs / "store.sqlite"),
        ]
        # a first run on this verdict file: the CLI's check writes the checked frame, the
        # kernel reads it (judgelab.verdict_cache); an empty cache per study
        cache = runs / "verdict_cache" / study
        shutil.rmtree(cache, ignore_errors=True)
        la = os.getloadavg()
        r = measure(cmd, runs / f"{study}.log", {**env, "JUDGELAB_VERDICT_CACHE": str(cache)})
        r["load_average_before"], r["load_average_after"] = la, os.getloadavg()
        r["command"] = " ".join(cmd)
        results[study] = r
        status = "ok" if r["returncode"] == 0 else "FAILED"
        print(
            f"{study}: {status}, {r['cpu_s']:.1f} s CPU, {r['wall_s']:.1f} s wall, kernel peak "
            f"{r['kernel_peak_gb']:.2f} GB (load {la[0]:.1f} -> {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        if a.json:
            a.json.write_text(json.dumps(results, indent=2, default=str) + "\n")

    n_rows = meta["rows"]["verdicts"]
    print(
        f"\n== {n_rows:,} stored verdicts; targets: CPU < {TARGET_CPU_S:g} s, peak < {TARGET_PEAK_GB:g} GB"
    )
    print(
        f"{'run':<22} {'CPU s':>8} {'wall s':>8} {'peak GB':>8} {'maxRSS':>8} {'CPU/tgt':>8} "
        f"{'peak/tgt':>8} {'CPU/load':>7}  meets"
    )
    print(_row("load + validate", results["load_validate"], None))
    for study in studies:
        print(_row(study, results[study], floor))
    print("peak GB = the kernel's VmHWM; maxRSS = wait4's ru_maxrss (largest single process)")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()

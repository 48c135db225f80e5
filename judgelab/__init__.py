"""judgelab: measure LLM judges like instruments.

Position bias, self-preference, family entanglement and calibration audits, run as
parameterized notebooks over a versioned verdict store. See README.md.
"""

from __future__ import annotations

from judgelab import config

# litellm downloads its price map at import unless told otherwise; researchers run offline.
config.use_local_cost_map()

from judgelab import (  # noqa: E402
    ensembles,
    families,
    findings,
    identity,
    run_record,
    sim,
    stats,
    studies,
    study,
)
from judgelab.data import DataError, Dataset  # noqa: E402
from judgelab.datasets import load_dataset  # noqa: E402
from judgelab.identity import JudgeIdentity  # noqa: E402
from judgelab.judges import Judge  # noqa: E402
from judgelab.run import judge_pairwise, judge_rubric, judge_single  # noqa: E402
from judgelab.store import VerdictStore  # noqa: E402

# every process importing judgelab (a notebook kernel included) answers judgelab-sim/<name>:
# the provider is registered with litellm as soon as litellm is imported (lazily, by anyone)
sim.install()

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Dataset",
    "load_dataset",
    "families",
    "sim",
    "stats",
    "studies",
    "study",
    "findings",
    "identity",
    "run_record",
    "JudgeIdentity",
    "ensembles",
    "__version__",
]
__all__ += ["Judge", "VerdictStore", "judge_pairwise", "judge_single", "judge_rubric"]

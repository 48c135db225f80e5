"""judgelab: measure LLM judges like instruments.

Position bias, self-preference, family entanglement and calibration audits, run as
parameterized notebooks over a versioned verdict store. See README.md.

The names below are imported on first use (PEP 562 ``__getattr__``): ``judgelab.stats``
imports scipy.stats and statsmodels (about 1.5 s CPU), which the ``judgelab`` command's
checks before the kernel starts never need; ``judgelab.X`` and ``from judgelab import X``
work as before.
"""

from __future__ import annotations

from judgelab import config

# litellm downloads its price map at import unless told otherwise; researchers run offline.
config.use_local_cost_map()

from judgelab import sim  # noqa: E402
from judgelab.stats._lazy import lazy_attributes  # noqa: E402

# every process importing judgelab (a notebook kernel included) answers judgelab-sim/<name>:
# the provider is registered with litellm as soon as litellm is imported (lazily, by anyone)
sim.install()

__version__ = "0.1.0"

_SUBMODULES = frozenset(
    {"ensembles", "families", "findings", "identity", "run_record", "stats", "studies", "study"}
)
# public name -> the module it lives in
_NAMES = {
    "DataError": "judgelab.data",
    "Dataset": "judgelab.data",
    "load_dataset": "judgelab.datasets",
    "JudgeIdentity": "judgelab.identity",
    "Judge": "judgelab.judges",
    "judge_pairwise": "judgelab.run",
    "judge_rubric": "judgelab.run",
    "judge_single": "judgelab.run",
    "VerdictStore": "judgelab.store",
}

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


__getattr__, __dir__ = lazy_attributes("judgelab", globals(), _SUBMODULES, _NAMES)

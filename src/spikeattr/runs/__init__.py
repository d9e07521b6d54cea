"""Run directories: training and tuning runs on disk, their resumable state and manifests.

Above :mod:`spikeattr.snn` (which trains in memory and knows no files) and below the pipelines
and the command line:

- :mod:`spikeattr.runs.training`: :func:`run_training`, a training run in a directory
  (checkpoint, history, resumable state, manifest, lock);
- :mod:`spikeattr.runs.train_state`: the resumable state file of a training run;
- :mod:`spikeattr.runs.tuning`: :func:`tune_greedy`, :func:`tune_optuna` and
  :func:`report_study`, tuning runs and their results;
- :mod:`spikeattr.runs.study` and :mod:`spikeattr.runs.trial_queue`: Optuna storages and the
  trial queue that workers share;
- :mod:`spikeattr.runs.manifest`: the manifest every run directory records.
"""

from __future__ import annotations

from spikeattr.runs.manifest import package_versions, write_manifest
from spikeattr.runs.training import run_training
from spikeattr.runs.tuning import TuningResult, report_study, tune_greedy, tune_optuna

__all__ = [
    "TuningResult",
    "package_versions",
    "report_study",
    "run_training",
    "tune_greedy",
    "tune_optuna",
    "write_manifest",
]

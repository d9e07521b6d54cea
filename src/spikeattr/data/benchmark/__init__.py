"""Tasks with known answers: spike series whose label at every step is decided by known input
cells, stored with the mask of those cells (the benchmark of ``spikeattr benchmark``).

Four tasks, each hard for explanations in a different way (one module each):

* ``synthetic`` (:mod:`.synthetic_pairs`): the paper's synthetic set; evidence = the recent
  cells of ``x1`` and ``x2``, spiking or silent;
* ``delayed_motif`` (:mod:`.delayed_motif`): the evidence lies 20 to 200 steps back;
* ``rare_channel`` (:mod:`.rare_channel`): a few informative spikes among much noise;
* ``conjunction`` (:mod:`.conjunction`): coincidence within a window, and absence classes
  whose evidence is silence.

Every generator is exact from its seed; :data:`.registry.TASKS` records each task's default seed,
explanation window and checksums.
"""

from __future__ import annotations

from spikeattr.data.benchmark.registry import TASKS, BenchmarkTask, generate_task, get_task

__all__ = ["TASKS", "BenchmarkTask", "generate_task", "get_task"]

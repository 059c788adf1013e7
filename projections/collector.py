"""The garbage collector of a process that applies events in bulk (a projection runner,
its feed)."""

from __future__ import annotations

import gc

# CPython collects its youngest generation every 700 container allocations. A projection
# allocates a few per event and keeps the batch (and its cache of cases) alive meanwhile,
# so each young collection traversed thousands of survivors: at city scale collecting
# took a fifth of the status processes' CPU (docs/benchmarks.md, "What the watcher cost,
# the collector, and a paced feed").
# Cycles are still collected, less often.
THRESHOLDS = (50_000, 20, 100)


def collect_less_often() -> None:
    """Collects less often from now on, and leaves what the process has made so far (its
    modules, settings and connections) out of every later full collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)

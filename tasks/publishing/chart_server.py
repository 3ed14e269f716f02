"""What the chart workers' forkserver imports once, before it forks any worker (see `chart_workers`).

The drawing code and its libraries (matplotlib, pandas, PIL) are imported here, then frozen out of
the garbage collector's reach. They live as long as the forkserver and its workers, and every
worker forked from it inherits the frozen generation. Two collections are then skipped: the
workers' full collections while they draw, which would traverse those imports again, and the
forkserver's own collection when it exits. The command waits for that exit, because the
forkserver holds its output: 0.4 s of every publishing run on this machine.
"""

from __future__ import annotations

import gc

import tasks.publishing.charts  # noqa: F401  imported once, shared by every worker

gc.freeze()

"""What the chart workers' forkserver imports once, before it forks any worker (see `chart_workers`).

Only the forkserver's preload (`set_forkserver_preload`) may import this module: importing it
freezes the whole heap of the importing process. The drawing code and its libraries (matplotlib,
pandas, PIL) are imported here, then frozen out of the garbage collector's reach. They live as
long as the forkserver and its workers, and every worker forked from it inherits the frozen
generation. Two costs are cut: the workers' full collections while they draw no longer traverse
those imports, nor does the forkserver's own collection when it exits. A caller that reads the
command's output through a pipe (a script, a test, CI) waits for that exit, because the forkserver
holds the output: 0.4 s of every publishing run on this machine.
"""

from __future__ import annotations

import gc

import tasks.publish.charts  # noqa: F401  imported once, shared by every worker

gc.freeze()

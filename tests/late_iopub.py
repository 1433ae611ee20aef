"""A kernel class as a server whose iopub subscription comes late sees it: the kernel's
"starting" status, published once as it starts, never arrives (the real race: the server
subscribes after the kernel published it, as under load or with a launcher that calls back
before its kernel listens). Used by the tests through ``--kernel-class-name``."""

from __future__ import annotations

from ipykernel.ipkernel import IPythonKernel

__all__ = ["NoStartingStatusKernel"]


class NoStartingStatusKernel(IPythonKernel):
    """An IPython kernel whose "starting" status is never seen."""

    def _publish_status(self, status, channel, parent=None):
        if status != "starting":
            super()._publish_status(status, channel, parent)

"""The kernel the book's chapters run in: papermill's, without two lines of noise per chapter.

:class:`ChapterKernelManager` is jupyter_client's own manager with two changes:

* the kernel's log level is ``ERROR``. ipykernel 7 warns at every start that it is "running over
  TCP without encryption"; the kernel listens on this machine's loopback only, for the one
  client papermill is. Errors of the kernel itself still show, and anything a cell prints, warns
  or raises stays in the executed notebook as before.
* no interrupt on the way out of a finished notebook. jupyter_client sends SIGINT to every
  kernel before it asks it to shut down; an idle kernel then logs "KeyboardInterrupt caught in
  kernel" as an ERROR, which reads like a failure of the chapter. A cell that runs past its
  timeout is still interrupted (nbclient calls ``interrupt_kernel``, which this leaves alone),
  and a kernel that does not stop on the shutdown request is still terminated, then killed.
"""

from __future__ import annotations

from typing import Any

from jupyter_client.manager import AsyncKernelManager

#: what the kernel process is started with, on top of its kernel spec
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


class ChapterKernelManager(AsyncKernelManager):
    """See the module docstring."""

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        kw["extra_arguments"] = list(kw.get("extra_arguments") or []) + KERNEL_ARGUMENTS
        return await super()._async_pre_start_kernel(**kw)

    async def _async_interrupt_kernel(self) -> None:
        # reached on the way out (shutdown) and on restarts; interrupt_kernel(), which a cell
        # timeout calls, is jupyter_client's own function and still interrupts
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()

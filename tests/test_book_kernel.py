"""The kernel the book's chapters run in (mner_lib/book/kernel.py): papermill's, without the
kernel's own noise in the build log, and with everything a notebook prints kept."""

from __future__ import annotations

import asyncio

import nbformat
import pytest

from mner_lib.book import runner
from mner_lib.book.kernel import ChapterKernelManager


def test_no_interrupt_on_the_way_out_but_one_when_asked():
    """jupyter_client interrupts a kernel before shutting it down (an idle ipykernel then logs
    "KeyboardInterrupt caught in kernel" as an ERROR); the chapter kernel skips that one only."""
    km = ChapterKernelManager()
    km.shutting_down = True
    assert asyncio.run(km._async_interrupt_kernel()) is None  # skipped: no signal, no error
    km.shutting_down = False
    with pytest.raises(RuntimeError, match="No kernel is running"):  # a real interrupt, tried
        asyncio.run(km._async_interrupt_kernel())


@pytest.mark.slow
def test_a_chapter_run_keeps_its_outputs_and_prints_no_kernel_log(tmp_path, capfd):
    """A notebook run as the book runs a chapter: its parameters arrive, what it prints and
    warns stays in the executed notebook, and the kernel writes nothing of its own to the
    console (ipykernel 7 warned there about TCP at every start).

    Fast sibling: :func:`test_no_interrupt_on_the_way_out_but_one_when_asked`."""
    parameters = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})
    body = nbformat.v4.new_code_cell(
        "import sys, warnings\nprint('out', x)\nprint('err', file=sys.stderr)\n"
        "warnings.warn('a warning of the chapter')"
    )
    source, output = tmp_path / "chapter.ipynb", tmp_path / "executed.ipynb"
    metadata = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
                "language_info": {"name": "python"}}  # fmt: skip
    nbformat.write(nbformat.v4.new_notebook(cells=[parameters, body], metadata=metadata), source)
    runner.run_notebook(source, output, {"x": 2}, cell_timeout=120, cwd=tmp_path)
    console = capfd.readouterr().err
    assert "IPKernelApp" not in console and "KeyboardInterrupt" not in console, console
    cell = nbformat.read(output, as_version=4).cells[-1]
    streams = {o["name"]: o["text"] for o in cell.outputs if o["output_type"] == "stream"}
    assert streams["stdout"] == "out 2\n"
    assert "err" in streams["stderr"] and "a warning of the chapter" in streams["stderr"]

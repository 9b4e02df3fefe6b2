"""Reading and writing files a stranger may have made: size caps, no FIFOs, atomic writes;
the text a reader sees: escaping per place (``escape``), a count and its noun (``plural``);
the process's memory allocator set for PyTorch (``allocator``)."""

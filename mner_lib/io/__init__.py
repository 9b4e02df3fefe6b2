"""Reading and writing files a stranger may have made: size caps, no FIFOs, atomic writes."""

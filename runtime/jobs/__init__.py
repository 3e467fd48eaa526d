"""Background work: a jobs table, handlers by kind, and runners."""

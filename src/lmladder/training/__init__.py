"""Lightning training: data modules over token files, the LM module, schedules and callbacks."""

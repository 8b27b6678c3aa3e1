"""doorstep."""

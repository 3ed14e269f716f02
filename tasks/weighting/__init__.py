"""The weights stage's helpers: the invitation frame, raking, and tables R01 and R02 (tasks/weights.py)."""

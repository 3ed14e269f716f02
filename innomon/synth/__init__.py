"""Synthetic survey exports, calibrated to the report by quota allocation (`innomon synth`)."""

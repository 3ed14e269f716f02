"""Stage `indicators`: every table of `tables.yaml`, evaluated by one engine over a registry of table
kinds; suppression, significance and revision marks.
"""

"""Stage `validate`: the universe (status, completion, region, SME, duplicates) and the row rules; the
year's validation report.
"""

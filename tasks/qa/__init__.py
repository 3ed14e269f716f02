"""Flow step `qa`: key figures and the QA diff against the report's transcribed figures, as Prefect
artifacts.
"""

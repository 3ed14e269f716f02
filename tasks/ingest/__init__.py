"""Stage `ingest`: read the export (`read`), map it by the datamap (`mapping`), apply reviewed
corrections (`corrections`), split identities from answers.
"""

"""Pipeline stages: one module per stage, plain functions under thin Prefect task wrappers."""

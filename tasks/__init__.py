"""The pipeline's stages, one package each, named after the stage, its helpers inside; `stage.py`
holds the plain stage functions and the thin Prefect task wrappers (docs/architecture.md)."""

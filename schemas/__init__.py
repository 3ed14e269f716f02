"""Contracts: pandera schemas at the three data checkpoints (`export`, `respondents`, `outputs`,
checked by `validation.validate_lazy`) and the configuration's schema (`config`, pydantic).

Kept import-free: the configuration is checked before a command loads pandas or pandera."""

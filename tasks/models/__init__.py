"""Stage `models`: the regression models of `models.yaml` (statsmodels)."""

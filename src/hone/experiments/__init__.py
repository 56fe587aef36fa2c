"""Experiments: the questions answered by training many runs — ``compare`` (variants over
paired seeds, with confidence intervals), ``tune`` (Optuna searches), ``improve`` (diagnose,
prescribe, verify, repeat), ``lr_find`` (the LR range test) and ``datacurve`` (more data or
more tuning?) — with their statistics (``stats``), variants (``variants``) and Ray
executors. Import the module you need: this package imports nothing, so reading a store's
experiments does not load PyTorch."""

"""Training: the loop (``engine``) and the loop for K stacked seeds (``stacked``), their
callbacks (one per file), losses, optimizers, schedules, regularisation, ensembles' member
configs and transfer. Import the modules you need; this package imports nothing."""

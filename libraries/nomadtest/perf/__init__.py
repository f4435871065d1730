"""Performance: metrics and their statistics, run facts, the metrics store, baselines, sampling, plots."""

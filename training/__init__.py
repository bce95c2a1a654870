"""Training: data, estimators, anchor, preserver, attackers, evaluation (needs the `[train]` extra)."""

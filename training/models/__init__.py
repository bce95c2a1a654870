"""Networks of the method: estimator and attacker backbones, preservers."""

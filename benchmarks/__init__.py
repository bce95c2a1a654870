"""Benchmarks: latency and quality of exported preservers on host, phone and tablet hardware."""

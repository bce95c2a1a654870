"""The export targets, one module each; the registry is `privategaze.export.registry.TARGETS`."""

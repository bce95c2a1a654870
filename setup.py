"""Package map: one distribution, one import root, six product folders.

The runtime SDK (`sdk_python/privategaze`) is the top package; the heavy folders are mapped in as its subpackages, so
`privategaze.training`, `privategaze.export` and `privategaze.benchmarks` import the same way from a wheel and from an
editable install, and `import privategaze` itself stays light. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

PACKAGE_ROOTS = {
    "privategaze": "sdk_python/privategaze",
    "privategaze.training": "training",
    "privategaze.export": "export",
    "privategaze.benchmarks": "benchmarks",
}


def _packages() -> list[str]:
    packages = []
    for name, folder in PACKAGE_ROOTS.items():
        packages.append(name)
        packages += [f"{name}.{sub}" for sub in find_packages(folder, exclude=["tests", "tests.*"])]
    return sorted(set(packages))


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import PACKAGE_ROOTS
    setup(packages=_packages(), package_dir=PACKAGE_ROOTS)

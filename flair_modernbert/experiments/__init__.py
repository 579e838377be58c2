"""Experiments built on the library: ablations (variants x seeds) and speed benchmarks. Their command-line
options live in :mod:`flair_modernbert.cli`."""

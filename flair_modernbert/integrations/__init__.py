"""Bridges to other tools, each in its own module and each behind an optional extra.

- :mod:`~flair_modernbert.integrations.presidio`: a Presidio ``EntityRecognizer`` backed by a trained tagger, and an
  ``AnalyzerEngine`` that runs offline (``pip install "flair-modernbert[presidio]"``).

Nothing is imported here, so ``import flair_modernbert.integrations`` works without any extra installed; importing
a module whose extra is missing raises an ``ImportError`` that names the ``pip install`` line.
"""

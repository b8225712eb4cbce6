"""The config repository: strict YAML, schema validation, cross-file checks, model.

``load_repository(root)`` is the one entry point; it returns a validated
``Repository`` or raises ``ConfigInvalid`` carrying every problem found.
"""

from reconciler.config.loader import load_repository

__all__ = ["load_repository"]

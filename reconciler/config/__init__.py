"""The config repository: strict YAML, schema validation, cross-file checks, model.

``load_repository(root)`` is the one entry point; it returns a validated
``Repository`` or raises ``ConfigInvalid`` carrying every problem found.
``read_repository(root)`` never raises for a config problem: it gives the
problems beside the model of the files that passed, for the policy layer's
own cross-file check.
"""

from reconciler.config.loader import Loaded, load_repository, read_repository

__all__ = ["Loaded", "load_repository", "read_repository"]

"""Vigil: counter-terrorism sanctions lists, screening and partner cooperation.

    >>> from vigil import Query, Screener, Store
    >>> screener = Screener.from_store(Store("sqlite:///vigil.db"))
    >>> screener.match(Query("Aiman Zawahiri", dob="1951"))
"""

__version__ = "0.1.0"

_EXPORTS = {"Screener": "vigil.screening", "Query": "vigil.screening", "Hit": "vigil.screening", "Store": "vigil.store"}
__all__ = ["Hit", "Query", "Screener", "Store", "__version__"]


def __getattr__(name: str):
    # Imported on first use, so that `import vigil.model` stays light.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vigil' has no attribute {name!r}")

"""pipguard: a thin wrapper around pip that keeps earlier installs working."""

__version__ = "0.1.0"

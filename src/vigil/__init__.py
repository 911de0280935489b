"""Vigil: counter-terrorism sanctions lists, screening and partner cooperation."""

__version__ = "0.1.0"

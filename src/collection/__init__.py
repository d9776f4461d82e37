"""Kho số Thanh Hóa: the digital local-collection repository of the Thanh Hóa provincial library."""

__version__ = "0.1.0"

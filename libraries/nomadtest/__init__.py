"""Internal package shared by the keyword libraries; not a public API."""

__version__ = "0.4.0"

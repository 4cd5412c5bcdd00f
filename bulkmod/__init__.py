"""Apply bulk changes to Canvas course modules and module items."""

__version__ = "0.1.0"
__all__ = ["__version__"]

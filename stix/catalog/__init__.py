"""The price catalog: which machines each cloud sells where, and at what $/h."""

from stix.catalog.loader import BadRow, Catalog, load_catalog
from stix.catalog.schema import COLUMNS, Offer

__all__ = ["COLUMNS", "BadRow", "Catalog", "Offer", "load_catalog"]

"""Catalog section E's forecasters: a window of a series' past values -> its next value."""

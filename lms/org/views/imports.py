"""Bulk imports of units and people (preview, then confirm)."""

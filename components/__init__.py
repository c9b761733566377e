"""Bakery's Pulumi components: they only wire resources (see STYLE.md)."""

from components.image_fleet import ImageFleet, ImageFleetArgs

__all__ = ["ImageFleet", "ImageFleetArgs"]

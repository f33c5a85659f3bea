"""reservoir: inventory reservation engine."""

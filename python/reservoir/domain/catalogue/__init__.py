"""Items (SKUs) and locations: the catalogue the engine reserves against."""

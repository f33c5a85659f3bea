"""Pick-path routing, side by side: the parts of `benchmarks/pickpath_compare.py` (the entry
point and its options): the measurements and the markdown report."""

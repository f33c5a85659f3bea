"""Flash drop, side by side: the parts of `benchmarks/compare_flashdrop.py` (the entry point
and its options): the targets, their servers, wrk runs, ledger checks and the report."""

"""Stage 2, run: one cell, the cell graph, the scheduler and its executors, progress and estimates."""

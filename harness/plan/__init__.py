"""Stage 1, plan: the family contract, the registry, params, metrics, input data, cells and grids."""

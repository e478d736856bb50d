"""AttentionMap, its statistics, alignment with gold, storage, image grids."""

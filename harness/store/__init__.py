"""Stage 3, store: finished cells as verified parquet records; leases, compaction, fsck, merge."""

"""Writers: document shards (Parquet or Dolma-shaped JSONL.gz), exclusions and quarantine, all atomic."""

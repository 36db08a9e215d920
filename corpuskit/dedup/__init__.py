"""Deduplication: exact (normalised text hash), line-level (CCNet style), MinHash LSH near-duplicates
with partitioned bucketing and connected components, and benchmark decontamination (13-grams)."""

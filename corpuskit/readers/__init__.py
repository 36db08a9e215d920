"""Readers turn input files into streams of core-schema record batches, one task per file (or file group)."""

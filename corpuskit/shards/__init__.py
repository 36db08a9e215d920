"""Tokenized, shuffled pretraining shards: Megatron ``.bin/.idx`` and nanotron ``.ds``, with a manifest.

- ``corpuskit.shards.build.build``: inputs -> two passes in bounded memory -> shards + manifest.json
- ``corpuskit.shards.validate.validate``: format, checksum and token checks of a built directory
- ``corpuskit.shards.reader.TokenShards``: documents and training windows via numpy memmaps
"""

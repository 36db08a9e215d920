"""Tokenizer training and evaluation on a cleaned corpus.

Not pipeline steps: ``corpuskit tokenizer train|eval|extend`` read a pipeline's output, draw a
deterministic, memory-bounded sample (``sample``), train SentencePiece (``sp_train``) or HF
``tokenizers`` (``hf_train``) models, write files both ecosystems load (``hf_files``,
``convert``), merge vocabularies (``extend``) and measure how well a tokenizer splits each
source and language (``evaluate``).
"""

"""corpuskit: pretraining corpus preprocessing and tokenizer training."""

__version__ = "0.1.0"

"""corpuskit: pretraining corpus preprocessing and tokenizer training."""

import os as _os

# presidio imports transformers when it is installed; without PyTorch it warns on every import in
# every worker.  corpuskit uses no transformers model, so keep that noise out of the logs.
_os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

__version__ = "0.1.0"

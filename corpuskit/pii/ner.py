"""Optional named entities (PERSON, LOCATION, ORGANIZATION) through presidio's spaCy recognizer.

Off by default: it needs a spaCy model, which corpuskit never downloads (presidio's
``SpacyNlpEngine`` would fetch a missing one with spaCy's own downloader).  The model is named by
package (``en_core_web_sm``, installed with ``python -m spacy download en_core_web_sm`` or from a
wheel) or by the path of a saved pipeline.  NER needs whole sentences, so it runs on whole
documents, at spaCy's speed (a few hundred KB/s per core with the small English model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConfigError
from .recognizers import LANG


def check_model(model: str) -> None:
    """Raise ``ConfigError`` naming what to install when ``model`` is neither an installed package nor a path."""
    try:
        import spacy  # noqa: F401
        from spacy.util import is_package
    except ImportError:
        raise ConfigError("pii: ner: true needs spaCy and a spaCy model: pip install spacy, then "
                          f"python -m spacy download {model}") from None
    if Path(model).exists() or is_package(model):
        return
    raise ConfigError(f"pii: ner: true needs the spaCy model {model!r}, which is not installed: run "
                      f"`python -m spacy download {model}` (or pip install its wheel), or set ner_model to "
                      "the path of a saved spaCy pipeline; corpuskit never downloads models itself")


def load_ner(model: str, entities: Sequence[str]) -> Callable[[str], list]:
    """A function text -> presidio results for ``entities``, from presidio's ``SpacyRecognizer``."""
    check_model(model)
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    engine = SpacyNlpEngine(models=[{"lang_code": LANG, "model_name": model}])
    engine.load()
    recognizer = SpacyRecognizer(supported_language=LANG, supported_entities=list(entities))
    wanted = list(entities)

    def run(text: str) -> list:
        artifacts = engine.process_text(text, LANG)
        return list(recognizer.analyze(text=text, entities=wanted, nlp_artifacts=artifacts) or [])

    return run

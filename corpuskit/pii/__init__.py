"""PII scrubbing: presidio's recognizers at corpus speed, English and Chinese.

- ``recognizers``: the entity catalogue and an offline presidio set-up (no spaCy model, no network)
- ``chinese``: Chinese mobile, resident ID and UnionPay card recognizers with checksums, and IPv4
  glued to CJK text
- ``phone_formats``: '+CC' numbers and North American layouts phonenumbers' matcher misses
- ``fastpath``: pre-screen + windows, equal to ``AnalyzerEngine.analyze`` on whole documents
- ``phone``: presidio's phone recognizer without the parses that cannot succeed
- ``filters``: plausibility rules and the documentation allow-list
- ``replace``: span resolution, typed placeholders, salted pseudonyms
- ``ner``: optional PERSON/LOCATION/ORGANIZATION with an installed spaCy model
- ``step``: the ``pii`` pipeline step

Nothing here imports presidio at module import; ``setup()`` does.
"""

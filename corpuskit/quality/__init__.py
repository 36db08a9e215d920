"""Quality filtering and language ID: signals as typed columns over whole Arrow batches, published
rule sets (Gopher, C4, FineWeb, code, CJK) as thresholds over them, fastText language ID and
quality classifiers, bad-word and URL block-lists.  Every module registers its steps on import."""

"""Steps: the units a pipeline chains.  ``base`` holds the kinds; the other modules hold generic steps."""

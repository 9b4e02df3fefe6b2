"""Text data: the tweet format and its reader, datasets, vocabularies, entity scoring, POS tags, text encoders."""

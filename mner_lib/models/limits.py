"""The largest values a setting takes, for the run schema (:mod:`mner_lib.training.config`) and
the model configs (:mod:`mner_lib.models.base`) alike."""

#: the largest magnitudes a number field takes (torch's int32 sizes, float32)
INT_MAX, FLOAT_MAX = 2**31 - 1, 3.4e38
#: The most tweets in one batch (the papers use 10 to 32): a batch's memory grows with it.
MAX_BATCH_TWEETS = 1024

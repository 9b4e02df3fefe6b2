"""mner_lib: the library behind the MNER research book.

Data (:mod:`mner_lib.data`), metrics (:mod:`mner_lib.metrics`), the CRF (:mod:`mner_lib.crf`),
the trainer (:mod:`mner_lib.train`), image features (:mod:`mner_lib.images`), the models
(:mod:`mner_lib.models`) and plots (:mod:`mner_lib.figures`).
"""

__version__ = "0.1.0"

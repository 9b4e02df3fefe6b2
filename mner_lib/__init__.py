"""mner_lib: the library behind the MNER research book.

Data (:mod:`mner_lib.text.data`), metrics (:mod:`mner_lib.text.metrics`), the CRF (:mod:`mner_lib.models.crf`),
the trainer (:mod:`mner_lib.training`), image features (:mod:`mner_lib.images`), the models
(:mod:`mner_lib.models`) and plots (:mod:`mner_lib.figures`).
"""

__version__ = "0.1.0"

"""Model-based quality scoring (issue #17): scorers that put ``classifier.<name>`` into ``signals``
(higher = better), ``curate train-classifier`` and ``curate classify``. Selection by those scores is
:mod:`curate.select`.

* :mod:`~curate.classify.config` — :class:`ClassifyConfig` (one scorer's settings);
* :mod:`~curate.classify.base` — the :class:`Scorer` contract (engine-free; models load in ``setup``);
* :mod:`~curate.classify.text` — text to fastText tokens (``plain``, ``curate-v1``);
* :mod:`~curate.classify.fasttext_format` — fastText's ``.bin`` format and features, written by curate;
* :mod:`~curate.classify.train` — training a fastText classifier (numba), ``curate train-classifier``;
* :mod:`~curate.classify.fasttext_scorer` — the ``fasttext`` scorer (fasttext-predict);
* :mod:`~curate.classify.embedding` and :mod:`~curate.classify.heads` — the ``embedding`` scorer (a local
  Hugging Face encoder + safetensors heads; torch and transformers, the ``model`` extra, imported there only);
* :mod:`~curate.classify.scorers` — :func:`build_scorer`, the scorer of a config;
* :mod:`~curate.classify.files` and :mod:`~curate.classify.command` — scoring files, ``curate classify``.

No module here imports an engine; the runner is passed in.
"""

from __future__ import annotations

from curate.classify.base import PREFIX, ScoreBatch, Scorer
from curate.classify.config import ClassifyConfig, kind_of

__all__ = ["PREFIX", "ClassifyConfig", "ScoreBatch", "Scorer", "kind_of"]

"""Per-document stages (engine-free): read, url_filter, prefilter, extract, langid, quality, pii, write.

Each module holds one :class:`curate.stage.Stage` and the dataclass of its config section (``ExtractConfig``,
``LangIdConfig``, ``QualityConfig`` ...), which :mod:`curate.config` assembles. Stages may import the
contract (:mod:`curate.stage`, :mod:`curate.schema`), the text and model code they wrap
(:mod:`curate.filters`, :mod:`curate.languages`, :mod:`curate.lid`, :mod:`curate.pii`, :mod:`curate.dedup`)
and the bottom modules (errors, fields, configlib, io, resources); never :mod:`curate.config`,
:mod:`curate.pipeline`, a runner or an engine (docs/architecture.md).
"""

"""C4 document rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
Text-to-Text Transformer", §2.2): drop pages with "lorem ipsum", with a curly bracket (code), or with
fewer than 5 sentences. C4's line-level removals (no terminal punctuation, "javascript", policy
lines) are not applied: FineWeb found terminal-punctuation line removal too aggressive (Penedo et al.
2024, §3.4), and curate scores and decides per document rather than rewriting text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from curate.filters import Document, Filter, register

# A sentence ends in terminal punctuation (Latin, Greek question mark ";" excluded as too ambiguous)
# followed by whitespace, a closing quote/bracket, or the end of the text.
_SENTENCE_END = re.compile(r"[.!?…。！？](?:[\"'”’»)\]]*)(?=\s|$)")


@register("c4_v1")
@dataclass(frozen=True)
class C4Quality(Filter):
    min_sentences: int = 5
    filter_lorem_ipsum: bool = True
    filter_curly_bracket: bool = True

    def check(self, doc: Document) -> str | None:
        lowered = doc.text.lower()
        if self.filter_lorem_ipsum and "lorem ipsum" in lowered:
            return "c4_lorem_ipsum"
        if self.filter_curly_bracket and "{" in doc.text:
            return "c4_curly_bracket"
        if len(_SENTENCE_END.findall(doc.text)) < self.min_sentences:
            return "c4_too_few_sentences"
        return None

"""Corpora: reading and tokenizing monolingual text (stage 1 of the pipeline)."""

from umt.corpora.text import count_lines, tokenize_corpus
from umt.corpora.tokenize import tokenize, tokenize_line

__all__ = ["count_lines", "tokenize", "tokenize_corpus", "tokenize_line"]

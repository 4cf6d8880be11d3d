"""Catalog section H's word embeddings: word2vec's CBOW and skip-gram with negative sampling."""

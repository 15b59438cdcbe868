"""Newsdesk retrieval and answering: articles in, sourced answer sentences out."""

"""Metadata: documents (JSON Schema with ``x-`` keywords) -> validated, frozen IR.

- :mod:`rapport.metadata.documents` reads and writes documents (folders, JSON, package data);
- :mod:`rapport.metadata.builder` (``compile_model``) validates them together, reporting every
  problem at once, and builds the :class:`~rapport.metadata.ir.Model` everything else reads;
- :mod:`rapport.metadata.ir` is that frozen IR.

This package module imports nothing, on purpose: ``ir`` is a leaf every layer imports (the
expression parser too), while the builder imports the expression parser.
"""

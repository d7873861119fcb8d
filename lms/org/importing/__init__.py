"""Bulk imports of units and of people with posts (CLI ``flask org import-*`` and the import pages).

The flow is the same everywhere:

1. ``decode.read_table``  bytes (CSV in UTF-8 / UTF-8 with BOM / GBK, or XLSX) → rows of text cells
   with their physical line numbers; an unreadable file raises ``FileProblem`` (CLI exit 2);
2. ``units`` / ``people``  pure parsing and validation of each row, then a plan against a
   snapshot of the database loaded in a few batched queries by ``lookup``: what each row
   creates, updates or leaves unchanged, and every row error as ``第N行 列名：原因``;
3. ``apply``  the services the edges call: ``check_*`` builds a plan (reads only; the preview and
   ``--dry-run``), ``write_*`` writes a plan without errors through ``lms.org.services``, audited,
   all rows or none (the caller commits once, or rolls back).

``stash`` keeps an uploaded file between the preview and the confirmation; ``blank`` makes the
empty templates offered for download.
"""

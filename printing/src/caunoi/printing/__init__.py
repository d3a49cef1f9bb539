"""Printable Vietnamese documents as PDF: :mod:`caunoi.printing.document` (a page with headings,
paragraphs and tables in an embedded Unicode font) and :mod:`caunoi.printing.letter` (an official
letter: the unit and the national motto at the top, the recipient, the body, the signature)."""

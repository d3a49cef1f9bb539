"""Printable Vietnamese documents as PDF: :mod:`caunoi.printing.document` (a page with a title,
headings, paragraphs, blocks side by side, tables and images in an embedded Unicode font; what the
notify service's letters and the reporting service's reports and forms are built from) and
:mod:`caunoi.printing.letter` (an official letter: the unit and the national motto at the top, the
recipient, the body, the signature)."""

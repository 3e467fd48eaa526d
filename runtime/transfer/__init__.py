"""Spreadsheet import and export of a form's records (XLSX and CSV)."""

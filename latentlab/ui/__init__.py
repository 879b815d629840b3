"""The explorer window (PySide6): `python gui.py`. The only package that imports Qt."""

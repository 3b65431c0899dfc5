"""Developer tools that are not shipped to devices (not part of the ``edgekit`` wheel).

- ``python tools/train_demo.py --out assets/models``: retrain the bundled demo models.
- ``python -m tools.screenshots docs/img/``: render the app's pages for the README.
- ``python tools/import_stats.py``: how edgekit's packages import each other.
"""

"""The study report: one self-contained HTML page (``python -m worker report``).

``collect.py`` takes what it shows from one run's outcome, ``timeline.py`` draws
each scheduled participant's visit windows as inline SVG, ``html.py`` renders the page.
"""

from worker.report.collect import ReportData, collect_report
from worker.report.html import render_report

__all__ = ["ReportData", "collect_report", "render_report"]

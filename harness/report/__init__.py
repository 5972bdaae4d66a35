"""Stage 5, report: tables, family pages, verdict text, figures and the HTML report."""

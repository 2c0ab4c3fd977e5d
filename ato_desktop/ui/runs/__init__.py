"""The Runs page's parts: run list model, filters, intercepts, run details, live view, export."""

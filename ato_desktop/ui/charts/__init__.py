"""Charts: one frame (title, a chart or an empty state that says what to do, "Save as PNG…"
and "Copy data as CSV", a readout of exact values that the keyboard moves) over Qt Charts.

Qt Charts (pyside6-addons) is imported only when a frame first has data to draw
(`chart_frame.ChartFrame.set_spec`), never at start-up: a test checks the modules imported at the
window's first paint. What a chart shows is a `chart_spec.ChartSpec`, plain data built from a
store aggregate, so every chart's content is tested without drawing it.
"""

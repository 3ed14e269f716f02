"""Stage `publish`: the bundle people read (workbook, charts, draft, tidy data, index page), written,
verified and promoted.

Its helpers: `layout` (every table in the report's shape), `labels`, `workbook` (the Excel writer),
`concept` and `sentences` (the Word draft), `charts`, `chart_workers` and `chart_server` (chart
assets drawn in worker processes), `index_page`. `stage` wires them and writes the bundle to
storage.
"""

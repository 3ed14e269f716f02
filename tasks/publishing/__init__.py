"""The publish stage's helpers: what a person reads, kept apart from what computes the figures.

`layout` turns a table's tidy cells into the report's shape (rows and columns declared in
`tables.yaml`); `workbook` writes those shapes and the long table of all figures to Excel; `charts`
and `chart_workers` draw the chart assets; `index_page` writes the release's landing page. The
stage itself (`tasks.publish`) wires them and writes the bundle to storage.
"""

"""The publish stage's helpers: what a person reads, kept apart from what computes the figures.

`layout` turns a table's tidy cells into the report's shape (rows and columns declared in
`tables.yaml`); `workbook` writes those shapes and the long table of all figures to Excel; `charts`
draws the chart assets, in worker processes (`chart_workers`) forked from a server that has imported
it (`chart_server`); `index_page` writes the release's landing page. The stage itself
(`tasks.publish`) wires them and writes the bundle to storage.
"""

"""Analysis: hot spots, clusters, the indicators of the dashboard and the monthly report, exports."""

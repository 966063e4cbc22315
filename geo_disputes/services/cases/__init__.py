"""Cases: intake, routing, the three procedures and their clocks, the workflow, supervision, who may see what."""

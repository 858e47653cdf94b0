"""One router per resource: diagnoses, root causes, categories, stats, me, health."""

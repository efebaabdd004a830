"""What users run on one project: new, update, diff."""

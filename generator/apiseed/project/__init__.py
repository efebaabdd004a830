"""What users run on their projects: new, update, diff, and status and update for a fleet."""

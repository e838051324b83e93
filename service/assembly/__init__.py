"""The composition root: settings → resources (database, rules, redactor) → wired components."""

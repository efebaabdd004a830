"""What template maintainers run across every variant: variants, check, impact."""

"""Staff REST endpoints of the gan app (session login, is_staff): evaluations and result reports."""

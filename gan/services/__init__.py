"""Write operations of the gan app, by concern: datasets, training, generation (and their job kinds)."""

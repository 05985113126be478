"""Experience logic: what a person reads about their own usage, as pure Polars functions."""

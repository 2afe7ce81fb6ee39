"""brugstat package."""

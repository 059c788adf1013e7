"""The REST face of Liandong, its settings, composition root and command line."""

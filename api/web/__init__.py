"""The workbench: Chinese web pages for every unit, served by the API itself (no CDN)."""

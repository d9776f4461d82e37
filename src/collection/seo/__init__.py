"""What search engines read: robots.txt, the sitemaps (sitemaps.org 0.9), and the structured data
of item pages (schema.org JSON-LD, Google Scholar's citation_* tags)."""

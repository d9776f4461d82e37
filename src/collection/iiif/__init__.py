"""IIIF: the Image API 3 (level 0) over the pipeline's page images and tiles, Presentation 3
manifests and collections, and Content Search (2.0 and 1.0) over search inside an item."""

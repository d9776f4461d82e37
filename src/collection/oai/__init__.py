"""OAI-PMH 2.0 data provider at /oai: the published record of every public and on-site item, in
Dublin Core (oai_dc) and MARCXML (marc21), by collection and document type, with deletions."""

"""Domain data of NTM Atlas and the store that holds it (depends on geo only)."""

"""Pure spatial core: CRS, geometry checks, text normalisation. No I/O, no domain tables."""

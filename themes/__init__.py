"""Console themes as JSON data files (loaded by themes.loader) and the console's TCSS."""

"""Data sources: the embedded synthetic face-and-gaze renderer and loaders for real datasets."""

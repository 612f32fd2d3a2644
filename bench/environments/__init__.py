"""What trials run with: the TF version catalog, one environment per version and the Pythons
to make them, the dataset, the machine's description, and what a run needs before it starts."""

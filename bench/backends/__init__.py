"""Where trials run: the backend interface (base), local processes and Docker containers,
worker images, the engines they run on, and the fleet of slots a run hands trials to."""

"""Docker engines: the hosts a run connects to, and the worker images built and copied there."""

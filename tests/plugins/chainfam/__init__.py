"""A test family for the scheduler: cells that sleep, count their trainings in a log file,
post-process a base, crash their worker, or raise. Loaded with
``HARNESS_PLUGINS=tasks,methods,chainfam`` and ``PYTHONPATH=tests/plugins``, so that worker
processes (pool, Ray, submitit jobs) find it as any installed family."""

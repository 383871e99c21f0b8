"""The Ray backend: tasks on an embedded ``ray.init()`` or on a running Ray cluster.

One module per concern: ``address`` (parsing ``--address``, no Ray import), ``auth`` (where the
token comes from and what a refusal means), ``probe`` (asking an address what it is before
``ray.init`` retries for a minute), ``session`` (the process's one Ray connection: embedded start
on loopback, connecting, sharing, reaping), ``tasks`` (the functions Ray runs on workers and the
future over their results) and ``backend`` (the ``Backend`` itself). The backend registry imports
``backend`` only when the Ray backend is used.
"""

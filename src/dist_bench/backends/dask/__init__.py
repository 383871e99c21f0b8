"""The Dask backend: a ``distributed`` cluster, embedded (``LocalCluster``) or reached by address.

One module per concern: ``address`` (parsing ``--address``), ``session`` (starting the embedded
cluster or connecting, and closing), ``shipping`` (getting the user's code to workers that lack
it), ``events`` (what the scheduler reports as it happens), ``versions`` (what each node runs) and
``backend`` (the ``Backend`` itself). Only ``address`` imports nothing from ``distributed``; the
backend registry imports ``backend`` when the Dask backend is used, so ``import dist_bench`` stays
light.
"""

"""The built-in workloads, one file each; every file defines ``WORKLOAD``."""

"""lifeloom's kernel: clock, random streams, services and their graph, histories, event log.

Import what you need from its modules (``sim.world.World``, ``sim.clock.Clock``...): this
file stays empty so that importing a light one (``sim.errors``, ``sim.clock``) does not
pull in SimPy, NumPy and Arrow, and the CLI answers ``--help`` and bad input without them.
"""

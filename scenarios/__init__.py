"""What happens *to* the user: storylines, noise, tasks and the oracle (coming next).

The kernel issue only fixes this package's place in the layering
(``exporters -> scenarios -> personas -> sim``).
"""

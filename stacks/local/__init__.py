"""The on-prem `local` target: programs and dynamic providers that run on this host."""

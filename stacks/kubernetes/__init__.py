"""The `kubernetes` target: Deployments per slot behind ingress-nginx canary weights."""

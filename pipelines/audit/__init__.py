"""What happened, for reviewers and operators: the hash-chained ledger, the story of each
release (`shipyard explain`), and `shipyard status`."""

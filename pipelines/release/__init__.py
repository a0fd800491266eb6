"""`shipyard apply` and `shipyard rollback`: a spec through its environments — reconcile, direct
or canary strategy, analysis verdicts, promotion or rollback, revert proposals."""

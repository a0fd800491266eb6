"""Who may let a change through: approval rules bound to the spec a reviewer read, waivers of
failed offline gates, where approvals come from (local records, GitHub reviews), and CODEOWNERS."""

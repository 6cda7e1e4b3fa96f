"""The patch pages, a module per group: `board` (the monthly cycle board and the patch
run), `patches` (the list, one patch and its cycle's forms, the CSV), `vendors`,
`compliance` (with the statement and the deadline policy) and `imports` (the CSV import).

A school's vendors and patches are visible to its members (anyone else: 404); writing
needs a patch administrator or a school administrator (403), and each step of a patch's
cycle whom `workflow.TRANSITIONS` names. `services` and `workflow` enforce every rule.
"""

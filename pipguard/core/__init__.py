"""The pure core: model, requirement algebra, decisions, verdicts, transactions, views."""

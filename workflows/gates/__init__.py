"""Gates: automated checks over a cluster snapshot, verdicts, and checklist evaluation."""

"""Phase changes: the Istio objects each phase applies, built as pure values."""

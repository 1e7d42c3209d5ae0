"""The mesh model: typed views of a cluster snapshot and Istio's posture rules over them."""

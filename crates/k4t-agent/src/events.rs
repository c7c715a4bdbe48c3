//! STUB: to be implemented. The agent's events, counted and aggregated the way client-go's
//! `EventCorrelator` does, so `kubectl describe` shows `(x3 over 16m)`.

//! The Tally runtime: applies what `tally compile` writes to `generated/` (arrives with the runtime issue).

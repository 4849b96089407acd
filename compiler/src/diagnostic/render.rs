//! Renderers: turn diagnostics into text for people, JSON for programs, annotations for CI.

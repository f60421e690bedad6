//! Placeholder: filled in by the sandbox-layer issue.

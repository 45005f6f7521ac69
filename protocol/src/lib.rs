//! The ChatLab wire protocol (SPEC.md), without any I/O.

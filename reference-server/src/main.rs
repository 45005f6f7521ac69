//! reference-server: placeholder until its issue lands.

fn main() {}

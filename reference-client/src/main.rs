//! reference-client: placeholder until its issue lands.

fn main() {}

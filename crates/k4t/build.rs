//! Links `k4t` as a position-dependent executable. The same binary is every container's
//! supervisor (`k4t shim`), one process per container: a PIE would have the dynamic loader
//! write its relocations into about 1 MB of its data pages in each of them, private memory
//! per container for nothing. Without PIE those pages stay clean and shared.

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}

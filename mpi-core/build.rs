//! Compiles the C helpers of `mpi-core`: today only the `long double` reductions
//! (`src/op/long_double.c`; see the comment at its top for why they are in C).

fn main() {
    println!("cargo:rerun-if-changed=src/op/long_double.c");
    cc::Build::new()
        .file("src/op/long_double.c")
        .opt_level(2)
        .warnings(true)
        // Keep `a*b + c` as two roundings, as in the Rust code for the other float kinds.
        .flag_if_supported("-ffp-contract=off")
        .compile("ferrompi_long_double");
}

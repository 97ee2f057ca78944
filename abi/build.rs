// The soname that binaries built against the standard ABI record: `libmpi_abi.so.1`.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmpi_abi.so.1");
}

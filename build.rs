//! Generates the C header from src/ffi/ with cbindgen.
//!
//! The header always goes to `$OUT_DIR/mlops_edge.h`; a unit test compares it with the committed
//! `include/mlops_edge.h` and fails when they differ. `MLE_UPDATE_HEADER=1 cargo build` writes the
//! committed copy.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    set_soname();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=MLE_UPDATE_HEADER");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let version = |key: &str| std::env::var(key).expect("cargo sets the version variables");
    config.after_includes = Some(format!(
        "\n/** Version of this header (the library reports its own with mle_version()). */\n\
         #define MLE_VERSION_MAJOR {}\n#define MLE_VERSION_MINOR {}\n#define MLE_VERSION_PATCH {}\n\
         #define MLE_VERSION_STRING \"{}\"",
        version("CARGO_PKG_VERSION_MAJOR"),
        version("CARGO_PKG_VERSION_MINOR"),
        version("CARGO_PKG_VERSION_PATCH"),
        version("CARGO_PKG_VERSION"),
    ));
    let generated = out_dir.join("mlops_edge.h");
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen could not generate the header from src/ffi")
        .write_to_file(&generated);
    println!("cargo:rustc-env=MLE_GENERATED_HEADER={}", generated.display());
    if std::env::var_os("MLE_UPDATE_HEADER").is_some() {
        std::fs::create_dir_all(crate_dir.join("include")).expect("create include/");
        std::fs::copy(&generated, crate_dir.join("include/mlops_edge.h")).expect("write include/mlops_edge.h");
    }
}

/// ELF targets: the shared library's SONAME carries the C ABI's major version
/// (`libmlops_edge.so.<abi major>`, from `MLE_ABI_VERSION_MAJOR` in src/ffi/abi.rs): a program
/// linked against one ABI major never loads another, and minor ABI versions (fields and functions
/// added) keep the name. `scripts/install.sh` installs the matching file names and symlinks.
fn set_soname() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" && os != "android" {
        return;
    }
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmlops_edge.so.{}", abi_major());
}

/// `MLE_ABI_VERSION_MAJOR` as src/ffi/abi.rs defines it.
fn abi_major() -> u32 {
    let source = std::fs::read_to_string("src/ffi/abi.rs").expect("read src/ffi/abi.rs");
    source
        .lines()
        .find_map(|line| line.strip_prefix("pub const MLE_ABI_VERSION_MAJOR: u32 = "))
        .and_then(|rest| rest.trim_end_matches(';').parse().ok())
        .expect("src/ffi/abi.rs defines `pub const MLE_ABI_VERSION_MAJOR: u32 = <n>;`")
}

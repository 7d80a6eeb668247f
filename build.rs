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

/// ELF targets: the shared library's SONAME carries the ABI version (`libmlops_edge.so.0.<minor>`
/// before 1.0, since a 0.x minor release may change the ABI; `libmlops_edge.so.<major>` after),
/// so that programs linked against one ABI never load another. `scripts/install.sh` installs the
/// matching file names and symlinks.
fn set_soname() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" && os != "android" {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version");
    let soname = if major == "0" { format!("libmlops_edge.so.0.{minor}") } else { format!("libmlops_edge.so.{major}") };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
}

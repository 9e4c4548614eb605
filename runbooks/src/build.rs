//! Embeds every `*.md` beside this crate (except the index, README.md): one
//! `(name, include_str!(path))` row per file, sorted by name, so a new runbook
//! needs no code.

use std::path::Path;

fn main() {
    // Read when the script runs, not baked in when it is compiled: a build
    // script compiled for another checkout of this workspace may be reused.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir);
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut rows: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("the runbooks directory is readable")
        .map(|entry| entry.expect("a runbooks directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .filter(|path| path.file_name().is_some_and(|n| n != "README.md"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, path.display().to_string())
        })
        .collect();
    rows.sort();
    let table: String = rows
        .iter()
        .map(|(name, path)| format!("    ({name:?}, include_str!({path:?})),\n"))
        .collect();
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("runbooks.rs");
    std::fs::write(out, format!("&[\n{table}]\n")).expect("OUT_DIR is writable");
}

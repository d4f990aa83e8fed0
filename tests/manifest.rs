#![cfg(not(target_arch = "wasm32"))]
//! The crate's manifest is one a dependent can live with: no exact (`=`) requirement in its
//! own dependencies (an exact wasm-bindgen would refuse to resolve beside any crate that
//! wants a newer 0.2), and no `[lib] crate-type` (a cdylib of ours would be built in every
//! dependent's tree). The test command also builds a new consumer crate (tests/consumer).

const MANIFEST: &str = include_str!("../Cargo.toml");

/// The `[…]` section each line of the manifest is in, with the line.
fn sections() -> Vec<(String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in MANIFEST.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_string();
        } else if !line.is_empty() && !line.starts_with('#') {
            out.push((section.clone(), line.to_string()));
        }
    }
    out
}

#[test]
fn dependencies_have_no_exact_requirements() {
    let exact: Vec<String> = sections()
        .into_iter()
        .filter(|(section, _)| section.ends_with("dependencies]") && !section.contains("dev-dependencies"))
        .filter(|(_, line)| line.contains("\"="))
        .map(|(section, line)| format!("{section} {line}"))
        .collect();
    assert!(exact.is_empty(), "exact requirements: {exact:?}");
    let wasm_bindgen = sections()
        .into_iter()
        .any(|(section, line)| section.contains("wasm32") && line.starts_with("wasm-bindgen = "));
    assert!(
        wasm_bindgen,
        "the wasm-bindgen dependency was not found where this test looks"
    );
}

#[test]
fn no_crate_type_for_dependents() {
    assert!(
        !sections().iter().any(|(section, _)| section == "[lib]"),
        "a [lib] section (crate-type): build-pkg.sh asks for the cdylib itself"
    );
}

//! The shipped man pages (`man/kubectl-sts.1` and one `kubectl-sts-<command>.1`
//! per subcommand, which the main page's SEE ALSO names) are generated from
//! the clap definition, like the completion scripts; this test fails when they
//! are stale. Regenerate with `UPDATE_MAN=1 cargo test --test man`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use kubectl_sts::cli::Cli;

fn shipped_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// The `.1` files of a directory, by name.
fn pages_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
        .map(|e| {
            let text = std::fs::read(e.path()).expect("read a man page");
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect()
}

fn generate() -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().expect("tempdir");
    clap_mangen::generate_to(Cli::command(), dir.path()).expect("generate the man pages");
    pages_in(dir.path())
}

#[test]
fn shipped_man_pages_are_current() {
    let generated = generate();
    let dir = shipped_dir();
    if std::env::var_os("UPDATE_MAN").is_some() {
        std::fs::create_dir_all(&dir).expect("create man/");
        for name in pages_in(&dir).keys() {
            std::fs::remove_file(dir.join(name)).expect("remove an old man page");
        }
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).expect("write a man page");
        }
        return;
    }
    let shipped = pages_in(&dir);
    let stale: Vec<&String> = generated
        .keys()
        .chain(shipped.keys())
        .filter(|name| generated.get(*name) != shipped.get(*name))
        .collect();
    assert!(
        stale.is_empty(),
        "man pages out of date in {}: {stale:?}; regenerate with `UPDATE_MAN=1 cargo test --test man`",
        dir.display()
    );
}

#[test]
fn there_is_a_page_for_the_plugin_and_each_subcommand_with_its_flags() {
    let pages = generate();
    let main = String::from_utf8(pages["kubectl-sts.1"].clone()).expect("utf-8");
    assert!(main.contains(".TH kubectl-sts 1"), "no title header");
    for flag in ["kubeconfig", "context", "namespace", "request\\-timeout"] {
        assert!(main.contains(&format!("\\-\\-{flag}")), "--{flag} missing");
    }
    for command in Cli::command().get_subcommands() {
        let name = command.get_name();
        let file = format!("kubectl-sts-{name}.1");
        let page = String::from_utf8(pages[&file].clone()).expect("utf-8");
        assert!(
            main.contains(&format!("kubectl\\-sts\\-{}(1)", name.replace('-', "\\-"))),
            "the main page does not point to {file}"
        );
        for arg in command.get_arguments().filter_map(|a| a.get_long()) {
            assert!(
                page.contains(&format!("\\-\\-{}", arg.replace('-', "\\-"))),
                "{file} lacks --{arg}"
            );
        }
    }
}
